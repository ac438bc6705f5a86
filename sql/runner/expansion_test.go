package runner

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
	"github.com/permlake/permlake/transform"
	"github.com/permlake/permlake/transform/catalog"
)

// TestExpansionMatchesCatalog expands the statements of real AWS managed policies twice — by the
// models (LIKE over the action universe, NotAction as its complement) and independently by
// the Go catalog's matcher — and requires the same actions for every statement.
func TestExpansionMatchesCatalog(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../testdata/policies/aws_managed_policies.json")
	if err != nil {
		t.Fatal(err)
	}
	var fixture struct {
		Policies map[string]struct {
			ARN      string          `json:"arn"`
			Document json.RawMessage `json:"document"`
		} `json:"policies"`
	}
	if err := json.Unmarshal(b, &fixture); err != nil {
		t.Fatal(err)
	}
	var stmts []schemas.IAMPolicyStatement
	for _, p := range fixture.Policies {
		s, err := transform.PolicyStatements(p.ARN, string(p.Document), schemas.IAMPolicyStatement{SnapshotAt: snapAt})
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, s...)
	}
	if len(stmts) < 200 {
		t.Fatalf("only %d statements in the fixture", len(stmts))
	}

	cat := catalog.AWS()
	want := map[string][]string{}
	all := cat.Actions()
	for _, s := range stmts {
		key := fmt.Sprintf("%s#%d", s.PolicyKey, s.StatementIndex)
		set := map[string]bool{}
		for _, p := range s.Actions {
			for _, a := range cat.Match(p) {
				set[a.String()] = true
			}
		}
		if len(s.NotActions) > 0 {
			excluded := map[string]bool{}
			for _, p := range s.NotActions {
				for _, a := range cat.Match(p) {
					excluded[a.String()] = true
				}
			}
			for _, a := range all {
				if !excluded[a.String()] {
					set[a.String()] = true
				}
			}
		}
		for a := range set {
			want[key] = append(want[key], a)
		}
		sort.Strings(want[key])
	}

	ctx := context.Background()
	l, err := load.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := load.ReplacePartition(ctx, l, schemas.IAMPolicyStatements, load.Partition{ID: acct, Hour: now.Add(-1)}, stmts); err != nil {
		t.Fatal(err)
	}
	seed := fullCatalogSeed()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := Build(ctx, db, Options{Lake: l.Root(), Now: now, Seeds: map[string]Seed{"aws_iam_actions": seed}}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`select policy_key || '#' || statement_index, list_sort(list(action)) from int_statements__expanded group by 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string][]string{}
	for rows.Next() {
		var k string
		var acts []any
		if err := rows.Scan(&k, &acts); err != nil {
			t.Fatal(err)
		}
		for _, a := range acts {
			got[k] = append(got[k], a.(string))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	compared, actions := 0, 0
	for k, w := range want {
		g := got[k]
		if strings.Join(g, ",") != strings.Join(w, ",") {
			t.Errorf("statement %s: models expand to %d actions, the catalog to %d", k, len(g), len(w))
		}
		compared++
		actions += len(w)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("statement %s expanded by the models only", k)
		}
	}
	t.Logf("%d statements, %d expanded actions compared", compared, actions)
}

// TestLeastPrivilegeSplitsLargePolicies: a role that used 400 EC2 actions gets several policies,
// each under the managed-policy size limit, together allowing exactly those 400 actions.
func TestLeastPrivilegeSplitsLargePolicies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, err := load.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	role := "arn:aws:iam::" + acct + ":role/busy"
	var ec2 []string
	for _, a := range catalog.AWS().Actions() {
		if a.Service == "ec2" && len(ec2) < 400 {
			ec2 = append(ec2, a.String())
		}
	}
	var rows []schemas.CloudTrailEvent
	for i, a := range ec2 {
		rows = append(rows, ev(fmt.Sprintf("e%d", i), role, "iam_role", []string{a}, true, hour))
	}
	w, err := load.NewMergeWriter(ctx, l, schemas.CloudTrailEvents, load.Partition{ID: acct, Hour: hour}, func(e *schemas.CloudTrailEvent) string { return e.EventID })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	seed := fullCatalogSeed()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := Build(ctx, db, Options{Lake: l.Root(), Now: now, Seeds: map[string]Seed{"aws_iam_actions": seed}}); err != nil {
		t.Fatal(err) // includes the data test: valid JSON, size limit, only used actions
	}
	var policies, actions, longest int64
	if err := db.QueryRow(`select count(*), sum(action_count), max(length(policy_document)) from least_privilege_policies`).Scan(&policies, &actions, &longest); err != nil {
		t.Fatal(err)
	}
	if policies < 2 || actions != 400 || longest > 6144 {
		t.Errorf("%d policies, %d actions, longest %d characters", policies, actions, longest)
	}
}

// fullCatalogSeed is the whole embedded IAM action catalog as the aws_iam_actions seed.
func fullCatalogSeed() Seed {
	seed := Seed{Columns: []string{"service", "action_name", "action", "access_level"}, Types: []string{"VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR"}}
	for _, a := range catalog.AWS().Actions() {
		seed.Rows = append(seed.Rows, []any{a.Service, a.Name, a.String(), a.AccessLevel})
	}
	return seed
}
