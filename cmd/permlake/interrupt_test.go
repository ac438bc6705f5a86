package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/demo"
	"github.com/permlake/permlake/schemas"
)

// lakeFingerprint summarises every table of a lake: row counts and an order-independent hash of
// each table's key columns, so two lakes built differently can be compared.
func lakeFingerprint(t *testing.T, lake string) string {
	t.Helper()
	db := openDuck(t, "")
	var b strings.Builder
	for _, tab := range schemas.All {
		if _, err := os.Stat(filepath.Join(lake, tab.Name)); err != nil {
			fmt.Fprintf(&b, "%s: absent\n", tab.Name)
			continue
		}
		key := strings.Join(tab.DedupeKey, ` || '|' || `)
		var n, h, distinct int64
		q := fmt.Sprintf(`select count(*), coalesce(sum(hash(account_id || '|' || %s) %% 1000000007), 0), count(distinct account_id || '|' || %s)
			from read_parquet('%s/%s/**/*.parquet', hive_partitioning=true, hive_types=%s)`, key, key, lake, tab.Name, tab.HiveTypes())
		if err := db.QueryRow(q).Scan(&n, &h, &distinct); err != nil {
			t.Fatalf("%s: %v", tab.Name, err)
		}
		fmt.Fprintf(&b, "%s: rows=%d distinct=%d hash=%d\n", tab.Name, n, distinct, h)
	}
	return b.String()
}

// TestInterruptedRunsConverge kills runs at several points (by cancelling their context, as
// SIGINT/SIGTERM do) and checks that the next run leaves exactly the lake an uninterrupted run
// builds: no duplicate, no loss, nothing to repair by hand.
func TestInterruptedRunsConverge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	writeConfig := func(name string) string {
		return saveConfig(t, readLocal(testConfig(dir, name), org, src, nil), dir, name)
	}
	from, to := org.WindowStart.Format("2006-01-02T15"), org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15")
	args := func(cfg string) []string {
		return []string{"run", "--config", cfg, "--from", from, "--to", to, "--no-models"}
	}

	clean := writeConfig("clean")
	if code, _, stderr := runCLI(t, ctx, args(clean)...); code != exitOK {
		t.Fatalf("clean run exit %d: %s", code, stderr)
	}
	want := lakeFingerprint(t, filepath.Join(dir, "clean"))

	killed := writeConfig("killed")
	interrupted := 0
	for _, after := range []time.Duration{20 * time.Millisecond, 150 * time.Millisecond, 400 * time.Millisecond, 900 * time.Millisecond} {
		cctx, cancel := context.WithTimeout(ctx, after)
		code, _, _ := runCLI(t, cctx, args(killed)...)
		cancel()
		if code == exitInterrupted {
			interrupted++
		} else if code != exitOK {
			t.Fatalf("run cancelled after %s: exit %d, want 130 or 0", after, code)
		}
	}
	if interrupted == 0 {
		t.Log("no run was interrupted (the machine was fast); the convergence check still runs")
	}
	if code, _, stderr := runCLI(t, ctx, args(killed)...); code != exitOK {
		t.Fatalf("final run exit %d: %s", code, stderr)
	}
	if got := lakeFingerprint(t, filepath.Join(dir, "killed")); got != want {
		t.Errorf("after interrupted runs the lake differs from a clean run:\n%s\nwant\n%s", got, want)
	}
	// No temporary or partial file is visible to a reader's glob.
	err = filepath.Walk(filepath.Join(dir, "killed"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && !strings.HasSuffix(p, ".parquet") && !strings.Contains(p, "_manifests") {
			t.Errorf("stray file in the lake: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
