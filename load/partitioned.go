package load

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/permlake/permlake/schemas"
)

// PartitionedWriter routes rows of one table to the partitions they belong to (one MergeWriter
// each, opened on first use) and commits them together, oldest hour first. Rows wait in small
// per-partition batches, so memory is bounded by the open writers' key sets and batches. Like
// MergeWriter it is not safe for concurrent use; Abort, or an error from Add or Commit, publishes
// nothing more (partitions committed before the failing one stay committed: each is whole). A
// partition another run committed meanwhile fails Commit with ErrConflict: the caller retries
// (a new writer merges into what that run wrote).
type PartitionedWriter[T any] struct {
	ctx     context.Context
	lake    *Lake
	table   *schemas.Table
	key     func(*T) string
	batch   int
	writers map[Partition]*MergeWriter[T]
	pending map[Partition][]T
	added   int // new rows written so far
	told    int // of which Flush has reported
	content func(*T) uint64
	// conflicts found since the last TakeConflicts: how many, and the first maxConflictExamples
	conflicts        int
	conflictExamples []Conflict
}

// Conflict names a conflicting duplicate: a row dropped because its key was in its partition
// already (or written before) with different content.
type Conflict struct {
	Key       string // the row's key (a CloudTrail eventID)
	Partition string // the partition's directory, e.g. aws_cloudtrail_events/account_id=…/date=…/hour=…
}

// maxConflictExamples bounds the conflicts TakeConflicts names (it counts all).
const maxConflictExamples = 10

// SetContent makes every partition writer compare duplicates by content (see
// MergeWriter.SetContent); conflicts are reported by TakeConflicts. Call it before the first Add.
func (w *PartitionedWriter[T]) SetContent(content func(*T) uint64) { w.content = content }

// TakeConflicts returns how many conflicting duplicates were dropped since its last call and
// names up to maxConflictExamples of them. Call it after Flush to learn what the rows added
// since the last Flush contributed.
func (w *PartitionedWriter[T]) TakeConflicts() (int, []Conflict) {
	n, ex := w.conflicts, w.conflictExamples
	w.conflicts, w.conflictExamples = 0, nil
	return n, ex
}

// NewPartitionedWriter returns a writer of table t whose rows are identified by key (see
// NewMergeWriter) and flushed to their partition every batch rows (500 when batch <= 0).
func NewPartitionedWriter[T any](ctx context.Context, l *Lake, t *schemas.Table, key func(*T) string, batch int) *PartitionedWriter[T] {
	if batch <= 0 {
		batch = 500
	}
	return &PartitionedWriter[T]{ctx: ctx, lake: l, table: t, key: key, batch: batch,
		writers: map[Partition]*MergeWriter[T]{}, pending: map[Partition][]T{}}
}

// Add queues row for partition p.
func (w *PartitionedWriter[T]) Add(p Partition, row T) error {
	w.pending[p] = append(w.pending[p], row)
	if len(w.pending[p]) >= w.batch {
		return w.flush(p)
	}
	return nil
}

// Flush writes every queued row to its partition's writer and returns how many new rows (not
// already in the partition, nor written before) were written since the last Flush, those that
// Add wrote on the way included: what the rows added since the last Flush contributed.
func (w *PartitionedWriter[T]) Flush() (int, error) {
	for p := range w.pending {
		if err := w.flush(p); err != nil {
			return 0, err
		}
	}
	n := w.added - w.told
	w.told = w.added
	return n, nil
}

func (w *PartitionedWriter[T]) flush(p Partition) error {
	rows := w.pending[p]
	if len(rows) == 0 {
		return nil
	}
	mw, ok := w.writers[p]
	if !ok {
		var err error
		if mw, err = NewMergeWriter(w.ctx, w.lake, w.table, p, w.key); err != nil {
			return err
		}
		if w.content != nil {
			dir := strings.TrimSuffix(p.Dir(w.table.Name), "/")
			mw.SetContent(w.content, func(key string) {
				w.conflicts++
				if len(w.conflictExamples) < maxConflictExamples {
					w.conflictExamples = append(w.conflictExamples, Conflict{Key: key, Partition: dir})
				}
			})
		}
		w.writers[p] = mw
	}
	n, err := mw.Write(rows)
	if err != nil {
		return err
	}
	w.added += n
	w.pending[p] = rows[:0]
	return nil
}

// Commit flushes and commits every partition, oldest hour first, and returns their stats.
func (w *PartitionedWriter[T]) Commit() ([]PartitionStats, error) {
	if _, err := w.Flush(); err != nil {
		return nil, errors.Join(err, w.Abort())
	}
	parts := make([]Partition, 0, len(w.writers))
	for p := range w.writers {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool {
		if !parts[i].Hour.Equal(parts[j].Hour) {
			return parts[i].Hour.Before(parts[j].Hour)
		}
		return parts[i].ID < parts[j].ID
	})
	var out []PartitionStats
	var refs []PartitionRef
	for _, p := range parts {
		st, err := w.writers[p].Commit()
		delete(w.writers, p)
		if err != nil {
			err = fmt.Errorf("commit %s: %w", p.Dir(w.table.Name), err)
			// What was committed is journaled all the same: readers must learn of it even if
			// the caller gives up on the group.
			return out, errors.Join(err, w.Abort(), w.lake.recordCommit(context.WithoutCancel(w.ctx), refs))
		}
		out = append(out, st)
		refs = append(refs, PartitionRef{Table: w.table.Name, Dir: strings.TrimSuffix(p.Dir(w.table.Name), "/")})
	}
	// Journaled whether or not a partition's object changed (see journal.go), and before the
	// caller records the group's sources as ingested.
	if err := w.lake.recordCommit(w.ctx, refs); err != nil {
		return out, err
	}
	return out, nil
}

// Abort discards every partition not yet committed.
func (w *PartitionedWriter[T]) Abort() error {
	var errs []error
	for p, mw := range w.writers {
		errs = append(errs, mw.Abort())
		delete(w.writers, p)
	}
	clear(w.pending)
	return errors.Join(errs...)
}
