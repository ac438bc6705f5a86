package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
)

var errVanished = errors.New("lstat x.tmp: no such file or directory")

// vanishingLister is a driver whose listing fails with NotFound a given number of times, at its
// second page, before it succeeds, as fileblob's does when a file is renamed away mid-listing.
// Only listing is implemented.
type vanishingLister struct {
	driver.Bucket
	keys     []string
	pageSize int
	failures int
	failed   int
}

func (v *vanishingLister) ListPaged(_ context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	token := string(opts.PageToken)
	if token != "" && v.failed < v.failures {
		v.failed++
		return nil, errVanished
	}
	start := 0
	if token != "" {
		for start < len(v.keys) && v.keys[start] <= token {
			start++
		}
	}
	end := min(start+v.pageSize, len(v.keys))
	page := &driver.ListPage{}
	for _, k := range v.keys[start:end] {
		page.Objects = append(page.Objects, &driver.ListObject{Key: k})
	}
	if end < len(v.keys) {
		page.NextPageToken = []byte(v.keys[end-1])
	}
	return page, nil
}

func (v *vanishingLister) ErrorCode(err error) gcerrors.ErrorCode {
	if errors.Is(err, errVanished) {
		return gcerrors.NotFound
	}
	return gcerrors.Unknown
}

func (v *vanishingLister) Close() error { return nil }

// TestListRetriesVanishedPages: a page that failed because an object vanished is listed again
// from the same token — every key once, in order, across the driver's pages — and a listing that
// keeps failing gives up with an error naming its prefix.
func TestListRetriesVanishedPages(t *testing.T) {
	t.Parallel()
	var keys []string
	for i := range 7 {
		keys = append(keys, fmt.Sprintf("_manifests/runs/%02d.json", i))
	}
	for _, tc := range []struct {
		failures int
		fail     bool
	}{{0, false}, {listRetries - 1, false}, {listRetries, true}} {
		v := &vanishingLister{keys: keys, pageSize: 3, failures: tc.failures}
		l := &Lake{bucket: blob.NewBucket(v)}
		var got []string
		err := l.list(context.Background(), "_manifests/runs/", func(o *blob.ListObject) error {
			got = append(got, o.Key)
			return nil
		})
		if tc.fail {
			if err == nil || gcerrors.Code(err) != gcerrors.NotFound || !strings.Contains(err.Error(), "_manifests/runs/") {
				t.Fatalf("%d failures: error %v, want NotFound naming the prefix", tc.failures, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%d failures: %v", tc.failures, err)
		}
		if strings.Join(got, ",") != strings.Join(keys, ",") {
			t.Fatalf("%d failures: listed %v, want %v", tc.failures, got, keys)
		}
		if v.failed != tc.failures {
			t.Fatalf("%d failures: the driver failed %d times", tc.failures, v.failed)
		}
	}
}

// TestFileLakeListsInTwoPages: fileblob walks its directory again for every page, so a file
// lake asks for the rest of a listing longer than a page at once (S3-like stores keep S3's
// 1,000); every key is listed once, in order.
func TestFileLakeListsInTwoPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if a, b := l.pageSize(0), l.pageSize(1); a != listPageSize || b != fileListPageSize {
		t.Fatalf("file lake page sizes %d, %d; want %d, %d", a, b, listPageSize, fileListPageSize)
	}
	if other := (&Lake{}); other.pageSize(1) != listPageSize {
		t.Fatalf("object store page size %d, want %d", other.pageSize(1), listPageSize)
	}
	var want []string
	for i := range 2500 {
		k := fmt.Sprintf("_manifests/commits/date=2026-12-06/%019d-x.json", i)
		want = append(want, k)
		if err := l.Bucket().WriteAll(ctx, k, []byte("{}\n"), nil); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := l.list(ctx, "_manifests/commits/", func(o *blob.ListObject) error {
		got = append(got, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("listed %d keys (first %v), want the %d written, in order", len(got), got[:min(3, len(got))], len(want))
	}
}
