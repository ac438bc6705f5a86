package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/permlake/permlake/load"
)

// progress is the run's display on a terminal: one status line below the logs, redrawn as
// accounts and subscriptions finish. It draws through the stderr writer the logger shares
// (lockedWriter.setStatus), which clears the line before each log record and draws it again
// after, so the two never run into each other. Off a terminal there is no display, only the
// JSON logs. A nil *progress does nothing.
type progress struct {
	mu   sync.Mutex
	w    io.Writer
	aws  tally // AWS accounts of the run
	az   tally // Azure subscriptions, their number known once listed (expectAzure)
	fail int
	// records and rows are what the finished accounts and subscriptions added.
	records, rows int
	last          string
}

// tally counts finished items of a known (or not yet known: total < 0) number.
type tally struct{ done, total int }

func (t tally) String() string {
	if t.total < 0 {
		return fmt.Sprint(t.done)
	}
	return fmt.Sprintf("%d/%d", t.done, t.total)
}

func newProgress(w io.Writer, accounts int) *progress {
	return &progress{w: w, aws: tally{total: accounts}, az: tally{total: -1}}
}

// progress reports whether the run shows a progress display: on a terminal, unless
// PERMLAKE_PROGRESS says otherwise ("0" off, "1" on).
func (a *app) progress(*Config) bool {
	switch os.Getenv("PERMLAKE_PROGRESS") {
	case "0":
		return false
	case "1":
		return true
	}
	return writesTerminal(a.stderr)
}

// expectAzure sets how many Azure subscriptions the run collects.
func (p *progress) expectAzure(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.az.total = n
	p.draw()
}

// done counts a finished AWS account, or an Azure subscription (o.Cloud "azure"): each against
// its own total (counting both against the AWS accounts' showed "6 done (of 5)").
func (p *progress) done(id string, o load.AccountOutcome) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if o.Cloud == "azure" {
		p.az.done++
	} else {
		p.aws.done++
	}
	if o.Status != "ok" {
		p.fail++
	}
	p.records += o.Records
	p.rows += o.RowsAdded
	p.last = id
	p.draw()
}

// line is the status line.
func (p *progress) line() string {
	var b strings.Builder
	b.WriteString("permlake: ")
	if p.aws.total > 0 || p.aws.done > 0 {
		fmt.Fprintf(&b, "AWS accounts %s", p.aws)
	}
	if p.az.total > 0 || p.az.done > 0 {
		if p.aws.total > 0 || p.aws.done > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "Azure subscriptions %s", p.az)
	}
	fmt.Fprintf(&b, "; %d failed; %d records, %d new rows", p.fail, p.records, p.rows)
	if p.last != "" {
		fmt.Fprintf(&b, "; last %s", p.last)
	}
	return b.String()
}

// draw shows the line: as the shared writer's status line, or written whole.
func (p *progress) draw() {
	if s, ok := p.w.(interface{ setStatus(string) }); ok {
		s.setStatus(p.line())
		return
	}
	fmt.Fprintln(p.w, p.line())
}

// finish takes the status line away (the run's summary follows).
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.w.(interface{ setStatus(string) }); ok {
		s.setStatus("")
	}
}

// runSummary is the lines a run ends with: what was collected, and each failure named.
func runSummary(results []accountResult) string {
	var aws, az, ok, objects, records, rows int
	var failed []string
	for _, r := range results {
		o := r.outcome
		switch {
		case o.Cloud == "azure":
			az++
		case o.Kind == "":
			aws++
		}
		objects += o.Objects
		records += o.Records
		rows += o.RowsAdded
		if o.Status == "ok" {
			ok++
			continue
		}
		what := o.AccountID
		if o.Kind != "" {
			what = o.Kind + " " + what
		}
		failed = append(failed, fmt.Sprintf("  %s %s: %s", o.Status, what, firstLine(o.Error)))
	}
	sort.Strings(failed)
	var b strings.Builder
	fmt.Fprintf(&b, "Run done: %d AWS accounts, %d Azure subscriptions and tenants; %d objects, %d records, %d new rows; %d ok, %d failed\n",
		aws, az, objects, records, rows, ok, len(failed))
	for _, f := range failed {
		b.WriteString(f + "\n")
	}
	return b.String()
}

// firstLine is s up to its first newline.
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// summarize ends a run with its summary: written to stderr with the progress display, else
// logged (cron and Airflow read the JSON logs).
func (a *app) summarize(c *Config, results []accountResult) {
	if a.progress(c) {
		_, _ = io.WriteString(a.stderr, runSummary(results))
		return
	}
	var objects, records, rows int
	var failed []string
	for _, r := range results {
		objects += r.outcome.Objects
		records += r.outcome.Records
		rows += r.outcome.RowsAdded
		if r.outcome.Status != "ok" {
			failed = append(failed, r.outcome.AccountID)
		}
	}
	a.logger.Info("run summary", "accounts", len(results), "objects", objects, "records", records, "rows", rows, "failed", failed)
}
