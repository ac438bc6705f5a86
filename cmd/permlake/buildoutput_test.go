package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/demo"
	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/sql/orgbuild"
	"github.com/permlake/permlake/sql/runner"
)

func TestBuildOutputLines(t *testing.T) {
	t.Parallel()
	sec := 1200 * time.Millisecond
	for _, tc := range []struct {
		name   string
		events []runner.Event
		lines  []string // regular expressions, one per line before the summary
		sum    string
	}{
		{"models and tests", []runner.Event{
			{Kind: runner.ModelDone, Name: "creep_scores", Index: 1, Total: 2, Rows: 98, Duration: sec},
			{Kind: runner.ModelDone, Name: "permission_usage", Index: 2, Total: 2, Rows: 5, Duration: sec},
			{Kind: runner.TestPassed, Name: "creep_scores.score.not_null", Index: 1, Total: 2},
			{Kind: runner.TestFailed, Name: "assert_scores_in_range", Index: 2, Total: 2, Rows: 3},
		}, []string{
			`^1 of 2 +creep_scores +OK +98 rows +\[1\.2s\]$`,
			`^2 of 2 +permission_usage +OK +5 rows +\[1\.2s\]$`,
			`^1 of 2 +test creep_scores\.score\.not_null +PASS +\[0\.0s\]$`,
			`^2 of 2 +test assert_scores_in_range +FAIL +3 rows +\[0\.0s\]$`,
		}, "Done. PASS=3 WARN=0 ERROR=1 SKIP=0"},
		{"a failed model skips the rest", []runner.Event{
			{Kind: runner.ModelDone, Name: "a", Index: 1, Total: 4, Rows: 1},
			{Kind: runner.ModelFailed, Name: "b", Index: 2, Total: 4, Err: errors.New("Binder Error: no column x\nLINE 1")},
		}, []string{
			`^1 of 4 +a +OK +1 rows`,
			`^2 of 4 +b +ERROR +\[0\.0s\]$`,
			`^    Binder Error: no column x$`,
		}, "Done. PASS=1 WARN=0 ERROR=1 SKIP=2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			b := &buildOutput{w: &buf, log: slog.New(slog.DiscardHandler), start: time.Now()}
			for _, e := range tc.events {
				b.event(e)
			}
			b.done()
			lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
			if len(lines) != len(tc.lines)+2 || !strings.HasPrefix(lines[len(lines)-1], tc.sum+"  [") {
				t.Fatalf("output\n%s\nwant %d lines, a blank one and %q", buf.String(), len(tc.lines), tc.sum)
			}
			for i, re := range tc.lines {
				if !regexp.MustCompile(re).MatchString(lines[i]) {
					t.Errorf("line %d %q does not match %s", i+1, lines[i], re)
				}
			}
		})
	}
}

// TestBuildOutputUnits: the per-account step is one line when its units are built, whatever
// their number, with its data tests counted and the failing ones named.
func TestBuildOutputUnits(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	b := &buildOutput{w: &buf, log: slog.New(slog.DiscardHandler), start: time.Now()}
	for i := 0; i <= 1000; i += 25 {
		b.unitsProgress(orgbuild.UnitsProgress{Units: 1200, ToBuild: 1000, Built: i, Elapsed: time.Duration(i) * time.Millisecond})
	}
	b.unitTests([]runner.TestResult{{Name: "permission_usage.status.not_null"}, {Name: "creep_scores.score.not_null", Failures: 2}})
	want := "units: 1000 of 1000 built (200 up to date)  [1.0s]\nunits: data tests PASS=1 FAIL=1\n    FAIL  creep_scores.score.not_null (2 rows)\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// TestModelsOutputLikeDbt: permlake models with the display on prints a line per
// organization-level model and data test and the summary; off (not a terminal), it logs them.
func TestModelsOutputLikeDbt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 1, EventsPerHour: 3}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	cfg := saveConfig(t, readLocal(testConfig(dir, "lake"), org, src, []AccountConfig{{ID: org.Accounts[2].ID}, {ID: org.Accounts[3].ID}}), dir, "p")
	h := org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15")
	if code, _, stderr := runCLI(t, ctx, "run", "--config", cfg, "--hour", h, "--no-models"); code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	t.Setenv("PERMLAKE_PROGRESS", "1")
	code, _, stderr := runCLI(t, ctx, "models", "--config", cfg, "--now", org.WindowEnd.Format("2006-01-02T15"))
	if code != exitOK {
		t.Fatalf("models: exit %d\n%s", code, stderr)
	}
	model := regexp.MustCompile(`(?m)^(\d+) of (\d+) +(\w+) +OK +\d+ rows +\[\d+\.\ds\]$`)
	test := regexp.MustCompile(`(?m)^\d+ of \d+ +test \S+ +PASS +\[\d+\.\ds\]$`)
	summary := regexp.MustCompile(`(?m)^Done\. PASS=(\d+) WARN=0 ERROR=0 SKIP=0  \[\d+\.\ds\]$`)
	units := regexp.MustCompile(`(?m)^units: \d+ of \d+ built \(\d+ up to date\)  \[\d+\.\ds\]$`)
	built := map[string]bool{}
	for _, m := range model.FindAllStringSubmatch(stderr, -1) {
		built[m[3]] = true
	}
	for _, mart := range []string{"creep_scores", "permission_usage", "account_creep_scores", "unmapped_events"} {
		if !built[mart] {
			t.Errorf("no OK line for %s", mart)
		}
	}
	if len(test.FindAllString(stderr, -1)) == 0 || !units.MatchString(stderr) || !summary.MatchString(stderr) {
		t.Errorf("models output lacks test, units or summary lines:\n%s", stderr)
	}
	if regexp.MustCompile(`(?m)^\d+ of \d+ .* (FAIL|ERROR) |^units: data tests PASS=\d+ FAIL=[1-9]`).MatchString(stderr) {
		t.Errorf("a clean build reports a failure:\n%s", stderr)
	}

	t.Setenv("PERMLAKE_PROGRESS", "0")
	code, _, stderr = runCLI(t, ctx, "models", "--config", cfg, "--now", org.WindowEnd.Format("2006-01-02T15"), "--full-refresh")
	if code != exitOK || model.MatchString(stderr) || !strings.Contains(stderr, `"msg":"model built","model":"creep_scores"`) ||
		!regexp.MustCompile(`"msg":"build done","pass":[1-9]\d*,"warn":0,"error":0,"skip":0`).MatchString(stderr) {
		t.Errorf("models without the display: exit %d; want JSON logs of each model and the summary:\n%s", code, stderr)
	}
}

// TestProgressCounts: AWS accounts and Azure subscriptions are counted each against its own
// total (both against the AWS accounts gave "6 done (of 5)").
func TestProgressCounts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		aws, azure int
		want       string
	}{
		{"AWS and Azure", 5, 1, "permlake: AWS accounts 5/5, Azure subscriptions 1/1; 0 failed; 12 records, 6 new rows; last azure-0"},
		{"AWS only", 2, 0, "permlake: AWS accounts 2/2; 0 failed; 4 records, 2 new rows; last aws-1"},
		{"Azure only", 0, 2, "permlake: Azure subscriptions 2/2; 0 failed; 4 records, 2 new rows; last azure-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			lw := &lockedWriter{w: &buf}
			p := newProgress(lw, tc.aws)
			for i := range tc.aws {
				p.done("aws-"+string(rune('0'+i)), load.AccountOutcome{Status: "ok", Records: 2, RowsAdded: 1})
			}
			if tc.azure > 0 {
				p.expectAzure(tc.azure)
			}
			for i := range tc.azure {
				p.done("azure-"+string(rune('0'+i)), load.AccountOutcome{Cloud: "azure", Status: "ok", Records: 2, RowsAdded: 1})
			}
			if lw.status != tc.want {
				t.Errorf("status %q, want %q", lw.status, tc.want)
			}
		})
	}
}

// TestStatusLineAroundLogs: a log record written while the status line shows clears it first
// and draws it again after, so the two never share a line; without a status line the record is
// written as it is.
func TestStatusLineAroundLogs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	lw := &lockedWriter{w: &buf}
	if _, err := lw.Write([]byte("log one\n")); err != nil {
		t.Fatal(err)
	}
	lw.setStatus("permlake: AWS accounts 1/2")
	if _, err := lw.Write([]byte("log two\n")); err != nil {
		t.Fatal(err)
	}
	lw.setStatus("")
	want := "log one\n" + clearLine + "permlake: AWS accounts 1/2" + clearLine + "log two\n" + "permlake: AWS accounts 1/2" + clearLine
	if buf.String() != want {
		t.Errorf("got  %q\nwant %q", buf.String(), want)
	}
}
