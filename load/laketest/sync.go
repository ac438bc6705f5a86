package laketest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
)

// testSync: the models' local copy of a remote lake holds exactly the partitions on or after the
// window's first day, fetches only what changed since the last sync, drops what the lake no
// longer has, and reads back as the lake does; a file lake is read in place and refuses a copy.
func testSync(t *testing.T, l *load.Lake) {
	ctx := context.Background()
	dir := t.TempDir()
	if l.Root() != "" {
		if _, err := l.SyncTo(ctx, dir, hour); err == nil {
			t.Error("a file lake accepted a sync")
		}
		return
	}
	old := hour.AddDate(0, 0, -10)
	p := load.Partition{ID: acct, Hour: hour}
	merge(t, ctx, l, load.Partition{ID: acct, Hour: old}, []schemas.CloudTrailEvent{event("old", old)})
	merge(t, ctx, l, p, []schemas.CloudTrailEvent{event("a", hour), event("b", hour)})
	if _, err := load.ReplacePartition(ctx, l, schemas.IAMRoles, p, []schemas.IAMRole{{ARN: "arn:aws:iam::" + acct + ":role/r", RoleName: "r", SnapshotAt: hour}}); err != nil {
		t.Fatal(err)
	}
	since := hour.Add(-24 * time.Hour)
	st, err := l.SyncTo(ctx, dir, since)
	if err != nil {
		t.Fatal(err)
	}
	if st.Objects != 2 || st.Downloaded != 2 || st.Bytes == 0 || st.Removed != 0 {
		t.Errorf("first sync = %+v; want the 2 partitions in the window fetched", st)
	}
	db := duck(t)
	if n := queryInt(t, db, `select count(*) from `+scan(dir, schemas.CloudTrailEvents)); n != 2 {
		t.Errorf("the copy holds %d events, want the window's 2 (not the old partition)", n)
	}
	if st, err = l.SyncTo(ctx, dir, since); err != nil || st.Downloaded != 0 || st.Objects != 2 {
		t.Errorf("second sync = %+v, %v; want nothing fetched", st, err)
	}
	merge(t, ctx, l, p, []schemas.CloudTrailEvent{event("c", hour)})
	if st, err = l.SyncTo(ctx, dir, since); err != nil || st.Downloaded != 1 {
		t.Errorf("sync after a merge = %+v, %v; want the changed partition only", st, err)
	}
	if n := queryInt(t, db, `select count(*) from `+scan(dir, schemas.CloudTrailEvents)); n != 3 {
		t.Errorf("the copy holds %d events after the merge, want 3", n)
	}
	if err := l.Bucket().Delete(ctx, p.Dir(schemas.IAMRoles.Name)+"/data.parquet"); err != nil {
		t.Fatal(err)
	}
	if st, err = l.SyncTo(ctx, dir, since); err != nil || st.Removed != 1 {
		t.Errorf("sync after a delete = %+v, %v; want the local file removed", st, err)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p.Dir(schemas.IAMRoles.Name)), "data.parquet")); !os.IsNotExist(err) {
		t.Errorf("the deleted partition is still in the copy: %v", err)
	}
}
