package laketest

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
)

// Fingerprint digests the data of lake l row for row: for every table, its partitions' object
// keys, its row count and an MD5 of all its rows (every column but _run_id, which names the run
// that wrote a row and so differs between two runs of the same data), in a canonical order.
// Two lakes holding the same rows in the same partitions have equal fingerprints, however many
// runs, retries and interruptions built them; a duplicate, a lost row, a changed value or a
// stray object outside _manifests/ changes it. Writers' temporary files ("*.tmp", which no reader's
// *.parquet glob sees and RemoveOrphans deletes later) are not part of it. Object-store lakes are
// downloaded first.
func Fingerprint(t *testing.T, l *load.Lake) string {
	t.Helper()
	return FingerprintDir(t, localRoot(t, l))
}

// FingerprintDir is Fingerprint of the lake (or downloaded copy of one) in directory root.
func FingerprintDir(t *testing.T, root string) string {
	t.Helper()
	var objects []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "_manifests" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".tmp") {
			objects = append(objects, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("fingerprint %s: %v", root, err)
	}
	sort.Strings(objects)
	var b strings.Builder
	fmt.Fprintf(&b, "objects: %s\n", strings.Join(objects, " "))
	db := duck(t)
	for _, tab := range schemas.All {
		if !hasParquet(filepath.Join(root, tab.Name)) { // absent, or only temporary files
			fmt.Fprintf(&b, "%s: absent\n", tab.Name)
			continue
		}
		cols := "*"
		for _, c := range tab.Columns {
			if c.Name == "_run_id" {
				cols = "* exclude (_run_id)"
			}
		}
		var n int64
		var sum string
		q := fmt.Sprintf(`select count(*), md5(coalesce(string_agg(r, chr(10) order by r), ''))
			from (select cast(x as varchar) as r from (select %s from %s) x)`, cols, scan(root, tab))
		if err := db.QueryRow(q).Scan(&n, &sum); err != nil {
			t.Fatalf("fingerprint %s: %v", tab.Name, err)
		}
		fmt.Fprintf(&b, "%s: rows=%d md5=%s\n", tab.Name, n, sum)
	}
	return b.String()
}

// hasParquet says whether any *.parquet file is under dir.
func hasParquet(dir string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found {
			return filepath.SkipAll
		}
		found = !d.IsDir() && strings.HasSuffix(p, ".parquet")
		return nil
	})
	return found
}
