// Command vulndb builds a local Go vulnerability database, in the layout govulncheck reads with
// -db file:///DIR, from the OSV files of the golang.org/x/vulndb module (its data/osv), which the
// Go module proxy serves where the public database endpoint cannot be reached:
//
//	DIR/index/db.json       {"modified": <latest entry modification>}
//	DIR/index/modules.json  [{"path": <module>, "vulns": [{"id", "modified"}]}], sorted by path
//	DIR/ID/<id>.json        each OSV entry, as given
//
// The index leaves out each vulnerability's "fixed" version, an optional shortcut: govulncheck
// then reads every entry of a module it uses and checks the entry's ranges itself. The database
// is written beside DIR and renamed into place, so an interrupted build leaves none half-written.
// It runs from `make vulncheck`, never at build time.
//
// Usage: go run ./tools/vulndb -osv $(go mod download -json golang.org/x/vulndb@V | …Dir)/data/osv -out DIR
package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"
)

func main() {
	osvDir := flag.String("osv", "", "directory of OSV JSON files (golang.org/x/vulndb's data/osv)")
	out := flag.String("out", "", "database directory to write (replaced)")
	flag.Parse()
	n, err := build(*osvDir, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s: %d entries\n", *out, n)
}

// entry is the part of an OSV entry the index needs.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

// idPattern is the Go database's ID form; anything else would be a path outside ID/.
var idPattern = regexp.MustCompile(`^GO-[0-9]{4}-[0-9]+$`)

// build writes the database for the OSV files in osvDir to out and returns the entry count.
func build(osvDir, out string) (int, error) {
	if osvDir == "" || out == "" {
		return 0, errors.New("-osv and -out are required")
	}
	files, err := filepath.Glob(filepath.Join(osvDir, "*.json"))
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, fmt.Errorf("no *.json under %s", osvDir)
	}
	tmp := out + ".building"
	if err := os.RemoveAll(tmp); err != nil {
		return 0, err
	}
	for _, d := range []string{"ID", "index"} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
			return 0, err
		}
	}
	var latest time.Time
	modules := map[string]*module{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		if !idPattern.MatchString(e.ID) || e.ID+".json" != filepath.Base(f) {
			return 0, fmt.Errorf("%s: id %q does not match the file name", f, e.ID)
		}
		if e.Modified.After(latest) {
			latest = e.Modified
		}
		seen := map[string]bool{} // an entry lists a module once per affected range set
		for _, a := range e.Affected {
			p := a.Package.Name
			if p == "" || seen[p] {
				continue
			}
			seen[p] = true
			m := modules[p]
			if m == nil {
				m = &module{Path: p}
				modules[p] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified})
		}
		if err := os.WriteFile(filepath.Join(tmp, "ID", e.ID+".json"), b, 0o644); err != nil {
			return 0, err
		}
	}
	index := make([]*module, 0, len(modules))
	for _, m := range modules {
		slices.SortFunc(m.Vulns, func(a, b moduleVuln) int { return cmp.Compare(a.ID, b.ID) })
		index = append(index, m)
	}
	slices.SortFunc(index, func(a, b *module) int { return cmp.Compare(a.Path, b.Path) })
	for name, v := range map[string]any{"modules.json": index, "db.json": map[string]time.Time{"modified": latest}} {
		b, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(tmp, "index", name), b, 0o644); err != nil {
			return 0, err
		}
	}
	if err := os.RemoveAll(out); err != nil {
		return 0, err
	}
	return len(files), os.Rename(tmp, out)
}
