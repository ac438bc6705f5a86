package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/demo"
)

var rollupLog = regexp.MustCompile(`"msg":"rollup updated","table":"rollup_aws_cloudtrail__events","mode":"(\w+)","partitions":(\d+)`)

// rollupMode returns the mode and partition count the events rollup logged in stderr.
func rollupMode(t *testing.T, stderr string) (string, string) {
	t.Helper()
	m := rollupLog.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no rollup log line in:\n%s", stderr)
	}
	return m[1], m[2]
}

// TestIncrementalModelsEqualFullBuild: hourly runs after a backfill build the models
// incrementally — each reads only the partitions its hour committed — and end with exactly the
// marts a full build of the same lake gives; `permlake sql` still shows the raw events; a lake
// deleted and written again under the same URL is not trusted to the old state.
func TestIncrementalModelsEqualFullBuild(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 6}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	c := readLocal(testConfig(dir, "lake"), org, src, nil)
	cfg := saveConfig(t, c, dir, "lake")
	last := org.WindowEnd.Add(-time.Hour)
	backfillTo := last.Add(-2 * time.Hour)
	code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--from", org.WindowStart.Format("2006-01-02T15"), "--to", backfillTo.Format("2006-01-02T15"), "-v")
	if code != exitOK {
		t.Fatalf("backfill: exit %d\n%s", code, stderr)
	}
	mode, fullParts := rollupMode(t, stderr)
	if mode != "full" {
		t.Errorf("first build: mode %s, want full", mode)
	}
	changed := 0
	for h := backfillTo.Add(time.Hour); !h.After(last); h = h.Add(time.Hour) {
		code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--hour", h.Format("2006-01-02T15"), "-v")
		if code != exitOK {
			t.Fatalf("run %s: exit %d\n%s", h, code, stderr)
		}
		// Only what the hour committed (an hour may bring nothing new), never the whole lake.
		mode, parts := rollupMode(t, stderr)
		if mode != "incremental" || parts == fullParts {
			t.Errorf("run %s: rollup %s over %s partitions, want incremental over the new ones", h, mode, parts)
		}
		if parts != "0" {
			changed++
		}
	}
	if changed == 0 {
		t.Error("no hourly run changed a partition: the test proves nothing")
	}
	got := martDigest(t, c.Warehouse)

	full := *c
	full.Warehouse = filepath.Join(dir, "full.duckdb")
	fullCfg := saveConfig(t, &full, dir, "full")
	code, _, stderr = runCLI(t, ctx, "models", "--config", fullCfg, "--now", org.WindowEnd.Format("2006-01-02T15"), "--full-refresh", "-v")
	if code != exitOK {
		t.Fatalf("full build: exit %d\n%s", code, stderr)
	}
	if mode, _ := rollupMode(t, stderr); mode != "full" {
		t.Errorf("new state: mode %s, want full", mode)
	}
	if want := martDigest(t, full.Warehouse); got != want || strings.HasPrefix(want, "0:") {
		t.Errorf("marts after hourly incremental builds:\n%s\nafter one full build:\n%s", got, want)
	}
	code, _, stderr = runCLI(t, ctx, "models", "--config", cfg, "--now", org.WindowEnd.Format("2006-01-02T15"), "--full-refresh", "-v")
	if mode, _ := rollupMode(t, stderr); code != exitOK || mode != "full" || martDigest(t, c.Warehouse) != got {
		t.Errorf("--full-refresh: exit %d, mode %s, or other marts", code, mode)
	}

	// The raw events are still queryable in permlake sql, from the lake.
	code, out, stderr := runCLI(t, ctx, "sql", "--config", cfg, "-c",
		"select count(*) = (select sum(events) from int_trail__coverage) and count(*) > 0 from src_aws_cloudtrail_events", "--format", "csv")
	if code != exitOK || !strings.Contains(out, "true") {
		t.Errorf("sql over src_aws_cloudtrail_events: exit %d, %q\n%s", code, out, stderr)
	}

	// The lake deleted and collected again: a new lake ID, a full build, the same marts.
	if err := os.RemoveAll(filepath.Join(dir, "lake")); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, ctx, "run", "--config", cfg, "--from", org.WindowStart.Format("2006-01-02T15"), "--to", last.Format("2006-01-02T15"), "-v")
	if code != exitOK {
		t.Fatalf("rerun into a new lake: exit %d\n%s", code, stderr)
	}
	if mode, _ := rollupMode(t, stderr); mode != "full" {
		t.Errorf("new lake under the old URL: mode %s, want full", mode)
	}
	if d := martDigest(t, c.Warehouse); d != got {
		t.Errorf("marts of the recollected lake:\n%s\nwant\n%s", d, got)
	}
}
