package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	kzstd "github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"gocloud.dev/blob"

	"github.com/permlake/permlake/schemas"
)

// RowGroupRows is how many rows a row group holds before the writer flushes it: large enough for
// scans, small enough that a writer's buffer stays bounded whatever the partition's size.
var RowGroupRows int64 = 100_000

// codec is shared by every writer, and so are its zstd encoders: a codec per writer cost twice
// the time and ~10 GiB in a measurement here (DESIGN.md §8).
var codec = &pageCodec{}

// zstdWindow is the encoders' window: a page is compressed on its own (EncodeAll) and is about
// parquet.DefaultPageBufferSize (256 KiB) uncompressed, so a longer window finds nothing more.
// The encoder's default (8 MiB) makes each encoder keep a 16 MiB history buffer: 32 MB of the
// 8M-event run's ~220 MB live heap (bench/results.md).
const zstdWindow = 512 << 10

// maxEncoders bounds the encoders kept (~2.6 MB each once used): compression is CPU-bound, so
// more than GOMAXPROCS of them never run at once, and beyond 16 a large machine only pays memory.
const maxEncoders = 16

// pageCodec is parquet-go's zstd codec with a window fitted to pages; decoding is parquet-go's.
//
// The encoders live as long as the process: one kzstd.Encoder whose EncodeAll runs up to
// min(GOMAXPROCS, maxEncoders) pages at once, each on an encoder of its own. A sync.Pool of
// encoders was emptied by every garbage collection, and each new encoder allocates and clears
// ~1.3 MB of match tables: 2-4 % of an ingest's CPU, and under the race detector (whose shadow
// memory those clears fault in) about half of a small test run's.
type pageCodec struct {
	zstd.Codec
}

// Encode compresses one page into dst (reused when large enough).
func (c *pageCodec) Encode(dst, src []byte) ([]byte, error) {
	e, err := sharedEncoder()
	if err != nil {
		return nil, err
	}
	return e.EncodeAll(src, dst[:0]), nil
}

// sharedEncoder is the process's page encoder, made on first use with the options of
// parquet-go's codec plus the window.
var sharedEncoder = sync.OnceValues(func() (*kzstd.Encoder, error) {
	return kzstd.NewWriter(nil, kzstd.WithEncoderConcurrency(min(runtime.GOMAXPROCS(0), maxEncoders)),
		kzstd.WithEncoderLevel(zstd.SpeedDefault), kzstd.WithZeroFrames(true), kzstd.WithEncoderCRC(false),
		kzstd.WithWindowSize(zstdWindow))
})

// readBatch is how many rows are read at a time from an existing partition file.
const readBatch = 4096

func writerOptions() []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(codec),
		parquet.MaxRowsPerRowGroup(RowGroupRows),
		parquet.CreatedBy("permlake", "", ""),
	}
}

// PartitionStats says what a commit did to one partition.
type PartitionStats struct {
	Table      string `json:"table"`
	Dir        string `json:"dir"`
	RowsBefore int    `json:"rows_before"`
	RowsAdded  int    `json:"rows_added"`
	RowsAfter  int    `json:"rows_after"`
	Bytes      int64  `json:"bytes"`
	Published  bool   `json:"published"`
	// ConflictingDuplicates counts rows dropped as duplicates of a key whose row differs in
	// content (see MergeWriter.SetContent).
	ConflictingDuplicates int `json:"conflicting_duplicates,omitempty"`
}

// objectWriter streams a Parquet file of T into a blob object that becomes visible only on a
// successful commit (fileblob: temp file + rename; object stores: the upload completes on
// Close), and only if its precondition still holds then (see closeWriter).
type objectWriter[T any] struct {
	lake   *Lake
	key    string
	cond   precondition
	cancel context.CancelFunc
	bw     *countingWriter
	pw     *parquet.GenericWriter[T]
	rows   int64
}

// countingWriter counts the bytes of an object as they are written, so stats report the size of
// the file this writer published (not of whatever a concurrent writer renamed over it since).
// The blob.Writer is a named field, not embedded: embedding would expose its ReadFrom, which
// io.Copy (copying old row groups in a merge) prefers — bypassing the count and allocating a
// 1 MiB buffer per copy (measured: 57% of the ingest's allocated bytes, bench/results.md).
type countingWriter struct {
	w *blob.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newObjectWriter[T any](ctx context.Context, l *Lake, key string, cond precondition) (*objectWriter[T], error) {
	wctx, cancel := context.WithCancel(ctx)
	l.wrote(key)
	bw, err := l.bucket.NewWriter(wctx, key, l.writerOptions("application/vnd.apache.parquet", cond))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	cw := &countingWriter{w: bw}
	return &objectWriter[T]{lake: l, key: key, cond: cond, cancel: cancel, bw: cw,
		pw: parquet.NewGenericWriter[T](cw, writerOptions()...)}, nil
}

// size is the number of bytes written to the object so far.
func (w *objectWriter[T]) size() int64 { return w.bw.n }

func (w *objectWriter[T]) write(rows []T) error {
	if _, err := w.pw.Write(rows); err != nil {
		return err
	}
	w.rows += int64(len(rows))
	return nil
}

// commit finishes the file and publishes it unless ctx is done or the precondition fails
// (ErrConflict).
func (w *objectWriter[T]) commit(ctx context.Context) error {
	if err := w.pw.Close(); err != nil {
		w.abort()
		return fmt.Errorf("finish parquet: %w", err)
	}
	if err := ctx.Err(); err != nil {
		w.abort()
		return err
	}
	defer w.cancel()
	return w.lake.closeWriter(w.key, w.bw.w, w.cond, w.cancel)
}

// abort discards the object: the cancelled context makes Close publish nothing (fileblob
// removes its temporary file, S3 aborts a multipart upload, Blob never commits its blocks).
func (w *objectWriter[T]) abort() {
	w.cancel()
	_ = w.bw.w.Close()
}

// openParquet opens the Parquet file f.
func openParquet(f *os.File) (*parquet.File, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return parquet.OpenFile(f, st.Size())
}

// columnStrings calls fn with every value of the named top-level string column of pf, reading
// only that column's pages: loading a partition's keys must not decode whole rows.
func columnStrings(pf *parquet.File, column string, fn func(string)) error {
	leaf, ok := pf.Schema().Lookup(column)
	if !ok {
		return fmt.Errorf("no column %s", column)
	}
	values := make([]parquet.Value, 1024)
	for _, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[leaf.ColumnIndex].Pages()
		for {
			page, err := pages.ReadPage()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				pages.Close()
				return err
			}
			r := page.Values()
			for {
				n, err := r.ReadValues(values)
				for _, v := range values[:n] {
					fn(string(v.ByteArray()))
				}
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					parquet.Release(page)
					pages.Close()
					return err
				}
			}
			parquet.Release(page)
		}
		if err := pages.Close(); err != nil {
			return err
		}
	}
	return nil
}

// eachBatch reads the Parquet file f in batches of rows of T.
func eachBatch[T any](f *os.File, fn func([]T) error) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return err
	}
	r := parquet.NewGenericReader[T](pf)
	defer r.Close()
	buf := make([]T, max(1, min(int64(readBatch), pf.NumRows())))
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if ferr := fn(buf[:n]); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// ReplacePartition writes rows as the whole content of the partition (entitlement snapshots)
// and publishes it atomically: readers see the previous file or the new one. An empty rows
// replaces the partition with an empty file, so a removed entity disappears.
func ReplacePartition[T any](ctx context.Context, l *Lake, t *schemas.Table, p Partition, rows []T) (PartitionStats, error) {
	st := PartitionStats{Table: t.Name, Dir: p.Dir(t.Name)}
	if err := p.validateFor(t); err != nil {
		return st, err
	}
	// Unconditional: a snapshot replaces the partition whole, so the last of two concurrent
	// writers losing the other's snapshot loses no row that its own does not supersede.
	w, err := newObjectWriter[T](ctx, l, p.dataKey(t.Name), precondition{})
	if err != nil {
		return st, err
	}
	for start := 0; start < len(rows); start += readBatch {
		end := min(start+readBatch, len(rows))
		if err := w.write(rows[start:end]); err != nil {
			w.abort()
			return st, fmt.Errorf("write %s: %w", st.Dir, err)
		}
	}
	if err := w.commit(ctx); err != nil {
		return st, fmt.Errorf("publish %s: %w", st.Dir, err)
	}
	st.RowsAdded, st.RowsAfter, st.Bytes, st.Published = len(rows), len(rows), w.size(), true
	return st, nil
}
