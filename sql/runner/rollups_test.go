package runner

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
	sqlfiles "github.com/permlake/permlake/sql"
)

// referenceSQL is what the models computed from the events themselves before the rollups
// existed (staging's dedupe over the whole lake, then each model's query): the rollups must give
// the same rows.
var referenceSQL = map[string]string{
	"int_actions__used": `with calls as (
		select principal_account_id as account_id, principal_arn, principal_type, is_success, event_time,
			coalesce(shared_event_id, event_id) as call_id, unnest(iam_actions) as action
		from ref_events
		where event_time >= getvariable('window_start') and event_time < getvariable('now')
			and principal_type in ('iam_user', 'iam_role', 'root') and principal_arn is not null
			and action_mapping in ('default', 'exception'))
		select account_id, principal_arn, principal_type, lower(action) as action_lc,
			count(distinct call_id) filter (where is_success) as uses,
			count(distinct call_id) filter (where not is_success) as attempts,
			min(event_time) filter (where is_success) as first_used_at,
			max(event_time) filter (where is_success) as last_used_at
		from calls group by all`,
	"int_trail__coverage": `select account_id, min(event_time) as evidence_start, max(event_time) as evidence_end, count(*) as events
		from ref_events where event_time >= getvariable('window_start') and event_time < getvariable('now') group by account_id`,
	"unmapped_events": `select 'aws' as cloud, event_source, event_name, count(*) as events, min(event_time) as first_seen_at, max(event_time) as last_seen_at
		from ref_events where action_mapping = 'unmapped' group by all`,
	"observed_actions": `select lower(action) as action_lc, min(action) as action from (select unnest(iam_actions) as action from ref_events)
		where lower(action) not in (select lower(action) from aws_iam_actions) group by 1`,
	"cloudtrail_activity": `select principal_account_id as account_id, principal_arn, max(event_time) as activity_at from ref_events
		where principal_arn is not null and principal_type in ('iam_user', 'iam_role', 'root') and event_time < getvariable('now') group by 1, 2`,
}

// builtSQL reads the same from a build.
var builtSQL = map[string]string{
	"int_actions__used":   `select * from int_actions__used`,
	"int_trail__coverage": `select * from int_trail__coverage`,
	"unmapped_events":     `select * from unmapped_events where cloud = 'aws'`,
	"observed_actions":    `select action_lc, action from int_actions__universe where not is_in_catalog`,
	"cloudtrail_activity": `select account_id, principal_arn, activity_at from ref_activity`,
}

// randomEvents makes n CloudTrail events of three accounts over the hours around the look-back
// window's ends: mixed-case and repeated actions, calls without actions, failures, every
// mapping, service events, and cross-account calls recorded in two accounts under one
// shared_event_id.
func randomEvents(r *rand.Rand, n int, idPrefix string) []schemas.CloudTrailEvent {
	accounts := []string{acct, acct2, "444455556666"}
	actions := []string{"s3:GetObject", "S3:getobject", "ec2:DescribeInstances", "iam:PassRole", "kms:Decrypt", "new:Thing"}
	mappings := []string{"default", "default", "default", "exception", "unmapped", "no_permission"}
	windowStart := now.AddDate(0, 0, -90)
	var out []schemas.CloudTrailEvent
	for i := range n {
		a := accounts[r.IntN(len(accounts))]
		var at time.Time
		switch r.IntN(4) {
		case 0:
			at = windowStart.Add(time.Duration(r.IntN(4*3600)-2*3600) * time.Second) // around window_start
		case 1:
			at = now.Add(time.Duration(r.IntN(3*3600)-2*3600) * time.Second) // around now
		default:
			at = hour.Add(time.Duration(r.IntN(6*3600)) * time.Second)
		}
		e := schemas.CloudTrailEvent{EventID: fmt.Sprintf("%s%d", idPrefix, i), EventTime: at, EventSource: "x.amazonaws.com",
			EventName: fmt.Sprintf("Op%d", r.IntN(3)), RecipientAccountID: a, UserIdentityType: "IAMUser",
			IsSuccess: r.IntN(4) > 0, ActionMapping: mappings[r.IntN(len(mappings))], SourceKey: "k", RunID: "r", IAMActions: []string{}}
		for range r.IntN(3) {
			e.IAMActions = append(e.IAMActions, actions[r.IntN(len(actions))])
		}
		switch p := r.IntN(6); p {
		case 0:
			e.PrincipalType = "aws_service"
		case 1:
			e.PrincipalType = "root"
			e.PrincipalARN, e.PrincipalAccountID = sp("arn:aws:iam::"+a+":root"), sp(a)
		default:
			e.PrincipalType = []string{"iam_user", "iam_role"}[p%2]
			e.PrincipalARN, e.PrincipalAccountID = sp(fmt.Sprintf("arn:aws:iam::%s:%s/p%d", a, []string{"user", "role"}[p%2], r.IntN(3))), sp(a)
		}
		if !e.IsSuccess {
			e.ErrorCode = sp("AccessDenied")
		}
		out = append(out, e)
		if r.IntN(5) == 0 { // a cross-account call: a copy in another account, same call
			shared := fmt.Sprintf("s-%s%d", idPrefix, i)
			out[len(out)-1].SharedEventID = &shared
			c := out[len(out)-1]
			c.EventID += "-copy"
			c.RecipientAccountID = accounts[(indexOf(accounts, a)+1)%len(accounts)]
			out = append(out, c)
		}
	}
	return out
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// commitEvents writes events into their partitions (recipient account, event hour) through the
// lake's own writer, which journals the commit.
func commitEvents(t *testing.T, l *load.Lake, events []schemas.CloudTrailEvent) {
	t.Helper()
	w := load.NewPartitionedWriter(context.Background(), l, schemas.CloudTrailEvents, func(e *schemas.CloudTrailEvent) string { return e.EventID }, 0)
	for _, e := range events {
		if err := w.Add(load.Partition{ID: e.RecipientAccountID, Hour: e.EventTime.Truncate(time.Hour)}, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// openFileLake opens the file lake at root for the test's lifetime.
func openFileLake(t *testing.T, root string) *load.Lake {
	t.Helper()
	l, err := load.Open(context.Background(), "file://"+root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func changeFeed(l *load.Lake) func(context.Context, time.Time, func(string) bool) ([]Change, error) {
	return func(ctx context.Context, since time.Time, seen func(string) bool) ([]Change, error) {
		cs, err := l.Commits(ctx, since, seen)
		if err != nil {
			return nil, err
		}
		out := make([]Change, len(cs))
		for i, c := range cs {
			out[i] = Change{Key: c.Key, At: c.CommittedAt}
			for _, p := range c.Partitions {
				out[i].Dirs = append(out[i].Dirs, p.Dir)
			}
		}
		return out, nil
	}
}

// buildWith builds the embedded models over root with opts' state settings into a fresh
// in-memory database, adds ref_activity (the CloudTrail activity the identities model used),
// and returns it with the build's result.
func buildWith(t *testing.T, root string, opts Options) (*sql.DB, *Result) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	opts.Lake, opts.Now, opts.FS = root, now, sqlfiles.FS
	opts.Seeds = map[string]Seed{"aws_iam_actions": catalogSeed()}
	res, err := Build(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The CloudTrail part of int_identities__activity, recomputed from the rollup the build
	// left in its state (a new connection: the build's temporary views are gone).
	state := opts.State
	if state == "" {
		return db, res
	}
	if _, err := db.Exec("attach " + quoteLiteral(state) + " as st (read_only)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`create table ref_activity as select principal_account_id as account_id, principal_arn, max(last_event_at) as activity_at
		from st.rollup_aws_cloudtrail__events where principal_arn is not null and principal_type in ('iam_user', 'iam_role', 'root')
		and hour_start < cast(? as timestamp) group by 1, 2`, now.Format("2006-01-02 15:04:05")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("detach st"); err != nil {
		t.Fatal(err)
	}
	return db, res
}

// digest returns a canonical text of q's rows.
func digest(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	var s sql.NullString
	if err := db.QueryRow("select string_agg(cast(r as varchar), '\n' order by cast(r as varchar)) from (" + q + ") as r").Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s.String
}

// reference computes referenceSQL over the lake's events in db.
func reference(t *testing.T, db *sql.DB, root string) map[string]string {
	t.Helper()
	glob := filepath.Join(root, "aws_cloudtrail_events", "*", "*", "*", "*.parquet")
	if _, err := db.Exec(`create or replace table ref_events as select * from read_parquet(?, hive_partitioning = true, hive_types = `+schemas.CloudTrailEvents.HiveTypes()+`)
		qualify row_number() over (partition by event_id, recipient_account_id order by _source_key, _run_id) = 1`, glob); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"set variable now = cast(? as timestamp)", "set variable window_start = cast(? as timestamp)",
	} {
		v := now
		if strings.Contains(q, "window_start") {
			v = now.AddDate(0, 0, -90)
		}
		if _, err := db.Exec(q, v.Format("2006-01-02 15:04:05")); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]string{}
	for name, q := range referenceSQL {
		out[name] = digest(t, db, q)
	}
	return out
}

func compare(t *testing.T, label string, db *sql.DB, want map[string]string) {
	t.Helper()
	for name, q := range builtSQL {
		if got := digest(t, db, q); got != want[name] {
			t.Errorf("%s: %s differs from the event-level reference:\ngot\n%s\nwant\n%s", label, name, got, want[name])
		}
	}
}

// TestRollupsMatchEventLevelSQL: the models over the rollups give exactly what the same models
// gave over the events, the window's edges, duplicates and cross-account copies included — and an
// incremental build after more commits (new hours, late rows into hours already aggregated) gives
// what a full build of the grown lake gives.
func TestRollupsMatchEventLevelSQL(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	l := openFileLake(t, root)
	r := rand.New(rand.NewPCG(7, 11))
	first := randomEvents(r, 1500, "a")
	commitEvents(t, l, first)
	commitEvents(t, l, first[:300]) // re-delivered: the merge keeps one copy
	state := filepath.Join(t.TempDir(), "state.duckdb")
	// Builds over this state read 2 files per statement (a partition is never split).
	opts := Options{State: state, LakeID: "file://" + root, Changes: changeFeed(l), batchFiles: 2}

	db, res := buildWith(t, root, opts)
	if res.Rollups[0].Mode != "full" || res.Rollups[0].Partitions == 0 {
		t.Fatalf("first build: %+v, want a full build", res.Rollups)
	}
	want := reference(t, db, root)
	for name, d := range want {
		if d == "" {
			t.Fatalf("the reference %s is empty: the fixture exercises nothing", name)
		}
	}
	compare(t, "full build", db, want)

	// Nothing new: the journal's last day is listed again (the margin), but its entries were
	// all there before the full build read the lake, so no partition is read again.
	_, res = buildWith(t, root, opts)
	if res.Rollups[0].Mode != "incremental" || res.Rollups[0].Partitions != 0 {
		t.Fatalf("second build: %+v, want incremental over nothing", res.Rollups)
	}

	// More data: new events, some in hours the state already holds.
	more := randomEvents(r, 400, "b")
	commitEvents(t, l, more)
	db, res = buildWith(t, root, opts)
	if res.Rollups[0].Mode != "incremental" {
		t.Fatalf("third build: %+v, want incremental", res.Rollups)
	}
	want = reference(t, db, root)
	compare(t, "incremental build", db, want)

	// A full rebuild from scratch agrees, and so does a build without any state.
	fresh := opts
	fresh.State, fresh.batchFiles = filepath.Join(t.TempDir(), "state.duckdb"), 0
	db, res = buildWith(t, root, fresh)
	if res.Rollups[0].Mode != "full" {
		t.Fatalf("fresh state: %+v, want full", res.Rollups)
	}
	compare(t, "fresh full build", db, want)

	// A full build a few files at a time (a partition is never split) agrees, and leaves no
	// table of its own behind in the state.
	batched := fresh
	batched.State, batched.batchFiles = filepath.Join(t.TempDir(), "state.duckdb"), 3
	db, res = buildWith(t, root, batched)
	if res.Rollups[0].Mode != "full" || res.Rollups[0].Partitions < 10 {
		t.Fatalf("batched build: %+v, want a full build over many partitions", res.Rollups)
	}
	compare(t, "batched full build", db, want)
	building := func() int {
		t.Helper()
		check, err := sql.Open("duckdb", "")
		if err != nil {
			t.Fatal(err)
		}
		defer check.Close()
		if _, err := check.Exec("attach " + quoteLiteral(batched.State) + " as chk (read_only)"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := check.QueryRow("select count(*) from duckdb_tables() where database_name = 'chk' and table_name like '%\\_\\_building' escape '\\'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := building(); n != 0 {
		t.Fatalf("%d rollup tables of the build left in the state", n)
	}

	// What a full build killed midway leaves behind goes with the next (incremental) build.
	stray, err := sql.Open("duckdb", batched.State)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stray.Exec("create table rollup_aws_cloudtrail__events__building as select 1 as x"); err != nil {
		t.Fatal(err)
	}
	stray.Close()
	if n := building(); n != 1 {
		t.Fatalf("%d stray tables, want the one just made", n)
	}
	db, res = buildWith(t, root, batched)
	if res.Rollups[0].Mode != "incremental" {
		t.Fatalf("build after the stray table: %+v, want incremental", res.Rollups)
	}
	compare(t, "incremental build after a killed full one", db, want)
	if n := building(); n != 0 {
		t.Fatalf("%d tables of a killed full build left in the state after an incremental one", n)
	}
}

// TestRollupStateFollowsItsLake: a state written for another lake, or by other rollup SQL, is
// rebuilt rather than trusted; Full forces a rebuild; a partition deleted from the lake (and
// journaled) loses its rows.
func TestRollupStateFollowsItsLake(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	l := openFileLake(t, root)
	r := rand.New(rand.NewPCG(3, 5))
	commitEvents(t, l, randomEvents(r, 200, "a"))
	state := filepath.Join(t.TempDir(), "state.duckdb")
	opts := Options{State: state, LakeID: "file://" + root, Changes: changeFeed(l)}
	buildWith(t, root, opts)
	for name, o := range map[string]Options{
		"other lake": {State: state, LakeID: "s3://elsewhere/lake", Changes: opts.Changes},
		"forced":     {State: state, LakeID: opts.LakeID, Changes: opts.Changes, Full: true},
		"no journal": {State: state, LakeID: opts.LakeID},
	} {
		if _, res := buildWith(t, root, o); res.Rollups[0].Mode != "full" {
			t.Errorf("%s: mode %s, want full", name, res.Rollups[0].Mode)
		}
	}
	buildWith(t, root, opts) // back to this lake: full again, then current
	// A forced full build over a current state keeps the journal entries it read again: the
	// next build has nothing new to read.
	buildWith(t, root, Options{State: state, LakeID: opts.LakeID, Changes: opts.Changes, Full: true})
	if _, res := buildWith(t, root, opts); res.Rollups[0].Mode != "incremental" || res.Rollups[0].Partitions != 0 {
		t.Errorf("after a forced full build: %s over %d partitions, want incremental over none", res.Rollups[0].Mode, res.Rollups[0].Partitions)
	}

	// Delete one partition and journal it (as a writer that emptied it would).
	dir := filepath.Join(root, "aws_cloudtrail_events", "account_id="+acct)
	dates, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	hours, err := os.ReadDir(filepath.Join(dir, dates[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(dir, dates[0].Name(), hours[0].Name())
	if err := os.RemoveAll(gone); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(root, gone)
	feed := func(ctx context.Context, since time.Time, seen func(string) bool) ([]Change, error) {
		cs, err := opts.Changes(ctx, since, seen)
		return append(cs, Change{Key: "deleted", At: time.Now(), Dirs: []string{filepath.ToSlash(rel)}}), err
	}
	o := opts
	o.Changes = feed
	db, res := buildWith(t, root, o)
	if res.Rollups[0].Mode != "incremental" {
		t.Fatalf("mode %s, want incremental", res.Rollups[0].Mode)
	}
	compare(t, "after a deletion", db, reference(t, db, root))
}
