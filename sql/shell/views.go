package shell

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/permlake/permlake/schemas"
	sqlfiles "github.com/permlake/permlake/sql"
	"github.com/permlake/permlake/sql/runner"
)

// WarehouseViews makes the raw tables a warehouse does not copy (the CloudTrail events, read by
// the models through rollups) queryable as src_* views over the lake directory the warehouse was
// built from, when that directory is still there; a warehouse from before build_info, or whose
// lake is gone, simply lacks them (logged).
func WarehouseViews(ctx context.Context, conn *sql.Conn, log *slog.Logger) error {
	var lake sql.NullString
	err := conn.QueryRowContext(ctx, "select lake from build_info").Scan(&lake)
	if err != nil || !lake.Valid || lake.String == "" {
		log.Warn("the warehouse names no lake: src_aws_cloudtrail_events is not available", "error", err)
		return nil
	}
	if _, err := os.Stat(lake.String); err != nil {
		log.Warn("the warehouse's lake is not there: src_aws_cloudtrail_events is not available", "lake", lake.String)
		return nil
	}
	if err := runner.SourceViews(ctx, conn, lake.String); err != nil {
		return fmt.Errorf("raw tables of %s: %w", lake.String, err)
	}
	return nil
}

// LakeViews makes a connection without a warehouse (an in-memory database) query a local lake:
// every lake table that has files as a view src_<table> over all its partitions (every snapshot
// hour, not only the latest as the models read them), and the marts published in the lake
// (marts/_manifest.json: the per-account partitions of the last build, and the
// organization-level marts when they are published) as views named like the warehouse's. It
// returns the views' names.
func LakeViews(ctx context.Context, conn *sql.Conn, lake string) ([]string, error) {
	if strings.ContainsAny(lake, "*?[]\\\n'") {
		return nil, fmt.Errorf("lake path %q: glob characters, quotes and newlines are not supported", lake)
	}
	var views []string
	for _, t := range schemas.All {
		layout := path.Join(t.Name, t.Partitioning.Key()+"=*", "date=*", "hour=*", "*.parquet")
		files, err := fs.Glob(os.DirFS(lake), layout)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", t.Name, err)
		}
		if len(files) == 0 {
			continue
		}
		q := fmt.Sprintf("create or replace view src_%s as select * from read_parquet('%s', hive_partitioning = true, union_by_name = true, hive_types = %s)",
			t.Name, filepath.Join(lake, filepath.FromSlash(layout)), t.HiveTypes())
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("source %s: %w", t.Name, err)
		}
		views = append(views, "src_"+t.Name)
	}
	marts, err := martViews(ctx, conn, lake)
	if err != nil {
		return nil, err
	}
	return append(views, marts...), nil
}

// manifest is the part of orgbuild's marts/_manifest.json the views need.
type manifest struct {
	Units []struct {
		Marts map[string][]struct {
			Key string `json:"key"`
		} `json:"marts"`
	} `json:"units"`
	Marts []struct {
		Name string `json:"name"`
		Key  string `json:"key"`
	} `json:"marts"`
}

// martViews creates a view per mart of the lake's marts manifest (none when the lake has none).
// A per-account mart stored with fewer columns than the mart has (permission_usage: its rows
// without the window columns, which evidence_windows holds) is rebuilt as the warehouse does it:
// the model it reads is a view over the stored objects, and the mart a view of its own SQL.
func martViews(ctx context.Context, conn *sql.Conn, lake string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(lake, "marts", "_manifest.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("marts/_manifest.json: %w", err)
	}
	files := map[string][]string{}
	for _, u := range m.Units {
		for mart, parts := range u.Marts {
			for _, p := range parts {
				files[mart] = append(files[mart], filepath.Join(lake, filepath.FromSlash(p.Key)))
			}
		}
	}
	for _, t := range m.Marts {
		if t.Key != "" {
			files[t.Name] = append(files[t.Name], filepath.Join(lake, filepath.FromSlash(t.Key)))
		}
	}
	models, err := runner.Models(sqlfiles.FS)
	if err != nil {
		return nil, err
	}
	byName := map[string]runner.Model{}
	for _, mod := range models {
		byName[mod.Name] = mod
	}
	var views []string
	for _, mod := range models {
		mf := files[mod.Name]
		if mod.Layer != "marts" || len(mf) == 0 {
			continue
		}
		have, err := fileColumns(ctx, conn, mf)
		if err != nil {
			return nil, fmt.Errorf("mart %s: %w", mod.Name, err)
		}
		if covers(have, mod) {
			if err := viewOver(ctx, conn, mod, mf); err != nil {
				return nil, err
			}
			views = append(views, mod.Name)
			continue
		}
		// The stored rows are one of the models the mart reads.
		made := false
		for _, d := range mod.Deps {
			if dep, ok := byName[d]; ok && covers(have, dep) {
				if err := viewOver(ctx, conn, dep, mf); err != nil {
					return nil, err
				}
				if _, err := conn.ExecContext(ctx, "create or replace view "+mod.Name+" as "+mod.SQL); err != nil {
					return nil, fmt.Errorf("mart %s: %w", mod.Name, err)
				}
				views, made = append(views, mod.Name), true
				break
			}
		}
		if !made {
			return nil, fmt.Errorf("mart %s: its objects in the lake have neither its columns nor those of a model it reads", mod.Name)
		}
	}
	return views, nil
}

// covers reports whether the columns have holds every column m documents.
func covers(have map[string]bool, m runner.Model) bool {
	for _, c := range m.Doc.Columns {
		if !have[c.Name] {
			return false
		}
	}
	return len(m.Doc.Columns) > 0
}

// readFiles is a read_parquet of files, Hive-partitioned when they are in account_id=
// folders (the per-account marts), the partition keys read as text.
func readFiles(files []string) (string, error) {
	quoted := make([]string, len(files))
	hive := false
	for i, f := range files {
		if strings.ContainsAny(f, "\n*?[]'") {
			return "", fmt.Errorf("file %q: glob characters, quotes and newlines are not supported", f)
		}
		quoted[i] = "'" + f + "'"
		hive = hive || strings.Contains(f, "account_id=")
	}
	opts := "hive_partitioning = false"
	if hive {
		opts = "hive_partitioning = true, hive_types_autocast = false"
	}
	return fmt.Sprintf("read_parquet([%s], union_by_name = true, %s)", strings.Join(quoted, ", "), opts), nil
}

// fileColumns are the columns files hold (the Hive keys included).
func fileColumns(ctx context.Context, conn *sql.Conn, files []string) (map[string]bool, error) {
	read, err := readFiles(files)
	if err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, "select column_name from (describe select * from "+read+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out[c] = true
	}
	return out, rows.Err()
}

// viewOver creates m as a view over files, its columns in the order its YAML documents them.
func viewOver(ctx context.Context, conn *sql.Conn, m runner.Model, files []string) error {
	read, err := readFiles(files)
	if err != nil {
		return err
	}
	cols := make([]string, 0, len(m.Doc.Columns))
	for _, c := range m.Doc.Columns {
		cols = append(cols, `"`+strings.ReplaceAll(c.Name, `"`, `""`)+`"`)
	}
	if _, err := conn.ExecContext(ctx, "create or replace view "+m.Name+" as select "+strings.Join(cols, ", ")+" from "+read); err != nil {
		return fmt.Errorf("view %s: %w", m.Name, err)
	}
	return nil
}
