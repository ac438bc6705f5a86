package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// flightQuery is what the Flight SQL benchmark streams: the largest mart, whole.
const flightQuery = "select * from permission_usage"

// flightThroughput measures rows/s of flightQuery on the default demo's warehouse, streamed by
// `permlake serve` to a Flight SQL client (this process, which counts the rows of each Arrow
// batch and keeps none) and printed by `permlake sql --format csv` (its output counted and
// dropped), alternating, o.reps times each. The CSV side's time includes its process start
// and warehouse open (~0.1 s): that is what a one-shot export costs; the server is warmed by one
// unmeasured query.
func flightThroughput(ctx context.Context, o options, root, permlakeBin, cmdline string, stdout, stderr io.Writer) error {
	dir, _, err := demoOut(ctx, permlakeBin, stderr)
	if err != nil {
		return err
	}
	loadBefore := loadAvg()
	cfg := filepath.Join(dir, "permlake.yaml")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := lis.Addr().String()
	lis.Close()
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	srv := exec.CommandContext(ctx, permlakeBin, "--config", cfg, "serve", "--addr", addr, "--max-rows", "0", "--query-timeout", "0")
	srv.Env = append(os.Environ(), "PERMLAKE_SERVE_TOKEN="+token)
	var srvLog strings.Builder
	srv.Stdout, srv.Stderr = &srvLog, &srvLog
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	}()
	cl, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30)))
	if err != nil {
		return err
	}
	defer cl.Close()
	cctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	var warm int64
	for deadline := time.Now().Add(time.Minute); ; {
		if warm, err = flightRows(cctx, cl); err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("permlake serve: %w\n%s", err, tailString(srvLog.String(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	var flightSec, csvSec []float64
	for rep := 1; rep <= o.reps; rep++ {
		start := time.Now()
		n, err := flightRows(cctx, cl)
		if err != nil {
			return err
		}
		flightSec = append(flightSec, time.Since(start).Seconds())
		if n != warm {
			return fmt.Errorf("flight sql: %d rows, then %d", warm, n)
		}
		sqlCmd := exec.CommandContext(ctx, permlakeBin, "--config", cfg, "sql", "-c", flightQuery, "--format", "csv")
		var out lineCounter
		var errb strings.Builder
		sqlCmd.Stdout, sqlCmd.Stderr = &out, &errb
		start = time.Now()
		if err := sqlCmd.Run(); err != nil {
			return fmt.Errorf("permlake sql: %w\n%s", err, tailString(errb.String(), 4000))
		}
		csvSec = append(csvSec, time.Since(start).Seconds())
		// Lines, not records: a quoted field may hold a newline, so at least rows+1.
		if out.lines < warm+1 {
			return fmt.Errorf("permlake sql printed %d lines for %d rows", out.lines, warm)
		}
		fmt.Fprintf(stderr, "flight sql rep %d: %d rows in %.2fs; permlake sql --format csv: %d bytes in %.2fs\n",
			rep, n, flightSec[rep-1], out.bytes, csvSec[rep-1])
	}
	fRate, cRate := float64(warm)/median(flightSec), float64(warm)/median(csvSec)
	var md strings.Builder
	mach := describeMachine()
	fmt.Fprintf(&md, "\n## %s — Flight SQL vs `permlake sql --format csv`\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&md, "Command: `%s` (from the module root)\n\n", cmdline)
	fmt.Fprintf(&md, "- Machine: %s; shared: load average %s before, %s after.\n", mach.text(), loadBefore, loadAvg())
	fmt.Fprintf(&md, "- Data: the default demo's warehouse (%s); `%s`: **%d rows**.\n", dir, flightQuery, warm)
	fmt.Fprintf(&md, "- Flight SQL: `permlake serve` (child process, loopback, bearer token, no TLS) → the Arrow Go Flight SQL client in the bench process counting each batch's rows; warmed by one unmeasured query. CSV: `permlake sql -c … --format csv`, a child process whose output is counted and dropped (its time includes starting and opening the warehouse). Alternating, %d repetitions each; wall time.\n\n", o.reps)
	fmt.Fprintf(&md, "| side | median wall s | rows/s | runs (s) |\n|---|---:|---:|---|\n")
	fmt.Fprintf(&md, "| Flight SQL stream | %.2f | %.0f | %s |\n", median(flightSec), fRate, secs(flightSec))
	fmt.Fprintf(&md, "| `permlake sql --format csv` | %.2f | %.0f | %s |\n", median(csvSec), cRate, secs(csvSec))
	fmt.Fprintf(&md, "\nRatio Flight SQL / CSV rows/s: **%.1f×**.\n", fRate/cRate)
	fmt.Fprint(stdout, md.String())
	return appendResults(root, o, md.String(), stdout)
}

// flightRows runs flightQuery over Flight SQL and counts the rows streamed.
func flightRows(ctx context.Context, cl *flightsql.Client) (int64, error) {
	info, err := cl.Execute(ctx, flightQuery)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return 0, err
		}
		for rdr.Next() {
			n += rdr.RecordBatch().NumRows()
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// lineCounter counts what a child prints, keeping none of it.
type lineCounter struct{ lines, bytes int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.bytes += int64(len(p))
	for _, b := range p {
		if b == '\n' {
			c.lines++
		}
	}
	return len(p), nil
}

func secs(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(s, ", ")
}
