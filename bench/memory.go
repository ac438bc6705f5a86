package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// memoryScale is the check that permlake's peak RSS does not grow with its input: permlake alone
// on the comparison's set made scale times longer (scale × days at the same accounts and rate,
// ~8M records at the default 4), once, with the same -check-rss limit.
func memoryScale(ctx context.Context, o options, root, work, permlakeBin, cmdline string, stdout, stderr io.Writer) error {
	s := o.size
	s.days *= o.rssScale
	cache, err := defaultCache(s.name())
	if err != nil {
		return err
	}
	ds, err := prepare(ctx, cache, s, stderr)
	if err != nil {
		return err
	}
	cfg, lake := filepath.Join(work, "permlake-scale.yaml"), filepath.Join(work, "permlake-scale-lake")
	if err := writeConfig(cfg, ds, lake, filepath.Join(work, "warehouse-scale.duckdb"), o.concurrency); err != nil {
		return err
	}
	defer os.RemoveAll(lake)
	from, to := ds.Org.WindowStart, ds.Org.WindowEnd.Add(-time.Hour)
	cmd := exec.CommandContext(ctx, permlakeBin, "--config", cfg, "run",
		"--from", from.Format("2006-01-02T15"), "--to", to.Format("2006-01-02T15"), "--no-models")
	load := loadAvg()
	m, err := measure(cmd, "permlake", 1)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("memory at %d× the input: %s, %d records in %d files (%.1f MB gzipped, %.1f MB JSON): %.2fs, %.0f events/s, peak RSS %.0f MiB",
		o.rssScale, s.name(), ds.Org.Events, ds.Files, mb(ds.GzipBytes), mb(ds.JSONBytes), m.wall.Seconds(), m.eventsPerSec(ds), mib(m.maxRSS))
	fmt.Fprintln(stdout, line)
	var rssErr error
	if o.checkRSS > 0 {
		if mib(m.maxRSS) > float64(o.checkRSS) {
			rssErr = fmt.Errorf("permlake's peak RSS %.0f MiB at %d× the input exceeds -check-rss %d MiB", mib(m.maxRSS), o.rssScale, o.checkRSS)
		} else {
			fmt.Fprintf(stdout, "check-rss at %d× the input: %.0f MiB ≤ %d MiB: ok\n", o.rssScale, mib(m.maxRSS), o.checkRSS)
		}
	}
	var b strings.Builder
	mach := describeMachine()
	fmt.Fprintf(&b, "\n## %s — memory at %d× the input, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), o.rssScale, s.name())
	fmt.Fprintf(&b, "Command: `%s` (from the module root). Machine: %s. Load average %s before.\n\n", cmdline, mach.text(), load)
	fmt.Fprintf(&b, "permlake alone (`run --no-models`, %s): %s.", memoryLimitText(), strings.TrimPrefix(line, fmt.Sprintf("memory at %d× the input: ", o.rssScale)))
	if o.checkRSS > 0 {
		verdict := "ok"
		if rssErr != nil {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, " check-rss %d MiB: %s.", o.checkRSS, verdict)
	}
	b.WriteString("\n")
	if err := appendResults(root, o, b.String(), stdout); err != nil {
		return err
	}
	return rssErr
}
