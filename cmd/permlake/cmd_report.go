package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/permlake/permlake/sql/report"
)

func newReportCmd(a *app) *cobra.Command {
	var warehouse, out string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write a self-contained HTML report of the marts (creep scores, usage per account, inactive identities)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if warehouse == "" {
				c, err := a.config()
				if err != nil {
					return err
				}
				warehouse = c.Warehouse
			}
			return a.writeReportFile(cmd.Context(), warehouse, out)
		},
	}
	cmd.Flags().StringVar(&warehouse, "warehouse", "", "warehouse DuckDB file (default: the config's warehouse)")
	cmd.Flags().StringVar(&out, "out", "report.html", "output HTML file")
	return cmd
}

// report renders the page into a temporary file and renames it into place.
func (a *app) writeReportFile(ctx context.Context, warehouse, out string) (err error) {
	path, err := localPath(warehouse)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if _, err := os.Stat(path); err != nil {
		return withCode(exitUsage, fmt.Errorf("warehouse %s: %w", path, err))
	}
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		return fmt.Errorf("open warehouse %s: %w", path, err)
	}
	defer db.Close()
	f, err := os.CreateTemp(filepath.Dir(out), ".report-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := report.Write(ctx, db, f, a.now().UTC()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), out)
}
