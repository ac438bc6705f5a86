package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/demo"
	"github.com/permlake/permlake/load"
)

// TestSuccessMarkersAndStatus: a partial run marks the hours of the accounts that committed
// (never of the failed one) and no hour as a whole; a clean run marks every hour; status shows
// each account's last committed hour, how far behind it is, and the runs with their exit codes.
func TestSuccessMarkersAndStatus(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 3}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	healthy := org.Accounts[2].ID
	c := readLocal(testConfig(dir, "lake"), org, src, []AccountConfig{{ID: healthy}, {ID: "999999999999", Name: "missing"}})
	cfg := saveConfig(t, c, dir, "permlake")
	from, to := org.WindowEnd.Add(-3*time.Hour), org.WindowEnd.Add(-time.Hour)
	args := []string{"run", "--config", cfg, "--from", from.Format("2006-01-02T15"), "--to", to.Format("2006-01-02T15"), "--no-models"}
	if code, _, stderr := runCLI(t, ctx, args...); code != exitPartial {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	success := filepath.Join(dir, "lake", "_manifests", "success")
	hourDir := func(h time.Time) string {
		return filepath.Join(success, "date="+h.Format("2006-01-02"), "hour="+h.Format("15"))
	}
	for h := from; !h.After(to); h = h.Add(time.Hour) {
		if _, err := os.Stat(filepath.Join(hourDir(h), "aws-"+healthy+".json")); err != nil {
			t.Errorf("hour %s: no marker for the healthy account: %v", h, err)
		}
		if _, err := os.Stat(filepath.Join(hourDir(h), "aws-999999999999.json")); err == nil {
			t.Errorf("hour %s: a marker for the failed account", h)
		}
		if _, err := os.Stat(filepath.Join(hourDir(h), "_SUCCESS")); err == nil {
			t.Errorf("hour %s: _SUCCESS after a partial run", h)
		}
	}

	c.AWS.Accounts = c.AWS.Accounts[:1]
	if err := writeDemoConfig(cfg, c); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, ctx, args...); code != exitOK {
		t.Fatalf("clean run: exit %d: %s", code, stderr)
	}
	for h := from; !h.After(to); h = h.Add(time.Hour) {
		if _, err := os.Stat(filepath.Join(hourDir(h), "_SUCCESS")); err != nil {
			t.Errorf("hour %s: no _SUCCESS after a clean run: %v", h, err)
		}
	}

	// status, two hours after the window: the account is 2 hours behind the last closed hour.
	code, out, stderr := runCLIAt(t, ctx, org.WindowEnd.Add(2*time.Hour+10*time.Minute), "status", "--config", cfg, "--json")
	if code != exitOK {
		t.Fatalf("status: exit %d: %s", code, stderr)
	}
	var rep statusReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(rep.Accounts) != 1 || rep.Accounts[0].ID != healthy || !rep.Accounts[0].LastHour.Equal(to) || *rep.Accounts[0].HoursBehind != 2 {
		t.Errorf("status accounts = %+v", rep.Accounts)
	}
	if len(rep.Runs) != 2 || rep.Runs[0].ExitCode != exitOK || rep.Runs[1].ExitCode != exitPartial || strings.Join(rep.Runs[1].Failed, ",") != "999999999999" {
		t.Errorf("status runs = %+v", rep.Runs)
	}
	if code, out, _ := runCLIAt(t, ctx, org.WindowEnd.Add(2*time.Hour), "status", "--config", cfg); code != exitOK || !strings.Contains(out, healthy) || !strings.Contains(out, "HOURS BEHIND") {
		t.Errorf("status table: exit %d\n%s", code, out)
	}
}

// TestProgressDisplay: with the display on (a terminal, or PERMLAKE_PROGRESS=1) the run redraws
// its status line as accounts finish and ends with a summary; off (PERMLAKE_PROGRESS=0, or not a
// terminal) there is no display and the summary is logged.
func TestProgressDisplay(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 3}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	cfg := saveConfig(t, readLocal(testConfig(dir, "lake"), org, src, []AccountConfig{{ID: org.Accounts[2].ID}, {ID: org.Accounts[3].ID}}), dir, "p")
	h := org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15")
	t.Setenv("PERMLAKE_PROGRESS", "1")
	code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--hour", h, "--no-models")
	if code != exitOK || !strings.Contains(stderr, "\r\033[Kpermlake: AWS accounts 1/2; ") || !strings.Contains(stderr, "\r\033[Kpermlake: AWS accounts 2/2; 0 failed") ||
		!strings.Contains(stderr, "Run done: 2 AWS accounts, 0 Azure subscriptions and tenants; ") {
		t.Errorf("progress on: exit %d\n%q", code, stderr)
	}
	t.Setenv("PERMLAKE_PROGRESS", "0")
	if code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--hour", h, "--no-models"); code != exitOK || strings.Contains(stderr, "\r") ||
		!strings.Contains(stderr, `"msg":"run summary","accounts":2,`) {
		t.Errorf("progress off: exit %d\n%q", code, stderr)
	}
}

// TestRetryConflicts: a group that loses a partition's race is done again with its counters
// restored; other errors and a cancelled run are not retried; the retries are bounded.
func TestRetryConflicts(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	res := &accountResult{outcome: load.AccountOutcome{Records: 5, ObjectErrors: []string{"a"}}}
	calls := 0
	err := retryConflicts(ctx, res, log, func() error {
		calls++
		res.outcome.Records += 10
		res.outcome.ObjectErrors = append(res.outcome.ObjectErrors, "b")
		res.partitions = append(res.partitions, load.PartitionStats{Table: "t"})
		if calls < 3 {
			return fmt.Errorf("commit x: %w", load.ErrConflict)
		}
		return nil
	})
	if err != nil || calls != 3 || res.outcome.Records != 15 || len(res.outcome.ObjectErrors) != 2 || len(res.partitions) != 1 {
		t.Errorf("after two conflicts: err %v, %d calls, outcome %+v, %d partitions; want the third attempt's counts only", err, calls, res.outcome, len(res.partitions))
	}
	calls = 0
	if err := retryConflicts(ctx, res, log, func() error { calls++; return errors.New("disk full") }); err == nil || calls != 1 {
		t.Errorf("another error: %v after %d calls; want it returned at once", err, calls)
	}
	calls = 0
	if err := retryConflicts(ctx, res, log, func() error { calls++; return load.ErrConflict }); !errors.Is(err, load.ErrConflict) || calls != conflictRetries+1 {
		t.Errorf("endless conflicts: %v after %d calls; want %d attempts", err, calls, conflictRetries+1)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	calls = 0
	if err := retryConflicts(cctx, res, log, func() error { calls++; return load.ErrConflict }); calls != 1 || err == nil {
		t.Errorf("cancelled: %v after %d calls; want no retry", err, calls)
	}
}

// TestReprocess: a re-run reads nothing already ingested; --reprocess reads the window's files
// again and the lake stays the same (merges keep each event once).
func TestReprocess(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 3}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	cfg := saveConfig(t, readLocal(testConfig(dir, "lake"), org, src, []AccountConfig{{ID: org.Accounts[2].ID}}), dir, "r")
	h := org.WindowEnd.Add(-2 * time.Hour).Format("2006-01-02T15")
	objects := func(extra ...string) int {
		t.Helper()
		code, _, stderr := runCLI(t, ctx, append([]string{"run", "--config", cfg, "--hour", h, "--no-models"}, extra...)...)
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		runs, err := (&lakeRuns{dir: filepath.Join(dir, "lake")}).latest(t)
		if err != nil {
			t.Fatal(err)
		}
		return runs.Accounts[0].Objects
	}
	first := objects()
	before := lakeFingerprint(t, filepath.Join(dir, "lake"))
	if first == 0 {
		t.Fatal("the first run read no file")
	}
	if n := objects(); n != 0 {
		t.Errorf("a plain re-run read %d files again, want 0", n)
	}
	if n := objects("--reprocess"); n != first {
		t.Errorf("--reprocess read %d files, want the window's %d", n, first)
	}
	if after := lakeFingerprint(t, filepath.Join(dir, "lake")); after != before {
		t.Errorf("--reprocess changed the lake:\n%s\nwant\n%s", after, before)
	}
}

// lakeRuns reads a file lake's run manifests.
type lakeRuns struct{ dir string }

func (r *lakeRuns) latest(t *testing.T) (*load.RunManifest, error) {
	t.Helper()
	l, err := load.Open(context.Background(), r.dir)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	ms, err := l.RecentRuns(context.Background(), 1)
	if err != nil || len(ms) == 0 {
		return nil, fmt.Errorf("no run manifest: %v", err)
	}
	return &ms[0], nil
}
