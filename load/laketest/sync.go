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
// window's first day; after a first full copy it follows the commit journal — fetching the
// partitions journaled since, nothing else, dropping what a journaled partition no longer holds
// and what left the window — and reads back as the lake does; a full sync catches a change the
// journal does not name; a file lake is read in place and refuses a copy.
func testSync(t *testing.T, l *load.Lake) {
	ctx := context.Background()
	dir := t.TempDir()
	if l.Root() != "" {
		if _, err := l.SyncTo(ctx, dir, hour, false); err == nil {
			t.Error("a file lake accepted a sync")
		}
		return
	}
	old := hour.AddDate(0, 0, -10)
	p := load.Partition{ID: acct, Hour: hour}
	roles := func(names ...string) {
		t.Helper()
		var rows []schemas.IAMRole
		for _, n := range names {
			rows = append(rows, schemas.IAMRole{ARN: "arn:aws:iam::" + acct + ":role/" + n, RoleName: n, SnapshotAt: hour})
		}
		st, err := load.ReplacePartition(ctx, l, schemas.IAMRoles, p, rows)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Journal(ctx, []load.PartitionStats{st}); err != nil {
			t.Fatal(err)
		}
	}
	merge(t, ctx, l, load.Partition{ID: acct, Hour: old}, []schemas.CloudTrailEvent{event("old", old)})
	commitEvents(t, ctx, l, event("a", hour), event("b", hour))
	roles("r")
	since := hour.Add(-24 * time.Hour)
	st, err := l.SyncTo(ctx, dir, since, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != "full" || st.Objects != 2 || st.Downloaded != 2 || st.Bytes == 0 || st.Removed != 0 {
		t.Errorf("first sync = %+v; want a full copy of the 2 partitions in the window", st)
	}
	db := duck(t)
	if n := queryInt(t, db, `select count(*) from `+scan(dir, schemas.CloudTrailEvents)); n != 2 {
		t.Errorf("the copy holds %d events, want the window's 2 (not the old partition)", n)
	}
	// The journal entries written before the full copy are not followed again.
	if st, err = l.SyncTo(ctx, dir, since, false); err != nil || st.Mode != "journal" || st.Listed != 0 || st.Downloaded != 0 || st.Objects != 2 {
		t.Errorf("second sync = %+v, %v; want a journal sync listing nothing", st, err)
	}
	commitEvents(t, ctx, l, event("c", hour), event("d", hour.Add(24*time.Hour)))
	if st, err = l.SyncTo(ctx, dir, since, false); err != nil || st.Mode != "journal" || st.Listed != 2 || st.Downloaded != 2 || st.Objects != 3 {
		t.Errorf("sync after a commit = %+v, %v; want the 2 journaled partitions listed and fetched", st, err)
	}
	if n := queryInt(t, db, `select count(*) from `+scan(dir, schemas.CloudTrailEvents)); n != 4 {
		t.Errorf("the copy holds %d events after the commit, want 4", n)
	}
	roles("r", "s")
	if st, err = l.SyncTo(ctx, dir, since, false); err != nil || st.Listed != 1 || st.Downloaded != 1 {
		t.Errorf("sync after a snapshot = %+v, %v; want its partition fetched", st, err)
	}

	// A merge outside the journal is invisible to a journal sync, and caught by a full one.
	merge(t, ctx, l, p, []schemas.CloudTrailEvent{event("e", hour)})
	if st, err = l.SyncTo(ctx, dir, since, false); err != nil || st.Downloaded != 0 {
		t.Errorf("journal sync after an unjournaled merge = %+v, %v; want nothing (the journal is the contract)", st, err)
	}
	if st, err = l.SyncTo(ctx, dir, since, true); err != nil || st.Mode != "full" || st.Downloaded != 1 {
		t.Errorf("full sync = %+v, %v; want the merged partition fetched", st, err)
	}

	// A journaled partition whose object is gone leaves the copy.
	if err := l.Bucket().Delete(ctx, p.Dir(schemas.IAMRoles.Name)+"/data.parquet"); err != nil {
		t.Fatal(err)
	}
	if err := l.Journal(ctx, []load.PartitionStats{{Table: schemas.IAMRoles.Name, Dir: p.Dir(schemas.IAMRoles.Name)}}); err != nil {
		t.Fatal(err)
	}
	if st, err = l.SyncTo(ctx, dir, since, false); err != nil || st.Removed != 1 {
		t.Errorf("sync after a delete = %+v, %v; want the local file removed", st, err)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p.Dir(schemas.IAMRoles.Name)), "data.parquet")); !os.IsNotExist(err) {
		t.Errorf("the deleted partition is still in the copy: %v", err)
	}
	// The window moves past the first hour's day: its partitions leave the copy.
	if st, err = l.SyncTo(ctx, dir, hour.Add(24*time.Hour), false); err != nil || st.Removed != 1 || st.Objects != 1 {
		t.Errorf("sync with a later window = %+v, %v; want the hour's events removed, the next day's kept", st, err)
	}
}
