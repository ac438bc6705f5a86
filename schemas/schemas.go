// Package schemas is the shared vocabulary of permlake: every lake table's row type, columns,
// grain, partition keys and column documentation, defined once and used by transform (to build
// rows), load (to write them), the SQL runner (to type empty sources) and the docs generator.
//
// Timestamps are stored as Parquet TIMESTAMP(isAdjustedToUTC=false) holding UTC wall-clock time
// (the `timestamp(microsecond:local)` tag): DuckDB reads them as TIMESTAMP, which it can truncate
// and compare without the ICU extension (absent here), where TIMESTAMPTZ arithmetic needs ICU.
// Every value permlake writes is in UTC, so no information is lost.
//
// It must not import any other permlake package.
package schemas

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Partitioning says how a table's files are laid out in the lake.
type Partitioning int

const (
	// ByAccountHour is `account_id=<12 digits>/date=YYYY-MM-DD/hour=HH`.
	ByAccountHour Partitioning = iota
	// BySubscriptionHour is `subscription_id=<lower-case UUID>/date=YYYY-MM-DD/hour=HH`.
	BySubscriptionHour
	// ByTenantHour is `tenant_id=<lower-case UUID>/date=YYYY-MM-DD/hour=HH`.
	ByTenantHour
)

// Key is the Hive key of the partitioning's first level: account_id, subscription_id or
// tenant_id.
func (p Partitioning) Key() string {
	switch p {
	case BySubscriptionHour:
		return "subscription_id"
	case ByTenantHour:
		return "tenant_id"
	}
	return "account_id"
}

// Column describes one column of a lake table as analysts see it.
type Column struct {
	Name     string // snake_case, as in the Parquet file
	Type     string // DuckDB type (VARCHAR, TIMESTAMP, BOOLEAN, BIGINT, VARCHAR[])
	Nullable bool
	Doc      string
}

// Table describes one lake table. Partition key columns are not stored inside the files: DuckDB
// adds them from the Hive path (read them with hive_types so account_id stays VARCHAR).
type Table struct {
	Name         string
	Doc          string
	Grain        string
	Partitioning Partitioning
	// DedupeKey names the column(s) whose value is unique within a partition; a merge keeps the
	// first row seen for a key.
	DedupeKey []string
	Columns   []Column
	rowType   reflect.Type
}

// PartitionColumns are the Hive keys of t, in path order, with their DuckDB types.
func (t *Table) PartitionColumns() []Column {
	first := Column{Name: "account_id", Type: "VARCHAR", Doc: "12-digit AWS account ID the partition belongs to (kept as text: leading zeros matter)."}
	switch t.Partitioning {
	case BySubscriptionHour:
		first = Column{Name: "subscription_id", Type: "VARCHAR", Doc: "Azure subscription ID the partition belongs to (lower-case UUID)."}
	case ByTenantHour:
		first = Column{Name: "tenant_id", Type: "VARCHAR", Doc: "Entra ID tenant ID the partition belongs to (lower-case UUID)."}
	}
	return []Column{
		first,
		{Name: "date", Type: "DATE", Doc: "UTC date of the partition hour."},
		{Name: "hour", Type: "INTEGER", Doc: "UTC hour (0-23) of the partition: event hour for activity, snapshot hour for entitlements."},
	}
}

// AllColumns returns the table's columns followed by its partition columns, in a new slice (the
// tables are shared: appending to Columns would write into their backing array).
func (t *Table) AllColumns() []Column {
	return append(slices.Clip(t.Columns), t.PartitionColumns()...)
}

// IsSnapshot reports whether t holds entitlement snapshots (each partition a whole snapshot,
// with a snapshot_at column; readers want the latest) rather than activity that accumulates.
func (t *Table) IsSnapshot() bool {
	for _, c := range t.Columns {
		if c.Name == "snapshot_at" {
			return true
		}
	}
	return false
}

// RowType is the Go struct type whose values are the table's rows.
func (t *Table) RowType() reflect.Type { return t.rowType }

// HiveTypes returns the DuckDB `hive_types` struct literal body for the table's partition keys,
// e.g. `{'account_id': 'VARCHAR', 'date': 'DATE', 'hour': 'INTEGER'}`.
func (t *Table) HiveTypes() string {
	var b strings.Builder
	b.WriteString("{")
	for i, c := range t.PartitionColumns() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "'%s': '%s'", c.Name, c.Type)
	}
	b.WriteString("}")
	return b.String()
}

// newTable derives the columns of a table from the parquet tags of row's struct type and attaches
// docs; it panics at init if a column lacks a doc, so undocumented columns cannot ship.
func newTable(name, doc, grain string, row any, dedupe []string, docs map[string]string) *Table {
	return newTableBy(ByAccountHour, name, doc, grain, row, dedupe, docs)
}

// newTableBy is newTable with another partitioning.
func newTableBy(part Partitioning, name, doc, grain string, row any, dedupe []string, docs map[string]string) *Table {
	rt := reflect.TypeOf(row)
	t := &Table{Name: name, Doc: doc, Grain: grain, Partitioning: part, DedupeKey: dedupe, rowType: rt}
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		tag := f.Tag.Get("parquet")
		if tag == "" || tag == "-" {
			continue
		}
		col := strings.Split(tag, ",")[0]
		d, ok := docs[col]
		if !ok {
			panic(fmt.Sprintf("schemas: table %s column %s has no doc", name, col))
		}
		t.Columns = append(t.Columns, Column{Name: col, Type: duckType(f.Type), Nullable: f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Slice, Doc: d})
	}
	for col := range docs {
		if !t.hasColumn(col) {
			panic(fmt.Sprintf("schemas: table %s documents unknown column %s", name, col))
		}
	}
	return t
}

func (t *Table) hasColumn(name string) bool {
	for _, c := range t.Columns {
		if c.Name == name {
			return true
		}
	}
	return false
}

var timeType = reflect.TypeOf(time.Time{})

func duckType(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return "TIMESTAMP"
	case t.Kind() == reflect.String:
		return "VARCHAR"
	case t.Kind() == reflect.Bool:
		return "BOOLEAN"
	case t.Kind() == reflect.Int64 || t.Kind() == reflect.Int:
		return "BIGINT"
	case t.Kind() == reflect.Int32:
		return "INTEGER"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "VARCHAR[]"
	}
	panic("schemas: unsupported column type " + t.String())
}

// All lists every lake table, in documentation order.
var All = []*Table{
	CloudTrailEvents, IAMUsers, IAMGroups, IAMRoles, IAMPolicies, IAMGroupMemberships,
	IAMPolicyAttachments, IAMPolicyStatements, IAMCredentialReport,
	OrgAccounts, OrgPolicies, OrgPolicyStatements,
	AzureActivityEvents, AzureSignInEvents, AzureRoleDefinitions, AzureRoleAssignments, AzureSubscriptions, AzurePrincipals,
	AzureGroupMembers, AzureProviderOperations, AzureAuditEvents,
}

// ByName returns the table called name, or nil.
func ByName(name string) *Table {
	for _, t := range All {
		if t.Name == name {
			return t
		}
	}
	return nil
}
