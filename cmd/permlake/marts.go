package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"gocloud.dev/blob"

	sqlfiles "github.com/permlake/permlake/sql"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/sql/runner"
)

// martsManifest is marts/_manifest.json: what the published marts are and when they were built.
type martsManifest struct {
	BuiltAt  time.Time        `json:"built_at"`
	WindowTo time.Time        `json:"window_end"`
	Marts    []publishedTable `json:"marts"`
}

type publishedTable struct {
	Name  string `json:"name"`
	Key   string `json:"key"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// publishMarts writes every mart of the warehouse at path into the lake as
// marts/<name>.parquet (zstd), then marts/_manifest.json, so BI tools that read S3 or Blob
// Storage see the marts beside the lake. Each object is replaced whole (a reader sees the old or
// the new one); the manifest is written last and names what it vouches for.
func publishMarts(ctx context.Context, lake *load.Lake, path string, now time.Time) error {
	models, err := runner.Models(sqlfiles.FS)
	if err != nil {
		return err
	}
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		return err
	}
	defer db.Close()
	tmp, err := os.MkdirTemp("", "permlake-marts-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	m := martsManifest{BuiltAt: time.Now().UTC(), WindowTo: now.UTC()}
	for _, md := range models {
		if md.Layer != "marts" {
			continue
		}
		// The mart name comes from the embedded model files (validated identifiers) and the file
		// path from MkdirTemp; COPY takes neither as a bound parameter.
		file := filepath.Join(tmp, md.Name+".parquet")
		q := fmt.Sprintf(`copy (select * from %s) to '%s' (format parquet, compression zstd)`, md.Name, strings.ReplaceAll(file, "'", "''"))
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("export mart %s: %w", md.Name, err)
		}
		var rows int64
		if err := db.QueryRowContext(ctx, "select count(*) from "+md.Name).Scan(&rows); err != nil {
			return fmt.Errorf("count mart %s: %w", md.Name, err)
		}
		key := "marts/" + md.Name + ".parquet"
		n, err := uploadFile(ctx, lake.Bucket(), key, file)
		if err != nil {
			return err
		}
		m.Marts = append(m.Marts, publishedTable{Name: md.Name, Key: key, Rows: rows, Bytes: n})
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := lake.Bucket().WriteAll(ctx, "marts/_manifest.json", append(b, '\n'), &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("write marts/_manifest.json: %w", err)
	}
	return nil
}

func uploadFile(ctx context.Context, b *blob.Bucket, key, file string) (int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w, err := b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "application/vnd.apache.parquet"})
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	n, err := f.WriteTo(w)
	if err != nil {
		_ = w.Close()
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	return n, nil
}
