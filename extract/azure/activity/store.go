package activity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// store is where one container's blobs are: Blob Storage through an azblob container client
// (containerStore) or a copy of the export in any gocloud.dev/blob bucket (bucketStore, for a
// directory written by azcopy). Names are blob names inside the container. Implementations are
// safe for concurrent use and return their SDK's errors unwrapped; the callers add the blob.
type store interface {
	// list returns the blobs whose name starts with prefix, in any order, with Name, Size, ETag,
	// CreatedAt, LastModified and Append set. keep says which names are wanted, so that a store
	// that fetches properties one blob at a time skips the others; the caller filters again.
	list(ctx context.Context, prefix string, keep func(name string) bool) ([]Blob, error)
	// stat returns one blob as list would.
	stat(ctx context.Context, name string) (Blob, error)
	// download opens name from offset to its current end. An offset past the end is
	// errBeyondEnd (wrapped); the caller closes the body.
	download(ctx context.Context, name string, offset int64) (*download, error)
	// unchanged reports whether b, as listed now, still holds exactly the bytes st was read
	// from, so that nothing needs downloading.
	unchanged(b Blob, st State) bool
}

// download is an open ranged read and the blob's properties as it was served.
type download struct {
	body      io.ReadCloser
	size      int64 // the blob's whole size when served: body ends there
	etag      string
	createdAt time.Time
}

// errBeyondEnd is a download from an offset past the blob's end: it was replaced by a shorter
// one since it was listed.
var errBeyondEnd = errors.New("offset beyond the end of the blob")

// containerStore is Blob Storage through an azblob container client.
type containerStore struct{ c *container.Client }

func (s containerStore) list(ctx context.Context, prefix string, keep func(string) bool) ([]Blob, error) {
	var out []Blob
	pager := s.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Segment.BlobItems {
			if it == nil || it.Name == nil || !keep(*it.Name) {
				continue
			}
			b := Blob{Name: *it.Name}
			if p := it.Properties; p != nil {
				b.Size = deref(p.ContentLength)
				b.ETag = normETag(p.ETag)
				b.CreatedAt = derefTime(p.CreationTime)
				b.LastModified = derefTime(p.LastModified)
				b.Append = p.BlobType != nil && *p.BlobType == blob.BlobTypeAppendBlob
			}
			out = append(out, b)
		}
	}
	return out, nil
}

func (s containerStore) stat(ctx context.Context, name string) (Blob, error) {
	p, err := s.c.NewBlobClient(name).GetProperties(ctx, nil)
	if err != nil {
		return Blob{}, err
	}
	return Blob{Name: name, Size: deref(p.ContentLength), ETag: normETag(p.ETag), CreatedAt: derefTime(p.CreationTime),
		LastModified: derefTime(p.LastModified), Append: p.BlobType != nil && *p.BlobType == blob.BlobTypeAppendBlob}, nil
}

func (s containerStore) download(ctx context.Context, name string, offset int64) (*download, error) {
	resp, err := s.c.NewBlobClient(name).DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: offset}})
	if err != nil {
		if bloberror.HasCode(err, bloberror.InvalidRange) {
			return nil, fmt.Errorf("%w: %w", errBeyondEnd, err)
		}
		return nil, err
	}
	d := &download{etag: normETag(resp.ETag), createdAt: derefTime(resp.CreationTime), size: offset + deref(resp.ContentLength)}
	if total, ok := contentRangeTotal(deref(resp.ContentRange)); ok {
		d.size = total
	}
	d.body = resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 3})
	return d, nil
}

// unchanged: any write to a blob, an append included, changes its ETag.
func (containerStore) unchanged(b Blob, st State) bool {
	return st.ETag != "" && b.ETag == st.ETag && b.Size == st.Size
}

// normETag drops the quotes around an ETag: headers quote it, blob listings do not (real Azure
// and Azurite alike), and the State compares the two.
func normETag(e *azcore.ETag) string {
	if e == nil {
		return ""
	}
	return trimETag(string(*e))
}

func trimETag(s string) string { return strings.Trim(strings.TrimPrefix(s, "W/"), `"`) }
