package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/demo"
	"github.com/permlake/permlake/transform"
)

func TestChangedAccounts(t *testing.T) {
	t.Parallel()
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = time.Duration(n - i).String() // unsorted, distinct
		}
		return out
	}
	h := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ n, want int }{{1, 1}, {5, 1}, {22, 1}, {100, 1}, {101, 2}, {1000, 10}} {
		got := changedAccounts(ids(tc.n), h, 0.01)
		if len(got) != tc.want {
			t.Errorf("n=%d: %d accounts changed, want %d", tc.n, len(got), tc.want)
		}
		if len(slices.Compact(slices.Sorted(slices.Values(got)))) != len(got) {
			t.Errorf("n=%d: duplicates in %v", tc.n, got)
		}
		if again := changedAccounts(ids(tc.n), h, 0.01); !slices.Equal(got, again) {
			t.Errorf("n=%d: not deterministic: %v, then %v", tc.n, got, again)
		}
	}
	if a, b := changedAccounts(ids(1000), h, 0.01), changedAccounts(ids(1000), h.Add(time.Hour), 0.01); slices.Equal(a, b) {
		t.Errorf("consecutive hours change the same accounts: %v", a)
	}
	if got := changedAccounts(nil, h, 0.01); got != nil {
		t.Errorf("no accounts: got %v", got)
	}
}

func TestTargetVerdict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value, limit float64
		want         string
	}{{1.99, 2, "met"}, {2, 2, "met"}, {2.01, 2, "MISSED"}} {
		if got := (target{value: tc.value, limit: tc.limit, unit: "s"}).verdict(); got != tc.want {
			t.Errorf("%v against %v: %s, want %s", tc.value, tc.limit, got, tc.want)
		}
	}
}

// TestChangeIAMExport: the changed export of a demo account parses (transform.GAAD, as the
// pipeline reads it) into a snapshot with one more inline policy, on a role, and otherwise the
// same principals.
func TestChangeIAMExport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	org, err := demo.Generate(context.Background(), dir, demo.Config{MemberAccounts: 2, Days: 1, EventsPerHour: 1})
	if err != nil {
		t.Fatal(err)
	}
	acct := org.Accounts[len(org.Accounts)-1].ID
	iamDir := filepath.Join(dir, "iam", acct)
	parse := func() *transform.IAMSnapshot {
		t.Helper()
		pages, err := filepath.Glob(filepath.Join(iamDir, "gaad-*.json"))
		if err != nil || len(pages) == 0 {
			t.Fatalf("pages: %v, %v", pages, err)
		}
		slices.Sort(pages)
		var bs [][]byte
		for _, p := range pages {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			bs = append(bs, b)
		}
		snap, err := transform.GAAD(bs, transform.SnapshotMeta{AccountID: acct, SnapshotAt: org.WindowEnd})
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Skipped) > 0 {
			t.Fatalf("skipped: %v", snap.Skipped)
		}
		return snap
	}
	before := parse()
	hour := time.Date(2026, 11, 16, 1, 0, 0, 0, time.UTC)
	if err := changeIAMExport(iamDir, hour); err != nil {
		t.Fatal(err)
	}
	after := parse()
	if len(after.Roles) != len(before.Roles) || len(after.Users) != len(before.Users) {
		t.Errorf("principals changed: %d roles, %d users; before %d, %d", len(after.Roles), len(after.Users), len(before.Roles), len(before.Users))
	}
	if len(after.Attachments) != len(before.Attachments)+1 {
		t.Fatalf("%d attachments, want %d", len(after.Attachments), len(before.Attachments)+1)
	}
	var keys []string
	for _, r := range after.Roles {
		keys = append(keys, transform.InlinePolicyKey(r.ARN, benchPolicyName(hour)))
	}
	found := 0
	for _, st := range after.Statements {
		if slices.Contains(keys, st.PolicyKey) {
			found++
		}
	}
	if found != 1 {
		t.Errorf("%d statements of the inline policy %s on a role, want 1", found, benchPolicyName(hour))
	}
}

func TestUnitsBuilt(t *testing.T) {
	t.Parallel()
	out := `time=2026-12-05T07:13:00Z level=INFO msg="rollup updated" table=x
time=2026-12-05T07:14:00Z level=INFO msg="per-account marts up to date" units=1000 built=1000 grants_cached=990 removed=0 shard=all duration=1m0s
time=2026-12-05T07:15:00Z level=INFO msg="warehouse built" path=w.duckdb`
	if got, want := unitsBuilt(out), "1000 of 1000 units built, 990 with cached grants"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	out = `{"time":"2026-12-05T07:14:00Z","level":"INFO","msg":"per-account marts up to date","units":102,"built":25,"grants_cached":24,"removed":0}`
	if got, want := unitsBuilt(out), "25 of 102 units built, 24 with cached grants"; got != want {
		t.Errorf("JSON: got %q, want %q", got, want)
	}
	if got := unitsBuilt("msg=\"warehouse built\""); got != "" {
		t.Errorf("no per-account step: got %q", got)
	}
}

// TestOrgMarkdownWithoutShards: with -org-shards 0 the results name no shard and no final step,
// and say the later steps started from the full build's state; with shards, each is a row.
func TestOrgMarkdownWithoutShards(t *testing.T) {
	m := measurement{wall: 3 * time.Second, maxRSS: 100 << 20}
	for _, shards := range []int{0, 2} {
		o := options{org: orgDefault}
		o.org.shards = shards
		r := &orgRun{accounts: 1000, lake: new(lakeBuild), full: m, nothing: m, demoNothing: m,
			hourly: []orgHour{{hour: incrH0.Add(time.Hour), models: m, ingest: m}}}
		for range shards {
			r.shards = append(r.shards, m)
		}
		r.finalize = m
		r.targets = r.verdicts()
		md := orgMarkdown("bench -orgscale-only", o, &incrSource{}, r, "0.00", time.Minute)
		for _, c := range []struct {
			text string
			want bool
		}{
			{"| 2. final step |", shards > 0},
			{"| 2. shard 2/2, empty state |", shards > 0},
			{"shard 1/2, peak RSS", shards > 0},
			{"No split build (-org-shards 0)", shards == 0},
			{"| 4. hourly models (0 accounts' IAM exports changed) |", true},
		} {
			if got := strings.Contains(md, c.text); got != c.want {
				t.Errorf("shards %d: %q in the results: %v, want %v\n%s", shards, c.text, got, c.want, md)
			}
		}
	}
}
