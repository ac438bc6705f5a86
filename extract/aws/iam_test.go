package aws

import (
	"context"
	"errors"
	"io/fs"
	"sort"
	"strings"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"
)

func TestSnapshotFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := fileblob.OpenBucket(t.TempDir(), &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for key, body := range map[string]string{
		"iam/012345678901/gaad-0002.json":        `{"page":2}`,
		"iam/012345678901/gaad-0001.json":        `{"page":1}`,
		"iam/012345678901/credential-report.csv": "user,arn\n",
		"iam/012345678901/notes.txt":             "ignored",
		"iam/111111111111/gaad-0001.json":        `{"page":1}`,
	} {
		if err := b.WriteAll(ctx, key, []byte(body), nil); err != nil {
			t.Fatal(err)
		}
	}
	src := &SnapshotFiles{Bucket: b, Prefix: "iam"}
	s, err := src.Snapshot(ctx, "012345678901")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.GAADPages) != 2 || string(s.GAADPages[0]) != `{"page":1}` || string(s.GAADPages[1]) != `{"page":2}` {
		t.Errorf("pages out of order or missing: %q", s.GAADPages)
	}
	if string(s.CredentialReport) != "user,arn\n" || s.SourceKey != "iam/012345678901/" {
		t.Errorf("snapshot = %+v", s)
	}
	s, err = src.Snapshot(ctx, "111111111111")
	if err != nil || s.CredentialReport != nil {
		t.Errorf("account without a credential report: %v, %v", s, err)
	}
	if _, err := src.Snapshot(ctx, "222222222222"); err == nil || !strings.Contains(err.Error(), "222222222222") {
		t.Errorf("account without pages: err = %v, want one naming the account", err)
	}
	if _, err := src.Snapshot(ctx, "../../etc"); err == nil {
		t.Error("path-like account ID accepted")
	}
}

var errFault = errors.New("injected fault")

// faultyBucket is a blob driver over fixed objects whose listing or one object's read fails.
// Only listing and reading are implemented.
type faultyBucket struct {
	driver.Bucket
	objects  map[string]string
	failList bool
	failRead string
}

func (f *faultyBucket) ListPaged(_ context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	if f.failList {
		return nil, errFault
	}
	var keys []string
	for k := range f.objects {
		if strings.HasPrefix(k, opts.Prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	page := &driver.ListPage{}
	for _, k := range keys {
		page.Objects = append(page.Objects, &driver.ListObject{Key: k, Size: int64(len(f.objects[k]))})
	}
	return page, nil
}

func (f *faultyBucket) NewRangeReader(_ context.Context, key string, _, _ int64, _ *driver.ReaderOptions) (driver.Reader, error) {
	if key == f.failRead {
		return nil, errFault
	}
	body, ok := f.objects[key]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return &stringReader{Reader: strings.NewReader(body), size: int64(len(body))}, nil
}

func (f *faultyBucket) ErrorCode(err error) gcerrors.ErrorCode {
	if errors.Is(err, fs.ErrNotExist) {
		return gcerrors.NotFound
	}
	return gcerrors.Unknown
}

func (f *faultyBucket) ErrorAs(error, any) bool { return false }

func (f *faultyBucket) Close() error { return nil }

type stringReader struct {
	*strings.Reader
	size int64
}

func (r *stringReader) Close() error { return nil }
func (r *stringReader) Attributes() *driver.ReaderAttributes {
	return &driver.ReaderAttributes{Size: r.size}
}
func (r *stringReader) As(any) bool { return false }

// TestSnapshotFilesErrorsNameTheObject: every failure names the account and the object (or the
// prefix listed) at fault.
func TestSnapshotFilesErrorsNameTheObject(t *testing.T) {
	t.Parallel()
	objects := map[string]string{
		"iam/012345678901/gaad-0001.json":        `{}`,
		"iam/012345678901/gaad-0002.json":        `{}`,
		"iam/012345678901/credential-report.csv": "user,arn\n",
	}
	for _, tc := range []struct {
		name     string
		bucket   *faultyBucket
		account  string
		wantName string
	}{
		{"list fails", &faultyBucket{objects: objects, failList: true}, "012345678901", "iam/012345678901/"},
		{"no pages", &faultyBucket{objects: objects}, "999999999999", "iam/999999999999/"},
		{"page read fails", &faultyBucket{objects: objects, failRead: "iam/012345678901/gaad-0002.json"}, "012345678901", "iam/012345678901/gaad-0002.json"},
		{"credential report read fails", &faultyBucket{objects: objects, failRead: "iam/012345678901/credential-report.csv"}, "012345678901", "iam/012345678901/credential-report.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := blob.NewBucket(tc.bucket)
			_, err := (&SnapshotFiles{Bucket: b, Prefix: "iam"}).Snapshot(context.Background(), tc.account)
			if err == nil || !strings.Contains(err.Error(), tc.account) || !strings.Contains(err.Error(), tc.wantName) {
				t.Errorf("err = %v; want one naming account %s and %s", err, tc.account, tc.wantName)
			}
		})
	}
}
