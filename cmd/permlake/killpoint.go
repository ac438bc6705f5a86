package main

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// killpoint is a test-only hook for the SIGKILL fault tests (fault_test.go): when the
// environment variable PERMLAKE_TEST_KILL_AT is "<step>" or "<step>:<n>", the process kills
// itself with SIGKILL (os.Process.Kill is SIGKILL on Unix) the n-th time (default 1) any
// goroutine reaches killpoint(step), with no deferred function, no flush and no cleanup, as
// the kernel's OOM killer or a `kill -9` would. It is a no-op when the variable is unset, which
// production runs never set. Steps, in commit order:
//
//	before-data      partition writers are open with rows written, before their commit
//	after-data       an ingest group's partitions are committed, its ledger records not yet
//	before-manifest  every account is done, the run manifest not written yet
//	after-manifest   the run manifest is written, the success markers not yet
func killpoint(step string) {
	at := killAt()
	if at.step != step {
		return
	}
	if killHits.Add(1) != at.n {
		return
	}
	p, err := os.FindProcess(os.Getpid())
	if err == nil {
		_ = p.Kill()
	}
	select {} // the signal is on its way: nothing more of this process runs
}

var killHits atomic.Int64

type killSpec struct {
	step string
	n    int64
}

var killAt = sync.OnceValue(func() killSpec {
	v := os.Getenv("PERMLAKE_TEST_KILL_AT")
	if v == "" {
		return killSpec{}
	}
	step, count, _ := strings.Cut(v, ":")
	n, err := strconv.ParseInt(count, 10, 64)
	if count == "" || err != nil || n < 1 {
		n = 1
	}
	return killSpec{step: step, n: n}
})
