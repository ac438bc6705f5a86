// Package shell is permlake's SQL shell: it runs statements and dot commands (.tables, .schema,
// .mode, .timer, .output, .help, .quit) on one DuckDB connection and renders their results as
// aligned tables cut to the terminal's width, CSV, JSON (columns in order) or Markdown. It reads
// a script (-c, or statements piped on standard input) or, on a terminal, lines edited with
// history (Interactive). Views makes a warehouse-less connection query the lake and its
// published marts.
//
// shell imports the runner (for the models' documentation and the lake's layout) and schemas;
// it must not import extract, transform, load or cmd.
package shell

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// Queryer runs a statement: a *sql.Conn (the shell's temporary views live on one connection) or
// a *sql.DB.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Shell runs statements and dot commands on one connection and writes their results. Not safe
// for concurrent use: a shell runs one statement at a time.
type Shell struct {
	db     Queryer
	stdout io.Writer // results, unless .output names a file
	errw   io.Writer // errors, timings and messages
	out    io.Writer // where results go now
	file   *os.File  // the .output file, when one is open
	mode   Mode
	timer  bool
	// width is the terminal's width in columns for table output to stdout (0: cut nothing).
	width func() int
}

// Options configure a Shell.
type Options struct {
	Mode Mode // default ModeTable
	// Width reports the terminal's width in columns, asked before each table is written to
	// stdout (the terminal may be resized); nil or a result of 0 cuts nothing.
	Width func() int
}

// New returns a shell over db writing results to stdout and errors to stderr.
func New(db Queryer, stdout, stderr io.Writer, opts Options) *Shell {
	if opts.Mode == "" {
		opts.Mode = ModeTable
	}
	return &Shell{db: db, stdout: stdout, errw: stderr, out: stdout, mode: opts.Mode, width: opts.Width}
}

// Close closes the .output file, if one is open.
func (s *Shell) Close() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file, s.out = nil, s.stdout
	return err
}

// errQuit is returned by .quit: the caller stops reading.
var errQuit = errors.New("quit")

// Exec runs every statement and dot command of text in turn (a -c argument: "select 1; select 2"
// prints both results) and stops at the first that fails, returning its error. A dot command
// takes the rest of its line; a last statement may omit its ';'.
func (s *Shell) Exec(ctx context.Context, text string) error {
	var pending strings.Builder
	flush := func(final bool) error {
		stmts, rest := splitStatements(pending.String())
		if final && strings.TrimSpace(rest) != "" && !onlyComments(rest) {
			stmts = append(stmts, strings.TrimSpace(rest))
			rest = ""
		}
		pending.Reset()
		pending.WriteString(rest)
		for _, q := range stmts {
			if err := s.Statement(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		if strings.TrimSpace(pending.String()) == "" && isDot(line) {
			pending.Reset()
			if err := s.Dot(ctx, line); errors.Is(err, errQuit) {
				return nil
			} else if err != nil {
				return err
			}
			continue
		}
		pending.WriteString(line)
		if err := flush(false); err != nil {
			return err
		}
	}
	err := flush(true)
	if errors.Is(err, errQuit) {
		return nil
	}
	return err
}

// Script reads statements and dot commands from r (standard input that is not a terminal). A
// statement that fails is reported on stderr and the next one runs; the error returned counts
// the failures, so that a script notices.
func (s *Shell) Script(ctx context.Context, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	failed := 0
	var pending strings.Builder
	run := func(q string) {
		if err := s.Statement(ctx, q); err != nil {
			fmt.Fprintf(s.errw, "error: %v\n", err)
			failed++
		}
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if strings.TrimSpace(pending.String()) == "" && isDot(line) {
			pending.Reset()
			if err := s.Dot(ctx, line); errors.Is(err, errQuit) {
				break
			} else if err != nil {
				fmt.Fprintf(s.errw, "error: %v\n", err)
				failed++
			}
			continue
		}
		pending.WriteString(line)
		stmts, rest := splitStatements(pending.String())
		pending.Reset()
		pending.WriteString(rest)
		for _, q := range stmts {
			run(q)
		}
	}
	if q := strings.TrimSpace(pending.String()); q != "" && !onlyComments(q) {
		run(q)
	}
	if failed > 0 {
		return fmt.Errorf("%d statement(s) failed", failed)
	}
	return nil
}

// isDot reports whether line is a dot command (it starts with '.').
func isDot(line string) bool { return strings.HasPrefix(strings.TrimSpace(line), ".") }

// Statement runs one SQL statement and writes its result (nothing for a statement without
// columns). The statement stops when ctx is done.
func (s *Shell) Statement(ctx context.Context, q string) error {
	start := time.Now()
	res, err := query(ctx, s.db, q)
	if err != nil {
		return err
	}
	// DuckDB answers a statement that returns nothing (create, set) with an empty "Count"
	// column: there is nothing to show.
	if len(res.Columns) > 0 && !(len(res.Rows) == 0 && len(res.Columns) == 1 && res.Columns[0] == "Count") {
		width := 0
		if s.file == nil && s.width != nil {
			width = s.width()
		}
		if err := Write(s.out, s.mode, res, width); err != nil {
			return err
		}
	}
	if s.timer {
		fmt.Fprintf(s.errw, "Run Time: %.3fs\n", time.Since(start).Seconds())
	}
	return nil
}

// query runs q with args and reads every row.
func query(ctx context.Context, db Queryer, q string, args ...any) (_ Result, err error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	cols, err := rows.Columns()
	if err != nil {
		return Result{}, err
	}
	res := Result{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return Result{}, err
		}
		res.Rows = append(res.Rows, vals)
	}
	return res, rows.Err()
}

// Help lists the dot commands.
const Help = `.tables [PATTERN]        list tables and views (a LIKE pattern narrows them)
.schema TABLE            show a table's or view's columns and types
.mode table|csv|json|markdown
                         how results are written (table: cut to the terminal's width)
.timer on|off            print each statement's run time
.output [FILE]           write results to FILE; .output alone goes back to the terminal
.help                    this list
.quit                    leave (so does Ctrl-D)
Statements end with ';' and may span lines. Ctrl-C clears the line, or cancels a running query.
`

// Dot runs one dot command line (".tables", ".mode csv", …).
func (s *Shell) Dot(ctx context.Context, line string) error {
	fields := strings.Fields(strings.TrimSpace(line))
	if len(fields) == 0 {
		return nil
	}
	cmd, args := fields[0], fields[1:]
	arg := func() string {
		if len(args) == 0 {
			return ""
		}
		return args[0]
	}
	switch cmd {
	case ".quit", ".exit", ".q":
		return errQuit
	case ".help", ".h":
		_, err := io.WriteString(s.errw, Help)
		return err
	case ".mode":
		if len(args) == 0 {
			_, err := fmt.Fprintf(s.errw, "mode %s\n", s.mode)
			return err
		}
		m, err := ParseMode(arg())
		if err != nil {
			return err
		}
		s.mode = m
		return nil
	case ".timer":
		switch arg() {
		case "on":
			s.timer = true
		case "off":
			s.timer = false
		default:
			return fmt.Errorf(".timer %q: want on or off", arg())
		}
		return nil
	case ".output", ".o":
		if err := s.Close(); err != nil {
			return fmt.Errorf("close output: %w", err)
		}
		if len(args) == 0 || arg() == "stdout" {
			return nil
		}
		f, err := os.Create(arg())
		if err != nil {
			return fmt.Errorf(".output: %w", err)
		}
		s.file, s.out = f, f
		return nil
	case ".tables":
		return s.tables(ctx, arg())
	case ".schema":
		if len(args) != 1 {
			return errors.New(".schema needs a table name")
		}
		return s.schema(ctx, arg())
	}
	return fmt.Errorf("unknown command %s (.help lists them)", cmd)
}

// tables lists the tables and views of every schema, the temporary views (the lake's src_*)
// included, in columns like a terminal's ls.
func (s *Shell) tables(ctx context.Context, pattern string) error {
	if pattern == "" {
		pattern = "%"
	}
	res, err := query(ctx, s.db, `select distinct table_name from information_schema.tables
		where table_schema not in ('information_schema', 'pg_catalog') and table_name like ? order by 1`, pattern)
	if err != nil {
		return fmt.Errorf(".tables: %w", err)
	}
	names := make([]string, 0, len(res.Rows))
	for _, r := range res.Rows {
		names = append(names, cellText(r[0]))
	}
	sort.Strings(names)
	_, err = io.WriteString(s.out, columns(names, s.currentWidth()))
	return err
}

// currentWidth is the width tables are cut to now (0: not a terminal).
func (s *Shell) currentWidth() int {
	if s.file != nil || s.width == nil {
		return 0
	}
	return s.width()
}

// columns lays names out in as many columns as fit in width (one per line when width is 0).
func columns(names []string, width int) string {
	if len(names) == 0 {
		return ""
	}
	longest := 0
	for _, n := range names {
		longest = max(longest, len(n))
	}
	per := 1
	if width > 0 {
		per = max(1, (width+len(gap))/(longest+len(gap)))
	}
	rows := (len(names) + per - 1) / per
	var b strings.Builder
	for r := 0; r < rows; r++ {
		var line strings.Builder
		for c := 0; c < per; c++ {
			i := c*rows + r
			if i >= len(names) {
				break
			}
			line.WriteString(names[i])
			line.WriteString(strings.Repeat(" ", longest-len(names[i])+len(gap)))
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// schema writes a table's columns and types.
func (s *Shell) schema(ctx context.Context, table string) error {
	res, err := query(ctx, s.db, `select column_name, data_type from information_schema.columns
		where table_name = ? order by ordinal_position`, table)
	if err != nil {
		return fmt.Errorf(".schema %s: %w", table, err)
	}
	if len(res.Rows) == 0 {
		return fmt.Errorf(".schema: no table or view %q", table)
	}
	res.Columns = []string{"column", "type"}
	return Write(s.out, ModeTable, res, s.currentWidth())
}
