package activity

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	json "github.com/goccy/go-json"
)

// State is how far one blob has been read. The caller keeps it between runs (it marshals to
// JSON as is), keyed by blob name (see States), and passes it back to Read; a zero State reads
// the blob from its start.
type State struct {
	// Offset is the end of the last complete line consumed: the next read starts here. A trailing
	// line without its '\n' is never consumed, so Offset is always at a line boundary.
	Offset int64 `json:"offset"`
	// Lines counts the complete lines consumed so far, blank and malformed ones included, so that
	// line numbers stay the same from one read to the next.
	Lines int64 `json:"lines"`
	// Size and ETag are the blob's as last seen; while they are unchanged Read downloads nothing.
	Size int64  `json:"size"`
	ETag string `json:"etag,omitempty"`
	// CreatedAt is the blob's creation time as last seen: a different one means the blob was
	// deleted and written again, and the saved Offset means nothing in the new blob.
	CreatedAt time.Time `json:"created_at,omitzero"`
	// Format is how the blob is written, decided once from its first non-blank line and then
	// kept, so that a blob read in several goes is split the same way as if read at once.
	Format Format `json:"format,omitempty"`
}

// Format is the layout of a blob's body.
type Format string

// Formats of a blob body (FORMATS.md §4.1).
const (
	FormatUndecided Format = ""         // only blank lines seen so far
	FormatLines     Format = "lines"    // JSON Lines: one record (or one {"records":[…]} wrapper) per line
	FormatDocument  Format = "document" // JSON values spread over lines: a pretty-printed {"records":[…]}
)

// States maps blob names to their State, the form a caller persists.
type States map[string]State

// Reset says why a blob was read again from its start.
type Reset string

// Reasons for reading a blob again from offset 0. Records read before are read again: the caller
// dedupes them (the Activity Log is at-least-once anyway, FORMATS.md §4.3).
const (
	ResetNone      Reset = ""
	ResetShrunk    Reset = "shrunk"    // the blob is shorter than the saved offset
	ResetRecreated Reset = "recreated" // its creation time changed: deleted and written again
	ResetRewritten Reset = "rewritten" // not an append blob, and its ETag changed: any byte may differ
)

// Result is the outcome of reading one blob.
type Result struct {
	Container string
	Blob      string
	State     State // the state to persist: the input State advanced past every complete line read
	Reset     Reset // why the blob was read from 0 rather than from the saved offset; "" if it was not
	Unchanged bool  // the blob's ETag and size equalled the State's: nothing was downloaded
	Records   int   // records passed to fn
	Lines     int64 // complete lines consumed by this read
	Bytes     int64 // bytes consumed by this read
	Pending   int64 // bytes after State.Offset left for a later read: an incomplete last line
	// Errors are the lines that could not be decoded, skipped and reported here (they count as
	// consumed: a malformed line is not read again).
	Errors []*LineError
}

// Default limits of a Reader.
const (
	DefaultMaxLineBytes     = 32 << 20  // a record beyond this is reported and skipped, so memory stays bounded
	DefaultMaxDocumentBytes = 512 << 20 // a multi-line {"records":[…]} document is decoded in memory
)

// Reader lists and reads the export blobs of one container, in Blob Storage (NewReader) or in a
// copy of the export (NewBucketReader), with the same State and results. It holds no per-blob
// state and is safe for concurrent use.
type Reader struct {
	store store
	// container is the one container the store holds, checked against each Export; "" when the
	// caller's client decides (NewReader).
	container string
	// MaxLineBytes bounds one line; 0 means DefaultMaxLineBytes.
	MaxLineBytes int
	// MaxDocumentBytes bounds a pretty-printed {"records":[…]} document; 0 means
	// DefaultMaxDocumentBytes.
	MaxDocumentBytes int64
}

// NewReader reads through c, a client of the export's container built by the caller (so that
// its credential and endpoint apply).
func NewReader(c *container.Client) *Reader { return &Reader{store: containerStore{c}} }

// List returns the export's blobs that can hold the window's event hours; see List.
func (r *Reader) List(ctx context.Context, e Export, w Window) ([]Blob, error) {
	if err := r.check(e.Container); err != nil {
		return nil, err
	}
	return listExport(ctx, r.store, e, w)
}

// Stat returns the current properties of one blob of the export; see Stat.
func (r *Reader) Stat(ctx context.Context, e Export, name string) (Blob, error) {
	if err := r.check(e.Container); err != nil {
		return Blob{}, err
	}
	return statBlob(ctx, r.store, e.Container, name)
}

// check refuses an export of another container than the one a bucket reader reads: its
// names would be looked up in the wrong directory.
func (r *Reader) check(containerName string) error {
	if r.container != "" && containerName != r.container {
		return fmt.Errorf("export of container %q given to a reader of container %q", containerName, r.container)
	}
	return nil
}

// ReadAll is Read collecting the records in memory: for tests and small blobs.
func (r *Reader) ReadAll(ctx context.Context, b Blob, st State) ([]Record, Result, error) {
	var recs []Record
	res, err := r.Read(ctx, b, st, func(rec Record) error {
		recs = append(recs, rec)
		return nil
	})
	return recs, res, err
}

// Read reads blob b from st.Offset to its current end with one ranged download, streaming it, and
// passes every record of each complete line to fn in blob order. b is the blob as listed (List or
// Stat); st is what the caller saved for it (zero for a blob never read).
//
// Nothing is downloaded when the blob is unchanged since st: for Blob Storage, b's ETag and size
// equal st's; for a bucket, its size does (see NewBucketReader). When the saved offset cannot be
// trusted (the blob shrank, was recreated, or is not an append blob and changed) the blob is read
// from 0 and Result.Reset says why. Lines that do not decode are reported in Result.Errors and
// skipped.
//
// An error is returned for a failed download or when fn fails (wrapped, naming the blob and
// line). Result.State then still covers exactly the lines whose records fn accepted, so a caller
// that keeps what fn received may persist it; a caller that drops the batch keeps its old State.
func (r *Reader) Read(ctx context.Context, b Blob, st State, fn func(Record) error) (Result, error) {
	res := Result{Container: b.Container, Blob: b.Name, State: st}
	if err := r.check(b.Container); err != nil {
		return res, err
	}
	start := st
	if why := resetReason(b, st); why != ResetNone {
		start, res.Reset = State{}, why
	} else if r.store.unchanged(b, st) {
		res.Unchanged = true
		res.Pending = st.Size - st.Offset
		return res, nil
	}
	if b.Size == start.Offset {
		// Nothing after the offset: a ranged read would be answered 416.
		res.State = start
		res.State.Size, res.State.ETag, res.State.CreatedAt = b.Size, b.ETag, b.CreatedAt
		return res, nil
	}
	for attempt := 0; ; attempt++ {
		d, err := r.store.download(ctx, b.Name, start.Offset)
		if err != nil {
			if errors.Is(err, errBeyondEnd) && start.Offset > 0 && attempt == 0 {
				// Shorter than the offset although the listing said otherwise: replaced since.
				start, res.Reset = State{}, ResetShrunk
				continue
			}
			return res, fmt.Errorf("read %s/%s from %d: %w", b.Container, b.Name, start.Offset, err)
		}
		if start.Offset > 0 && !b.CreatedAt.IsZero() && !d.createdAt.IsZero() && !d.createdAt.Equal(b.CreatedAt) && attempt == 0 {
			// Recreated between listing and download: the bytes at this offset are another blob's.
			_ = d.body.Close()
			start, res.Reset = State{}, ResetRecreated
			continue
		}
		next := start
		next.ETag, next.CreatedAt, next.Size = d.etag, d.createdAt, d.size
		sr, scanErr := r.scan(ctx, d.body, b.Container, b.Name, next, fn)
		closeErr := d.body.Close()
		res.State, res.Records, res.Lines, res.Bytes, res.Pending, res.Errors = sr.state, sr.records, sr.lines, sr.bytes, sr.pending, sr.errs
		if scanErr != nil {
			return res, scanErr
		}
		if closeErr != nil {
			return res, fmt.Errorf("read %s/%s: close: %w", b.Container, b.Name, closeErr)
		}
		return res, nil
	}
}

// resetReason says whether a saved State no longer applies to the blob as listed.
func resetReason(b Blob, st State) Reset {
	switch {
	case st.Offset == 0 && st.Lines == 0:
		return ResetNone // nothing was read: there is nothing to read again
	case b.Size < st.Offset:
		return ResetShrunk
	case !st.CreatedAt.IsZero() && !b.CreatedAt.IsZero() && !st.CreatedAt.Equal(b.CreatedAt):
		return ResetRecreated
	case !b.Append && st.ETag != "" && b.ETag != st.ETag:
		return ResetRewritten
	}
	return ResetNone
}

// contentRangeTotal reads the total of "bytes 100-199/1234".
func contentRangeTotal(s string) (int64, bool) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[i+1:], 10, 64)
	return n, err == nil
}

type scanResult struct {
	state   State
	records int
	lines   int64
	bytes   int64
	pending int64
	errs    []*LineError
}

// prettyDocument recognises a {"records":[…]} document (or any JSON value) written across lines
// rather than one record per line: "{" or `{"records": [` followed by a line break.
var prettyDocument = regexp.MustCompile(`^\{[ \t\r]*\n|^\{\s*"records"\s*:\s*\[[ \t\r]*\n`)

// scan consumes the complete lines of body, which starts at st.Offset of the blob. It is the
// I/O-free core of Read.
func (r *Reader) scan(ctx context.Context, body io.Reader, containerName, blobName string, st State, fn func(Record) error) (scanResult, error) {
	maxLine := r.MaxLineBytes
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	br := bufio.NewReaderSize(body, 64<<10)
	if st.Format == FormatUndecided {
		// Peek past a BOM and blank lines; the first line that has content decides.
		const peek = 4096
		head, _ := br.Peek(peek)
		first := trimLeftSpaceBOM(head)
		switch {
		case prettyDocument.Match(first):
			st.Format = FormatDocument
		case bytes.IndexByte(first, '\n') >= 0 || len(head) == peek:
			st.Format = FormatLines
		}
	}
	if st.Format == FormatDocument {
		return r.scanDocument(ctx, br, containerName, blobName, st, fn)
	}
	res := scanResult{state: st}
	var buf []byte
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		line, n, tooLong, err := readLine(br, &buf, maxLine)
		if err == io.EOF {
			res.pending = n // a line still being written: left for the next read
			return res, nil
		}
		if err != nil {
			res.pending = 0
			return res, fmt.Errorf("read %s/%s at %d: %w", containerName, blobName, res.state.Offset+n, err)
		}
		lineNo, off := res.state.Lines+1, res.state.Offset
		var recs []Record
		var errs []*LineError
		if tooLong {
			errs = []*LineError{{Container: containerName, Blob: blobName, Line: lineNo, Offset: off, Err: fmt.Errorf("%w: %d bytes, limit %d", ErrLineTooLong, n, maxLine)}}
		} else {
			recs, errs = ParseLine(containerName, blobName, lineNo, off, line)
		}
		if err := deliver(recs, fn, &res); err != nil {
			return res, err
		}
		res.errs = append(res.errs, errs...)
		res.state.Offset += n
		res.state.Lines++
		res.lines++
		res.bytes += n
	}
}

// deliver passes recs to fn; on failure nothing of the line counts as consumed.
func deliver(recs []Record, fn func(Record) error, res *scanResult) error {
	for _, rec := range recs {
		if err := fn(rec); err != nil {
			return fmt.Errorf("blob %s/%s line %d: %w", rec.Container, rec.Blob, rec.Line, err)
		}
		res.records++
	}
	return nil
}

// readLine returns the next line including its '\n' and the bytes it took. A line longer than max
// is consumed but not kept (tooLong). At the end of the body it returns io.EOF with the byte count
// of an unterminated last line, which the caller must not consume.
func readLine(br *bufio.Reader, buf *[]byte, max int) (line []byte, n int64, tooLong bool, err error) {
	*buf = (*buf)[:0]
	for {
		frag, err := br.ReadSlice('\n')
		n += int64(len(frag))
		if err == nil && len(*buf) == 0 && !tooLong && len(frag) <= max {
			return frag, n, false, nil // the whole line is in the bufio buffer: no copy
		}
		if !tooLong {
			if len(*buf)+len(frag) > max {
				tooLong, *buf = true, (*buf)[:0]
			} else {
				*buf = append(*buf, frag...)
			}
		}
		switch {
		case err == nil:
			return *buf, n, tooLong, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, n, tooLong, err
		}
	}
}

// scanDocument decodes body as a sequence of JSON values separated by white space (a pretty-printed
// {"records":[…]} document, possibly followed by more). Such documents come from exports written
// once per hour, so the rest of the blob is decoded in memory, bounded by MaxDocumentBytes. A value
// still incomplete at the end is left for a later read; after a syntax error the value's line is
// reported and decoding resumes at the next line.
func (r *Reader) scanDocument(ctx context.Context, br *bufio.Reader, containerName, blobName string, st State, fn func(Record) error) (scanResult, error) {
	maxDoc := r.MaxDocumentBytes
	if maxDoc <= 0 {
		maxDoc = DefaultMaxDocumentBytes
	}
	res := scanResult{state: st}
	data, err := io.ReadAll(io.LimitReader(br, maxDoc+1))
	if err != nil {
		return res, fmt.Errorf("read %s/%s at %d: %w", containerName, blobName, st.Offset, err)
	}
	if int64(len(data)) > maxDoc {
		return res, fmt.Errorf("read %s/%s: records document larger than %d bytes", containerName, blobName, maxDoc)
	}
	consume := func(to int) {
		part := data[:to]
		nl := int64(bytes.Count(part, []byte{'\n'}))
		res.state.Offset += int64(to)
		res.state.Lines += nl
		res.lines += nl
		res.bytes += int64(to)
		data = data[to:]
	}
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		q := len(data) - len(trimLeftSpaceBOM(data))
		if i := bytes.LastIndexByte(data[:q], '\n'); i >= 0 {
			consume(i + 1) // white space through its last line break is consumed
			q -= i + 1
		}
		if q == len(data) {
			res.pending = int64(len(data))
			return res, nil
		}
		lineNo := res.state.Lines + 1
		off := res.state.Offset + int64(q)
		dec := json.NewDecoder(bytes.NewReader(data[q:]))
		var v json.RawMessage
		err := dec.Decode(&v)
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			res.pending = int64(len(data))
			return res, nil
		}
		if err != nil {
			// Skip to the next line and go on: the only boundary there is to resynchronise on. Until
			// that line is complete it counts as still being written.
			nl := bytes.IndexByte(data[q:], '\n')
			if nl < 0 {
				res.pending = int64(len(data))
				return res, nil
			}
			res.errs = append(res.errs, &LineError{Container: containerName, Blob: blobName, Line: lineNo, Offset: off, Err: fmt.Errorf("%w: %w", ErrNotJSON, err)})
			consume(q + nl + 1)
			continue
		}
		end := q + int(dec.InputOffset())
		if last := data[end-1]; end == len(data) && last != '}' && last != ']' && last != '"' {
			// A number or literal at the very end may still grow ("12" → "123").
			res.pending = int64(len(data))
			return res, nil
		}
		recs, errs := ParseLine(containerName, blobName, lineNo, off, v)
		if err := deliver(recs, fn, &res); err != nil {
			return res, err
		}
		res.errs = append(res.errs, errs...)
		consume(end)
	}
}

func trimLeftSpaceBOM(b []byte) []byte {
	for {
		t := bytes.TrimLeft(b, " \t\r\n")
		if !bytes.HasPrefix(t, bom) {
			return t
		}
		b = t[len(bom):]
	}
}
