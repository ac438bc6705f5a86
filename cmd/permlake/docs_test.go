package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"path"
	"strings"
	"testing"

	sqlfiles "github.com/permlake/permlake/sql"
)

// TestDocsJSONListsEveryMart: permlake docs --format json lists every mart of sql/marts with its
// columns and lineage, and every lake table; an unknown format is a usage error.
func TestDocsJSONListsEveryMart(t *testing.T) {
	t.Parallel()
	var out, errb strings.Builder
	if code := run(context.Background(), []string{"docs", "--format", "json"}, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("docs --format json: exit %d: %s", code, errb.String())
	}
	var got struct {
		Marts []struct {
			Name    string
			Columns []struct{ Name, Description string }
			Reads   []string
			Sources []string
			ReadBy  []string `json:"read_by"`
		}
		Tables []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(out.String()), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	files, err := fs.Glob(sqlfiles.FS, "marts/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no marts: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".sql")
		found := false
		for _, m := range got.Marts {
			if m.Name != name {
				continue
			}
			found = true
			if len(m.Columns) == 0 || m.Columns[0].Name == "" || m.Columns[0].Description == "" || len(m.Reads)+len(m.Sources) == 0 || m.ReadBy == nil {
				t.Errorf("mart %s: columns %v, reads %v, sources %v, read_by %v", name, m.Columns, m.Reads, m.Sources, m.ReadBy)
			}
		}
		if !found {
			t.Errorf("mart %s missing from docs --format json", name)
		}
	}
	if len(got.Tables) == 0 || got.Tables[0].Name == "" {
		t.Errorf("no lake tables in docs --format json")
	}
	if code := run(context.Background(), []string{"docs", "--format", "xml"}, strings.NewReader(""), &out, &errb); code != exitUsage {
		t.Errorf("docs --format xml: exit %d, want %d", code, exitUsage)
	}
}
