package laketest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
)

// testConcurrentWriters runs two writers of one partition, on two Lake values (two runs of one
// hour), that read the same version and commit at the same moment: exactly one commits, the
// other gets ErrConflict naming the partition and publishes nothing, and its retry loses no
// row and doubles none.
func testConcurrentWriters(t *testing.T, b Backend, l *load.Lake) {
	for i, existing := range []bool{false, true} {
		name := "new partition"
		if existing {
			name = "existing partition"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			p := load.Partition{ID: fmt.Sprintf("%012d", 300+i), Hour: hour}
			dir := p.Dir(schemas.CloudTrailEvents.Name)
			before := 0
			if existing {
				merge(t, ctx, l, p, []schemas.CloudTrailEvent{event("old", hour), event("shared", hour)})
				before = 2
			}
			lakes := []*load.Lake{l, b.Again(t, l)}
			rows := make([][]schemas.CloudTrailEvent, 2)
			writers := make([]*load.MergeWriter[schemas.CloudTrailEvent], 2)
			for w := range writers {
				rows[w] = []schemas.CloudTrailEvent{event("shared", hour)}
				for n := range 40 {
					rows[w] = append(rows[w], event(fmt.Sprintf("w%d-%02d", w, n), hour))
				}
				mw, err := load.NewMergeWriter(ctx, lakes[w], schemas.CloudTrailEvents, p, eventKey)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := mw.Write(rows[w]); err != nil {
					t.Fatal(err)
				}
				writers[w] = mw
			}
			// Both read the same version before either commits; then they commit at once.
			var wg sync.WaitGroup
			start := make(chan struct{})
			stats := make([]load.PartitionStats, 2)
			errs := make([]error, 2)
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					stats[w], errs[w] = writers[w].Commit()
				}()
			}
			close(start)
			wg.Wait()
			winner, loser := 0, 1
			if errs[0] != nil {
				winner, loser = 1, 0
			}
			if errs[winner] != nil || errs[loser] == nil {
				t.Fatalf("commits: %v, %v; want exactly one to succeed", errs[0], errs[1])
			}
			if err := errs[loser]; !errors.Is(err, load.ErrConflict) || !strings.Contains(err.Error(), dir) ||
				!strings.Contains(err.Error(), "changed by another run since it was read: retry") {
				t.Errorf("loser's error %q: want ErrConflict naming %s", err, dir)
			}
			perWriter := 40
			if !existing {
				perWriter = 41 // "shared" is new too
			}
			if st := stats[winner]; !st.Published || st.RowsBefore != before || st.RowsAdded != perWriter {
				t.Errorf("winner's stats %+v", st)
			}
			if stats[loser].Published {
				t.Errorf("loser's stats %+v: published", stats[loser])
			}
			want := map[string]int{"shared": 1, fmt.Sprintf("w%d", winner): 40}
			if existing {
				want["old"] = 1
			}
			if got := countRows(t, l, p); !reflect.DeepEqual(got, want) {
				t.Errorf("after the race: rows by writer %v; want the winner's only", got)
			}

			// The loser retries: it reads the winner's file and adds only its own rows.
			st := merge(t, ctx, lakes[loser], p, rows[loser])
			if st.RowsBefore != before+perWriter || st.RowsAdded != 40 || st.RowsAfter != before+perWriter+40 {
				t.Errorf("retry stats %+v", st)
			}
			want[fmt.Sprintf("w%d", loser)] = 40
			if got := countRows(t, l, p); !reflect.DeepEqual(got, want) {
				t.Errorf("after the retry: rows by writer %v; want both writers' 40, shared once", got)
			}
			if keys := listKeys(t, l, dir); !reflect.DeepEqual(keys, []string{dir + "/data.parquet"}) {
				t.Errorf("objects = %v", keys)
			}
		})
	}
	t.Run("stale writer", func(t *testing.T) {
		// A writer that read the partition before another run committed it, and commits after.
		ctx := context.Background()
		p := load.Partition{ID: "000000000310", Hour: hour}
		merge(t, ctx, l, p, []schemas.CloudTrailEvent{event("old", hour)})
		stale, err := load.NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, eventKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stale.Write([]schemas.CloudTrailEvent{event("w0-00", hour)}); err != nil {
			t.Fatal(err)
		}
		merge(t, ctx, b.Again(t, l), p, []schemas.CloudTrailEvent{event("w1-00", hour)})
		key := p.Dir(schemas.CloudTrailEvents.Name) + "/data.parquet"
		content, _ := l.Bucket().ReadAll(ctx, key)
		if st, err := stale.Commit(); !errors.Is(err, load.ErrConflict) || st.Published {
			t.Errorf("stale Commit = %+v, %v; want ErrConflict", st, err)
		}
		if now, _ := l.Bucket().ReadAll(ctx, key); !bytes.Equal(now, content) {
			t.Error("the stale writer changed the partition")
		}
	})
}

// countRows reads partition p back with DuckDB and counts its rows by writer: the event ID up
// to its first "-" ("w0-07" counts for "w0"). An ID seen twice counts twice.
func countRows(t *testing.T, l *load.Lake, p load.Partition) map[string]int {
	t.Helper()
	db := duck(t)
	rows, err := db.Query(`select split_part(event_id, '-', 1), count(*) from `+scan(localRoot(t, l), schemas.CloudTrailEvents)+
		` where account_id = ? group by 1`, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		got[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// testCancelMidUpload cancels a merge after more than one upload part (S3's 8 MiB, Blob's
// 4 MiB blocks) has left: the partition must stay the previous object, byte for byte, with
// nothing beside it.
func testCancelMidUpload(t *testing.T, l *load.Lake) {
	old := load.RowGroupRows
	load.RowGroupRows = 8 // row groups of ~256 KiB reach the store while rows are written
	defer func() { load.RowGroupRows = old }()
	bg := context.Background()
	p := load.Partition{ID: "000000000400", Hour: hour}
	dir := p.Dir(schemas.CloudTrailEvents.Name)
	merge(t, bg, l, p, []schemas.CloudTrailEvent{event("old", hour)})
	key := dir + "/data.parquet"
	content, err := l.Bucket().ReadAll(bg, key)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	w, err := load.NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, eventKey)
	if err != nil {
		t.Fatal(err)
	}
	// Random bytes in base64 compress little: ~12 MiB of Parquet for 16 MiB of payload.
	rng := rand.New(rand.NewPCG(1, 2))
	raw := make([]byte, 24<<10)
	written := 0
	for n := 0; written < 16<<20; n++ {
		batch := make([]schemas.CloudTrailEvent, 8)
		for i := range batch {
			for j := range raw {
				raw[j] = byte(rng.Uint32())
			}
			e := event(fmt.Sprintf("big-%05d", n*8+i), hour)
			e.RequestParameters = strp(base64.StdEncoding.EncodeToString(raw))
			written += len(*e.RequestParameters)
			batch[i] = e
		}
		if _, err := w.Write(batch); err != nil {
			t.Fatalf("Write after %d bytes: %v", written, err)
		}
	}
	cancel()
	if _, err := w.Write([]schemas.CloudTrailEvent{event("after-cancel", hour)}); err == nil {
		t.Error("Write after cancel succeeded")
	}
	if st, err := w.Commit(); err == nil || st.Published {
		t.Errorf("Commit after cancel = %+v, %v; want an error and nothing published", st, err)
	}
	now, err := l.Bucket().ReadAll(bg, key)
	if err != nil || !bytes.Equal(now, content) {
		t.Errorf("the previous object changed (%d bytes, was %d): %v", len(now), len(content), err)
	}
	if keys := listKeys(t, l, ""); !reflect.DeepEqual(keys, []string{key}) {
		t.Errorf("objects = %v, want only %s", keys, key)
	}
	if got := countRows(t, l, p); !reflect.DeepEqual(got, map[string]int{"old": 1}) {
		t.Errorf("rows = %v, want the old row only", got)
	}
}

// testLedgerNeverOverwrites records under one run ID through two Lake values at once (two
// processes, whose sequence numbers both start at 1), with a foreign object already at the
// first name: every record lands in an object of its own and the foreign one is untouched.
func testLedgerNeverOverwrites(t *testing.T, b Backend, l *load.Lake) {
	ctx := context.Background()
	dir := "_manifests/ingested/source=aws_cloudtrail/account_id=012345678901/date=2026-11-02/"
	foreign := []byte(`{"source":"aws_cloudtrail","account_id":"012345678901","key":"foreign","run_id":"run-x"}` + "\n")
	if err := l.Bucket().WriteAll(ctx, dir+"run-x-000001.jsonl", foreign, nil); err != nil {
		t.Fatal(err)
	}
	lakes := []*load.Lake{l, b.Again(t, l)}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			obj := load.SourceObject{Source: "aws_cloudtrail", AccountID: acct, Key: fmt.Sprintf("k%d", i), ETag: "e",
				DeliveredAt: hour, IngestedAt: hour, RunID: "run-x"}
			errs[i] = lakes[i%2].RecordIngested(ctx, "run-x", []load.SourceObject{obj})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("RecordIngested %d: %v", i, err)
		}
	}
	if got, err := l.Bucket().ReadAll(ctx, dir+"run-x-000001.jsonl"); err != nil || !bytes.Equal(got, foreign) {
		t.Errorf("the foreign object was overwritten: %q, %v", got, err)
	}
	if keys := listKeys(t, l, dir); len(keys) != n+1 {
		t.Errorf("objects %v; want %d, one per record and the foreign one", keys, n+1)
	}
	got, err := l.Ingested(ctx, "aws_cloudtrail", acct, hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n+1 {
		t.Errorf("ledger has %d keys, want %d: %v", len(got), n+1, got)
	}
	for i := range n {
		if _, ok := got[fmt.Sprintf("k%d", i)]; !ok {
			t.Errorf("record k%d lost", i)
		}
	}
}
