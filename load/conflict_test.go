package load

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"testing"

	"github.com/permlake/permlake/schemas"
)

// TestConflictingDuplicates: a row whose key is already in its partition (committed earlier or
// written before in this writer) is dropped as before, the first-committed row kept; when its
// content differs it is counted in the partition's stats and named (key, partition) by
// TakeConflicts. An identical duplicate is no conflict.
func TestConflictingDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := func(e *schemas.CloudTrailEvent) string { return e.EventID }
	content := func(e *schemas.CloudTrailEvent) uint64 {
		h := fnv.New64a()
		h.Write([]byte(e.EventID + "\x00" + e.EventName))
		return h.Sum64()
	}
	ev := func(id, name, run string) schemas.CloudTrailEvent {
		return schemas.CloudTrailEvent{EventID: id, EventName: name, EventTime: hour, RecipientAccountID: "012345678901", IAMActions: []string{}, RunID: run}
	}
	p := Partition{ID: "012345678901", Hour: hour}
	tests := []struct {
		name      string
		committed []schemas.CloudTrailEvent // by an earlier writer
		rows      []schemas.CloudTrailEvent
		conflicts []string // keys, in order
		kept      string   // event_name of "a" afterwards
	}{
		{"identical in one writer", nil, []schemas.CloudTrailEvent{ev("a", "ListUsers", "r1"), ev("a", "ListUsers", "r1")}, nil, "ListUsers"},
		{"different in one writer", nil, []schemas.CloudTrailEvent{ev("a", "ListUsers", "r1"), ev("b", "X", "r1"), ev("a", "DeleteUser", "r1")}, []string{"a"}, "ListUsers"},
		{"lineage is not content", []schemas.CloudTrailEvent{ev("a", "ListUsers", "r0")}, []schemas.CloudTrailEvent{ev("a", "ListUsers", "r1")}, nil, "ListUsers"},
		{"different from a committed row", []schemas.CloudTrailEvent{ev("a", "ListUsers", "r0"), ev("b", "X", "r0")}, []schemas.CloudTrailEvent{ev("b", "X", "r1"), ev("a", "DeleteUser", "r1"), ev("c", "Y", "r1")}, []string{"a"}, "ListUsers"},
		{"twice different", []schemas.CloudTrailEvent{ev("a", "ListUsers", "r0")}, []schemas.CloudTrailEvent{ev("a", "DeleteUser", "r1"), ev("a", "PutUserPolicy", "r1")}, []string{"a", "a"}, "ListUsers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := openLake(t, t.TempDir())
			if len(tc.committed) > 0 {
				w := NewPartitionedWriter(ctx, l, schemas.CloudTrailEvents, key, 0)
				for _, e := range tc.committed {
					if err := w.Add(p, e); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := w.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			w := NewPartitionedWriter(ctx, l, schemas.CloudTrailEvents, key, 2)
			w.SetContent(content)
			for _, e := range tc.rows {
				if err := w.Add(p, e); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			n, ex := w.TakeConflicts()
			var got []string
			for _, c := range ex {
				got = append(got, c.Key)
				if !strings.HasSuffix(c.Partition, "account_id=012345678901/date=2026-11-02/hour=07") {
					t.Errorf("conflict %q names partition %q", c.Key, c.Partition)
				}
			}
			if n != len(tc.conflicts) || strings.Join(got, ",") != strings.Join(tc.conflicts, ",") {
				t.Errorf("TakeConflicts = %d %v, want %v", n, got, tc.conflicts)
			}
			if n, _ := w.TakeConflicts(); n != 0 {
				t.Errorf("second TakeConflicts = %d, want 0", n)
			}
			stats, err := w.Commit()
			if err != nil {
				t.Fatal(err)
			}
			sum := 0
			for _, st := range stats {
				sum += st.ConflictingDuplicates
			}
			if sum != len(tc.conflicts) {
				t.Errorf("stats count %d conflicting duplicates, want %d", sum, len(tc.conflicts))
			}
			r, err := NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, key)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Abort()
			names := map[string]string{}
			if err := eachBatch(r.old, func(rows []schemas.CloudTrailEvent) error {
				for _, e := range rows {
					if _, dup := names[e.EventID]; dup {
						t.Errorf("%s twice in the partition", e.EventID)
					}
					names[e.EventID] = e.EventName
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if names["a"] != tc.kept {
				t.Errorf("a = %q, want the first-committed %q", names["a"], tc.kept)
			}
		})
	}
}

// TestConflictingDuplicatesDeepInOldFile: duplicates of rows spread over many pages of a
// committed partition are compared with the right old row (MergeWriter reads single old rows
// by their position), including the first and the last.
func TestConflictingDuplicatesDeepInOldFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := func(e *schemas.CloudTrailEvent) string { return e.EventID }
	content := func(e *schemas.CloudTrailEvent) uint64 {
		h := fnv.New64a()
		h.Write([]byte(e.EventID + "\x00" + e.EventName + "\x00" + *e.RequestParameters))
		return h.Sum64()
	}
	payload := strings.Repeat(`{"bucketName":"app-data","key":"orders/part-0001.parquet"}`, 20)
	ev := func(i int, name string) schemas.CloudTrailEvent {
		p := fmt.Sprintf("%s%d", payload, i)
		return schemas.CloudTrailEvent{EventID: fmt.Sprintf("e%05d", i), EventName: name, EventTime: hour, RecipientAccountID: "012345678901",
			IAMActions: []string{}, RequestParameters: &p, RunID: "r0"}
	}
	p := Partition{ID: "012345678901", Hour: hour}
	l := openLake(t, t.TempDir())
	const n = 5000 // ~6 MB of payload: many pages of the payload column
	w := NewPartitionedWriter(ctx, l, schemas.CloudTrailEvents, key, 0)
	for i := range n {
		if err := w.Add(p, ev(i, "PutObject")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	w = NewPartitionedWriter(ctx, l, schemas.CloudTrailEvents, key, 0)
	w.SetContent(content)
	// Same content at 0, 2500 and n-1; different at 1, 3333 and n-2; in no particular order.
	for _, e := range []schemas.CloudTrailEvent{ev(2500, "PutObject"), ev(3333, "DeleteObject"), ev(n-1, "PutObject"),
		ev(1, "GetObject"), ev(0, "PutObject"), ev(n-2, "CopyObject"), ev(n, "PutObject")} {
		if err := w.Add(p, e); err != nil {
			t.Fatal(err)
		}
	}
	added, err := w.Flush()
	if err != nil {
		t.Fatal(err)
	}
	nc, ex := w.TakeConflicts()
	var got []string
	for _, c := range ex {
		got = append(got, c.Key)
	}
	if added != 1 || nc != 3 || strings.Join(got, ",") != fmt.Sprintf("e03333,e00001,e%05d", n-2) {
		t.Errorf("added %d, conflicts %d %v; want 1 added, 3 conflicts e03333,e00001,e%05d", added, nc, got, n-2)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}
