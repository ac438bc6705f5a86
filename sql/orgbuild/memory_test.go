package orgbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// TestOutOfMemorySplitsBatch: a batch that runs out of DuckDB's memory is built again in halves
// down to single accounts, and the marts are still the monolithic build's.
func TestOutOfMemorySplitsBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := e.reference(testNow)
	o := e.opts(testNow)
	o.BatchSize = 100
	var mu sync.Mutex
	var sizes []int
	o.failBatch = func(units []Unit) error {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(units))
		if len(units) > 1 {
			return &duckdb.Error{Type: duckdb.ErrorTypeOutOfMemory, Msg: "Out of Memory Error: failed to pin block of size 256.0 KiB"}
		}
		return nil
	}
	res := e.buildAccounts(o)
	if got := sortedUnits(res.Built); !slices.Equal(got, allUnits()) {
		t.Fatalf("built %v, want every unit %v", got, allUnits())
	}
	aws := len(allUnits()) - 1 // Azure is a batch of its own
	if aws < 3 {
		t.Fatalf("%d AWS units: too few to split a batch twice", aws)
	}
	// The whole AWS batch first, then halves of it, each split until single units pass.
	if sizes[0] != aws {
		t.Errorf("first batch of %d units, want %d: %v", sizes[0], aws, sizes)
	}
	ones := 0
	for _, n := range sizes {
		if n == 1 {
			ones++
		}
	}
	if ones != len(allUnits()) || len(sizes) != 2*aws-1+1 {
		t.Errorf("batch sizes %v: want the AWS batch of %d split into halves down to ones (%d builds) and Azure alone", sizes, aws, 2*aws-1)
	}
	sameMarts(t, "batches split", e.finalize(o), want)

	// The records are the ones a normal build writes: nothing new, nothing built.
	o.failBatch = nil
	if again := e.buildAccounts(o); len(again.Built) != 0 {
		t.Errorf("a second build rebuilt %v", again.Built)
	}
}

// TestOtherBatchErrorsAreNotRetried: only running out of memory splits a batch; any other error
// fails the build once, naming the batch's accounts, and publishes nothing of it.
func TestOtherBatchErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.opts(testNow)
	o.BatchSize = 100
	calls := 0
	o.failBatch = func(units []Unit) error {
		calls++
		return &duckdb.Error{Type: duckdb.ErrorTypeIO, Msg: "IO Error: disk full"}
	}
	_, err := BuildAccounts(context.Background(), newDB(t), o)
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), string(allUnits()[0])) {
		t.Fatalf("BuildAccounts: %v, want the batch's error naming %s", err, allUnits()[0])
	}
	if calls != 1 {
		t.Errorf("the failing batch was built %d times, want once", calls)
	}
	if n := len(e.records()); n != 0 {
		t.Errorf("%d unit records published by a failed batch", n)
	}
}

// TestOutOfMemoryForOneAccount: DuckDB's own out-of-memory error (a limit the fixture's rollups
// fit in, its accounts' grants not) makes the build split its batch, then fail on the first
// account that does not fit alone, naming it and the limit.
func TestOutOfMemoryForOneAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.opts(testNow)
	const limit = "32MB"
	o.Runner.MemoryLimit = limit
	var logs bytes.Buffer
	o.Runner.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	_, err := BuildAccounts(context.Background(), newDB(t), o)
	if !isOutOfMemory(err) {
		t.Fatalf("BuildAccounts at %s: %v, want DuckDB's out-of-memory error", limit, err)
	}
	var de *duckdb.Error
	if !errors.As(err, &de) || !strings.HasPrefix(de.Msg, "Out of Memory Error") {
		t.Errorf("error %v does not wrap DuckDB's", err)
	}
	first := string(allUnits()[0])
	if want := fmt.Sprintf("account %s alone needs more than the models' memory_limit %q: ", first, limit); !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start %q", err, want)
	}
	if !strings.Contains(logs.String(), "a batch ran out of memory: building it again in two halves") {
		t.Errorf("no batch was split before the failure; logs:\n%s", logs.String())
	}
	if n := len(e.records()); n != 0 {
		t.Errorf("%d unit records published", n)
	}
}
