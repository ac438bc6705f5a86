package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	json "github.com/goccy/go-json"
	"github.com/spf13/cobra"

	"github.com/permlake/permlake/sql/runner"
)

func newSQLCmd(a *app) *cobra.Command {
	var warehouse, query, format string
	cmd := &cobra.Command{
		Use:   "sql",
		Short: "Query the warehouse (marts, models and the lake's raw tables as src_*) with DuckDB SQL",
		Long: `sql runs one query (-c) or, without -c, reads statements ending in ';' from standard input.
The warehouse is opened read-only; results go to stdout as an aligned table, CSV or JSON.` + exitStatusHelp,
		Example: `  permlake sql --warehouse demo-out/warehouse.duckdb -c "select * from permission_usage limit 5" --format csv
  echo "select band, count(*) from creep_scores group by 1;" | permlake sql`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch format {
			case "table", "csv", "json":
			default:
				return withCode(exitUsage, fmt.Errorf("--format %q: want table, csv or json", format))
			}
			if warehouse == "" {
				c, err := a.config()
				if err != nil {
					return err
				}
				warehouse = c.Warehouse
			}
			path, err := localPath(warehouse)
			if err != nil {
				return withCode(exitUsage, err)
			}
			if _, err := os.Stat(path); err != nil {
				return withCode(exitUsage, fmt.Errorf("warehouse %s: %w (run `permlake models` or `permlake demo` first)", path, err))
			}
			db, err := sql.Open("duckdb", path+"?access_mode=read_only")
			if err != nil {
				return fmt.Errorf("open warehouse %s: %w", path, err)
			}
			defer db.Close()
			conn, err := db.Conn(cmd.Context()) // the raw-table views are temporary: one connection
			if err != nil {
				return fmt.Errorf("open warehouse %s: %w", path, err)
			}
			defer conn.Close()
			if err := rawViews(cmd.Context(), conn, a); err != nil {
				return err
			}
			if query != "" {
				return runQuery(cmd.Context(), conn, query, format, a.stdout)
			}
			return repl(cmd.Context(), conn, format, a.stdin, a.stdout, a.stderr)
		},
	}
	cmd.Flags().StringVar(&warehouse, "warehouse", "", "warehouse DuckDB file (default: the config's warehouse)")
	cmd.Flags().StringVarP(&query, "command", "c", "", "query to run")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, csv or json")
	return cmd
}

// queryer is a *sql.DB or *sql.Conn.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// rawViews makes the raw tables the warehouse does not copy (the CloudTrail events, read by the
// models through rollups) queryable as src_* views over the lake directory the warehouse was
// built from, when that directory is still there; a warehouse from before build_info, or whose
// lake is gone, simply lacks them (logged).
func rawViews(ctx context.Context, conn *sql.Conn, a *app) error {
	var lake sql.NullString
	err := conn.QueryRowContext(ctx, "select lake from build_info").Scan(&lake)
	if err != nil || !lake.Valid || lake.String == "" {
		a.logger.Warn("the warehouse names no lake: src_aws_cloudtrail_events is not available", "error", err)
		return nil
	}
	if _, err := os.Stat(lake.String); err != nil {
		a.logger.Warn("the warehouse's lake is not there: src_aws_cloudtrail_events is not available", "lake", lake.String)
		return nil
	}
	if err := runner.SourceViews(ctx, conn, lake.String); err != nil {
		return fmt.Errorf("raw tables of %s: %w", lake.String, err)
	}
	return nil
}

// repl reads ';'-terminated statements from in; an error in one statement is printed and the next
// one runs. It returns an error (exit 1) when any statement failed, so scripts notice.
func repl(ctx context.Context, db queryer, format string, in io.Reader, out, errw io.Writer) error {
	interactive := false
	if f, ok := in.(*os.File); ok && isTerminal(f) {
		interactive = true
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var stmt strings.Builder
	failed := 0
	prompt := func() {
		if interactive {
			if stmt.Len() == 0 {
				fmt.Fprint(errw, "permlake> ")
			} else {
				fmt.Fprint(errw, "      ..> ")
			}
		}
	}
	prompt()
	for sc.Scan() {
		stmt.WriteString(sc.Text())
		stmt.WriteString("\n")
		if q := strings.TrimSpace(stmt.String()); strings.HasSuffix(q, ";") {
			if err := runQuery(ctx, db, q, format, out); err != nil {
				fmt.Fprintf(errw, "error: %v\n", err)
				failed++
			}
			stmt.Reset()
		}
		prompt()
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if q := strings.TrimSpace(stmt.String()); q != "" {
		if err := runQuery(ctx, db, q, format, out); err != nil {
			fmt.Fprintf(errw, "error: %v\n", err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d statement(s) failed", failed)
	}
	return nil
}

func runQuery(ctx context.Context, db queryer, q, format string, out io.Writer) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	var records [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		records = append(records, vals)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return writeResult(out, format, cols, records)
}

func writeResult(out io.Writer, format string, cols []string, records [][]any) error {
	switch format {
	case "csv":
		w := csv.NewWriter(out)
		if err := w.Write(cols); err != nil {
			return err
		}
		for _, r := range records {
			line := make([]string, len(r))
			for i, v := range r {
				line[i] = cellText(v)
			}
			if err := w.Write(line); err != nil {
				return err
			}
		}
		w.Flush()
		return w.Error()
	case "json":
		objs := make([]map[string]any, 0, len(records))
		for _, r := range records {
			o := make(map[string]any, len(cols))
			for i, c := range cols {
				o[c] = jsonValue(r[i])
			}
			objs = append(objs, o)
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(objs)
	default:
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
		for _, r := range records {
			line := make([]string, len(r))
			for i, v := range r {
				line[i] = strings.ReplaceAll(cellText(v), "\t", " ")
				if v == nil {
					line[i] = "NULL"
				}
			}
			fmt.Fprintln(tw, strings.Join(line, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(out, "(%d rows)\n", len(records))
		return err
	}
}

func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []any, map[string]any:
		b, err := json.Marshal(jsonValue(x))
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = jsonValue(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	default:
		return x
	}
}
