package main

import (
	"context"
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

// TestUsageErrorsExit2: the README promises exit 2 for usage errors; an unknown command or
// flag and an invalid flag value exited 1.
func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"frobnicate"},
		{"run", "--no-such-flag"},
		{"status", "-Z"},
		{"status", "--days", "seven"},
		{"demo", "--member-accounts", "many"},
		{"demo", "extra-argument"},
		{"sql", "--format"},
		{"version", "--json=maybe"},
	} {
		code, _, stderr := runCLI(t, context.Background(), args...)
		if code != exitUsage || !strings.HasPrefix(stderr, "permlake: ") {
			t.Errorf("%q: exit %d, stderr %q; want 2", args, code, stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	code, out, _ := runCLI(t, ctx, "version")
	if code != exitOK || !strings.HasPrefix(out, "permlake ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	code, flagOut, _ := runCLI(t, ctx, "--version")
	if code != exitOK || flagOut != out {
		t.Errorf("--version: exit %d, %q; want %q", code, flagOut, out)
	}
	code, js, _ := runCLI(t, ctx, "version", "--json")
	var v versionInfo
	if err := json.Unmarshal([]byte(js), &v); code != exitOK || err != nil || v.Go == "" || v.Version == "" {
		t.Errorf("version --json: exit %d, %q, %v", code, js, err)
	}

	bi := &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Path: "github.com/permlake/permlake", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "8581ec0abc"}, {Key: "vcs.time", Value: "2026-12-04T16:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	got := buildVersion(func() (*debug.BuildInfo, bool) { return bi, true })
	if want := "v1.4.0 (revision 8581ec0abc, modified) go1.27.3"; got.String() != want || got.Time != "2026-12-04T16:00:00Z" {
		t.Errorf("buildVersion = %q %+v; want %q", got, got, want)
	}
	if got := buildVersion(func() (*debug.BuildInfo, bool) { return nil, false }); got.Version != "unknown" {
		t.Errorf("no build info: %+v", got)
	}
}
