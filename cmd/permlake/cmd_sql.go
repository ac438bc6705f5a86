package main

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/permlake/permlake/sql/shell"
)

// memoryWarehouse is the --warehouse value that queries the lake without a warehouse file.
const memoryWarehouse = ":memory:"

func newSQLCmd(a *app) *cobra.Command {
	var warehouse, command, format, history string
	cmd := &cobra.Command{
		Use:   "sql",
		Short: "Query the warehouse (marts, models and the lake's raw tables as src_*) with DuckDB SQL",
		Long: `sql runs the statements of -c (every result is printed) or, without -c, reads statements
ending in ';' from standard input: on a terminal with line editing and history (Ctrl-C clears
the line or cancels the running query, Ctrl-D leaves), otherwise as a script. Dot commands
(.tables, .schema T, .mode, .timer, .output FILE, .help, .quit) start a line.

The warehouse is opened read-only. With --warehouse :memory:, or when the configured warehouse
file is not there yet, an in-memory database reads a local lake directly: every lake table as
src_<table> (all partitions) and the marts published in the lake (marts/_manifest.json).

Results go to stdout as an aligned table (cut to the terminal's width), CSV, JSON (keys in the
columns' order) or Markdown. The history is kept in --history (default
$XDG_STATE_HOME/permlake/sql_history, or ~/.local/state/permlake/sql_history; "" keeps none).` + exitStatusHelp,
		Example: `  permlake sql --warehouse demo-out/warehouse.duckdb -c "select * from permission_usage limit 5" --format csv
  permlake sql -c "select 1 as a; select 2 as b"
  permlake sql --warehouse :memory: -c ".tables"
  echo "select band, count(*) from creep_scores group by 1;" | permlake sql`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mode, err := shell.ParseMode(format)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--format: %w", err))
			}
			db, conn, err := a.openSQL(cmd, warehouse)
			if err != nil {
				return err
			}
			defer db.Close()
			defer conn.Close()
			sh := shell.New(conn, a.stdout, a.stderr, shell.Options{Mode: mode, Width: terminalWidth(a.stdout)})
			defer sh.Close()
			ctx := cmd.Context()
			if cmd.Flags().Changed("command") {
				return sh.Exec(ctx, command)
			}
			in, ok := a.stdin.(*os.File)
			if !ok || !isTerminal(in) {
				return sh.Script(ctx, a.stdin)
			}
			// The process's signal handling cancels ctx on the first SIGINT; the shell asks for
			// its own copy of the signals to cancel one statement at a time.
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sigs)
			if !cmd.Flags().Changed("history") {
				history = shell.DefaultHistoryFile()
			}
			return sh.Interactive(ctx, shell.Terminal{Stdin: in, Prompt: a.stderr, HistoryFile: history, Interrupts: sigs})
		},
	}
	cmd.Flags().StringVar(&warehouse, "warehouse", "", "warehouse DuckDB file (default: the config's warehouse), or :memory: to query the lake without one")
	cmd.Flags().StringVarP(&command, "command", "c", "", "statements (and dot commands) to run; every result is printed")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, csv, json or markdown")
	cmd.Flags().StringVar(&history, "history", "", "history file of the interactive shell (default under $XDG_STATE_HOME/permlake)")
	return cmd
}

// openSQL opens the database the shell queries, on one connection (the lake's views are
// temporary): the warehouse read-only with the raw tables it names, or an in-memory database
// over the lake's tables and published marts. A warehouse named with --warehouse must exist;
// the config's may not be built yet.
func (a *app) openSQL(cmd *cobra.Command, warehouse string) (*sql.DB, *sql.Conn, error) {
	ctx := cmd.Context()
	var c *Config
	if warehouse == "" || warehouse == memoryWarehouse {
		var err error
		if c, err = a.config(); err != nil {
			return nil, nil, err
		}
	}
	explicit := warehouse != ""
	if warehouse == "" {
		warehouse = c.Warehouse
	}
	path := ""
	if warehouse != memoryWarehouse {
		p, err := localPath(warehouse)
		if err != nil {
			return nil, nil, withCode(exitUsage, err)
		}
		_, err = os.Stat(p)
		switch {
		case err == nil:
			path = p
		case explicit:
			return nil, nil, withCode(exitUsage, fmt.Errorf("warehouse %s: %w (run `permlake models` or `permlake demo` first, or use --warehouse :memory:)", p, err))
		case errors.Is(err, fs.ErrNotExist):
			a.logger.Info("no warehouse yet: querying the lake's tables and published marts", "warehouse", p)
		default:
			return nil, nil, fmt.Errorf("warehouse %s: %w", p, err)
		}
	}
	dsn := ""
	if path != "" {
		dsn = path + "?access_mode=read_only"
	}
	db, err := sql.Open("duckdb", dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("open warehouse %s: %w", path, err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("open warehouse %s: %w", path, err)
	}
	fail := func(err error) (*sql.DB, *sql.Conn, error) {
		conn.Close()
		db.Close()
		return nil, nil, err
	}
	if path != "" {
		if err := shell.WarehouseViews(ctx, conn, a.logger); err != nil {
			return fail(err)
		}
		return db, conn, nil
	}
	lake, err := localPath(c.Lake)
	if err != nil {
		a.logger.Warn("the lake is not a local directory: no lake tables to query", "lake", c.Lake, "error", err)
		return db, conn, nil
	}
	views, err := shell.LakeViews(ctx, conn, lake)
	if err != nil {
		return fail(err)
	}
	a.logger.Debug("lake views", "lake", lake, "views", len(views))
	return db, conn, nil
}

// terminalWidth reports w's width in columns when w is a terminal (asked each time: the
// terminal may be resized), else nil: a pipe or a file gets whole cells.
func terminalWidth(w io.Writer) func() int {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(f) {
		return nil
	}
	return func() int {
		width, _, err := term.GetSize(int(f.Fd()))
		if err != nil {
			return 0
		}
		return width
	}
}
