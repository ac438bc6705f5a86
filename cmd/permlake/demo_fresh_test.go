package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoFreshDeletesOnlyItsOwnDirectory: `demo --fresh` deleted whatever --out named (a
// directory of unrelated files, the working directory) and did so before it validated its
// other flags. It refuses now, with exit 2, and the files stay.
func TestDemoFreshDeletesOnlyItsOwnDirectory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		marker bool // the directory is permlake demo's
		args   []string
		want   string
	}{
		{"unrelated files", false, nil, "not created by permlake demo"},
		{"invalid flag, own directory", true, []string{"--member-accounts", "1"}, "--member-accounts"},
		{"invalid flag, unrelated files", false, []string{"--events-per-hour", "-3"}, "--events-per-hour"},
		{"zero days", true, []string{"--days", "0"}, "--days"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "out")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			keep := filepath.Join(dir, "thesis.tex")
			if err := os.WriteFile(keep, []byte("years of work"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.marker {
				if err := os.WriteFile(filepath.Join(dir, demoMarker), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := append([]string{"demo", "--out", dir, "--fresh"}, tc.args...)
			code, _, stderr := runCLI(t, context.Background(), args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 naming %q", code, stderr, tc.want)
			}
			if _, err := os.Stat(keep); err != nil {
				t.Errorf("deleted: %v", err)
			}
		})
	}
}

func TestClearDemoDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mk := func(name string, files ...string) string {
		d := filepath.Join(root, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(d, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	elsewhere := mk("cwd")
	tests := []struct {
		name    string
		out     string
		cwd     string
		deleted bool // else refused
	}{
		{"missing", filepath.Join(root, "missing"), elsewhere, true},
		{"empty", mk("empty"), elsewhere, true},
		{"demo's", mk("demo", demoMarker, "report.html"), elsewhere, true},
		{"foreign", mk("foreign", "notes.txt"), elsewhere, false},
		{"working directory", mk("wd", demoMarker), filepath.Join(root, "wd"), false},
		{"above the working directory", mk("above", demoMarker), mk("above/sub"), false},
		{"a file", filepath.Join(mk("files", "f"), "f"), elsewhere, false},
	}
	for _, tc := range tests {
		err := clearDemoDir(tc.out, tc.cwd)
		_, statErr := os.Lstat(tc.out)
		gone := os.IsNotExist(statErr)
		if tc.deleted && (err != nil || !gone) {
			t.Errorf("%s: %v, gone %t; want deleted", tc.name, err, gone)
		}
		if !tc.deleted && (err == nil || gone) {
			t.Errorf("%s: %v, gone %t; want refused and kept", tc.name, err, gone)
		}
	}
	// The marker goes only into a directory the demo creates or finds empty.
	fresh, foreign := filepath.Join(root, "new"), mk("used", "data.csv")
	for _, d := range []string{fresh, foreign} {
		if err := claimDemoDir(d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(fresh, demoMarker)); err != nil {
		t.Errorf("new directory not marked: %v", err)
	}
	if _, err := os.Stat(filepath.Join(foreign, demoMarker)); err == nil {
		t.Error("a directory of other files was marked as the demo's")
	}
}
