package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/chzyer/readline"
)

// Terminal is what Interactive reads and writes: a terminal's streams and its interrupts.
type Terminal struct {
	Stdin io.ReadCloser
	// Prompt writes the prompt and the line being edited (the terminal; results go to the
	// shell's stdout, which may be a pipe).
	Prompt io.Writer
	// HistoryFile keeps the statements between sessions ("": none).
	HistoryFile string
	// Interrupts delivers the process's SIGINT and SIGTERM while the shell runs (signal.Notify).
	// A SIGINT cancels the running statement; at the prompt the terminal's raw mode turns Ctrl-C
	// into a key, which clears the line. A SIGTERM cancels the statement and ends the shell.
	Interrupts <-chan os.Signal
}

// DefaultHistoryFile is where the shell keeps its history: $XDG_STATE_HOME/permlake/sql_history,
// or ~/.local/state/permlake/sql_history (the XDG base directory for state that outlives a
// session but is not worth backing up); "" when there is no home directory.
func DefaultHistoryFile() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "permlake", "sql_history")
}

const (
	prompt     = "permlake> "
	contPrompt = "      ..> "
)

// Interactive reads lines from a terminal with line editing and history until Ctrl-D or .quit:
// a statement runs when a line ends it with ';' (it may span lines, kept in the history as one
// entry), a dot command when it starts a line. A failing statement is reported and the session
// goes on; it returns nil at the end (Ctrl-D exits 0), or an error when a SIGTERM ended it.
//
// Every statement runs in a context of its own, canceled by a SIGINT: ctx is the process's
// root context, which its own signal handling cancels on the first SIGINT, so statements do not
// derive their cancellation from it (that made every statement after a Ctrl-C fail with
// "context canceled").
func (s *Shell) Interactive(ctx context.Context, t Terminal) error {
	if t.HistoryFile != "" {
		if err := os.MkdirAll(filepath.Dir(t.HistoryFile), 0o700); err != nil {
			fmt.Fprintf(s.errw, "history not kept: %v\n", err)
			t.HistoryFile = ""
		}
	}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:                 prompt,
		HistoryFile:            t.HistoryFile,
		HistoryLimit:           5000,
		DisableAutoSaveHistory: true, // a statement of several lines is saved once, whole
		HistorySearchFold:      true,
		InterruptPrompt:        "^C",
		EOFPrompt:              "",
		Stdin:                  t.Stdin,
		Stdout:                 t.Prompt,
		Stderr:                 t.Prompt,
		FuncIsTerminal:         func() bool { return true },
	})
	if err != nil {
		return fmt.Errorf("line editor: %w", err)
	}
	defer rl.Close()
	base := context.WithoutCancel(ctx)
	fmt.Fprintln(s.errw, `Enter ".help" for the dot commands; statements end with ";".`)
	var pending []string
	for {
		if len(pending) == 0 {
			rl.SetPrompt(prompt)
		} else {
			rl.SetPrompt(contPrompt)
		}
		line, err := rl.Readline()
		switch {
		case errors.Is(err, readline.ErrInterrupt):
			pending = nil // Ctrl-C at the prompt: forget the statement being typed
			continue
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return fmt.Errorf("read a line: %w", err)
		}
		if len(pending) == 0 && isDot(line) {
			_ = rl.SaveHistory(strings.TrimSpace(line))
			err := s.Dot(base, line)
			if errors.Is(err, errQuit) {
				return nil
			}
			if err != nil {
				fmt.Fprintf(s.errw, "error: %v\n", err)
			}
			continue
		}
		if len(pending) == 0 && strings.TrimSpace(line) == "" {
			continue
		}
		pending = append(pending, line)
		stmts, rest := splitStatements(strings.Join(pending, "\n"))
		if len(stmts) == 0 {
			continue
		}
		_ = rl.SaveHistory(oneLine(strings.TrimSpace(strings.Join(pending, " "))))
		pending = nil
		if r := strings.TrimSpace(rest); r != "" {
			pending = []string{r}
		}
		for _, q := range stmts {
			if term := s.interruptible(base, q, t.Interrupts); term {
				return errors.New("terminated")
			}
		}
	}
}

// interruptible runs q in a context that a SIGINT on interrupts cancels, and reports whether a
// SIGTERM arrived (the shell must end).
func (s *Shell) interruptible(ctx context.Context, q string, interrupts <-chan os.Signal) (terminated bool) {
	// A signal that came while no statement ran (a second Ctrl-C after a query ended) is not
	// this statement's.
	for drained := false; !drained; {
		select {
		case sig := <-interrupts:
			if sig == syscall.SIGTERM {
				return true
			}
		default:
			drained = true
		}
	}
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	stopped := make(chan bool, 1)
	go func() {
		term := false
		defer func() { stopped <- term }()
		for {
			select {
			case <-done:
				return
			case sig := <-interrupts:
				term = term || sig == syscall.SIGTERM
				cancel()
			}
		}
	}()
	err := s.Statement(qctx, q)
	close(done)
	terminated = <-stopped
	switch {
	case err != nil && qctx.Err() != nil:
		fmt.Fprintln(s.errw, "canceled")
	case err != nil:
		fmt.Fprintf(s.errw, "error: %v\n", err)
	}
	return terminated
}
