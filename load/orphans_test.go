package load

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRemoveOrphans(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openLake(t, dir)
	part := filepath.Join(dir, "aws_cloudtrail_events", "account_id=012345678901", "date=2026-11-02", "hour=07")
	if err := os.MkdirAll(part, 0o755); err != nil {
		t.Fatal(err)
	}
	old, fresh, data := filepath.Join(part, "data.parquet.1a2b.tmp"), filepath.Join(part, "data.parquet.3c4d.tmp"), filepath.Join(part, "data.parquet")
	for _, f := range []string{old, fresh, data} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-3 * time.Hour)
	for _, f := range []string{old, data} {
		if err := os.Chtimes(f, long, long); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := l.RemoveOrphans(context.Background(), time.Hour); err != nil || n != 0 {
		t.Fatalf("RemoveOrphans = %d, %v; want nothing outside the directories it wrote or was given", n, err)
	}
	n, err := l.RemoveOrphans(context.Background(), time.Hour, "aws_cloudtrail_events/account_id=012345678901/date=2026-11-02/hour=07")
	if err != nil || n != 1 {
		t.Fatalf("RemoveOrphans = %d, %v; want the one old temporary file", n, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Error("the old temporary file is still there")
	}
	for _, f := range []string{fresh, data} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(f), err)
		}
	}
}

// TestRemoveOrphansWhereItWrote: without dirs, the directories the Lake value wrote into are
// swept (a killed run's leftovers lie where its retry writes).
func TestRemoveOrphansWhereItWrote(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openLake(t, dir)
	ctx := context.Background()
	if err := l.WriteRunManifest(ctx, &RunManifest{RunID: "r1"}); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(dir, "_manifests", "runs", "r0.json.5e6f.tmp")
	elsewhere := filepath.Join(dir, "_manifests", "success", "x.json.7a8b.tmp")
	long := time.Now().Add(-3 * time.Hour)
	for _, f := range []string{orphan, elsewhere} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f, long, long); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := l.RemoveOrphans(ctx, time.Hour); err != nil || n != 1 {
		t.Fatalf("RemoveOrphans = %d, %v; want the orphan beside the run manifest", n, err)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Error("the orphan beside the manifest is still there")
	}
	if _, err := os.Stat(elsewhere); err != nil {
		t.Error("a directory the lake did not write was swept")
	}
}
