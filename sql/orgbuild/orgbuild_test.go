package orgbuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
	"github.com/permlake/permlake/sql/runner"
)

// TestFullBuildMatchesMonolithic: every unit built then finalized gives the monolithic build's
// marts, and the lake holds one partition per mart, cloud and account, as its record says.
func TestFullBuildMatchesMonolithic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref, want := e.referenceDB(testNow)
	o := e.opts(testNow)
	res := e.buildAccounts(o)
	if got := sortedUnits(res.Built); !slices.Equal(got, allUnits()) || res.Units != len(allUnits()) || res.Cached != 0 || len(res.Skipped) != 0 {
		t.Fatalf("built %v (units %d, cached %d, skipped %v), want every unit %v built, none cached", got, res.Units, res.Cached, res.Skipped, allUnits())
	}
	sameMarts(t, "full build", e.finalize(o), want)

	records := e.records()
	if len(records) != len(allUnits()) {
		t.Fatalf("%d unit records, want %d", len(records), len(allUnits()))
	}
	for _, src := range martSources {
		mart, split := src.mart, src.split
		if split == "" {
			split = "'data'"
		}
		want := map[string]int64{}
		rows, err := ref.Query(fmt.Sprintf("select cloud, account_id, %s, count(*) from %s group by all", split, src.table))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var cloud, id, part string
			var n int64
			if err := rows.Scan(&cloud, &id, &part, &n); err != nil {
				t.Fatal(err)
			}
			if src.idleOnly && part != "idle" {
				continue
			}
			want["marts/"+mart+"/cloud="+cloud+"/account_id="+id+"/"+part+".parquet"] = n
		}
		rows.Close()
		if len(want) < 2 {
			t.Fatalf("mart %s has rows of %d accounts in the reference: the fixture is too thin", mart, len(want))
		}
		got := map[string]int64{}
		for u, r := range records {
			for _, p := range r.Marts[mart] {
				cloud, id, _ := partitionKeys(path.Dir(strings.TrimPrefix(p.Key, "marts/"+mart+"/")) + "/part=")
				if owner := Unit(id); (cloud == "azure" && u != AzureUnit) || (cloud == "aws" && owner != u) {
					t.Errorf("unit %s's record names partition %s", u, p.Key)
				}
				if _, dup := got[p.Key]; dup {
					t.Errorf("partition %s in two records", p.Key)
				}
				got[p.Key] = p.Rows
				b, err := os.ReadFile(filepath.Join(e.root, filepath.FromSlash(p.Key)))
				if err != nil {
					t.Errorf("partition %s: %v", p.Key, err)
					continue
				}
				sum := sha256.Sum256(b)
				if hex.EncodeToString(sum[:]) != p.SHA256 || int64(len(b)) != p.Bytes {
					t.Errorf("partition %s: sha256/bytes differ from its record", p.Key)
				}
				var n int64
				if err := ref.QueryRow("select count(*) from read_parquet(?)", filepath.Join(e.root, filepath.FromSlash(p.Key))).Scan(&n); err != nil || n != p.Rows {
					t.Errorf("partition %s holds %d rows (%v), its record says %d", p.Key, n, err, p.Rows)
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("mart %s: partitions and rows\n%v\nwant (reference rows per cloud and account)\n%v", mart, got, want)
		}
	}
	b, err := os.ReadFile(filepath.Join(e.root, "marts", "_manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Units) != len(allUnits()) || !m.WindowEnd.Equal(testNow) {
		t.Errorf("manifest: %d units, window end %s", len(m.Units), m.WindowEnd)
	}
}

// TestShardsThenFinalize: four shards built one after the other, each on its own database,
// give the monolithic marts; Finalize refuses before the last one.
func TestShardsThenFinalize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := e.reference(testNow)
	shards := map[int][]Unit{}
	last := 0
	for i := 1; i <= 4; i++ {
		for _, u := range allUnits() {
			if (Shard{Index: i, Count: 4}).Has(u) {
				shards[i] = append(shards[i], u)
			}
		}
		if len(shards[i]) > 0 {
			last = i
		}
	}
	if len(shards[last]) == len(allUnits()) {
		t.Fatalf("every unit in shard %d: the test shards nothing", last)
	}
	for i := 1; i <= 4; i++ {
		o := e.opts(testNow)
		o.Shard = Shard{Index: i, Count: 4}
		if i == last {
			_, err := Finalize(context.Background(), newDB(t), o)
			if !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), string(shards[last][0])) {
				t.Errorf("Finalize before shard %d/4: %v, want ErrStale naming %s", i, err, shards[last][0])
			}
		}
		var heard []UnitsProgress
		o.Progress = func(p UnitsProgress) { heard = append(heard, p) }
		o.Runner.Progress = func(ev runner.Event) { t.Errorf("the per-account step reported model %s: it reports units", ev.Name) }
		res := e.buildAccounts(o)
		if got := sortedUnits(res.Built); !slices.Equal(got, shards[i]) || res.Units != len(shards[i]) {
			t.Errorf("shard %d/4 built %v of %d units, want %v", i, got, res.Units, shards[i])
		}
		if n := len(heard); n < 2 || heard[0].Built != 0 || heard[n-1].Built != len(shards[i]) || heard[n-1].ToBuild != len(shards[i]) {
			t.Errorf("shard %d/4: progress %+v, want from 0 to %d built", i, heard, len(shards[i]))
		}
		for j := 1; j < len(heard); j++ {
			if heard[j].Built < heard[j-1].Built || heard[j].Built > heard[j].ToBuild {
				t.Errorf("shard %d/4: progress goes back or beyond its total: %+v", i, heard)
			}
		}
	}
	o := e.opts(testNow)
	models := 0
	o.Runner.Progress = func(ev runner.Event) {
		if ev.Kind == runner.ModelDone {
			models++
		}
	}
	sameMarts(t, "4 shards", e.finalize(o), want)
	if models == 0 {
		t.Error("Finalize reported no model built")
	}
}

// TestIncrementalBuilds changes the inputs step by step; each step rebuilds only the units whose
// inputs changed, with the grants from the cache when only their activity or the window moved,
// and gives the monolithic build's marts at the same analysis time.
func TestIncrementalBuilds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := testNow
	step := func(label string, wantBuilt []Unit, wantCached int) *Result {
		t.Helper()
		o := e.opts(now)
		// Every mart in one partitioned COPY, with the unchanged partitions left out (the other
		// tests' batches are small enough for a COPY per partition).
		o.eachMax = -1
		res := e.buildAccounts(o)
		if got := sortedUnits(res.Built); !slices.Equal(got, sortedUnits(wantBuilt)) || res.Cached != wantCached || len(res.Removed) != 0 {
			t.Errorf("%s: built %v (cached %d, removed %v), want %v (cached %d)", label, got, res.Cached, res.Removed, sortedUnits(wantBuilt), wantCached)
		}
		if res.Units != len(allUnits()) {
			t.Errorf("%s: %d units selected, want %d", label, res.Units, len(allUnits()))
		}
		if len(wantBuilt) > 0 {
			sameMarts(t, label, e.finalize(o), e.reference(now))
		}
		return res
	}
	awsUnits := slices.DeleteFunc(allUnits(), func(u Unit) bool { return u == AzureUnit })

	step("first build", allUnits(), 0)
	step("nothing new", nil, 0)

	// (a) New hours of one account's trail, with a call by another account's role into it.
	a, b := accounts[3], accounts[4]
	at := testNow.Add(-5 * time.Hour)
	more := append(crossAccount("new-x", b, "role", "r-app", a, "sts:AssumeRole", at.Add(10*time.Minute)),
		event("new-1", a, "user", "u-dev", a, "ec2:DescribeInstances", true, at),
		event("new-2", a, "role", "r-app", a, "kms:Decrypt", true, at.Add(time.Minute)))
	commitEvents(t, e.lake, more)
	step("new activity", []Unit{Unit(a), Unit(b)}, 2)

	// (a') A later hour repeats a call already made: the account's idle rows are kept, only the
	// called keys' rows are computed.
	// The objects whose rows did not change (the same actions used: the same least-privilege
	// policies) are left as they are; the others are written again.
	objects := func() map[string]time.Time {
		files, err := filepath.Glob(filepath.Join(e.root, "marts", "*", "cloud=aws", "account_id="+a, "*.parquet"))
		if err != nil || len(files) == 0 {
			t.Fatalf("objects of %s: %v (%d)", a, err, len(files))
		}
		out := map[string]time.Time{}
		for _, f := range files {
			info, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(e.root, f)
			out[filepath.ToSlash(rel)] = info.ModTime()
		}
		return out
	}
	stored := objects()
	commitEvents(t, e.lake, []schemas.CloudTrailEvent{event("new-3", a, "user", "u-dev", a, "ec2:DescribeInstances", true, at.Add(2*time.Hour))})
	if res := step("the same call again", []Unit{Unit(a)}, 1); res.IdleKept != 1 {
		t.Errorf("the same call again: idle rows kept for %d units, want 1", res.IdleKept)
	}
	after := objects()
	for _, c := range []struct {
		key  string
		kept bool
	}{
		{"marts/least_privilege_policies/cloud=aws/account_id=" + a + "/data.parquet", true},
		{"marts/inactive_identities/cloud=aws/account_id=" + a + "/data.parquet", true},
		{"marts/permission_usage/cloud=aws/account_id=" + a + "/active.parquet", false},
		{"marts/evidence_windows/cloud=aws/account_id=" + a + "/data.parquet", false},
		// The services none of whose actions was used are the same; ec2's last use moved.
		{"marts/service_usage/cloud=aws/account_id=" + a + "/idle.parquet", true},
		{"marts/service_usage/cloud=aws/account_id=" + a + "/active.parquet", false},
	} {
		b, ok1 := stored[c.key]
		n, ok2 := after[c.key]
		if !ok1 || !ok2 {
			t.Errorf("the same call again: object %s missing (before %v, after %v)", c.key, ok1, ok2)
		} else if kept := b.Equal(n); kept != c.kept {
			t.Errorf("the same call again: object %s left as it was: %v, want %v", c.key, kept, c.kept)
		}
	}

	// (b0) A new snapshot of one account with the same entitlements (as every hourly run takes):
	// nothing to rebuild.
	writeIAM(t, e.lake, accounts[2], snapHour.Add(time.Hour), specOf(2))
	step("same snapshot again", nil, 0)

	// (b) A new snapshot of one account: its developers may now pass roles.
	s := specOf(1)
	s.passRole = true
	writeIAM(t, e.lake, accounts[1], snapHour.Add(time.Hour), s)
	step("changed snapshot", []Unit{Unit(accounts[1])}, 0)

	// (c) A changed SCP: every AWS unit reads the organization.
	writeOrg(t, e.lake, snapHour.Add(2*time.Hour), "iam:CreateUser", "s3:PutObject", "kms:Decrypt")
	step("changed SCP", awsUnits, 0)

	// (d) A changed catalog: every unit.
	e.seeds = map[string]runner.Seed{"aws_iam_actions": catalogSeed("ec2:StopInstances")}
	step("changed catalog", allUnits(), 0)

	// (e) The window slides five days: the early calls age out; every unit is rebuilt from its
	// cached grants.
	before := e.reference(now)
	now = testNow.AddDate(0, 0, 5)
	if after := e.reference(now); after["permission_usage"] == before["permission_usage"] {
		t.Fatal("sliding the window changes no permission_usage row: the fixture has no early call")
	}
	step("window slid", allUnits(), len(allUnits()))
	step("nothing new after the slide", nil, 0)
}

// TestRemovedUnit: an account whose snapshot is gone and that has no activity in the window loses
// its partitions and record.
func TestRemovedUnit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gone := accounts[6]
	e.buildAccounts(e.opts(testNow))
	rec := e.records()[Unit(gone)]
	if rec == nil || len(rec.Marts["permission_usage"]) == 0 {
		t.Fatalf("record of %s before removal: %+v", gone, rec)
	}
	dirs, err := filepath.Glob(filepath.Join(e.root, "aws_iam_*", "account_id="+gone))
	if err != nil || len(dirs) < 5 {
		t.Fatalf("snapshot directories of %s: %v %v", gone, dirs, err)
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
	}
	res := e.buildAccounts(e.opts(testNow))
	if !slices.Equal(res.Removed, []Unit{Unit(gone)}) || len(res.Built) != 0 || res.Units != len(allUnits())-1 {
		t.Fatalf("removed %v, built %v, units %d; want %s removed and nothing built", res.Removed, res.Built, res.Units, gone)
	}
	if _, ok := e.records()[Unit(gone)]; ok || e.fileExists(recordKey(Unit(gone))) {
		t.Errorf("the record of %s is still there", gone)
	}
	for mart, ps := range rec.Marts {
		for _, p := range ps {
			if e.fileExists(p.Key) {
				t.Errorf("mart %s: partition %s still there", mart, p.Key)
			}
		}
	}
	sameMarts(t, "after a removal", e.finalize(e.opts(testNow)), e.reference(testNow))
}

// TestCrashedBuildIsRedone: a unit whose record is missing (a build killed before it), older than
// its partitions (killed between them) or stale is built again; a record that does not parse is
// an error naming it.
func TestCrashedBuildIsRedone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.buildAccounts(e.opts(testNow))
	finalizeStale := func(label string, u Unit) {
		t.Helper()
		_, err := Finalize(ctx, newDB(t), e.opts(testNow))
		if !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), string(u)) {
			t.Errorf("%s: Finalize = %v, want ErrStale naming %s", label, err, u)
		}
	}
	rebuilt := func(label string, u Unit, cached int) {
		t.Helper()
		res := e.buildAccounts(e.opts(testNow))
		if !slices.Equal(res.Built, []Unit{u}) || res.Cached != cached {
			t.Errorf("%s: built %v (cached %d), want %s (cached %d)", label, res.Built, res.Cached, u, cached)
		}
	}

	// Killed before the record: the first build of the unit never committed.
	u := Unit(accounts[2])
	if err := os.Remove(filepath.Join(e.root, filepath.FromSlash(recordKey(u)))); err != nil {
		t.Fatal(err)
	}
	finalizeStale("no record", u)
	rebuilt("no record", u, 1)

	// Killed between the partitions and the record of a changed unit: the new partitions are
	// there under the previous record.
	u = Unit(accounts[1])
	recFile := filepath.Join(e.root, filepath.FromSlash(recordKey(u)))
	old, err := os.ReadFile(recFile)
	if err != nil {
		t.Fatal(err)
	}
	s := specOf(1)
	s.passRole = true
	writeIAM(t, e.lake, accounts[1], snapHour.Add(time.Hour), s)
	e.buildAccounts(e.opts(testNow))
	if err := os.WriteFile(recFile, old, 0o644); err != nil {
		t.Fatal(err)
	}
	finalizeStale("previous record", u)
	rebuilt("previous record", u, 1)

	// A record naming another fingerprint.
	u = Unit(accounts[3])
	recFile = filepath.Join(e.root, filepath.FromSlash(recordKey(u)))
	b, err := os.ReadFile(recFile)
	if err != nil {
		t.Fatal(err)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	r.Fingerprint = strings.Repeat("0", 64)
	if b, err = json.Marshal(r); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rebuilt("stale record", u, 1)
	sameMarts(t, "after the crashes", e.finalize(e.opts(testNow)), e.reference(testNow))

	// Killed after the objects of a changed unit were replaced, before its record; then its
	// snapshot goes back to what the record was built from. The rows digest as the record's
	// partitions do, but the objects hold the killed build's rows: the record marked as being
	// published makes the next build write them again.
	back := Unit(accounts[1])
	writeIAM(t, e.lake, accounts[1], snapHour.Add(2*time.Hour), specOf(1))
	o := e.opts(testNow)
	o.failPublish = func() error { return errors.New("killed") }
	if _, err := BuildAccounts(ctx, newDB(t), o); err == nil {
		t.Fatal("BuildAccounts with its publishing killed: no error")
	}
	marked, err := os.ReadFile(filepath.Join(e.root, filepath.FromSlash(recordKey(back))))
	if err != nil {
		t.Fatal(err)
	}
	if r := (record{}); json.Unmarshal(marked, &r) != nil || !r.Publishing {
		t.Fatalf("the record of %s after a build killed while publishing: %s, want it marked publishing", back, marked)
	}
	writeIAM(t, e.lake, accounts[1], snapHour.Add(3*time.Hour), s)
	finalizeStale("killed while publishing, snapshot back", back)
	rebuilt("killed while publishing, snapshot back", back, 0) // the killed build cached its own grants
	sameMarts(t, "killed while publishing, snapshot back", e.finalize(e.opts(testNow)), e.reference(testNow))

	// A record that does not parse stops the build, naming it.
	if err := os.WriteFile(recFile, []byte(`{"unit": "`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := BuildAccounts(ctx, newDB(t), e.opts(testNow)); err == nil || !strings.Contains(err.Error(), recordKey(u)) {
		t.Errorf("BuildAccounts over a broken record: %v, want an error naming %s", err, recordKey(u))
	}
}

// TestUncatalogedActionsAreOrganizationWide: an action CloudTrail records that the catalog does
// not know joins the action universe ("*" grants it); the monolithic build sees the actions
// observed anywhere in the organization, so a unit's grants must too — whether built in a scope
// or loaded from the grants cache.
func TestUncatalogedActionsAreOrganizationWide(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Observed in an account without an admin; accounts[0] holds "*" for its u-admin.
	commitEvents(t, e.lake, []schemas.CloudTrailEvent{event("new-svc-1", accounts[1], "user", "u-dev", accounts[1], "newsvc:DoIt", true, testNow.AddDate(0, 0, -1))})
	o := e.opts(testNow)
	o.BatchSize = 1 // each account built alone: its scope sees only its own activity
	res := e.buildAccounts(o)
	if len(res.Built) != len(allUnits()) {
		t.Fatalf("built %v", res.Built)
	}
	want := e.reference(testNow)
	granted := false // a row of the admin's with the new service (DuckDB releases quote struct text differently)
	newsvc := regexp.MustCompile(`'service': '?newsvc`)
	for _, row := range strings.Split(want["permission_usage"], "\n") {
		granted = granted || (strings.Contains(row, "arn:aws:iam::"+accounts[0]+":user/u-admin") && newsvc.MatchString(row))
	}
	if !granted {
		t.Fatalf("the reference does not grant newsvc to %s's admin: the test checks nothing", accounts[0])
	}
	sameMarts(t, "uncataloged action seen in another account", e.finalize(e.opts(testNow)), want)

	// Observed by the admin's own account later: the account is rebuilt from its cached grants.
	// Azure alike: alice holds "*" through Contrib.
	commitEvents(t, e.lake, []schemas.CloudTrailEvent{event("new-svc-2", accounts[0], "user", "u-dev", accounts[0], "othersvc:Go", true, testNow.Add(-3*time.Hour))})
	at := testNow.Add(-3 * time.Hour)
	op, result, corr, who := "microsoft.network/virtualnetworks/write", "Succeeded", "c9", alice
	st, err := load.ReplacePartition(context.Background(), e.lake, schemas.AzureActivityEvents, load.Partition{ID: azSub, By: schemas.BySubscriptionHour, Hour: at},
		[]schemas.AzureActivityEvent{{RecordKey: "e9", EventTime: at, ResourceID: "/subscriptions/" + azSub, ResourceIDLC: "/subscriptions/" + azSub,
			OperationName: "Microsoft.Network/virtualNetworks/write", Action: &op, ResultType: &result, IsSuccess: true, CorrelationID: &corr, PrincipalID: &who, SourceKey: "k"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.lake.Journal(context.Background(), []load.PartitionStats{st}); err != nil {
		t.Fatal(err)
	}
	res = e.buildAccounts(e.opts(testNow))
	if !slices.Contains(res.Built, AzureUnit) || !slices.Contains(res.Built, Unit(accounts[3])) {
		t.Errorf("built %v, want Azure (its activity changed) and %s (its admin holds \"*\")", res.Built, accounts[3])
	}
	sameMarts(t, "uncataloged action seen after the grants were cached", e.finalize(e.opts(testNow)), e.reference(testNow))
}
