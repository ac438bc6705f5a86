package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuild writes a database from two OSV entries (one naming a module in two affected blocks)
// and checks the layout govulncheck reads: index/db.json, index/modules.json and ID/<id>.json.
func TestBuild(t *testing.T) {
	osv := t.TempDir()
	entries := map[string]string{
		"GO-2025-0001": `{"id":"GO-2025-0001","modified":"2025-01-02T00:00:00Z","affected":[
			{"package":{"name":"github.com/andybalholm/brotli"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}]},
			{"package":{"name":"github.com/andybalholm/brotli"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.2.1"},{"fixed":"1.2.2"}]}]}]}`,
		"GO-2026-0002": `{"id":"GO-2026-0002","modified":"2026-03-04T00:00:00Z","affected":[{"package":{"name":"stdlib"}}]}`,
	}
	for id, body := range entries {
		if err := os.WriteFile(filepath.Join(osv, id+".json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "db")
	n, err := build(osv, out)
	if err != nil || n != 2 {
		t.Fatalf("build = %d, %v; want 2 entries", n, err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got, want := read("index/db.json"), `{"modified":"2026-03-04T00:00:00Z"}`; got != want {
		t.Errorf("db.json = %s, want %s", got, want)
	}
	want := `[{"path":"github.com/andybalholm/brotli","vulns":[{"id":"GO-2025-0001","modified":"2025-01-02T00:00:00Z"}]},` +
		`{"path":"stdlib","vulns":[{"id":"GO-2026-0002","modified":"2026-03-04T00:00:00Z"}]}]`
	if got := read("index/modules.json"); got != want {
		t.Errorf("modules.json =\n%s\nwant\n%s", got, want)
	}
	var e struct{ ID string }
	if err := json.Unmarshal([]byte(read("ID/GO-2026-0002.json")), &e); err != nil || e.ID != "GO-2026-0002" {
		t.Errorf("ID/GO-2026-0002.json: id %q, %v", e.ID, err)
	}
	if _, err := os.Stat(out + ".building"); !os.IsNotExist(err) {
		t.Errorf("temporary directory left behind: %v", err)
	}
}

func TestBuildRejects(t *testing.T) {
	for name, body := range map[string]string{
		"GO-2025-0001": `{"id":"GO-2025-0001",`,               // truncated
		"GO-2025-0002": `{"id":"../../etc/passwd"}`,           // an ID that is not the file's
		"GO-2025-0003": `{"id":"GO-2025-0004","affected":[]}`, // names another entry
	} {
		osv := t.TempDir()
		if err := os.WriteFile(filepath.Join(osv, name+".json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := build(osv, filepath.Join(t.TempDir(), "db"))
		if err == nil || !strings.Contains(err.Error(), name+".json") {
			t.Errorf("%s: err = %v, want an error naming the file", body, err)
		}
	}
	if _, err := build(t.TempDir(), filepath.Join(t.TempDir(), "db")); err == nil {
		t.Error("an empty directory: no error")
	}
}
