// Package aws reads AWS sources: CloudTrail log files from a trail bucket (account and
// organization trails) and IAM entitlement snapshots. Storage is reached through gocloud.dev/blob,
// so the same code reads a local copy (file://), S3 or any compatible store.
//
// It must not import transform, load or cmd.
package aws

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	json "github.com/goccy/go-json"
	"github.com/klauspost/compress/gzip"
	"gocloud.dev/blob"

	"github.com/permlake/permlake/extract"
)

// Trail locates CloudTrail log files in a bucket:
// [Prefix/]AWSLogs/[OrganizationID/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz.
type Trail struct {
	Bucket         *blob.Bucket
	Prefix         string   // optional key prefix chosen by the trail owner
	OrganizationID string   // o-…, set for organization trails
	Regions        []string // regions to read; empty means every region folder found
	// BucketName and BucketPrefix say where Bucket is in the store (the s3://name/prefix/ of its
	// URL): notifications name objects by their full key in a named bucket (NotifiedFile).
	BucketName, BucketPrefix string
}

// LogFile is one CloudTrail log file object.
type LogFile struct {
	Key         string
	AccountID   string
	Region      string
	DeliveredAt time.Time // from the file name: when CloudTrail delivered it, not when its events happened
	Size        int64
	Version     string // MD5 hex when the store reports it, else size and modification time
}

var orgIDPattern = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)

// logFileName matches <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz (FORMATS.md §1.2).
var logFileName = regexp.MustCompile(`^([0-9]{12})_CloudTrail_([a-z0-9-]+)_([0-9]{8}T[0-9]{4}Z)_([A-Za-z0-9]+)\.json(\.gz)?$`)

// Validate checks the trail's settings before they are used in keys.
func (t *Trail) Validate() error {
	if t.Bucket == nil {
		return errors.New("trail has no bucket")
	}
	if t.OrganizationID != "" && !orgIDPattern.MatchString(t.OrganizationID) {
		return fmt.Errorf("invalid organization ID %q: want o- and 10-32 lowercase letters or digits", t.OrganizationID)
	}
	if strings.Contains(t.Prefix, "..") {
		return fmt.Errorf("invalid trail prefix %q", t.Prefix)
	}
	return nil
}

func (t *Trail) accountPrefix(accountID string) string {
	p := "AWSLogs/"
	if t.OrganizationID != "" {
		p += t.OrganizationID + "/"
	}
	p += accountID + "/CloudTrail/"
	if pre := strings.Trim(t.Prefix, "/"); pre != "" {
		p = pre + "/" + p
	}
	return p
}

// regions returns the configured regions or the region folders present for the account.
func (t *Trail) regions(ctx context.Context, accountID string) ([]string, error) {
	if len(t.Regions) > 0 {
		return t.Regions, nil
	}
	prefix := t.accountPrefix(accountID)
	it := t.Bucket.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	var out []string
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		if obj.IsDir {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(obj.Key, prefix), "/"))
		}
	}
	return out, nil
}

// ListLogFiles returns the account's log files delivered in [from, to), sorted by delivery time
// then key. Only the date folders that can hold such deliveries are listed; objects that are not
// log files (digests live in a sibling folder, but anything else too) are skipped.
func (t *Trail) ListLogFiles(ctx context.Context, accountID string, from, to time.Time) ([]LogFile, error) {
	if err := extract.ValidateAccountID(accountID); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	regions, err := t.regions(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var out []LogFile
	for _, region := range regions {
		for day := from.UTC().Truncate(24 * time.Hour); day.Before(to); day = day.Add(24 * time.Hour) {
			prefix := t.accountPrefix(accountID) + region + "/" + day.Format("2006/01/02") + "/"
			it := t.Bucket.List(&blob.ListOptions{Prefix: prefix})
			for {
				obj, err := it.Next(ctx)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return nil, fmt.Errorf("list %s: %w", prefix, err)
				}
				f, ok := ParseLogFileKey(obj.Key)
				if !ok || f.AccountID != accountID || f.DeliveredAt.Before(from) || !f.DeliveredAt.Before(to) {
					continue
				}
				f.Size, f.Version = obj.Size, objectVersion(obj.MD5, obj.Size, obj.ModTime)
				out = append(out, f)
			}
		}
	}
	SortLogFiles(out)
	return out, nil
}

// SortLogFiles sorts files by delivery time, then key: the order an account's files are ingested
// in, whether listed or notified.
func SortLogFiles(files []LogFile) {
	slices.SortFunc(files, func(a, b LogFile) int {
		if c := a.DeliveredAt.Compare(b.DeliveredAt); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// objectVersion identifies one version of an object in the ledger: its MD5 hex when the store
// reports one, else its size and modification time.
func objectVersion(md5 []byte, size int64, modTime time.Time) string {
	if len(md5) > 0 {
		return hex.EncodeToString(md5)
	}
	return fmt.Sprintf("%d-%d", size, modTime.UnixNano())
}

// Errors of NotifiedFile for objects that are not the trail's to read.
var (
	// ErrNotLogFile: digest files, CloudTrail Insights files, anything else in the bucket.
	ErrNotLogFile = errors.New("not a CloudTrail log file")
	// ErrOutsideTrail: a log file outside the trail's URL prefix, key prefix or organization.
	ErrOutsideTrail = errors.New("not under the configured trail's layout")
)

// NotifiedFile maps an object a notification names (bucket and full key, as ParseNotification
// returns them) to the trail's log file, or says why it is not one: another bucket, outside the
// bucket URL's prefix, not under the trail's AWSLogs/[organization/]<account>/CloudTrail/ layout,
// or not a log file's name (digest files, CloudTrail Insights, anything else). Size and Version
// are unknown until the file is read (ReadLogFile returns them).
func (t *Trail) NotifiedFile(bucket, key string) (LogFile, error) {
	if t.BucketName != "" && bucket != t.BucketName {
		return LogFile{}, fmt.Errorf("object %s is in bucket %q, not the trail's bucket %q", key, bucket, t.BucketName)
	}
	rel := key
	if pre := strings.Trim(t.BucketPrefix, "/"); pre != "" {
		var ok bool
		if rel, ok = strings.CutPrefix(key, pre+"/"); !ok {
			return LogFile{}, fmt.Errorf("object %s: %w (outside the URL prefix %q)", key, ErrOutsideTrail, pre+"/")
		}
	}
	f, ok := ParseLogFileKey(rel)
	if !ok {
		return LogFile{}, fmt.Errorf("object %s: %w", key, ErrNotLogFile)
	}
	if want := t.accountPrefix(f.AccountID) + f.Region + "/" + f.DeliveredAt.Format("2006/01/02") + "/"; path.Dir(rel)+"/" != want {
		return LogFile{}, fmt.Errorf("object %s: %w (account %s's log files are under %s)", key, ErrOutsideTrail, f.AccountID, want)
	}
	return f, nil
}

// ParseLogFileKey reads a log file's account, region and delivery time from its name
// (FORMATS.md §1.2); ok is false for any other object (digests included).
func ParseLogFileKey(key string) (LogFile, bool) {
	m := logFileName.FindStringSubmatch(path.Base(key))
	if m == nil {
		return LogFile{}, false
	}
	at, err := time.Parse("20060102T1504Z", m[3])
	if err != nil {
		return LogFile{}, false
	}
	return LogFile{Key: key, AccountID: m[1], Region: m[2], DeliveredAt: at.UTC()}, true
}

// ReadLogFile streams the records of one log file to fn, one raw JSON record at a time, without
// holding the file in memory. The body may be gzip (sniffed from its magic bytes, not trusted from
// the name: stores can hand back inflated bytes) or plain JSON. It returns how many records were
// passed to fn; raw is only valid during the call (see ReadRecords). An empty, truncated or
// non-{"Records":[…]} object is an error naming the key; records already passed to fn stay passed
// (the caller decides whether to keep them). It also returns the object's size and version as
// listing reports them, for files a notification named.
func (t *Trail) ReadLogFile(ctx context.Context, key string, fn func(raw []byte) error) (n int, size int64, version string, err error) {
	r, err := t.Bucket.NewReader(ctx, key, nil)
	if err != nil {
		return 0, 0, "", fmt.Errorf("open %s: %w", key, err)
	}
	size, version = r.Size(), readerVersion(r)
	defer func() {
		if cerr := r.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", key, cerr)
		}
	}()
	n, err = ReadRecords(r, fn)
	if err != nil {
		return n, size, version, fmt.Errorf("read %s: %w", key, err)
	}
	return n, size, version, nil
}

// readerVersion is objectVersion for an object being read: S3 reports the MD5 as the ETag of an
// object not uploaded in parts, which is what gocloud's listing reports as MD5.
func readerVersion(r *blob.Reader) string {
	var out s3.GetObjectOutput
	if r.As(&out) && out.ETag != nil {
		if etag := strings.Trim(*out.ETag, `"`); len(etag) == 32 {
			if md5, err := hex.DecodeString(etag); err == nil {
				return objectVersion(md5, r.Size(), r.ModTime())
			}
		}
	}
	return objectVersion(nil, r.Size(), r.ModTime())
}

// ReadRecords decodes a CloudTrail log body ({"Records":[…]}, gzip or not) from r, calling fn for
// each raw record. raw is only valid during the call (it points into a reused buffer): fn copies
// what it keeps. Every byte is checked against the JSON grammar once, here, while the records are
// split — without building values — so a malformed or truncated file is an error as before,
// naming the record or how many records came before it.
func ReadRecords(r io.Reader, fn func(raw []byte) error) (int, error) {
	rd := readers.Get().(*recordReader)
	defer rd.release()
	br := rd.br
	br.Reset(r)
	magic, err := br.Peek(2)
	if len(magic) == 0 {
		if errors.Is(err, io.EOF) {
			return 0, errors.New("empty object")
		}
		return 0, err
	}
	var body io.Reader = br
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		if rd.zr == nil {
			rd.zr, err = gzip.NewReader(br)
		} else {
			err = rd.zr.Reset(br)
		}
		if err != nil {
			return 0, fmt.Errorf("gzip: %w", err)
		}
		defer rd.zr.Close()
		body = rd.zr
	}
	s := &rd.s
	s.reset(body)
	n, err := s.records(fn)
	if err != nil {
		return n, err
	}
	// Read to the end: only whitespace may follow the document (a second document or gzip
	// member would otherwise be dropped unread while the file counts as read), and gzip verifies
	// its checksum and length there, so a truncated file whose JSON happens to be complete does
	// not pass as whole. The gzip reader reads every member of a multi-member file.
	c, err := s.peek()
	if err == nil {
		return n, fmt.Errorf("after %d records: %w", n, unexpected(c, "after the document (a log file is one {\"Records\":[…]} document)"))
	}
	if s.err != io.EOF {
		return n, fmt.Errorf("after %d records: %w", n, s.err)
	}
	return n, nil
}

// recordReader is what ReadRecords needs per file, pooled: a 64 KiB read buffer, a gzip reader
// (32 KiB of inflate window) and the scanner's buffer were ~1/7 of the ingest's allocated
// bytes when made per log file (bench/results.md), and log files are small (~300 records).
type recordReader struct {
	br *bufio.Reader
	zr *gzip.Reader
	s  scanner
}

const scanBuffer = 64 << 10

var readers = sync.Pool{New: func() any {
	return &recordReader{br: bufio.NewReaderSize(nil, 64<<10), s: scanner{buf: make([]byte, scanBuffer)}}
}}

func (rd *recordReader) release() {
	rd.br.Reset(nil)
	rd.s.reset(nil)
	if len(rd.s.buf) > 16*scanBuffer {
		rd.s.buf = make([]byte, scanBuffer) // one huge record must not stay pinned in the pool
	}
	readers.Put(rd)
}

// maxDepth bounds nesting, as encoding/json does, so hostile input cannot exhaust the stack.
const maxDepth = 10000

// scanner walks a JSON text in buf[pos:end], refilled from r, checking its grammar (RFC 8259;
// UTF-8 is not checked, as goccy and encoding/json do not reject it either). Bytes before mark
// (or pos when mark < 0) may be dropped on a refill, so a record from mark to pos stays
// contiguous in buf.
type scanner struct {
	r        io.Reader
	buf      []byte
	pos, end int
	mark     int
	err      error // sticky error of r (io.EOF at the end)
}

func (s *scanner) reset(r io.Reader) {
	s.r, s.pos, s.end, s.mark, s.err = r, 0, 0, -1, nil
}

// fill reads more bytes after end, keeping buf[mark:] (or buf[pos:]); false when none came.
func (s *scanner) fill() bool {
	if s.err != nil {
		return false
	}
	keep := s.pos
	if s.mark >= 0 {
		keep = s.mark
	}
	if keep > 0 {
		s.end = copy(s.buf, s.buf[keep:s.end])
		s.pos -= keep
		if s.mark >= 0 {
			s.mark -= keep
		}
	}
	if s.end == len(s.buf) {
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for range 100 {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.err = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.err = io.ErrNoProgress
	return false
}

// truncated is the error for input that ended (or failed) in the middle of the text.
func (s *scanner) truncated() error {
	if s.err == nil || s.err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return s.err
}

// peek skips whitespace and returns the next byte without consuming it.
func (s *scanner) peek() (byte, error) {
	for {
		for s.pos < s.end {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\n', '\r':
				s.pos++
			default:
				return c, nil
			}
		}
		if !s.fill() {
			return 0, s.truncated()
		}
	}
}

// byteAt returns the byte at pos without skipping whitespace.
func (s *scanner) byteAt() (byte, error) {
	if s.pos == s.end && !s.fill() {
		return 0, s.truncated()
	}
	return s.buf[s.pos], nil
}

func unexpected(c byte, context string) error {
	return fmt.Errorf("invalid character %q %s", c, context)
}

// records walks {"Records":[…], …} and hands each element of every Records array to fn.
func (s *scanner) records(fn func(raw []byte) error) (int, error) {
	c, err := s.peek()
	if err == nil && c != '{' {
		err = fmt.Errorf("got %q, want '{'", c)
	}
	if err != nil {
		return 0, fmt.Errorf("not a CloudTrail log (want {\"Records\":[…]}): %w", err)
	}
	s.pos++
	n, sawRecords := 0, false
	after := func(err error) (int, error) { return n, fmt.Errorf("after %d records: %w", n, err) }
	if c, err = s.peek(); err != nil {
		return after(err)
	}
	if c == '}' {
		s.pos++
		return 0, errors.New(`no "Records" array`)
	}
	for {
		if c != '"' {
			return after(unexpected(c, "looking for beginning of object key string"))
		}
		s.mark = s.pos
		s.pos++
		if err := s.str(); err != nil {
			return after(err)
		}
		key, err := keyString(s.buf[s.mark:s.pos])
		s.mark = -1
		if err != nil {
			return after(err)
		}
		if c, err = s.peek(); err != nil {
			return after(err)
		}
		if c != ':' {
			return after(unexpected(c, "after object key"))
		}
		s.pos++
		if key == "Records" {
			sawRecords = true
			if c, err = s.peek(); err != nil {
				return after(err)
			}
			if c != '[' {
				return n, fmt.Errorf("Records is not an array: got %q, want '['", c)
			}
			s.pos++
			if c, err = s.peek(); err != nil {
				return after(err)
			}
			if c == ']' {
				s.pos++
			} else {
				for {
					s.mark = s.pos
					if err := s.value(0); err != nil {
						s.mark = -1
						return n, fmt.Errorf("record %d: %w", n+1, err)
					}
					raw := s.buf[s.mark:s.pos]
					s.mark = -1
					if err := fn(raw); err != nil {
						return n, err
					}
					n++
					if c, err = s.peek(); err != nil {
						return after(err)
					}
					s.pos++
					if c == ']' {
						break
					}
					if c != ',' {
						return after(unexpected(c, "after array element"))
					}
				}
			}
		} else if err := s.value(0); err != nil {
			return after(fmt.Errorf("skip %q: %w", key, err))
		}
		if c, err = s.peek(); err != nil {
			return after(err)
		}
		s.pos++
		if c == '}' {
			break
		}
		if c != ',' {
			return after(unexpected(c, "after object key:value pair"))
		}
		if c, err = s.peek(); err != nil {
			return after(err)
		}
	}
	if !sawRecords {
		return 0, errors.New(`no "Records" array`)
	}
	return n, nil
}

// keyString is the value of a scanned (valid) JSON string literal q.
func keyString(q []byte) (string, error) {
	if bytes.IndexByte(q, '\\') < 0 {
		return string(q[1 : len(q)-1]), nil
	}
	var k string
	err := json.Unmarshal(q, &k)
	return k, err
}

// value scans one JSON value starting at the next non-space byte.
func (s *scanner) value(depth int) error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	switch {
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return errors.New("exceeded max depth")
		}
		s.pos++
		return s.container(c, depth+1)
	case c == '"':
		s.pos++
		return s.str()
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return unexpected(c, "looking for beginning of value")
}

// container scans the rest of an object (open '{') or array (open '[').
func (s *scanner) container(open byte, depth int) error {
	closing := byte('}')
	if open == '[' {
		closing = ']'
	}
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c == closing {
		s.pos++
		return nil
	}
	for {
		if open == '{' {
			if c != '"' {
				return unexpected(c, "looking for beginning of object key string")
			}
			s.pos++
			if err := s.str(); err != nil {
				return err
			}
			if c, err = s.peek(); err != nil {
				return err
			}
			if c != ':' {
				return unexpected(c, "after object key")
			}
			s.pos++
		}
		if err := s.value(depth); err != nil {
			return err
		}
		if c, err = s.peek(); err != nil {
			return err
		}
		s.pos++
		if c == closing {
			return nil
		}
		if c != ',' {
			return unexpected(c, "after value")
		}
		if c, err = s.peek(); err != nil {
			return err
		}
	}
}

// plain marks the bytes a string may hold unescaped.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainWord says whether the eight bytes of x are all plain: no '"', '\\' or byte below 0x20.
// Each test is the exact "some byte is less than n" bit trick (Hacker's Delight 6-1).
func plainWord(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q, b := x^(ones*'"'), x^(ones*'\\')
	return ((q-ones)&^q|(b-ones)&^b|(x-ones*0x20)&^x)&highs == 0
}

// str scans the rest of a string whose opening quote is consumed. Most of a record's bytes are
// string bytes, so the common case is the table loop.
func (s *scanner) str() error {
	for {
		i, b := s.pos, s.buf[:s.end]
		for i+8 <= len(b) && plainWord(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && plain[b[i]] {
			i++
		}
		s.pos = i
		if i == len(b) {
			if !s.fill() {
				return s.truncated()
			}
			continue
		}
		switch c := b[i]; c {
		case '"':
			s.pos++
			return nil
		case '\\':
			s.pos++
			e, err := s.byteAt()
			if err != nil {
				return err
			}
			s.pos++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for range 4 {
					h, err := s.byteAt()
					if err != nil {
						return err
					}
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return unexpected(h, "in \\u hexadecimal character escape")
					}
					s.pos++
				}
			default:
				return unexpected(e, "in string escape code")
			}
		default:
			return unexpected(c, "in string literal")
		}
	}
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scanner) number() error {
	digits := func() (int, error) {
		n := 0
		for {
			c, err := s.byteAt()
			if err != nil {
				if err == io.ErrUnexpectedEOF {
					return n, nil // the caller decides whether the number may end here
				}
				return n, err
			}
			if c < '0' || c > '9' {
				return n, nil
			}
			s.pos++
			n++
		}
	}
	next := func() (byte, bool) {
		c, err := s.byteAt()
		return c, err == nil
	}
	if c, _ := next(); c == '-' {
		s.pos++
	}
	c, ok := next()
	switch {
	case !ok:
		return s.truncated()
	case c == '0':
		s.pos++
	case c >= '1' && c <= '9':
		if _, err := digits(); err != nil {
			return err
		}
	default:
		return unexpected(c, "in numeric literal")
	}
	if c, ok := next(); ok && c == '.' {
		s.pos++
		if n, err := digits(); err != nil || n == 0 {
			return orTruncated(err, s, "after decimal point in numeric literal")
		}
	}
	if c, ok := next(); ok && (c == 'e' || c == 'E') {
		s.pos++
		if c, ok := next(); ok && (c == '+' || c == '-') {
			s.pos++
		}
		if n, err := digits(); err != nil || n == 0 {
			return orTruncated(err, s, "in exponent of numeric literal")
		}
	}
	if s.err != nil && s.err != io.EOF && s.pos == s.end {
		return s.err
	}
	return nil
}

// orTruncated is err, or the error for a missing digit at pos.
func orTruncated(err error, s *scanner, context string) error {
	if err != nil {
		return err
	}
	c, err := s.byteAt()
	if err != nil {
		return err
	}
	return unexpected(c, context)
}

func (s *scanner) literal(word string) error {
	for i := 0; i < len(word); i++ {
		c, err := s.byteAt()
		if err != nil {
			return err
		}
		if c != word[i] {
			return unexpected(c, "in literal "+word)
		}
		s.pos++
	}
	return nil
}
