package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"

	"github.com/permlake/permlake/schemas"
)

// MergeWriter adds rows to one partition of one table, keeping each key once. The partition is
// one object, "<dir>/data.parquet"; Commit replaces it atomically with the previous rows plus the
// new ones, so a reader sees the old file or the new one, never a partial or duplicated one. A
// Commit that adds nothing leaves the old object untouched. Abort, a failed Write or Commit, or a
// done context publish nothing.
//
// Commit is conditional on the partition being as NewMergeWriter read it (If-Match on its ETag,
// If-None-Match when it did not exist; see the package doc): of two writers of one partition at
// once (two runs of one hour), one commits and the other's Commit returns ErrConflict and
// publishes nothing; a new MergeWriter then merges the same rows into the winner's file.
//
// Memory is bounded by the key set and one row group: rows stream into the new file and are
// flushed every RowGroupRows rows. A MergeWriter is not safe for concurrent use.
type MergeWriter[T any] struct {
	ctx   context.Context
	lake  *Lake
	table *schemas.Table
	part  Partition
	key   func(*T) string
	keys  map[string]uint64 // the key set; with content, each key's content hash (0: an old row's, not read yet)
	// content hashes what a row says (see SetContent); nil: duplicates are not compared.
	content    func(*T) uint64
	onConflict func(key string)
	oldIndex   map[string]int64          // each old key's row in old, made when a new row first duplicates one
	oldReader  *parquet.GenericReader[T] // reads single old rows for their content hashes
	conflicts  int
	old        *os.File // previous content, downloaded; nil when the partition is new
	read       version  // what old is: the commit's precondition
	before     int
	added      int
	out        *objectWriter[T] // nil until the first new row
	err        error            // first Write error: the writer then publishes nothing
	done       bool
}

// NewMergeWriter opens partition p of table t for merging. key returns a row's identity: the value
// of the table's dedupe key column (t.DedupeKey, one string column), which is how the keys of
// the previous object are read back without decoding its rows. The previous object, if any, is
// downloaded to an unlinked temporary file and its keys loaded.
func NewMergeWriter[T any](ctx context.Context, l *Lake, t *schemas.Table, p Partition, key func(*T) string) (*MergeWriter[T], error) {
	if err := p.validateFor(t); err != nil {
		return nil, err
	}
	if len(t.DedupeKey) != 1 {
		return nil, fmt.Errorf("merge into %s: want one dedupe key column, have %v", t.Name, t.DedupeKey)
	}
	w := &MergeWriter[T]{ctx: ctx, lake: l, table: t, part: p, key: key, keys: map[string]uint64{}}
	old, read, err := l.readObject(ctx, p.dataKey(t.Name))
	if err != nil {
		return nil, err
	}
	w.read = read
	if old != nil {
		w.old = old
		pf, err := openParquet(old)
		if err == nil {
			err = columnStrings(pf, t.DedupeKey[0], func(k string) {
				w.keys[k] = 0
				w.before++
			})
		}
		if err != nil {
			_ = old.Close()
			return nil, fmt.Errorf("read %s: %w", p.dataKey(t.Name), err)
		}
	}
	return w, nil
}

// Write adds the rows whose key is neither in the partition nor already written, and returns how
// many it added. After an error the writer is spent: Commit returns that error and publishes
// nothing.
func (w *MergeWriter[T]) Write(rows []T) (int, error) {
	if w.done {
		return 0, errors.New("write after commit or abort")
	}
	if w.err != nil {
		return 0, w.err
	}
	if err := w.ctx.Err(); err != nil {
		return 0, w.fail(err)
	}
	// rows is written as it is unless it holds a duplicate: a filtered copy of every batch was
	// ~10 % of the ingest's allocated bytes (bench/results.md), for re-deliveries of ~0.4 %.
	fresh, filtered := rows, false
	for i := range rows {
		k := w.key(&rows[i])
		var sum uint64
		if w.content != nil {
			sum = w.content(&rows[i]) | 1 // never 0, which marks an old row not read yet
		}
		if prev, ok := w.keys[k]; ok {
			if w.content != nil {
				if prev == 0 { // an old row's: its hash is read when first needed
					old, err := w.oldSum(k)
					if err != nil {
						return 0, w.fail(fmt.Errorf("read %s: %w", w.part.dataKey(w.table.Name), err))
					}
					w.keys[k], prev = old, old
				}
				if prev != 0 && prev != sum {
					w.conflicts++
					if w.onConflict != nil {
						w.onConflict(k)
					}
				}
			}
			if !filtered {
				fresh, filtered = append(make([]T, 0, len(rows)), rows[:i]...), true
			}
			continue
		}
		w.keys[k] = sum
		if filtered {
			fresh = append(fresh, rows[i])
		}
	}
	if len(fresh) == 0 {
		return 0, nil
	}
	if w.out == nil {
		if err := w.start(); err != nil {
			return 0, w.fail(err)
		}
	}
	if err := w.out.write(fresh); err != nil {
		return 0, w.fail(fmt.Errorf("write %s: %w", w.part.Dir(w.table.Name), err))
	}
	w.added += len(fresh)
	return len(fresh), nil
}

// SetContent makes the writer compare a duplicate with the row it duplicates: content hashes
// what a row says (not its lineage: run, source object), and a duplicate whose hash differs is a
// conflicting duplicate. It is dropped all the same — the first-committed row stays, so re-runs
// are deterministic — but counted (PartitionStats.ConflictingDuplicates) and passed to
// onConflict (may be nil) with its key. The partition's previous rows are read for their hashes
// only when a row duplicates one of them. Call it before the first Write.
func (w *MergeWriter[T]) SetContent(content func(*T) uint64, onConflict func(key string)) {
	w.content, w.onConflict = content, onConflict
}

// oldSum is the content hash of the previous row with key k, read on its own: only the pages
// holding that row are decoded. Reading every old row for its hash when the first duplicate of
// one came was ~1/9 of the ingest's CPU on the busy-accounts shape (large payloads,
// bench/results.md), where nearly every partition is reopened for late or re-delivered records
// and a handful of them duplicate an old row.
func (w *MergeWriter[T]) oldSum(k string) (uint64, error) {
	if w.oldReader == nil {
		pf, err := openParquet(w.old)
		if err != nil {
			return 0, err
		}
		w.oldIndex = make(map[string]int64, w.before)
		var i int64
		if err := columnStrings(pf, w.table.DedupeKey[0], func(key string) {
			if _, dup := w.oldIndex[key]; !dup { // the first row of a key is the one kept
				w.oldIndex[key] = i
			}
			i++
		}); err != nil {
			return 0, err
		}
		w.oldReader = parquet.NewGenericReader[T](pf)
	}
	i, ok := w.oldIndex[k]
	if !ok {
		return 0, fmt.Errorf("key %q is in the partition's key set but not in its rows", k)
	}
	if err := w.oldReader.SeekToRow(i); err != nil {
		return 0, err
	}
	var row [1]T
	if n, err := w.oldReader.Read(row[:]); n != 1 {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	return w.content(&row[0]) | 1, nil
}

// fail makes err sticky and discards the new object.
func (w *MergeWriter[T]) fail(err error) error {
	w.err = err
	if w.out != nil {
		w.out.abort()
		w.out = nil
	}
	return err
}

// start opens the new object and copies the previous rows into it.
func (w *MergeWriter[T]) start() error {
	key := w.part.dataKey(w.table.Name)
	out, err := newObjectWriter[T](w.ctx, w.lake, key, ifUnchanged(w.read))
	if err != nil {
		return err
	}
	if w.old != nil {
		if err := copyRows(out, w.old); err != nil {
			out.abort()
			return fmt.Errorf("copy %s: %w", key, err)
		}
	}
	w.out = out
	return nil
}

// copyRows copies the rows of the Parquet file f into out. Row groups written with T's schema
// are copied whole, without decoding; a file of an older schema (a column added since) is read
// as T instead, so an additive schema change needs no migration of the lake.
func copyRows[T any](out *objectWriter[T], f *os.File) error {
	pf, err := openParquet(f)
	if err != nil {
		return err
	}
	if !parquet.EqualNodes(pf.Schema(), out.pw.Schema()) {
		return eachBatch(f, out.write)
	}
	for _, rg := range pf.RowGroups() {
		n, err := out.pw.WriteRowGroup(rg)
		if err != nil {
			return err
		}
		out.rows += n
	}
	return nil
}

// Commit publishes the merged partition atomically (no-op when nothing was added) and says what
// it did. A done context publishes nothing and returns its error; a partition changed by
// another writer since NewMergeWriter read it publishes nothing and returns an error naming
// the partition that matches ErrConflict.
func (w *MergeWriter[T]) Commit() (PartitionStats, error) {
	st := PartitionStats{Table: w.table.Name, Dir: w.part.Dir(w.table.Name), RowsBefore: w.before, RowsAfter: w.before, ConflictingDuplicates: w.conflicts}
	if w.done {
		return st, errors.New("commit after commit or abort")
	}
	w.done = true
	defer w.closeOld()
	if w.err != nil {
		return st, w.err
	}
	if w.out == nil {
		return st, w.ctx.Err()
	}
	out := w.out
	w.out = nil
	if err := out.commit(w.ctx); err != nil {
		return st, fmt.Errorf("publish %s: %w", st.Dir, err)
	}
	st.RowsAdded, st.RowsAfter, st.Bytes, st.Published = w.added, w.before+w.added, out.size(), true
	return st, nil
}

// Abort discards everything written; the partition stays as it was. It is a no-op after Commit.
func (w *MergeWriter[T]) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	if w.out != nil {
		w.out.abort()
		w.out = nil
	}
	w.closeOld()
	return nil
}

// closeOld drops the downloaded previous object (unlinked, so closing frees it).
func (w *MergeWriter[T]) closeOld() {
	if w.oldReader != nil {
		_ = w.oldReader.Close()
		w.oldReader = nil
	}
	if w.old != nil {
		_ = w.old.Close()
		w.old = nil
	}
}
