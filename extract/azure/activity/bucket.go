package activity

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// containerNamePattern is Blob Storage's rule for container names: 3 to 63 lower-case letters, digits
// and single hyphens, starting and ending with a letter or digit
// (https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata).
// It keeps the name a single path segment of a bucket key.
var containerNamePattern = regexp.MustCompile(`^[a-z0-9](?:-?[a-z0-9])+$`)

// NewBucketReader reads a copy of the export in bucket, any gocloud.dev/blob bucket: a directory
// through fileblob (what `azcopy copy --recursive` of a storage account writes), or a copy in
// S3 or GCS. The bucket is opened on the copy's root, which holds one folder per container, and
// the blob of container c named n is the key "c/n", e.g.
//
//	insights-activity-logs/resourceId=/SUBSCRIPTIONS/<SUB>/y=2026/m=11/d=15/h=07/m=00/PT1H.json
//
// (use blob.PrefixedBucket for a root below the bucket's). The Reader reads only containerName
// and refuses an Export or Blob of another container. It does not close the bucket.
//
// A copy's files are treated as append blobs: they only grow. The version kept in State.ETag is
// the driver's ETag (fileblob derives it from the modification time and size), or size and
// modification time when the driver gives none; CreatedAt is the driver's creation time when it
// has one (fileblob has none). So, as in Blob Storage, a file shorter than the saved offset is
// read again from 0 (ResetShrunk) and a new creation time does the same (ResetRecreated); but a
// file of the same size counts as unchanged whatever its modification time, and a file replaced
// by a longer one without a creation time is read on from the saved offset, as if it had grown.
//
// Listing costs one List per day (or hour) prefix, as in Blob Storage, plus one Attributes call
// per PT1H.json of the window (a listing carries no ETag); a read costs one Attributes call and
// one ranged read up to the size that call saw, so State.Size always matches the bytes consumed
// even while the file grows.
func NewBucketReader(bucket *blob.Bucket, containerName string) (*Reader, error) {
	if bucket == nil {
		return nil, fmt.Errorf("nil bucket for container %q", containerName)
	}
	if err := validContainer(containerName); err != nil {
		return nil, err
	}
	return &Reader{store: bucketStore{b: bucket, prefix: containerName + "/"}, container: containerName}, nil
}

func validContainer(name string) error {
	if len(name) < 3 || len(name) > 63 || !containerNamePattern.MatchString(name) {
		return fmt.Errorf("invalid container name %q", name)
	}
	return nil
}

// bucketStore is one container of an export copy in a gocloud.dev/blob bucket.
type bucketStore struct {
	b      *blob.Bucket
	prefix string // the container's key prefix, "<container>/"
}

func (s bucketStore) list(ctx context.Context, prefix string, keep func(string) bool) ([]Blob, error) {
	var out []Blob
	it := s.b.List(&blob.ListOptions{Prefix: s.prefix + prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(obj.Key, s.prefix)
		if obj.IsDir || !keep(name) {
			continue
		}
		b, err := s.stat(ctx, name)
		if gcerrors.Code(err) == gcerrors.NotFound {
			continue // removed since it was listed
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
}

func (s bucketStore) stat(ctx context.Context, name string) (Blob, error) {
	a, err := s.b.Attributes(ctx, s.prefix+name)
	if err != nil {
		return Blob{}, err
	}
	return bucketBlob(name, a), nil
}

// bucketBlob is the Blob of name with attributes a: an append blob, versioned by its ETag or,
// without one, by size and modification time.
func bucketBlob(name string, a *blob.Attributes) Blob {
	b := Blob{Name: name, Size: a.Size, ETag: trimETag(a.ETag), LastModified: a.ModTime.UTC(), Append: true}
	if b.ETag == "" {
		b.ETag = fmt.Sprintf("%x-%x", a.ModTime.UnixNano(), a.Size)
	}
	if !a.CreateTime.IsZero() {
		b.CreatedAt = a.CreateTime.UTC()
	}
	return b
}

func (s bucketStore) download(ctx context.Context, name string, offset int64) (*download, error) {
	a, err := s.b.Attributes(ctx, s.prefix+name)
	if err != nil {
		return nil, err
	}
	b := bucketBlob(name, a)
	if b.Size < offset {
		return nil, fmt.Errorf("%w: %d bytes", errBeyondEnd, b.Size)
	}
	d := &download{size: b.Size, etag: b.ETag, createdAt: b.CreatedAt, body: io.NopCloser(strings.NewReader(""))}
	if b.Size == offset {
		return d, nil
	}
	// Up to the size just seen, not to the end: the file may grow meanwhile, and what is read
	// must end where State.Size says.
	rd, err := s.b.NewRangeReader(ctx, s.prefix+name, offset, b.Size-offset, nil)
	if err != nil {
		return nil, err
	}
	d.body = rd
	return d, nil
}

// unchanged: the file only grows (see NewBucketReader), so its size is its content's version;
// the ETag of a copy also changes when the file is only touched or copied again.
func (bucketStore) unchanged(b Blob, st State) bool {
	return st.ETag != "" && b.Size == st.Size
}
