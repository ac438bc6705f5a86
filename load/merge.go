package load

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/permlake/permlake/schemas"
)

// MergeWriter adds rows to one partition of one table, keeping each key once. The partition is
// one object, "<dir>/data.parquet"; Commit replaces it atomically with the previous rows plus the
// new ones, so a reader sees the old file or the new one, never a partial or duplicated one. A
// Commit that adds nothing leaves the old object untouched.
//
// Memory is bounded by the key set and one row group: rows stream into the new file and are
// flushed every RowGroupRows rows. A MergeWriter is not safe for concurrent use; two writers of
// the same partition at once (two runs of one hour) each produce a complete file and the last
// rename wins, which the ingestion ledger then repairs on the next run.
type MergeWriter[T any] struct {
	ctx    context.Context
	lake   *Lake
	table  *schemas.Table
	part   Partition
	key    func(*T) string
	keys   map[string]struct{}
	old    *os.File // previous content, downloaded; nil when the partition is new
	before int
	added  int
	out    *objectWriter[T] // nil until the first new row
	done   bool
}

// NewMergeWriter opens partition p of table t for merging. key returns a row's identity: the value
// of the table's dedupe key column (t.DedupeKey, one string column), which is how the keys of
// the previous object are read back without decoding its rows. The previous object, if any, is
// downloaded and its keys loaded.
func NewMergeWriter[T any](ctx context.Context, l *Lake, t *schemas.Table, p Partition, key func(*T) string) (*MergeWriter[T], error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(t.DedupeKey) != 1 {
		return nil, fmt.Errorf("merge into %s: want one dedupe key column, have %v", t.Name, t.DedupeKey)
	}
	w := &MergeWriter[T]{ctx: ctx, lake: l, table: t, part: p, key: key, keys: map[string]struct{}{}}
	old, err := download(ctx, l.bucket, p.dataKey(t.Name))
	if err != nil {
		return nil, err
	}
	if old != nil {
		w.old = old
		pf, err := openParquet(old)
		if err == nil {
			err = columnStrings(pf, t.DedupeKey[0], func(k string) {
				w.keys[k] = struct{}{}
				w.before++
			})
		}
		if err != nil {
			old.Close()
			return nil, fmt.Errorf("read %s: %w", p.dataKey(t.Name), err)
		}
	}
	return w, nil
}

// Write adds the rows whose key is neither in the partition nor already written, and returns how
// many it added.
func (w *MergeWriter[T]) Write(rows []T) (int, error) {
	if w.done {
		return 0, errors.New("write after commit or abort")
	}
	fresh := make([]T, 0, len(rows))
	for i := range rows {
		k := w.key(&rows[i])
		if _, ok := w.keys[k]; ok {
			continue
		}
		w.keys[k] = struct{}{}
		fresh = append(fresh, rows[i])
	}
	if len(fresh) == 0 {
		return 0, nil
	}
	if w.out == nil {
		if err := w.start(); err != nil {
			return 0, err
		}
	}
	if err := w.out.write(fresh); err != nil {
		return 0, fmt.Errorf("write %s: %w", w.part.Dir(w.table.Name), err)
	}
	w.added += len(fresh)
	return len(fresh), nil
}

// start opens the new object and copies the previous rows into it.
func (w *MergeWriter[T]) start() error {
	out, err := newObjectWriter[T](w.ctx, w.lake.bucket, w.part.dataKey(w.table.Name))
	if err != nil {
		return err
	}
	if w.old != nil {
		// Copy the previous rows row group by row group, without decoding them into T.
		pf, err := openParquet(w.old)
		if err != nil {
			out.abort()
			return err
		}
		for _, rg := range pf.RowGroups() {
			if _, err := out.pw.WriteRowGroup(rg); err != nil {
				out.abort()
				return fmt.Errorf("copy %s: %w", w.part.dataKey(w.table.Name), err)
			}
		}
	}
	w.out = out
	return nil
}

// Commit publishes the merged partition atomically (no-op when nothing was added). A done
// context publishes nothing.
func (w *MergeWriter[T]) Commit() (PartitionStats, error) {
	st := PartitionStats{Table: w.table.Name, Dir: w.part.Dir(w.table.Name), RowsBefore: w.before, RowsAfter: w.before}
	if w.done {
		return st, errors.New("commit after commit or abort")
	}
	w.done = true
	defer w.closeOld()
	if w.out == nil {
		return st, w.ctx.Err()
	}
	if err := w.out.commit(w.ctx); err != nil {
		return st, fmt.Errorf("publish %s: %w", st.Dir, err)
	}
	st.RowsAdded, st.RowsAfter, st.Published = w.added, w.before+w.added, true
	if attrs, err := w.lake.bucket.Attributes(w.ctx, w.part.dataKey(w.table.Name)); err == nil {
		st.Bytes = attrs.Size
	}
	return st, nil
}

// Abort discards everything written; the partition stays as it was.
func (w *MergeWriter[T]) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	if w.out != nil {
		w.out.abort()
	}
	w.closeOld()
	return nil
}

func (w *MergeWriter[T]) closeOld() {
	if w.old != nil {
		w.old.Close()
		w.old = nil
	}
}
