package docs

import (
	"bytes"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"

	sqlfiles "github.com/permlake/permlake/sql"
)

// TestEveryMartDocumented: every file of sql/marts is a mart of the catalog with its columns,
// grain and lineage; the lineage is the runner's (what a model reads, and the reverse).
func TestEveryMartDocumented(t *testing.T) {
	t.Parallel()
	c, err := Build(sqlfiles.FS)
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(sqlfiles.FS, "marts/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no marts: %v", err)
	}
	byName := map[string]Model{}
	for _, m := range append(append([]Model{}, c.Marts...), c.Models...) {
		byName[m.Name] = m
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".sql")
		m, ok := byName[name]
		if !ok || m.Layer != "marts" || !slices.ContainsFunc(c.Marts, func(x Model) bool { return x.Name == name }) {
			t.Errorf("mart %s is not among the catalog's marts", name)
			continue
		}
		if len(m.Columns) == 0 || m.Grain == "" || m.Description == "" || len(m.Reads)+len(m.Sources) == 0 {
			t.Errorf("mart %s: %d columns, grain %q, reads %v: want all documented", name, len(m.Columns), m.Grain, m.Reads)
		}
		for _, r := range m.Reads {
			if dep, ok := byName[r]; ok && !slices.Contains(dep.ReadBy, name) {
				t.Errorf("%s reads %s, whose read_by %v lacks it", name, r, dep.ReadBy)
			}
		}
	}
	pu := byName["permission_usage"]
	if !slices.Contains(pu.Reads, "int_permission_usage__rows") || !slices.Contains(pu.Reads, "evidence_windows") || pu.Materialized != "view" {
		t.Errorf("permission_usage: reads %v, materialized %s", pu.Reads, pu.Materialized)
	}
	cs := byName["creep_scores"]
	if !strings.HasPrefix(cs.Formula, "score = round(60 * unused_share") || !strings.HasSuffix(cs.Formula, "saturating at 10.") {
		t.Errorf("creep_scores formula %q", cs.Formula)
	}
	band := cs.Columns[slices.IndexFunc(cs.Columns, func(c Column) bool { return c.Name == "band" })]
	if !slices.Contains(band.Tests, "accepted_values(low, medium, high)") {
		t.Errorf("creep_scores.band tests %v", band.Tests)
	}
	if !slices.Contains(cs.Tests, "assert_scores_in_range") || !slices.Contains(cs.Tests, "unique_combination(cloud, account_id, principal_arn)") {
		t.Errorf("creep_scores tests %v: want its model test and the SQL test reading it", cs.Tests)
	}
	var md bytes.Buffer
	if err := c.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### creep_scores", "- Formula: score = round(", "- Reads: `int_permission_usage__rows`", "### aws_cloudtrail_events", "| principal_arn | VARCHAR |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}
