package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The peak RSS that wait4 reports for a child on Linux is not the child's alone: Go starts
// children with vfork (CLONE_VM, syscall/exec_linux.go), so the memory a child execs away from is
// its parent's, and exec keeps that memory's peak as the child's maxrss (fs/exec.c, exec_mmap →
// setmax_mm_hiwater_rss). A bench process that had read 2M rows back with DuckDB in-process thus
// reported 558–591 MiB for permlake runs that peaked at ~350 MiB run by themselves (the
// /bin/true child of a process holding 700 MiB "peaks" at 703 MiB).
//
// So every measured command runs under a launcher: this binary started again with launchEnv
// set, small and fresh, which starts the command, waits for it and writes the command's rusage
// to the file launchEnv names. The command's maxrss then includes only the launcher's few MiB.
const launchEnv = "PERMLAKE_BENCH_RUSAGE"

// childUsage is what the launcher reports.
type childUsage struct {
	UserNS    int64 `json:"user_ns"`
	SysNS     int64 `json:"sys_ns"`
	MaxRSSKiB int64 `json:"max_rss_kib"`
	// LauncherRSSKiB is the launcher's own peak: the floor below which MaxRSSKiB means nothing.
	LauncherRSSKiB int64 `json:"launcher_rss_kib"`
}

// launchMain is main when the process is a launcher: it runs os.Args[1:] and exits with its
// exit code (1 when it could not be started or was killed by a signal).
func launchMain(report string) {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = withoutEnv(os.Environ(), launchEnv)
	// The bench kills the launcher when its context ends; the command goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "bench launcher:", err)
		os.Exit(1)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "bench launcher: no rusage from the OS")
		os.Exit(1)
	}
	// The launcher's own rusage carries the bench's peak the same way; its memory's own peak
	// is VmHWM.
	own, err := peakKiB("/proc/self/status")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench launcher:", err)
		os.Exit(1)
	}
	b, err := json.Marshal(childUsage{UserNS: ru.Utime.Nano(), SysNS: ru.Stime.Nano(), MaxRSSKiB: ru.Maxrss, LauncherRSSKiB: own})
	if err == nil {
		err = os.WriteFile(report, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench launcher:", err)
		os.Exit(1)
	}
	code := cmd.ProcessState.ExitCode()
	if code < 0 {
		code = 1 // killed by a signal
	}
	os.Exit(code)
}

// launched turns cmd into the same command run under a launcher (see launchEnv) reporting to
// report.
func launched(cmd *exec.Cmd, report string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	path := cmd.Path
	if !filepath.IsAbs(path) {
		if path, err = filepath.Abs(path); err != nil {
			return err
		}
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Path, cmd.Args = self, append([]string{self, path}, cmd.Args[1:]...)
	cmd.Env = append(withoutEnv(env, launchEnv), launchEnv+"="+report)
	return nil
}

// readUsage reads what the launcher wrote.
func readUsage(report string) (user, sys time.Duration, maxRSS, floor int64, err error) {
	b, err := os.ReadFile(report)
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("the launcher's report: %w", err)
	}
	var u childUsage
	if err := json.Unmarshal(b, &u); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("the launcher's report %s: %w", report, err)
	}
	return time.Duration(u.UserNS), time.Duration(u.SysNS), u.MaxRSSKiB * 1024, u.LauncherRSSKiB * 1024, nil
}

// peakKiB reads VmHWM (the peak RSS of the process's memory) from a /proc/<pid>/status file.
func peakKiB(status string) (int64, error) {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no VmHWM", status)
}

func withoutEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if len(kv) > len(name) && kv[:len(name)+1] == name+"=" {
			continue
		}
		out = append(out, kv)
	}
	return out
}
