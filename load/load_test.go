package load

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/marcboeker/go-duckdb"

	"github.com/permlake/permlake/schemas"
)

func strp(s string) *string { return &s }

func openLake(t *testing.T) *Lake {
	t.Helper()
	l, err := Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

var hour = time.Date(2026, 11, 2, 7, 0, 0, 0, time.UTC)

func event(id string, at time.Time) schemas.CloudTrailEvent {
	return schemas.CloudTrailEvent{EventID: id, EventTime: at, EventSource: "s3.amazonaws.com", EventName: "ListBuckets",
		RecipientAccountID: "012345678901", UserIdentityType: "IAMUser", PrincipalType: "iam_user", IsSuccess: true,
		PrincipalARN: strp("arn:aws:iam::012345678901:user/a"), IAMActions: []string{"s3:ListAllMyBuckets"}, ActionMapping: "exception",
		RunID: "r", SourceKey: "k"}
}

func key(e *schemas.CloudTrailEvent) string { return e.EventID }

func duck(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func readExpr(l *Lake, tab *schemas.Table) string {
	return fmt.Sprintf("read_parquet('%s/%s/**/*.parquet', hive_partitioning=true, hive_types=%s)", l.Root(), tab.Name, tab.HiveTypes())
}

func TestMergeWriterDedupesAndDuckDBReadsTypes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := openLake(t)
	p := Partition{AccountID: "012345678901", Hour: hour}
	w, err := NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, key)
	if err != nil {
		t.Fatal(err)
	}
	failed := event("b", hour.Add(10*time.Minute))
	failed.IsSuccess, failed.ErrorCode = false, strp("AccessDenied")
	n, err := w.Write([]schemas.CloudTrailEvent{event("a", hour.Add(time.Minute)), failed, event("a", hour.Add(time.Minute))})
	if err != nil || n != 2 {
		t.Fatalf("Write = %d, %v; want 2 (the repeated id once)", n, err)
	}
	st, err := w.Commit()
	if err != nil || !st.Published || st.RowsAfter != 2 || st.Bytes == 0 {
		t.Fatalf("Commit = %+v, %v", st, err)
	}

	// A second run merges: one old key, one new.
	w, err = NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, key)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write([]schemas.CloudTrailEvent{event("a", hour), event("c", hour.Add(59*time.Minute))}); err != nil || n != 1 {
		t.Fatalf("second Write = %d, %v", n, err)
	}
	if st, err = w.Commit(); err != nil || st.RowsBefore != 2 || st.RowsAfter != 3 {
		t.Fatalf("second Commit = %+v, %v", st, err)
	}

	db := duck(t)
	var total, distinct, nullErr int64
	var acct, ts, actions, success string
	q := fmt.Sprintf(`select count(*), count(distinct event_id), count(*) filter (where error_code is null), min(account_id),
		typeof(min(event_time)), typeof(min(iam_actions)), typeof(min(is_success)) from %s`, readExpr(l, schemas.CloudTrailEvents))
	if err := db.QueryRow(q).Scan(&total, &distinct, &nullErr, &acct, &ts, &actions, &success); err != nil {
		t.Fatal(err)
	}
	if total != 3 || distinct != 3 || nullErr != 2 || acct != "012345678901" {
		t.Errorf("rows %d distinct %d null error_code %d account %q", total, distinct, nullErr, acct)
	}
	if ts != "TIMESTAMP" || actions != "VARCHAR[]" || success != "BOOLEAN" {
		t.Errorf("types: event_time %s, iam_actions %s, is_success %s", ts, actions, success)
	}
	var sessionEmpty int64
	if err := db.QueryRow(`select count(*) from ` + readExpr(l, schemas.CloudTrailEvents) + ` where session_name = ''`).Scan(&sessionEmpty); err != nil || sessionEmpty != 0 {
		t.Errorf("nil strings must be NULL, not '': %d %v", sessionEmpty, err)
	}
}

func TestMergeWriterNoNewRowsLeavesFileUntouched(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := openLake(t)
	p := Partition{AccountID: "111111111111", Hour: hour}
	w, _ := NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, key)
	if _, err := w.Write([]schemas.CloudTrailEvent{event("a", hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(l.Root(), p.dataKey(schemas.CloudTrailEvents.Name))
	before, _ := os.Stat(path)
	time.Sleep(10 * time.Millisecond)
	w, err := NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, key)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := w.Write([]schemas.CloudTrailEvent{event("a", hour)}); n != 0 {
		t.Errorf("duplicate added: %d", n)
	}
	st, err := w.Commit()
	after, _ := os.Stat(path)
	if err != nil || st.Published || !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		t.Errorf("no-op commit rewrote the file: %+v %v", st, err)
	}
}

func TestAbortAndCancelPublishNothing(t *testing.T) {
	t.Parallel()
	l := openLake(t)
	p := Partition{AccountID: "111111111111", Hour: hour}
	w, _ := NewMergeWriter(context.Background(), l, schemas.CloudTrailEvents, p, key)
	if _, err := w.Write([]schemas.CloudTrailEvent{event("a", hour)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, _ = NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, key)
	if _, err := w.Write([]schemas.CloudTrailEvent{event("b", hour)}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := w.Commit(); err == nil {
		t.Error("commit with a cancelled context succeeded")
	}
	var files []string
	filepath.Walk(l.Root(), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("aborted/cancelled writers left files: %v", files)
	}
}

func TestManyRowGroupsAndReplace(t *testing.T) {
	ctx := context.Background()
	l := openLake(t)
	old := RowGroupRows
	RowGroupRows = 100
	defer func() { RowGroupRows = old }()
	p := Partition{AccountID: "111111111111", Hour: hour}
	var rows []schemas.CloudTrailEvent
	for i := range 1000 {
		rows = append(rows, event(fmt.Sprintf("e%04d", i), hour.Add(time.Duration(i)*time.Second)))
	}
	w, _ := NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, key)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	db := duck(t)
	var groups int64
	path := filepath.Join(l.Root(), p.dataKey(schemas.CloudTrailEvents.Name))
	if err := db.QueryRow(`select count(distinct row_group_id) from parquet_metadata(?)`, path).Scan(&groups); err != nil || groups < 10 {
		t.Errorf("row groups = %d, %v; want >= 10", groups, err)
	}

	last := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	roles := []schemas.IAMRole{{ARN: "arn:aws:iam::111111111111:role/a", RoleName: "a", RoleLastUsedAt: &last}, {ARN: "arn:aws:iam::111111111111:role/b", RoleName: "b"}}
	if _, err := ReplacePartition(ctx, l, schemas.IAMRoles, p, roles); err != nil {
		t.Fatal(err)
	}
	if _, err := ReplacePartition(ctx, l, schemas.IAMRoles, p, roles[1:]); err != nil {
		t.Fatal(err)
	}
	var n, nulls int64
	if err := db.QueryRow(`select count(*), count(*) filter (where role_last_used_at is null) from `+readExpr(l, schemas.IAMRoles)).Scan(&n, &nulls); err != nil || n != 1 || nulls != 1 {
		t.Errorf("after replace: %d rows, %d null last-used, %v", n, nulls, err)
	}
}

func TestPartitionValidate(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"12345", "1234567890123", "../x/../../1", "12345678901a", ""} {
		if err := (Partition{AccountID: id, Hour: hour}).Validate(); err == nil {
			t.Errorf("account %q accepted", id)
		}
	}
	if err := (Partition{AccountID: "012345678901"}).Validate(); err == nil {
		t.Error("zero hour accepted")
	}
	if got := (Partition{AccountID: "012345678901", Hour: hour.Add(30 * time.Minute)}).Dir("t"); got != "t/account_id=012345678901/date=2026-11-02/hour=07" {
		t.Errorf("Dir = %s", got)
	}
	if _, err := Open(context.Background(), "s3://bucket/x"); err == nil || !strings.Contains(err.Error(), "s3") {
		t.Errorf("s3 lake: %v", err)
	}
}

func TestLedgerAndManifest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := openLake(t)
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	recs := []SourceObject{
		{Source: "aws_cloudtrail", AccountID: "012345678901", Key: "k1", ETag: "v1", DeliveredAt: day.Add(time.Hour), RunID: "run-1", IngestedAt: day.Add(2 * time.Hour)},
		{Source: "aws_cloudtrail", AccountID: "012345678901", Key: "k2", Error: "truncated", DeliveredAt: day.Add(time.Hour), RunID: "run-1", IngestedAt: day.Add(2 * time.Hour)},
	}
	if err := l.RecordIngested(ctx, "run-1", recs); err != nil {
		t.Fatal(err)
	}
	fixed := recs[1]
	fixed.Error, fixed.RunID, fixed.IngestedAt = "", "run-2", day.Add(3*time.Hour)
	if err := l.RecordIngested(ctx, "run-2", []SourceObject{fixed}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Ingested(ctx, "aws_cloudtrail", "012345678901", day)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["k1"].ETag != "v1" || got["k2"].Error != "" || got["k2"].RunID != "run-2" {
		t.Errorf("ledger = %+v", got)
	}
	if other, err := l.Ingested(ctx, "aws_cloudtrail", "012345678901", day.Add(24*time.Hour)); err != nil || len(other) != 0 {
		t.Errorf("other day = %v, %v", other, err)
	}
	if err := l.RecordIngested(ctx, "run-3", []SourceObject{{Source: "aws_cloudtrail", AccountID: "123"}}); err == nil {
		t.Error("bad account in ledger accepted")
	}
	m := &RunManifest{RunID: "20261122T070000Z-abcd", Command: "run", Accounts: []AccountOutcome{{AccountID: "012345678901", Status: "ok"}}}
	if err := l.WriteRunManifest(ctx, m); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(l.Root(), "_manifests/runs/20261122T070000Z-abcd.json"))
	if err != nil || !strings.Contains(string(b), `"account_id": "012345678901"`) {
		t.Errorf("manifest = %s, %v", b, err)
	}
	if err := l.WriteRunManifest(ctx, &RunManifest{RunID: "../x"}); err == nil {
		t.Error("path-like run ID accepted")
	}
}
