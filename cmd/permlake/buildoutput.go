package main

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/permlake/permlake/sql/orgbuild"
	"github.com/permlake/permlake/sql/runner"
)

// buildOutput renders a model build as dbt does, from the build's events: a line per model
// ("3 of 12  creep_scores  OK  98 rows  [1.2s]") and per data test (PASS or FAIL) of the
// organization-level step, a line for the per-account units (a status line redrawn on a terminal,
// then the total), and the summary "Done. PASS=… WARN=… ERROR=… SKIP=…". Without the display
// (not a terminal) each event is logged instead.
type buildOutput struct {
	mu     sync.Mutex
	w      io.Writer    // the display (stderr), nil: log
	log    *slog.Logger // without the display
	status bool         // w draws a status line (a terminal)
	start  time.Time
	// counts of the summary: models built and tests passed; warnings; models failed and tests
	// failed; models not built after a failure.
	pass, warn, errs, skip int
	units                  orgbuild.UnitsProgress
}

// newBuildOutput is the build's rendering: on the display when the run shows one (a.progress).
func (a *app) newBuildOutput(c *Config) *buildOutput {
	b := &buildOutput{log: a.logger, start: time.Now()}
	if a.progress(c) {
		b.w = a.stderr
		b.status = writesTerminal(a.stderr)
	}
	return b
}

// nameWidth is the column the names are padded to (dbt pads with dots to one column).
const nameWidth = 44

// line writes one line of the display.
func (b *buildOutput) line(format string, args ...any) {
	fmt.Fprintf(b.w, format+"\n", args...)
}

// event renders a runner event (runner.Options.Progress).
func (b *buildOutput) event(e runner.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	secs := e.Duration.Seconds()
	switch e.Kind {
	case runner.ModelDone:
		b.pass++
	case runner.ModelFailed:
		b.errs++
		b.skip += e.Total - e.Index
	case runner.TestPassed:
		b.pass++
	case runner.TestFailed:
		b.errs++
	}
	if b.w == nil {
		switch e.Kind {
		case runner.ModelDone:
			b.log.Info("model built", "model", e.Name, "step", e.Index, "of", e.Total, "rows", e.Rows, "duration", e.Duration.String())
		case runner.ModelFailed:
			b.log.Error("model failed", "model", e.Name, "step", e.Index, "of", e.Total, "error", e.Err)
		case runner.TestPassed:
			b.log.Info("data test passed", "test", e.Name, "step", e.Index, "of", e.Total, "duration", e.Duration.String())
		case runner.TestFailed:
			b.log.Error("data test failed", "test", e.Name, "step", e.Index, "of", e.Total, "rows", e.Rows)
		}
		return
	}
	pos := fmt.Sprintf("%d of %d", e.Index, e.Total)
	switch e.Kind {
	case runner.ModelDone:
		b.line("%-10s  %-*s  OK     %d rows  [%.1fs]", pos, nameWidth, e.Name, e.Rows, secs)
	case runner.ModelFailed:
		b.line("%-10s  %-*s  ERROR  [%.1fs]\n    %s", pos, nameWidth, e.Name, secs, firstLine(fmt.Sprint(e.Err)))
	case runner.TestPassed:
		b.line("%-10s  %-*s  PASS   [%.1fs]", pos, nameWidth, "test "+e.Name, secs)
	case runner.TestFailed:
		b.line("%-10s  %-*s  FAIL   %d rows  [%.1fs]", pos, nameWidth, "test "+e.Name, e.Rows, secs)
	}
}

// unitsLine is the per-account step's line.
func (b *buildOutput) unitsLine() string {
	p := b.units
	return fmt.Sprintf("units: %d of %d built (%d up to date)  [%.1fs]", p.Built, p.ToBuild, p.Units-p.ToBuild, p.Elapsed.Seconds())
}

// unitsProgress renders the per-account step's progress (orgbuild.Options.Progress): redrawn
// on a terminal's status line, written once when every unit is built.
func (b *buildOutput) unitsProgress(p orgbuild.UnitsProgress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.units = p
	if b.w == nil {
		return // the per-account step logs each batch itself
	}
	if p.Built < p.ToBuild {
		if s, ok := b.w.(interface{ setStatus(string) }); ok && b.status {
			s.setStatus(b.unitsLine())
		}
		return
	}
	if s, ok := b.w.(interface{ setStatus(string) }); ok && b.status {
		s.setStatus("")
	}
	b.line("%s", b.unitsLine())
}

// unitTests adds the per-account step's data tests (each batch's): counted, and the failing
// ones named (a line per test and unit batch would be thousands at organization scale).
func (b *buildOutput) unitTests(tests []runner.TestResult) {
	b.mu.Lock()
	defer b.mu.Unlock()
	passed := 0
	var failed []string
	for _, t := range tests {
		if t.Failures > 0 {
			failed = append(failed, fmt.Sprintf("%s (%d rows)", t.Name, t.Failures))
			continue
		}
		passed++
	}
	b.pass += passed
	b.errs += len(failed)
	if len(tests) == 0 {
		return
	}
	if b.w == nil {
		b.log.Info("per-account data tests", "passed", passed, "failed", failed)
		return
	}
	b.line("units: data tests PASS=%d FAIL=%d", passed, len(failed))
	for _, f := range failed {
		b.line("    FAIL  %s", f)
	}
}

// done ends the build with the summary line.
func (b *buildOutput) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.w.(interface{ setStatus(string) }); ok && b.status {
		s.setStatus("")
	}
	if b.w == nil {
		b.log.Info("build done", "pass", b.pass, "warn", b.warn, "error", b.errs, "skip", b.skip, "duration", time.Since(b.start).String())
		return
	}
	b.line("\nDone. PASS=%d WARN=%d ERROR=%d SKIP=%d  [%.1fs]", b.pass, b.warn, b.errs, b.skip, time.Since(b.start).Seconds())
}
