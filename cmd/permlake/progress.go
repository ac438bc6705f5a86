package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/permlake/permlake/load"
)

// progress is the run's display on a terminal: one line, rewritten as accounts and
// subscriptions finish (logs go to the same stderr in text form). Off a terminal there is no
// display, only the JSON logs. A nil *progress does nothing.
type progress struct {
	mu                       sync.Mutex
	w                        io.Writer
	accounts, finished, fail int // AWS accounts of the run; accounts and subscriptions finished; failed
	records, rows            int
	last                     string
}

func newProgress(w io.Writer, accounts int) *progress { return &progress{w: w, accounts: accounts} }

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

func (p *progress) done(id string, o load.AccountOutcome) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished++
	if o.Status != "ok" {
		p.fail++
	}
	p.records += o.Records
	p.rows += o.RowsAdded
	p.last = id
	fmt.Fprintf(p.w, "\r\033[Kpermlake: %d done (of %d AWS accounts, then Azure), %d failed; %d records, %d new rows; last %s",
		p.finished, p.accounts, p.fail, p.records, p.rows, p.last)
}

func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished > 0 {
		fmt.Fprintln(p.w)
	}
}
