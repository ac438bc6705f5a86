// Package aws reads AWS sources: CloudTrail log files from a trail bucket (account and
// organization trails) and IAM entitlement snapshots. Storage is reached through gocloud.dev/blob,
// so the same code reads a local copy (file://), S3 or any compatible store.
//
// It must not import transform, load or cmd.
package aws

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

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
				f, ok := parseLogFileKey(obj.Key)
				if !ok || f.AccountID != accountID || f.DeliveredAt.Before(from) || !f.DeliveredAt.Before(to) {
					continue
				}
				f.Size = obj.Size
				if len(obj.MD5) > 0 {
					f.Version = hex.EncodeToString(obj.MD5)
				} else {
					f.Version = fmt.Sprintf("%d-%d", obj.Size, obj.ModTime.UnixNano())
				}
				out = append(out, f)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].DeliveredAt.Equal(out[j].DeliveredAt) {
			return out[i].DeliveredAt.Before(out[j].DeliveredAt)
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

func parseLogFileKey(key string) (LogFile, bool) {
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
// passed to fn. An empty, truncated or non-{"Records":[…]} object is an error naming the key;
// records already passed to fn stay passed (the caller decides whether to keep them).
func (t *Trail) ReadLogFile(ctx context.Context, key string, fn func(raw []byte) error) (n int, err error) {
	r, err := t.Bucket.NewReader(ctx, key, nil)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", key, err)
	}
	defer func() {
		if cerr := r.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", key, cerr)
		}
	}()
	n, err = ReadRecords(r, fn)
	if err != nil {
		return n, fmt.Errorf("read %s: %w", key, err)
	}
	return n, nil
}

// ReadRecords decodes a CloudTrail log body ({"Records":[…]}, gzip or not) from r, calling fn for
// each raw record.
func ReadRecords(r io.Reader, fn func(raw []byte) error) (int, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if len(magic) == 0 {
		if errors.Is(err, io.EOF) {
			return 0, errors.New("empty object")
		}
		return 0, err
	}
	var body io.Reader = br
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		body = zr
	}
	dec := json.NewDecoder(body)
	if err := expectDelim(dec, '{'); err != nil {
		return 0, fmt.Errorf("not a CloudTrail log (want {\"Records\":[…]}): %w", err)
	}
	n, sawRecords := 0, false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return n, fmt.Errorf("after %d records: %w", n, err)
		}
		if key, _ := tok.(string); key != "Records" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return n, fmt.Errorf("skip %q: %w", key, err)
			}
			continue
		}
		sawRecords = true
		if err := expectDelim(dec, '['); err != nil {
			return n, fmt.Errorf("Records is not an array: %w", err)
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return n, fmt.Errorf("record %d: %w", n+1, err)
			}
			if err := fn(raw); err != nil {
				return n, err
			}
			n++
		}
		if err := expectDelim(dec, ']'); err != nil {
			return n, fmt.Errorf("after %d records: %w", n, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return n, fmt.Errorf("after %d records: %w", n, err)
	}
	if !sawRecords {
		return 0, errors.New(`no "Records" array`)
	}
	// Read to the end so that gzip verifies its checksum and length: a truncated file whose JSON
	// happens to be complete must not pass as whole.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return n, fmt.Errorf("after %d records: %w", n, err)
	}
	return n, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("got %v, want %q", tok, want)
	}
	return nil
}
