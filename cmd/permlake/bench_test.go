package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/demo"
)

// BenchmarkIngest runs `permlake run --no-models` in-process over a small generated CloudTrail
// set (4 accounts, 24 hours, ~190k records), each iteration into a fresh lake, for profiling the
// ingest path:
//
//	go test ./cmd/permlake -run '^$' -bench Ingest -benchtime 3x -cpuprofile cpu.out -memprofile mem.out
//	go tool pprof -top cmd/permlake/permlake.test cpu.out
//
// Throughput side by side with DuckDB is `make bench` (bench/), not this benchmark.
func BenchmarkIngest(b *testing.B) {
	benchmarkIngest(b, demo.Config{MemberAccounts: 2, EventsPerHour: 2000, Days: 1})
}

// BenchmarkIngestBusy is BenchmarkIngest on the busy-accounts shape of `make bench` (issue 18):
// one region, a file every 10 minutes (~500 records per file), large nested payloads (~1.5 KB
// per record), ~190k records.
func BenchmarkIngestBusy(b *testing.B) {
	benchmarkIngest(b, demo.Config{MemberAccounts: 2, EventsPerHour: 2000, Days: 1, Payloads: demo.PayloadsLarge,
		DeliveryMinutes: 10, Regions: []string{"us-east-1"}})
}

func benchmarkIngest(b *testing.B, gen demo.Config) {
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	org, err := demo.Generate(context.Background(), src, gen)
	if err != nil {
		b.Fatal(err)
	}
	from, to := org.WindowStart.Format("2006-01-02T15"), org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		c := readLocal(testConfig(dir, fmt.Sprintf("lake%d", i)), org, src, nil)
		c.AWS.IAMSnapshots = StoreConfig{} // CloudTrail only
		c.LateMargin = 12 * time.Hour      // every late delivery of the demo
		cfg := filepath.Join(dir, fmt.Sprintf("lake%d.yaml", i))
		if err := writeDemoConfig(cfg, c); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var errb strings.Builder
		if code := run(context.Background(), []string{"--config", cfg, "run", "--from", from, "--to", to, "--no-models"},
			strings.NewReader(""), io.Discard, &errb); code != exitOK {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
	}
	b.ReportMetric(float64(org.Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestMemoryLimit: the default soft limit applies unless GOMEMLIMIT or PERMLAKE_MEMORY_LIMIT says
// otherwise (main.go); it is what keeps `make bench`'s peak RSS check under 512 MiB.
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		permlake, gomemlimit string
		want                 int64
		set, fail            bool
	}{
		{"", "", defaultMemoryLimit, true, false},
		{"", "1GiB", 0, false, false},
		{"512MiB", "1GiB", 512 << 20, true, false},
		{"1000000", "", 1000000, true, false},
		{"2GiB", "", 2 << 30, true, false},
		{"64KiB", "", 64 << 10, true, false},
		{"off", "", math.MaxInt64, true, false},
		{"lots", "", 0, false, true},
		{"-1MiB", "", 0, false, true},
		{"9999999TiB", "", 0, false, true},
	} {
		env := map[string]string{"PERMLAKE_MEMORY_LIMIT": tc.permlake, "GOMEMLIMIT": tc.gomemlimit}
		got, set, err := memoryLimit(func(k string) string { return env[k] })
		if (err != nil) != tc.fail || got != tc.want || set != tc.set {
			t.Errorf("PERMLAKE_MEMORY_LIMIT=%q GOMEMLIMIT=%q: %d %v %v, want %d %v (error %v)", tc.permlake, tc.gomemlimit, got, set, err, tc.want, tc.set, tc.fail)
		}
	}
}
