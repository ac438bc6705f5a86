// Command permlake extracts cloud entitlements and activity into a Parquet lake and builds DuckDB
// models of the gap between permissions granted and permissions used. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Airflow stops tasks with SIGTERM; a terminal with SIGINT. Both cancel the root context.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
