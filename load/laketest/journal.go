package laketest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/permlake/permlake/load"
)

// testJournal: every PartitionedWriter commit is journaled with the partitions it covered (those
// whose object did not change included), Commits lists the entries of the days asked for, oldest
// first, and the lake's instance ID is created once and then stays.
func testJournal(t *testing.T, l *load.Lake) {
	ctx := context.Background()
	before := time.Now().UTC()
	commitEvents(t, ctx, l, event("j1", hour), event("j2", hour.Add(time.Hour)))
	commitEvents(t, ctx, l, event("j1", hour)) // nothing new: still journaled
	cs, err := l.Commits(ctx, before, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("Commits = %d entries, want 2: %+v", len(cs), cs)
	}
	dir := func(h time.Time) string {
		return "aws_cloudtrail_events/account_id=" + acct + "/date=" + h.Format("2006-01-02") + "/hour=" + h.Format("15")
	}
	var got [][]string
	for _, c := range cs {
		var dirs []string
		for _, p := range c.Partitions {
			if p.Table != "aws_cloudtrail_events" {
				t.Errorf("entry %s names table %q", c.Key, p.Table)
			}
			dirs = append(dirs, p.Dir)
		}
		got = append(got, dirs)
		if c.Key == "" || c.CommittedAt.Before(before.Add(-time.Second)) {
			t.Errorf("entry %+v: want a key and a commit time from now", c)
		}
	}
	if !slices.Equal(got[0], []string{dir(hour), dir(hour.Add(time.Hour))}) || !slices.Equal(got[1], []string{dir(hour)}) {
		t.Errorf("journaled partitions = %v", got)
	}
	if cs[0].Key == cs[1].Key || cs[1].CommittedAt.Before(cs[0].CommittedAt) {
		t.Errorf("entries not distinct or not oldest first: %+v", cs)
	}
	// The day after today has nothing yet; the whole journal (zero since) has both.
	if later, err := l.Commits(ctx, time.Now().AddDate(0, 0, 2), nil); err != nil || len(later) != 0 {
		t.Errorf("Commits from the day after tomorrow = %v, %v; want none", later, err)
	}
	if all, err := l.Commits(ctx, time.Time{}, nil); err != nil || len(all) != 2 {
		t.Errorf("Commits of the whole journal = %d entries, %v; want 2", len(all), err)
	}
	// Entries the caller has read are left out (and not read again).
	if rest, err := l.Commits(ctx, before, func(k string) bool { return k == cs[0].Key }); err != nil || len(rest) != 1 || rest[0].Key != cs[1].Key {
		t.Errorf("Commits without the first entry = %+v, %v; want the second only", rest, err)
	}

	id, err := l.InstanceID(ctx)
	if err != nil || len(id) != 32 {
		t.Fatalf("InstanceID = %q, %v", id, err)
	}
	if again, err := l.InstanceID(ctx); err != nil || again != id {
		t.Errorf("InstanceID again = %q, %v; want %q", again, err, id)
	}
}
