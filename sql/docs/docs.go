// Package docs documents what analysts and dashboards read: the lake's tables (from schemas) and
// the models and marts (from their YAML: description, grain, columns, tests, formulas), with their
// lineage (which model reads which, as the runner orders them), as Markdown or JSON.
//
// docs imports the runner (the models as it parses them) and schemas; it must not import
// extract, transform, load or cmd.
package docs

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/permlake/permlake/schemas"
	"github.com/permlake/permlake/sql/runner"
)

// Catalog is the documentation of the lake and the models.
type Catalog struct {
	Tables []Table `json:"tables"` // the lake's tables (read by the models as src_<name>)
	Marts  []Model `json:"marts"`  // the marts: what dashboards and analysts read
	Models []Model `json:"models"` // the other models (rollups, staging, intermediate), in build order
}

// Table is a lake table.
type Table struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Grain       string   `json:"grain"`
	Partitions  []Column `json:"partitions"`
	Columns     []Column `json:"columns"`
}

// Column is a column: its type for lake tables, its tests for models.
type Column struct {
	Name        string   `json:"name"`
	Type        string   `json:"type,omitempty"`
	Description string   `json:"description"`
	Tests       []string `json:"tests,omitempty"`
}

// Model is a model's documentation and lineage.
type Model struct {
	Name         string `json:"name"`
	Layer        string `json:"layer"`
	Description  string `json:"description"`
	Grain        string `json:"grain"`
	Materialized string `json:"materialized"`
	// Formula is the description's "Formula: …" sentence, when it states one.
	Formula string   `json:"formula,omitempty"`
	Columns []Column `json:"columns"`
	Tests   []string `json:"tests,omitempty"` // model tests, and the tests/*.sql that read it
	// Reads are the models and seeds it reads; Sources the lake tables (src_<table>); ReadBy
	// the models that read it.
	Reads   []string `json:"reads"`
	Sources []string `json:"sources"`
	ReadBy  []string `json:"read_by"`
	File    string   `json:"file"`
}

// Build documents the models of fsys (the embedded sql.FS) and the lake's tables.
func Build(fsys fs.FS) (*Catalog, error) {
	models, err := runner.Models(fsys)
	if err != nil {
		return nil, err
	}
	c := &Catalog{Tables: []Table{}, Marts: []Model{}, Models: []Model{}}
	for _, t := range schemas.All {
		dt := Table{Name: t.Name, Description: t.Doc, Grain: t.Grain}
		for _, col := range t.PartitionColumns() {
			dt.Partitions = append(dt.Partitions, Column{Name: col.Name, Type: col.Type, Description: col.Doc})
		}
		for _, col := range t.Columns {
			dt.Columns = append(dt.Columns, Column{Name: col.Name, Type: col.Type, Description: col.Doc})
		}
		c.Tables = append(c.Tables, dt)
	}
	sqlTests, err := sqlTestsByModel(fsys, models)
	if err != nil {
		return nil, err
	}
	readBy := map[string][]string{}
	for _, m := range models {
		for _, d := range m.Deps {
			readBy[d] = append(readBy[d], m.Name)
		}
	}
	for _, m := range models {
		dm := Model{Name: m.Name, Layer: m.Layer, Description: strings.TrimSpace(m.Doc.Description), Grain: m.Doc.Grain,
			Materialized: m.Doc.Materialized, Formula: formula(m.Doc.Description), Reads: nonNil(m.Deps),
			Sources: nonNil(m.Sources), ReadBy: nonNil(readBy[m.Name]), File: path.Join(m.Layer, m.Name+".sql")}
		if dm.Materialized == "" {
			dm.Materialized = "table"
		}
		for _, col := range m.Doc.Columns {
			dc := Column{Name: col.Name, Description: strings.TrimSpace(col.Description)}
			for _, n := range col.Tests {
				dc.Tests = append(dc.Tests, testName(n))
			}
			dm.Columns = append(dm.Columns, dc)
		}
		for _, n := range m.Doc.Tests {
			dm.Tests = append(dm.Tests, testName(n))
		}
		dm.Tests = append(dm.Tests, sqlTests[m.Name]...)
		sort.Strings(dm.ReadBy)
		if m.Layer == "marts" {
			c.Marts = append(c.Marts, dm)
		} else {
			c.Models = append(c.Models, dm)
		}
	}
	return c, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// sqlTestsByModel names the tests/*.sql (queries returning failing rows) that read each model.
func sqlTestsByModel(fsys fs.FS, models []runner.Model) (map[string][]string, error) {
	files, err := fs.Glob(fsys, "tests/*.sql")
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		words := map[string]bool{}
		for _, w := range wordPattern.FindAllString(strings.ToLower(string(b)), -1) {
			words[w] = true
		}
		for _, m := range models {
			if words[m.Name] {
				out[m.Name] = append(out[m.Name], strings.TrimSuffix(path.Base(f), ".sql"))
			}
		}
	}
	return out, nil
}

var wordPattern = regexp.MustCompile(`[a-z_][a-z0-9_]*`)

// formulaPattern is a description's "Formula: …" up to the end of its sentence (a period
// followed by a capitalised word, or the end).
var formulaPattern = regexp.MustCompile(`(?s)Formula:\s*(.+?\.)(?:\s+[A-Z]|\s*$)`)

func formula(desc string) string {
	m := formulaPattern.FindStringSubmatch(desc)
	if m == nil {
		return ""
	}
	return strings.Join(strings.Fields(m[1]), " ")
}

// testName writes a YAML test compactly: not_null, accepted_values(low, medium, high),
// relationships(to.field), unique_combination(a, b).
func testName(n yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	var m map[string]any
	if err := n.Decode(&m); err != nil || len(m) != 1 {
		return "custom"
	}
	for k, v := range m {
		switch x := v.(type) {
		case []any:
			return fmt.Sprintf("%s(%s)", k, joinAny(x))
		case map[string]any:
			if vals, ok := x["values"].([]any); ok {
				return fmt.Sprintf("%s(%s)", k, joinAny(vals))
			}
			if to, ok := x["to"]; ok {
				return fmt.Sprintf("%s(%v.%v)", k, to, x["field"])
			}
		}
		return k
	}
	return "custom"
}

func joinAny(xs []any) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
}

// WriteMarkdown writes the catalog as one Markdown document: the marts, the other models, then
// the lake's tables, each model with its lineage.
func (c *Catalog) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# permlake documentation\n\n")
	b.WriteString("Marts are what dashboards and analysts read (the warehouse's tables and views, and the lake's\n" +
		"`marts/` Parquet); the models before them are listed in build order; the lake's tables last.\n")
	b.WriteString("\n## Marts\n")
	for _, m := range c.Marts {
		writeModel(&b, m)
	}
	b.WriteString("\n## Models\n")
	for _, m := range c.Models {
		writeModel(&b, m)
	}
	b.WriteString("\n## Lake tables\n\nPartitioned by `account_id=<12 digits>/date=YYYY-MM-DD/hour=HH` (read with `hive_types` so account_id stays text).\n")
	for _, t := range c.Tables {
		fmt.Fprintf(&b, "\n### %s\n\n%s\n\nGrain: %s.\n\n| column | type | description |\n|---|---|---|\n", t.Name, t.Description, t.Grain)
		for _, col := range append(append([]Column{}, t.Partitions...), t.Columns...) {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", col.Name, col.Type, cell(col.Description))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeModel(b *strings.Builder, m Model) {
	fmt.Fprintf(b, "\n### %s\n\n%s\n\n- Grain: %s\n- Layer: %s (%s), `%s`\n", m.Name, strings.Join(strings.Fields(m.Description), " "), m.Grain, m.Layer, m.Materialized, m.File)
	if m.Formula != "" {
		fmt.Fprintf(b, "- Formula: %s\n", m.Formula)
	}
	list := func(xs []string) string {
		if len(xs) == 0 {
			return "—"
		}
		return "`" + strings.Join(xs, "`, `") + "`"
	}
	srcs := make([]string, len(m.Sources))
	for i, s := range m.Sources {
		srcs[i] = "src_" + s
	}
	fmt.Fprintf(b, "- Reads: %s\n", list(append(append([]string{}, m.Reads...), srcs...)))
	fmt.Fprintf(b, "- Read by: %s\n", list(m.ReadBy))
	if len(m.Tests) > 0 {
		fmt.Fprintf(b, "- Tests: %s\n", list(m.Tests))
	}
	b.WriteString("\n| column | description | tests |\n|---|---|---|\n")
	for _, c := range m.Columns {
		fmt.Fprintf(b, "| %s | %s | %s |\n", c.Name, cell(c.Description), cell(strings.Join(c.Tests, ", ")))
	}
}
