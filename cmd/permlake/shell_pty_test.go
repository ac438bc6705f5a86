package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/mattn/go-runewidth"
)

// ptyShell is the permlake binary's interactive shell on a pseudo-terminal: what it writes is
// collected, keys are typed into it.
type ptyShell struct {
	t    *testing.T
	tty  *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func startPTYShell(t *testing.T, cols uint16, dir string, args ...string) *ptyShell {
	t.Helper()
	cmd := exec.Command(permlakeBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "TERM=xterm"}
	// pty.Start makes the terminal the child's controlling terminal (setsid, setctty): Ctrl-C
	// typed on it sends SIGINT to the child as a user's terminal does.
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	s := &ptyShell{t: t, tty: tty, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = tty.Close()
	})
	return s
}

// mark is the length of the output so far: expect looks after it.
func (s *ptyShell) mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.Len()
}

// since is the output after mark m as the terminal shows it (plain).
func (s *ptyShell) since(m int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return plain(s.out.String()[m:])
}

var ansiPattern = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// plain is what the terminal shows of s, roughly: escape sequences removed, and of each line
// what follows its last carriage return (the line editor redraws the line after each key).
func plain(s string) string {
	lines := strings.Split(ansiPattern.ReplaceAllString(s, ""), "\n")
	for i, l := range lines {
		l = strings.TrimRight(l, "\r")
		lines[i] = l[strings.LastIndex(l, "\r")+1:]
	}
	return strings.Join(lines, "\n")
}

// expect waits until the output after mark m holds want, and returns that output.
func (s *ptyShell) expect(m int, want string, within time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if out := s.since(m); strings.Contains(out, want) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("no %q within %s; the output since was:\n%s", want, within, s.since(m))
	return ""
}

// typeKeys writes keys to the terminal and returns the mark before them.
func (s *ptyShell) typeKeys(keys string) int {
	s.t.Helper()
	m := s.mark()
	if _, err := io.WriteString(s.tty, keys); err != nil {
		s.t.Fatal(err)
	}
	return m
}

// idle waits for the prompt after mark m, then a moment for the line editor to read keys in raw
// mode (a Ctrl-C typed before it would be a signal).
func (s *ptyShell) idle(m int) {
	s.t.Helper()
	s.expect(m, "permlake> ", 30*time.Second)
	time.Sleep(200 * time.Millisecond)
}

// TestSQLShellOnATerminal drives `permlake sql` on a pseudo-terminal of 80 columns as a user
// would: history recalled with the up arrow, Ctrl-C at the prompt and during a long query (the
// session goes on both times), .tables, a wide result cut to the terminal's width, Ctrl-D.
func TestSQLShellOnATerminal(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "w.duckdb")
	db := openDuck(t, wh)
	if _, err := db.Exec(`create table t as select 1 as a;
		create table wide as select 1 as id, repeat('x', 300) as doc, repeat('y', 120) as more`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	history := filepath.Join(dir, "state", "sql_history")
	const cols = 80
	s := startPTYShell(t, cols, dir, "sql", "--warehouse", wh, "--history", history)
	s.idle(0)

	// A statement over two lines runs when ';' ends it.
	m := s.typeKeys("select 1000 + 1\r")
	s.expect(m, "..> ", 10*time.Second)
	m = s.typeKeys("as first;\r")
	s.expect(m, "1001", 10*time.Second)
	s.idle(m)

	// History: the up arrow recalls the statement, Enter runs it again.
	m = s.typeKeys("\x1b[A")
	s.expect(m, "select 1000 + 1 as first;", 10*time.Second)
	s.typeKeys("\r")
	if out := s.expect(m, "1001", 10*time.Second); strings.Contains(out, "error") {
		t.Errorf("recalled statement failed:\n%s", out)
	}
	s.idle(m)

	// Ctrl-C at the prompt clears the line; the next statement runs.
	m = s.typeKeys("select 'abandoned")
	s.expect(m, "abandoned", 10*time.Second)
	s.typeKeys("\x03")
	s.idle(m)
	m = s.typeKeys("select 2000 + 2 as after_ctrl_c;\r") // the result is not in the echoed line
	if out := s.expect(m, "2002", 10*time.Second); strings.Contains(out, "error") || strings.Contains(out, "canceled") {
		t.Errorf("after Ctrl-C at the prompt:\n%s", out)
	}
	s.idle(m)

	// Ctrl-C during a long query cancels it; the next statement runs.
	m = s.typeKeys("select count(*) from range(10000000000);\r")
	time.Sleep(1500 * time.Millisecond) // the query runs (it would take minutes)
	s.typeKeys("\x03")
	// "canceled" is printed only for a statement that failed because its context was canceled.
	s.expect(m, "canceled", 20*time.Second)
	s.idle(m)
	m = s.typeKeys("select 3000 + 3 as after_cancel;\r")
	if out := s.expect(m, "3003", 10*time.Second); strings.Contains(out, "error") || strings.Contains(out, "canceled") {
		t.Errorf("after canceling a query:\n%s", out)
	}
	s.idle(m)

	// .tables lists the warehouse's tables.
	m = s.typeKeys(".tables\r")
	out := s.expect(m, "wide", 10*time.Second)
	if !regexp.MustCompile(`(?m)^t\b|\bt\s*$|\st\s`).MatchString(out) {
		t.Errorf(".tables does not list t:\n%s", out)
	}
	s.idle(m)

	// A wide row is cut to the terminal's 80 columns, never wrapped.
	m = s.typeKeys("select * from wide;\r")
	out = s.expect(m, "(1 rows)", 10*time.Second)
	if !strings.Contains(out, "…") {
		t.Errorf("the wide row was not cut:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if w := runewidth.StringWidth(l); w > cols {
			t.Errorf("a line of %d columns on a terminal of %d: %q", w, cols, l)
		}
	}
	s.idle(m)

	// Ctrl-D leaves with exit status 0.
	s.typeKeys("\x04")
	waited := make(chan error, 1)
	go func() { waited <- s.cmd.Wait() }()
	select {
	case err := <-waited:
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Errorf("Ctrl-D: %v; output:\n%s", err, s.since(0))
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the shell did not leave on Ctrl-D:\n%s", s.since(0))
	}
	b, err := os.ReadFile(history)
	if err != nil || !strings.Contains(string(b), "select 1000 + 1 as first;") {
		t.Errorf("history file: %q, %v (want the two-line statement as one entry)", b, err)
	}
}
