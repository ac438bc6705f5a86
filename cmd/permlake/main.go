// Command permlake extracts cloud entitlements and activity into a Parquet lake and builds DuckDB
// models of the gap between permissions granted and permissions used. See README.md.
//
// Memory: permlake sets a soft limit on the Go heap of 384 MiB (runtime/debug.SetMemoryLimit) so
// that a run's peak RSS stays under 512 MiB on a small machine whatever the input's size: without
// it the heap grows to twice the live data between collections, and the 2M-event `make bench`
// set peaked at ~520 MiB (bench/results.md). The environment decides otherwise:
//   - PERMLAKE_MEMORY_LIMIT=<size> sets the limit: bytes, or a number with a B, KiB, MiB, GiB or
//     TiB suffix as GOMEMLIMIT takes them (e.g. 1GiB); "off" removes it.
//   - GOMEMLIMIT, when set and PERMLAKE_MEMORY_LIMIT is not, is left to the Go runtime as usual.
//
// The limit is soft: the garbage collector works harder near it but never fails an allocation,
// so a run whose live data exceeds it is slower, not killed.
package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// defaultMemoryLimit is the soft Go heap limit when the environment sets none.
const defaultMemoryLimit = 384 << 20

func main() {
	if err := setMemoryLimit(os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "permlake:", err)
		os.Exit(exitUsage)
	}
	// Airflow stops tasks with SIGTERM; a terminal with SIGINT. Both cancel the root context.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// setMemoryLimit applies the memory limit the environment asks for (see the package comment).
func setMemoryLimit(getenv func(string) string) error {
	limit, set, err := memoryLimit(getenv)
	if err != nil {
		return err
	}
	if set {
		debug.SetMemoryLimit(limit)
	}
	return nil
}

// memoryLimit is the limit to set, if any: set is false when GOMEMLIMIT governs.
func memoryLimit(getenv func(string) string) (limit int64, set bool, err error) {
	v := strings.TrimSpace(getenv("PERMLAKE_MEMORY_LIMIT"))
	switch {
	case v == "" && getenv("GOMEMLIMIT") != "":
		return 0, false, nil
	case v == "":
		return defaultMemoryLimit, true, nil
	case v == "off":
		return math.MaxInt64, true, nil
	}
	n, err := parseSize(v)
	if err != nil {
		return 0, false, fmt.Errorf("PERMLAKE_MEMORY_LIMIT=%q: %w", v, err)
	}
	return n, true, nil
}

// parseSize reads a byte count in GOMEMLIMIT's syntax: digits and an optional B, KiB, MiB, GiB
// or TiB suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = num, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a positive size such as 384MiB, or off")
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size overflows")
	}
	return n * mult, nil
}
