package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/permlake/permlake/schemas"
)

// Exit codes (DESIGN.md §5).
const (
	exitOK          = 0
	exitFailed      = 1 // nothing published
	exitUsage       = 2
	exitPartial     = 3 // some accounts failed or objects were unreadable; the rest committed
	exitDataTest    = 4 // a model's data test failed
	exitInterrupted = 130
)

const exitStatusHelp = `
EXIT STATUS
  0    success
  1    nothing was published (every account failed, or a fatal error)
  2    usage or configuration error
  3    partial: some accounts (or one of their sources) failed, or source objects could
       not be read or are quarantined and not acknowledged (permlake quarantine); they
       are named, everything else committed
  4    a data test of the models failed (the warehouse is still written)
  130  interrupted (SIGINT/SIGTERM); what was committed stays, the rest is redone by the next run
`

// exitError carries an exit code up to run.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// app is what every command shares: streams, config, logger, clock.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	v              *viper.Viper
	configPath     string
	verbose        bool
	logger         *slog.Logger
	now            func() time.Time
	reprocess      bool // run --reprocess
	reconcile      bool // run --reconcile
	listTrail      bool // run: list the trail bucket even when aws.trail.queue is set
}

func (a *app) config() (*Config, error) {
	c, err := loadConfig(a.v, a.configPath)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return c, nil
}

// run executes the CLI with args and returns the process exit code. It is main without the
// process: tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runAt(ctx, time.Now, args, stdin, stdout, stderr)
}

// runAt is run with the clock now (tests pass a fixed one).
func runAt(ctx context.Context, now func() time.Time, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// The logger and the progress line both write stderr, from many goroutines: one lock for both.
	a := &app{stdin: stdin, stdout: stdout, stderr: &lockedWriter{w: stderr}, v: newViper(), now: now}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitFailed
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case strings.HasPrefix(err.Error(), "unknown command "):
		// cobra's own check of the root's arguments (legacyArgs) has no hook to wrap.
		code = exitUsage
	case ctx.Err() != nil:
		code = exitInterrupted
	}
	if ctx.Err() != nil && code != exitPartial {
		code = exitInterrupted
	}
	fmt.Fprintf(stderr, "permlake: %s\n", schemas.Redact(err.Error()))
	return code
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "permlake",
		Short: "Cloud permissions granted vs used, as a Parquet lake and DuckDB models",
		Long: `permlake pulls entitlements (who may do what) and activity (who did what) from AWS accounts,
lands them as Hive-partitioned Parquet, and builds DuckDB models of the gap: unused permissions,
inactive identities, permission creep scores and least-privilege policies.

Configuration: permlake.yaml (or --config), PERMLAKE_* environment variables, flags.` + exitStatusHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.logger = newLogger(a.stderr, a.verbose)
			return nil
		},
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "config file (default ./permlake.yaml when present)")
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "debug logging")
	root.AddCommand(newRunCmd(a), newModelsCmd(a), newStatusCmd(a), newSQLCmd(a), newReportCmd(a), newDemoCmd(a), newDocsCmd(a),
		newCheckCmd(a), newAccountsCmd(a), newVersionCmd(a), newQuarantineCmd(a), newInitCmd(a), newServeCmd(a))
	root.Version = buildVersion(debug.ReadBuildInfo).String()
	root.SetVersionTemplate("permlake {{.Version}}\n")
	// Usage errors exit 2: a flag that is unknown or has an invalid value, arguments a command
	// does not take.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(exitUsage, err) })
	usageArgs(root)
	return root
}

// usageArgs makes every command's argument check a usage error (exit 2).
func usageArgs(c *cobra.Command) {
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error { return withCode(exitUsage, args(cmd, a)) }
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// newLogger logs JSON when stderr is not a terminal (cron, Airflow), text otherwise.
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}
	if writesTerminal(w) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// redactAttr removes credentials from every message and every string, error or string-list
// attribute before it is written: errors carry servers' text, which may echo a signed URL or a
// token (schemas.Redact).
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value; v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(schemas.Redact(v.String()))
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			a.Value = slog.StringValue(schemas.Redact(x.Error()))
		case []string:
			a.Value = slog.AnyValue(schemas.RedactAll(x))
		case fmt.Stringer:
			a.Value = slog.StringValue(schemas.Redact(x.String()))
		}
	}
	return a
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// writesTerminal reports whether w (or the writer a lockedWriter wraps) is a terminal.
func writesTerminal(w io.Writer) bool {
	if lw, ok := w.(*lockedWriter); ok {
		w = lw.w
	}
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

// lockedWriter serializes writes to w, and keeps a status line (the progress display) below
// what is written: each write clears the line first and draws it again after, so a log record
// never runs into it. Writes are whole lines (slog writes a record at a time).
type lockedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	status string // the status line shown ("" none)
}

// clearLine returns the cursor to the start of the line and erases it (ANSI).
const clearLine = "\r\033[K"

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status == "" {
		return l.w.Write(p)
	}
	if _, err := io.WriteString(l.w, clearLine); err != nil {
		return 0, err
	}
	n, err := l.w.Write(p)
	if err != nil {
		return n, err
	}
	_, err = io.WriteString(l.w, l.status)
	return n, err
}

// setStatus shows s as the status line, or takes the line away when s is "".
func (l *lockedWriter) setStatus(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s == "" && l.status == "" {
		return
	}
	_, _ = io.WriteString(l.w, clearLine+s) // a terminal's display: nothing to do on an error
	l.status = s
}
