package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkIngestAzure runs `permlake run --no-models` in-process over an Azure Activity Log set
// that `go run ./bench -azure-only` generated (its cache directory in PERMLAKE_BENCH_AZURE_DIR,
// hours in PERMLAKE_BENCH_AZURE_FROM and _TO as 2006-01-02T15), each iteration into a fresh lake,
// for profiling the Azure ingest path:
//
//	PERMLAKE_BENCH_AZURE_DIR=~/.cache/permlake/bench-azure-s2-r2500-h4 PERMLAKE_BENCH_AZURE_FROM=2026-11-15T20 PERMLAKE_BENCH_AZURE_TO=2026-11-15T23 \
//	  go test ./cmd/permlake -run '^$' -bench IngestAzure -benchtime 3x -cpuprofile cpu.out
//	go tool pprof -top cmd/permlake/permlake.test cpu.out
//
// Throughput side by side with DuckDB is `make bench` (bench/azure.go), not this benchmark.
func BenchmarkIngestAzure(b *testing.B) {
	src, from, to := os.Getenv("PERMLAKE_BENCH_AZURE_DIR"), os.Getenv("PERMLAKE_BENCH_AZURE_FROM"), os.Getenv("PERMLAKE_BENCH_AZURE_TO")
	if src == "" || from == "" || to == "" {
		b.Skip("PERMLAKE_BENCH_AZURE_DIR, _FROM and _TO name a set of go run ./bench -azure-only")
	}
	dir := b.TempDir()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		cfg := filepath.Join(dir, fmt.Sprintf("lake%d.yaml", i))
		body := fmt.Sprintf("lake: %q\nwarehouse: %q\nlate_margin: 4h\nazure:\n  snapshots:\n    url: %q\n  discovery:\n    discover: true\n  logs:\n    url: %q\n",
			"file://"+filepath.Join(dir, fmt.Sprintf("lake%d", i)), filepath.Join(dir, "w.duckdb"), "file://"+filepath.Join(src, "azure"), "file://"+filepath.Join(src, "azure", "blob"))
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var errb strings.Builder
		if code := run(context.Background(), []string{"--config", cfg, "run", "--from", from, "--to", to, "--no-models"},
			strings.NewReader(""), io.Discard, &errb); code != exitOK {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
	}
}
