package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/demo"
)

// TestSIGTERMStopsCleanly sends SIGTERM (what Airflow and Kubernetes send) to a real permlake
// process in the middle of a backfill: it exits 130 within seconds, and the next run completes
// the lake to exactly what an uninterrupted run builds.
func TestSIGTERMStopsCleanly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin := permlakeBinary(t)
	src := filepath.Join(dir, "source")
	org, err := demo.Generate(ctx, src, demo.Config{Days: 3}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	from, to := org.WindowStart.Format("2006-01-02T15"), org.WindowEnd.Add(-time.Hour).Format("2006-01-02T15")
	cfg := func(name string) string {
		return saveConfig(t, readLocal(testConfig(dir, name), org, src, nil), dir, name)
	}
	clean, killed := cfg("clean"), cfg("killed")
	// The uninterrupted reference and the rerun are the same binary too: three days of the demo
	// under the race detector in-process cost minutes and prove nothing more here.
	if r := runChildFor(t, 10*time.Minute, nil, "run", "--config", clean, "--from", from, "--to", to, "--no-models"); r.code != exitOK {
		t.Fatalf("clean run: exit %d\n%s", r.code, r.stderr)
	}

	var stderr bytes.Buffer
	cmd := exec.Command(bin, "run", "--config", killed, "--from", from, "--to", to, "--no-models")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Stop it once it has committed something: the first partition object appears.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m, _ := filepath.Glob(filepath.Join(dir, "killed", "aws_cloudtrail_events", "*", "*", "*", "data.parquet")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no partition committed within 60 s\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("still running 20 s after SIGTERM\n%s", stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupted {
		// A run that finished before the signal arrived exits 0: the test then proves nothing.
		t.Fatalf("exit after SIGTERM = %v, want %d (stopped %s after the signal)\n%s", err, exitInterrupted, time.Since(sent), stderr.String())
	}
	t.Logf("stopped %s after SIGTERM", time.Since(sent).Round(time.Millisecond))
	if m, _ := filepath.Glob(filepath.Join(dir, "killed", "*", "*", "*", "*", "*.tmp")); len(m) > 0 {
		// A clean stop leaves no temporary file behind (SIGKILL may; the next run removes them).
		t.Errorf("temporary files after a clean stop: %v", m)
	}

	if r := runChildFor(t, 10*time.Minute, nil, "run", "--config", killed, "--from", from, "--to", to, "--no-models"); r.code != exitOK {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	if got, want := lakeFingerprint(t, filepath.Join(dir, "killed")), lakeFingerprint(t, filepath.Join(dir, "clean")); got != want {
		t.Errorf("lake after SIGTERM and a rerun differs from an uninterrupted one:\n%s\nwant\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "killed", "_manifests", "runs")); err != nil {
		t.Errorf("the interrupted run wrote no manifest: %v", err)
	}
}
