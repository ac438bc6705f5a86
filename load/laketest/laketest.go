// Package laketest is the conformance suite every lake backend must pass (a local directory, S3
// on a real MinIO, Azure Blob on a real Azurite): merge, dedupe, atomic publish, abort, a
// context cancelled mid-upload, row groups, replace, partition validation, concurrent writers
// of one partition, the ingestion ledger and run manifests, with what was written read back by
// the real DuckDB engine exactly as analysts read it (object-store lakes are downloaded to a
// temporary directory first: DuckDB here has no network extensions).
//
// It is imported by tests only. It imports load and schemas; it must not import extract,
// transform or cmd.
package laketest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the real engine analysts read the lake with
	json "github.com/goccy/go-json"
	"gocloud.dev/blob"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
)

// Backend makes the lakes the suite runs on. The suite closes nothing: New and Again register
// their own cleanup.
type Backend struct {
	// New returns a new, empty lake for each call.
	New func(t *testing.T) *load.Lake
	// Again opens a second Lake value on the storage of l, as another process would.
	Again func(t *testing.T, l *load.Lake) *load.Lake
}

// Run runs the suite against b. Most subtests run in parallel; the row-group and
// cancelled-upload ones change load.RowGroupRows and run alone before them, so Run must not be
// called from a parallel test or beside other users of load.
func Run(t *testing.T, b Backend) {
	open := b.New
	// Sequential first: parallel subtests start only after Run returns.
	t.Run("RowGroups", func(t *testing.T) { testRowGroups(t, open(t)) })
	t.Run("CancelMidUpload", func(t *testing.T) { testCancelMidUpload(t, open(t)) })
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *load.Lake)
	}{
		{"ConcurrentWriters", func(t *testing.T, l *load.Lake) { testConcurrentWriters(t, b, l) }},
		{"LedgerNamesNeverOverwritten", func(t *testing.T, l *load.Lake) { testLedgerNeverOverwrites(t, b, l) }},
		{"MergeTypesAndNulls", testMergeTypesAndNulls},
		{"MergeDedupeAcrossCommits", testMergeDedupe},
		{"NoNewRowsLeavesObjectUntouched", testNoNewRows},
		{"NothingPublished", testNothingPublished},
		{"Replace", testReplace},
		{"Validate", testValidate},
		{"Ledger", testLedger},
		{"RunManifest", testRunManifest},
		{"SyncForModels", testSync},
		{"CommitJournal", testJournal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// hour is the partition hour the suite writes (UTC).
var hour = time.Date(2026, 11, 2, 7, 0, 0, 0, time.UTC)

// acct has a leading zero, which DuckDB's Hive type inference would drop.
const acct = "012345678901"

func strp(s string) *string { return &s }
func boolp(b bool) *bool    { return &b }

// event is a CloudTrail row with every required column set and every nullable one NULL.
func event(id string, at time.Time) schemas.CloudTrailEvent {
	return schemas.CloudTrailEvent{
		EventID: id, EventTime: at, EventVersion: "1.08", EventSource: "s3.amazonaws.com", EventName: "ListBuckets",
		EventType: "AwsApiCall", AWSRegion: "eu-west-1", RecipientAccountID: acct, UserIdentityType: "IAMUser",
		PrincipalType: schemas.PrincipalIAMUser, IsSuccess: true, IAMActions: []string{"s3:ListAllMyBuckets"},
		ActionMapping: schemas.MappingException, RunID: "run-1", SourceKey: "AWSLogs/" + acct + "/CloudTrail/x.json.gz",
	}
}

// fullEvent is a CloudTrail row with every nullable column set.
func fullEvent(id string, at time.Time) schemas.CloudTrailEvent {
	e := event(id, at)
	e.EventCategory, e.SourceIPAddress, e.UserAgent = strp("Management"), strp("192.0.2.1"), strp("aws-cli/2")
	e.ErrorCode, e.ErrorMessage, e.IsSuccess = strp("AccessDenied"), strp("denied"), false
	e.IsReadOnly, e.IsManagementEvent = boolp(false), boolp(true)
	e.SharedEventID, e.RequestID, e.VPCEndpointID = strp("s"), strp("r"), strp("vpce-1")
	e.UserIdentityARN, e.UserIdentityAccountID, e.UserIdentityPrincipalID = strp("arn:aws:iam::"+acct+":user/a"), strp(acct), strp("AIDA")
	e.AccessKeyID, e.InvokedBy = strp("AKIA"), strp("")
	e.PrincipalARN, e.PrincipalAccountID = strp("arn:aws:iam::"+acct+":user/a"), strp(acct)
	e.SessionName, e.SourceIdentity, e.IsMFAAuthenticated = strp(""), strp("alice"), boolp(false)
	e.IAMActions = []string{"s3:GetObject", "s3:PutObject"}
	e.RequestParameters, e.ResponseElements = strp(`{"bucketName":"b"}`), strp("null")
	e.AdditionalEventData, e.Resources = strp("{}"), strp("[]")
	return e
}

func eventKey(e *schemas.CloudTrailEvent) string { return e.EventID }

// commitEvents writes events into acct's partitions of their hours through a PartitionedWriter,
// which journals the commit.
func commitEvents(t *testing.T, ctx context.Context, l *load.Lake, events ...schemas.CloudTrailEvent) {
	t.Helper()
	w := load.NewPartitionedWriter(ctx, l, schemas.CloudTrailEvents, eventKey, 0)
	for _, e := range events {
		if err := w.Add(load.Partition{ID: acct, Hour: e.EventTime.Truncate(time.Hour)}, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func merge(t *testing.T, ctx context.Context, l *load.Lake, p load.Partition, batches ...[]schemas.CloudTrailEvent) load.PartitionStats {
	t.Helper()
	w, err := load.NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, eventKey)
	if err != nil {
		t.Fatalf("NewMergeWriter(%s): %v", p.Dir(schemas.CloudTrailEvents.Name), err)
	}
	for _, b := range batches {
		if _, err := w.Write(b); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	st, err := w.Commit()
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return st
}

// localRoot is a local directory holding the lake's objects: the lake's own root for a file
// lake, a downloaded copy otherwise (DuckDB here has no network extensions).
func localRoot(t *testing.T, l *load.Lake) string {
	t.Helper()
	if l.Root() != "" {
		return l.Root()
	}
	dir := t.TempDir()
	for _, k := range listKeys(t, l, "") {
		b, err := l.Bucket().ReadAll(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// listKeys returns every object key under prefix, sorted.
func listKeys(t *testing.T, l *load.Lake, prefix string) []string {
	t.Helper()
	var keys []string
	it := l.Bucket().List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("list %s: %v", prefix, err)
		}
		if !o.IsDir {
			keys = append(keys, o.Key)
		}
	}
	sort.Strings(keys)
	return keys
}

func duck(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// scan reads a table as the SQL sources do: every partition, Hive keys typed explicitly.
func scan(root string, tab *schemas.Table) string {
	glob := strings.ReplaceAll(root+"/"+tab.Name+"/**/*.parquet", "'", "''")
	return fmt.Sprintf("read_parquet('%s', hive_partitioning=true, hive_types=%s)", glob, tab.HiveTypes())
}

// checkTypes asserts that DuckDB sees exactly the table's documented columns and types.
func checkTypes(t *testing.T, db *sql.DB, root string, tab *schemas.Table) {
	t.Helper()
	want := map[string]string{}
	for _, c := range tab.AllColumns() {
		want[c.Name] = c.Type
	}
	rows, err := db.Query("select column_name, column_type from (describe select * from " + scan(root, tab) + ")")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var n, ty string
		if err := rows.Scan(&n, &ty); err != nil {
			t.Fatal(err)
		}
		got[n] = ty
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: DuckDB column types\n got %v\nwant %v", tab.Name, got, want)
	}
}

func queryInt(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func testMergeTypesAndNulls(t *testing.T, l *load.Lake) {
	ctx := context.Background()
	// The hour is given mid-hour in another zone: the partition is its UTC hour.
	p := load.Partition{ID: acct, Hour: hour.Add(30 * time.Minute).In(time.FixedZone("CEST", 2*3600))}
	at := hour.Add(17*time.Minute + 123456*time.Microsecond)
	rows := []schemas.CloudTrailEvent{event("nulls", at), fullEvent("full", at.Add(time.Second)), event("no-actions", at)}
	rows[2].IAMActions = nil
	st := merge(t, ctx, l, p, rows)
	dataKey := "aws_cloudtrail_events/account_id=012345678901/date=2026-11-02/hour=07/data.parquet"
	want := load.PartitionStats{Table: "aws_cloudtrail_events", Dir: path.Dir(dataKey), RowsAdded: 3, RowsAfter: 3, Published: true}
	attrs, err := l.Bucket().Attributes(ctx, dataKey)
	if err != nil {
		t.Fatalf("partition object: %v (objects: %v)", err, listKeys(t, l, ""))
	}
	want.Bytes = attrs.Size
	if st != want {
		t.Errorf("stats\n got %+v\nwant %+v", st, want)
	}
	if keys := listKeys(t, l, ""); !reflect.DeepEqual(keys, []string{dataKey}) {
		t.Errorf("objects = %v, want only %s", keys, dataKey)
	}

	root := localRoot(t, l)
	db := duck(t)
	checkTypes(t, db, root, schemas.CloudTrailEvents)
	from := scan(root, schemas.CloudTrailEvents)

	// Every nullable scalar column is NULL in the "nulls" row and set in the "full" one.
	var cols []string
	for _, c := range schemas.CloudTrailEvents.Columns {
		if c.Nullable && !strings.HasSuffix(c.Type, "[]") {
			cols = append(cols, c.Name)
		}
	}
	for _, tc := range []struct {
		id   string
		want int64
	}{{"nulls", 0}, {"full", 1}} {
		for _, c := range cols {
			if got := queryInt(t, db, fmt.Sprintf("select count(%s) from %s where event_id = ?", c, from), tc.id); got != tc.want {
				t.Errorf("row %s: count(%s) = %d, want %d (NULL must be NULL, a set value must survive)", tc.id, c, got, tc.want)
			}
		}
	}
	for _, tc := range []struct{ name, q string }{
		{"empty strings stay empty, not NULL", `select count(*) = 1 from %s where session_name = '' and invoked_by = ''`},
		{"false stays false", `select count(*) = 1 from %s where is_read_only = false and is_mfa_authenticated = false and not is_success`},
		{"account keeps its leading zero", `select count(*) = 3 from %s where account_id = '012345678901'`},
		{"date and hour from the UTC hour", `select count(*) = 3 from %s where date = DATE '2026-11-02' and hour = 7`},
		{"lists", `select bool_and(case event_id when 'full' then iam_actions = ['s3:GetObject', 's3:PutObject']
			when 'nulls' then iam_actions = ['s3:ListAllMyBuckets'] else coalesce(len(iam_actions), 0) = 0 end) from %s`},
		{"timestamps are UTC wall clock to the microsecond", `select bool_and(event_time = TIMESTAMP '2026-11-02 07:17:00.123456'
			+ case event_id when 'full' then INTERVAL 1 SECOND else INTERVAL 0 SECOND end) from %s`},
		{"JSON text kept", `select count(*) = 1 from %s where request_parameters = '{"bucketName":"b"}' and response_elements = 'null'`},
	} {
		var ok bool
		if err := db.QueryRow(fmt.Sprintf(tc.q, from)).Scan(&ok); err != nil || !ok {
			t.Errorf("%s: %v %v", tc.name, ok, err)
		}
	}
}

func testMergeDedupe(t *testing.T, l *load.Lake) {
	ctx := context.Background()
	p := load.Partition{ID: acct, Hour: hour}
	first := event("a", hour)
	first.EventName = "first"
	w, err := load.NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, eventKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rows []schemas.CloudTrailEvent
		want int
	}{
		{[]schemas.CloudTrailEvent{first, event("b", hour), event("a", hour)}, 2}, // repeated within a batch
		{[]schemas.CloudTrailEvent{event("b", hour)}, 0},                          // repeated across batches
		{nil, 0},
	} {
		if n, err := w.Write(tc.rows); err != nil || n != tc.want {
			t.Errorf("Write(%d rows) = %d, %v; want %d", len(tc.rows), n, err, tc.want)
		}
	}
	if st, err := w.Commit(); err != nil || st.RowsBefore != 0 || st.RowsAdded != 2 || st.RowsAfter != 2 || !st.Published {
		t.Fatalf("first Commit = %+v, %v", st, err)
	}

	// A later run (late files, a retry) merges: known keys are skipped, the first row seen is kept.
	second := event("a", hour.Add(time.Minute))
	second.EventName = "second"
	st := merge(t, ctx, l, p, []schemas.CloudTrailEvent{second, event("c", hour)}, []schemas.CloudTrailEvent{event("c", hour), event("d", hour)})
	if st.RowsBefore != 2 || st.RowsAdded != 2 || st.RowsAfter != 4 || !st.Published || st.Bytes <= 0 {
		t.Errorf("second Commit = %+v", st)
	}
	// Another partition of the same table is independent.
	other := load.Partition{ID: "111111111111", Hour: hour}
	if st := merge(t, ctx, l, other, []schemas.CloudTrailEvent{event("a", hour)}); st.RowsAdded != 1 {
		t.Errorf("other partition = %+v", st)
	}

	db := duck(t)
	from := scan(localRoot(t, l), schemas.CloudTrailEvents)
	var total, distinct, here int64
	var name string
	q := `select count(*), count(distinct (account_id, event_id)), count(*) filter (where account_id = '012345678901'),
		min(event_name) filter (where event_id = 'a' and account_id = '012345678901') from ` + from
	if err := db.QueryRow(q).Scan(&total, &distinct, &here, &name); err != nil {
		t.Fatal(err)
	}
	if total != 5 || distinct != 5 || here != 4 || name != "first" {
		t.Errorf("lake: %d rows, %d distinct, %d in %s, row a from %q; want 5, 5, 4, \"first\"", total, distinct, here, acct, name)
	}
}

func testNoNewRows(t *testing.T, l *load.Lake) {
	ctx := context.Background()
	for i, tc := range []struct {
		name    string
		batches [][]schemas.CloudTrailEvent
	}{
		{"only known keys", [][]schemas.CloudTrailEvent{{event("a", hour), event("b", hour)}}},
		{"no Write", nil},
		{"empty Write", [][]schemas.CloudTrailEvent{{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := load.Partition{ID: fmt.Sprintf("%012d", i+1), Hour: hour}
			key := p.Dir(schemas.CloudTrailEvents.Name) + "/data.parquet"
			merge(t, ctx, l, p, []schemas.CloudTrailEvent{event("a", hour), event("b", hour)})
			before, err := l.Bucket().Attributes(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			content, _ := l.Bucket().ReadAll(ctx, key)
			time.Sleep(20 * time.Millisecond) // a rewrite would show in the modification time
			st := merge(t, ctx, l, p, tc.batches...)
			want := load.PartitionStats{Table: schemas.CloudTrailEvents.Name, Dir: p.Dir(schemas.CloudTrailEvents.Name), RowsBefore: 2, RowsAfter: 2}
			if st != want {
				t.Errorf("stats = %+v, want %+v", st, want)
			}
			after, err := l.Bucket().Attributes(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			now, _ := l.Bucket().ReadAll(ctx, key)
			if !after.ModTime.Equal(before.ModTime) || after.Size != before.Size || after.ETag != before.ETag || !bytes.Equal(now, content) {
				t.Errorf("object rewritten: %v/%d/%s -> %v/%d/%s", before.ModTime, before.Size, before.ETag, after.ModTime, after.Size, after.ETag)
			}
		})
	}
}

func testNothingPublished(t *testing.T, l *load.Lake) {
	const (
		write      = iota // Write one new row
		writeFails        // Write one new row, which must fail
		cancel            // cancel the writer's context
		abort             // Abort
	)
	for i, tc := range []struct {
		name     string
		existing bool // the partition already holds a committed row
		steps    []int
	}{
		{"abort after write", true, []int{write, abort}},
		{"abort after write, new partition", false, []int{write, abort}},
		{"abort before write", true, []int{abort}},
		{"ctx done before commit", true, []int{write, cancel}},
		{"ctx done before commit, new partition", false, []int{write, cancel}},
		{"ctx done before write", true, []int{cancel, writeFails}},
		{"ctx done between writes", false, []int{write, cancel, writeFails}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := load.Partition{ID: fmt.Sprintf("%012d", 100+i), Hour: hour}
			dir := p.Dir(schemas.CloudTrailEvents.Name)
			var want []string
			var content []byte
			if tc.existing {
				merge(t, context.Background(), l, p, []schemas.CloudTrailEvent{event("old", hour)})
				want = []string{dir + "/data.parquet"}
				content, _ = l.Bucket().ReadAll(context.Background(), want[0])
			}
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			w, err := load.NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, eventKey)
			if err != nil {
				t.Fatal(err)
			}
			for n, s := range tc.steps {
				id := fmt.Sprintf("new%d", n)
				switch s {
				case write:
					if _, err := w.Write([]schemas.CloudTrailEvent{event(id, hour)}); err != nil {
						t.Fatal(err)
					}
				case writeFails:
					if _, err := w.Write([]schemas.CloudTrailEvent{event(id, hour)}); err == nil {
						t.Error("Write with a done ctx succeeded")
					}
				case cancel:
					stop()
				case abort:
					if err := w.Abort(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if st, err := w.Commit(); err == nil || st.Published {
				t.Errorf("Commit = %+v, %v; want an error and nothing published", st, err)
			}
			if got := listKeys(t, l, dir); !reflect.DeepEqual(got, want) {
				t.Errorf("objects in %s = %v, want %v (no temp or partial object)", dir, got, want)
			}
			if tc.existing {
				if now, _ := l.Bucket().ReadAll(context.Background(), want[0]); !bytes.Equal(now, content) {
					t.Error("the previous object changed")
				}
			}
			if err := w.Abort(); err != nil {
				t.Errorf("Abort after Commit: %v", err)
			}
		})
	}

	t.Run("replace with ctx done", func(t *testing.T) {
		p := load.Partition{ID: "000000000199", Hour: hour}
		roles := []schemas.IAMRole{{ARN: "arn:aws:iam::000000000199:role/a", RoleName: "a"}}
		if _, err := load.ReplacePartition(context.Background(), l, schemas.IAMRoles, p, roles); err != nil {
			t.Fatal(err)
		}
		key := p.Dir(schemas.IAMRoles.Name) + "/data.parquet"
		content, _ := l.Bucket().ReadAll(context.Background(), key)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if st, err := load.ReplacePartition[schemas.IAMRole](ctx, l, schemas.IAMRoles, p, nil); err == nil || st.Published {
			t.Errorf("ReplacePartition with a done ctx = %+v, %v", st, err)
		}
		if now, _ := l.Bucket().ReadAll(context.Background(), key); !bytes.Equal(now, content) {
			t.Error("the previous snapshot changed")
		}
		if got := listKeys(t, l, p.Dir(schemas.IAMRoles.Name)); !reflect.DeepEqual(got, []string{key}) {
			t.Errorf("objects = %v", got)
		}
	})

	if l.Root() != "" {
		t.Run("no stray files on disk", func(t *testing.T) {
			err := filepath.WalkDir(l.Root(), func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && filepath.Base(p) != "data.parquet" {
					t.Errorf("stray file %s", p)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func testRowGroups(t *testing.T, l *load.Lake) {
	old := load.RowGroupRows
	load.RowGroupRows = 100
	defer func() { load.RowGroupRows = old }()
	ctx := context.Background()
	p := load.Partition{ID: acct, Hour: hour}
	var rows []schemas.CloudTrailEvent
	for i := range 1300 {
		rows = append(rows, event(fmt.Sprintf("e%05d", i), hour.Add(time.Duration(i)*time.Second)))
	}
	// Uneven batches; the second commit copies the first file's groups and adds its own.
	if st := merge(t, ctx, l, p, rows[:1], rows[1:334], rows[334:1050]); st.RowsAfter != 1050 {
		t.Fatalf("first commit = %+v", st)
	}
	if st := merge(t, ctx, l, p, rows[1000:1200], rows[1200:]); st.RowsBefore != 1050 || st.RowsAdded != 250 || st.RowsAfter != 1300 {
		t.Fatalf("second commit = %+v", st)
	}
	root := localRoot(t, l)
	db := duck(t)
	file := filepath.Join(root, filepath.FromSlash(p.Dir(schemas.CloudTrailEvents.Name)), "data.parquet")
	var groups, maxRows, total int64
	if err := db.QueryRow(`select count(*), max(n), sum(n) from (select row_group_id, any_value(row_group_num_rows) n
		from parquet_metadata(?) group by row_group_id)`, file).Scan(&groups, &maxRows, &total); err != nil {
		t.Fatal(err)
	}
	if groups < 13 || maxRows > 100 || total != 1300 {
		t.Errorf("%d row groups, largest %d rows, %d rows; want >= 13, <= 100, 1300", groups, maxRows, total)
	}
	from := scan(root, schemas.CloudTrailEvents)
	if n := queryInt(t, db, "select count(distinct event_id) from "+from+" where event_id similar to 'e[0-9]{5}'"); n != 1300 {
		t.Errorf("distinct events = %d, want 1300", n)
	}
}

func testReplace(t *testing.T, l *load.Lake) {
	ctx := context.Background()
	p := load.Partition{ID: acct, Hour: hour}
	last := time.Date(2026, 10, 1, 12, 30, 0, 0, time.UTC)
	roles := []schemas.IAMRole{
		{ARN: "arn:aws:iam::012345678901:role/a", RoleName: "a", CreatedAt: last, RoleLastUsedAt: &last, RoleLastUsedRegion: strp("eu-west-1"), SnapshotAt: hour},
		{ARN: "arn:aws:iam::012345678901:role/b", RoleName: "b", CreatedAt: last, SnapshotAt: hour, IsServiceLinked: true},
	}
	db := duck(t)
	for _, tc := range []struct {
		name  string
		rows  []schemas.IAMRole
		check string // true when the snapshot is right
	}{
		{"two roles", roles, `select count(*) = 2 and count(role_last_used_at) = 1
			and max(role_last_used_at) = TIMESTAMP '2026-10-01 12:30:00' and count(*) filter (where is_service_linked) = 1
			and min(account_id) = '012345678901' from %s`},
		{"a role removed", roles[1:], `select count(*) = 1 and min(role_name) = 'b' and count(role_last_used_at) = 0 from %s`},
		{"empty snapshot", nil, `select count(*) = 0 from %s`},
	} {
		st, err := load.ReplacePartition(ctx, l, schemas.IAMRoles, p, tc.rows)
		if err != nil || !st.Published || st.RowsAfter != len(tc.rows) || st.Bytes <= 0 || st.Dir != p.Dir(schemas.IAMRoles.Name) {
			t.Errorf("%s: ReplacePartition = %+v, %v", tc.name, st, err)
		}
		root := localRoot(t, l)
		if tc.rows != nil {
			checkTypes(t, db, root, schemas.IAMRoles)
		}
		var ok bool
		if err := db.QueryRow(fmt.Sprintf(tc.check, scan(root, schemas.IAMRoles))).Scan(&ok); err != nil || !ok {
			t.Errorf("%s: lake content wrong (%v)", tc.name, err)
		}
		if keys := listKeys(t, l, ""); !reflect.DeepEqual(keys, []string{p.Dir(schemas.IAMRoles.Name) + "/data.parquet"}) {
			t.Errorf("%s: objects = %v", tc.name, keys)
		}
	}
}

func testValidate(t *testing.T, l *load.Lake) {
	ctx := context.Background()
	for _, tc := range []struct {
		hour time.Time
		want string
	}{
		{hour.Add(59 * time.Minute), "t/account_id=012345678901/date=2026-11-02/hour=07"},
		{time.Date(2026, 11, 3, 0, 30, 0, 0, time.FixedZone("CET", 3600)), "t/account_id=012345678901/date=2026-11-02/hour=23"},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "t/account_id=012345678901/date=2026-01-01/hour=00"},
	} {
		p := load.Partition{ID: acct, Hour: tc.hour}
		if err := p.Validate(); err != nil {
			t.Errorf("Validate(%v): %v", tc.hour, err)
		}
		if got := p.Dir("t"); got != tc.want {
			t.Errorf("Dir(%v) = %s, want %s", tc.hour, got, tc.want)
		}
	}
	if err := (load.Partition{ID: "000000000000", Hour: hour}).Validate(); err != nil {
		t.Errorf("all-zero account: %v", err)
	}
	if err := (load.Partition{ID: acct}).Validate(); err == nil {
		t.Error("zero hour accepted")
	}
	for _, id := range []string{"12345", "1234567890123", "../x", "../../../../tmp", "01234567890/", "12345678901a",
		"", " 12345678901", "012345678901\n", "0123456789ab", "٠١٢٣٤٥٦٧٨٩٠١"} {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			p := load.Partition{ID: id, Hour: hour}
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", id)) {
				t.Errorf("Validate = %v, want an error naming %q", err, id)
			}
			if _, err := load.NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, eventKey); err == nil {
				t.Error("NewMergeWriter accepted it")
			}
			if _, err := load.ReplacePartition(ctx, l, schemas.IAMRoles, p, []schemas.IAMRole{{ARN: "x"}}); err == nil {
				t.Error("ReplacePartition accepted it")
			}
			if _, err := l.Ingested(ctx, "aws_cloudtrail", id, hour); err == nil {
				t.Error("Ingested accepted it")
			}
			if err := l.RecordIngested(ctx, "run-1", []load.SourceObject{{Source: "aws_cloudtrail", AccountID: id, Key: "k", DeliveredAt: hour}}); err == nil {
				t.Error("RecordIngested accepted it")
			}
		})
	}
	if keys := listKeys(t, l, ""); len(keys) != 0 {
		t.Errorf("invalid partitions wrote %v", keys)
	}
}

func testLedger(t *testing.T, l *load.Lake) {
	ctx := context.Background()
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	const src = "aws_cloudtrail"
	rec := func(key, etag, errText, run string, delivered, ingested time.Time) load.SourceObject {
		return load.SourceObject{Source: src, AccountID: acct, Key: key, ETag: etag, Size: 1234, DeliveredAt: delivered,
			Records: 10, RowsAdded: 8, Duplicates: 2, Error: errText, RunID: run, IngestedAt: ingested}
	}
	run1 := []load.SourceObject{
		rec("k1", "v1", "", "run-b", day.Add(time.Hour), day.Add(2*time.Hour)),
		rec("k2", "v1", "gzip: invalid header", "run-b", day.Add(time.Hour), day.Add(2*time.Hour)),
		// Delivered on the 3rd at 00:30 CET, which is still the 2nd in UTC.
		rec("k3", "v1", "", "run-b", time.Date(2026, 11, 3, 0, 30, 0, 0, time.FixedZone("CET", 3600)), day.Add(2*time.Hour)),
		rec("k4", "v1", "", "run-b", day.Add(25*time.Hour), day.Add(26*time.Hour)), // next day
	}
	other := rec("k5", "v1", "", "run-b", day.Add(time.Hour), day.Add(2*time.Hour))
	other.AccountID = "111111111111"
	azure := rec("k6", "v1", "", "run-b", day.Add(time.Hour), day.Add(2*time.Hour))
	azure.Source = "azure_activity"
	if err := l.RecordIngested(ctx, "run-b", append(run1, other, azure)); err != nil {
		t.Fatal(err)
	}
	// A second call of the same run, and a later run whose ID sorts first (later means
	// IngestedAt, not the object name): the error is fixed, k1 changed (new ETag).
	if err := l.RecordIngested(ctx, "run-b", []load.SourceObject{rec("k7", "v1", "", "run-b", day.Add(3*time.Hour), day.Add(3*time.Hour))}); err != nil {
		t.Fatal(err)
	}
	run2 := []load.SourceObject{
		rec("k2", "v1", "", "run-a", day.Add(time.Hour), day.Add(5*time.Hour)),
		rec("k1", "v2", "", "run-a", day.Add(time.Hour), day.Add(5*time.Hour)),
	}
	if err := l.RecordIngested(ctx, "run-a", run2); err != nil {
		t.Fatal(err)
	}
	if err := l.RecordIngested(ctx, "run-3", nil); err != nil {
		t.Errorf("empty record: %v", err)
	}

	// k1 and k2 as run-a recorded them (later records win); k3 delivered on the 2nd in UTC.
	day2 := []load.SourceObject{run2[1], run2[0], run1[2], rec("k7", "v1", "", "run-b", day.Add(3*time.Hour), day.Add(3*time.Hour))}
	for _, tc := range []struct {
		name, source, account string
		day                   time.Time
		want                  []load.SourceObject
	}{
		{"later records win", src, acct, day, day2},
		// 23:00 CET on the 2nd is 22:00 UTC on the 2nd: the same ledger day.
		{"day given in another zone", src, acct, time.Date(2026, 11, 2, 23, 0, 0, 0, time.FixedZone("CET", 3600)), day2},
		{"next day", src, acct, day.Add(24 * time.Hour), []load.SourceObject{run1[3]}},
		{"other account", src, "111111111111", day, []load.SourceObject{other}},
		{"other source", "azure_activity", acct, day, []load.SourceObject{azure}},
		{"nothing recorded", src, "222222222222", day, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Ingested(ctx, tc.source, tc.account, tc.day)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]load.SourceObject{}
			for _, o := range tc.want {
				want[o.Key] = o
			}
			if len(got) != len(want) {
				t.Errorf("got %d records, want %d: %v", len(got), len(want), got)
			}
			for k, w := range want {
				g, ok := got[k]
				if !ok {
					t.Errorf("%s missing", k)
					continue
				}
				if !g.DeliveredAt.Equal(w.DeliveredAt) || !g.IngestedAt.Equal(w.IngestedAt) {
					t.Errorf("%s times: got %v/%v, want %v/%v", k, g.DeliveredAt, g.IngestedAt, w.DeliveredAt, w.IngestedAt)
				}
				g.DeliveredAt, g.IngestedAt, w.DeliveredAt, w.IngestedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
				if !reflect.DeepEqual(g, w) {
					t.Errorf("%s:\n got %+v\nwant %+v", k, g, w)
				}
			}
		})
	}

	t.Run("objects are immutable JSON lines per run", func(t *testing.T) {
		dir := "_manifests/ingested/source=aws_cloudtrail/account_id=012345678901/date=2026-11-02/"
		keys := listKeys(t, l, dir)
		name := regexp.MustCompile(`^run-[ab]-[0-9]+\.jsonl$`)
		runs := map[string]int{}
		lines := 0
		for _, k := range keys {
			base := strings.TrimPrefix(k, dir)
			if !name.MatchString(base) {
				t.Errorf("ledger object %s", k)
			}
			runs[base[:5]]++
			b, err := l.Bucket().ReadAll(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil || m["key"] == nil || m["etag"] == nil || m["run_id"] == nil {
					t.Errorf("%s: line %q: %v", k, line, err)
				}
				lines++
			}
		}
		// run-b wrote this day twice (two calls), run-a once; nothing was overwritten.
		if runs["run-b"] != 2 || runs["run-a"] != 1 || lines != 6 {
			t.Errorf("objects %v, %d lines; want run-b x2, run-a x1, 6 lines", keys, lines)
		}
	})

	t.Run("invalid input", func(t *testing.T) {
		before := listKeys(t, l, "")
		for _, tc := range []struct {
			name string
			run  string
			obj  load.SourceObject
		}{
			{"run ID with a slash", "../run", rec("k", "v", "", "x", day, day)},
			{"empty run ID", "", rec("k", "v", "", "x", day, day)},
			{"source with a slash", "run-9", load.SourceObject{Source: "../x", AccountID: acct, Key: "k", DeliveredAt: day}},
			{"bad account", "run-9", load.SourceObject{Source: src, AccountID: "123", Key: "k", DeliveredAt: day}},
		} {
			if err := l.RecordIngested(ctx, tc.run, []load.SourceObject{rec("ok", "v", "", "x", day, day), tc.obj}); err == nil {
				t.Errorf("%s: accepted", tc.name)
			}
		}
		if _, err := l.Ingested(ctx, "../x", acct, day); err == nil {
			t.Error("Ingested accepted source ../x")
		}
		if after := listKeys(t, l, ""); !reflect.DeepEqual(after, before) {
			t.Errorf("rejected records wrote objects: %v", after)
		}
	})
}

func testRunManifest(t *testing.T, l *load.Lake) {
	ctx := context.Background()
	m := &load.RunManifest{
		RunID: "20261122T070000Z-abcd", StartedAt: hour, FinishedAt: hour.Add(90 * time.Second), Command: "run",
		Hours: []string{"2026-11-02T07"},
		Accounts: []load.AccountOutcome{
			{AccountID: acct, Status: "ok", Objects: 12, Records: 300, RowsAdded: 290},
			{AccountID: "111111111111", Status: "failed", Error: "assume role: AccessDenied"},
			{AccountID: "222222222222", Status: "skipped"},
		},
		Partitions: []load.PartitionStats{{Table: "aws_cloudtrail_events", Dir: "aws_cloudtrail_events/account_id=012345678901/date=2026-11-02/hour=07",
			RowsBefore: 10, RowsAdded: 290, RowsAfter: 300, Bytes: 4096, Published: true}},
		ExitCode: 3,
	}
	key := "_manifests/runs/20261122T070000Z-abcd.json"
	for _, exit := range []int{3, 0} { // written twice: the second write replaces the first whole
		m.ExitCode = exit
		if err := l.WriteRunManifest(ctx, m); err != nil {
			t.Fatal(err)
		}
		b, err := l.Bucket().ReadAll(ctx, key)
		if err != nil {
			t.Fatalf("manifest: %v (objects %v)", err, listKeys(t, l, ""))
		}
		var got load.RunManifest
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("manifest JSON: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(&got, m) {
			t.Errorf("manifest round trip:\n got %+v\nwant %+v", got, *m)
		}
		for _, field := range []string{`"run_id"`, `"started_at"`, `"exit_code": ` + fmt.Sprint(exit), `"rows_added"`, `"account_id": "012345678901"`, `"published": true`} {
			if !bytes.Contains(b, []byte(field)) {
				t.Errorf("manifest lacks %s:\n%s", field, b)
			}
		}
	}
	if keys := listKeys(t, l, ""); !reflect.DeepEqual(keys, []string{key}) {
		t.Errorf("objects = %v", keys)
	}
	for _, id := range []string{"", "../x", "a/b", "run id"} {
		if err := l.WriteRunManifest(ctx, &load.RunManifest{RunID: id}); err == nil {
			t.Errorf("run ID %q accepted", id)
		}
	}
}
