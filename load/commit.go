package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// ErrConflict means an object changed between the moment a writer read it and its commit:
// another run committed the partition first (or took the ledger name). Nothing was published.
// Retrying reads the other run's rows and merges again, which loses and doubles nothing.
// Test with errors.Is; the error names the partition.
var ErrConflict = errors.New("changed by another run since it was read: retry")

// version identifies the content of an object as a writer read it.
type version struct {
	exists bool
	etag   string      // object stores: the ETag of the GET that read it
	file   os.FileInfo // file lakes: the file, held open by the reader so its inode is not reused
}

// precondition is what must still hold when a write commits.
type precondition struct {
	check bool    // false: unconditional (whole-object replaces that lose nothing)
	want  version // exists=false: the key must be absent; else it must still be this version
}

// ifUnchanged is the precondition of a writer that read v.
func ifUnchanged(v version) precondition { return precondition{check: true, want: v} }

// ifAbsent is the precondition of a write that must create its key.
var ifAbsent = precondition{check: true}

// writerOptions returns the blob options carrying cond to the store: If-None-Match: * through
// IfNotExist, If-Match through the driver's request (S3 transfer manager input, Blob upload
// options). File lakes check cond at close, under the directory lock (closeWriter).
func (l *Lake) writerOptions(contentType string, cond precondition) *blob.WriterOptions {
	o := &blob.WriterOptions{ContentType: contentType}
	if !cond.check {
		return o
	}
	if !cond.want.exists {
		o.IfNotExist = true
		return o
	}
	etag := cond.want.etag
	o.BeforeWrite = func(as func(any) bool) error {
		if l.root != "" {
			return nil
		}
		if etag == "" {
			return errors.New("the store gave no ETag for the object read: cannot commit conditionally")
		}
		var up *transfermanager.UploadObjectInput
		if as(&up) {
			// Sent on PutObject, or on CompleteMultipartUpload for a large object.
			up.IfMatch = sdkaws.String(etag)
			return nil
		}
		var az *azblob.UploadStreamOptions
		if as(&az) {
			// Sent on Put Blob, or on Put Block List for a large object.
			tag := azcore.ETag(etag)
			if az.AccessConditions == nil {
				az.AccessConditions = &azblob.AccessConditions{}
			}
			if az.AccessConditions.ModifiedAccessConditions == nil {
				az.AccessConditions.ModifiedAccessConditions = &azblobblob.ModifiedAccessConditions{}
			}
			az.AccessConditions.ModifiedAccessConditions.IfMatch = &tag
			return nil
		}
		return errors.New("the lake's storage driver cannot write conditionally")
	}
	return o
}

// closeWriter closes w, the writer of key opened with l.writerOptions(…, cond), publishing the
// object if cond holds. abort cancels w's context. A failed condition returns ErrConflict
// (wrapping the store's answer) and publishes nothing.
func (l *Lake) closeWriter(key string, w *blob.Writer, cond precondition, abort func()) error {
	if l.root == "" {
		return asConflict(w.Close())
	}
	// A file lake: fileblob renames on Close. The check and the rename happen under an
	// exclusive lock of the directory, which every permlake writer of the lake takes: the
	// compare-and-swap that object stores do server-side.
	path := filepath.Join(l.root, filepath.FromSlash(key))
	unlock, err := lockDir(filepath.Dir(path))
	if err != nil {
		abort()
		_ = w.Close()
		return err
	}
	defer unlock()
	if cond.check {
		if err := checkFile(path, cond.want); err != nil {
			abort()
			_ = w.Close()
			return err
		}
	}
	return asConflict(w.Close()) // fileblob's own IfNotExist check, under the lock too
}

// asConflict turns a failed write condition into ErrConflict.
func asConflict(err error) error {
	if err != nil && isConflict(err) {
		return &conflictError{cause: err}
	}
	return err
}

// checkFile says whether the file at path is still want (or still absent).
func checkFile(path string, want version) error {
	cur, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if want.exists {
			return &conflictError{cause: err}
		}
		return nil
	case err != nil:
		return err
	case !want.exists || !os.SameFile(cur, want.file):
		return &conflictError{cause: fmt.Errorf("%s was replaced", path)}
	}
	return nil
}

// isConflict says whether a write failed on its condition: 412 (S3 PreconditionFailed, Blob
// ConditionNotMet), Blob's 409 BlobAlreadyExists for If-None-Match, S3's 409
// ConditionalRequestConflict for a concurrent conditional write (FORMATS.md §6.3), and Blob's
// InvalidBlockList when a concurrent commit discarded the blocks this writer staged.
func isConflict(err error) bool {
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ConditionalRequestConflict" {
		return true
	}
	return bloberror.HasCode(err, bloberror.InvalidBlockList, bloberror.ConditionNotMet, bloberror.BlobAlreadyExists)
}

type conflictError struct{ cause error }

func (e *conflictError) Error() string        { return ErrConflict.Error() }
func (e *conflictError) Is(target error) bool { return target == ErrConflict }
func (e *conflictError) Unwrap() error        { return e.cause }

// readObject opens key for reading and says which version it is. It returns nil and a zero
// version when the object does not exist. On a file lake the file itself is returned (held open,
// its identity is the version); otherwise the object is downloaded into an unlinked temporary
// file (Parquet needs random access) and the version is the ETag of that very GET.
func (l *Lake) readObject(ctx context.Context, key string) (*os.File, version, error) {
	if l.root != "" {
		f, err := os.Open(filepath.Join(l.root, filepath.FromSlash(key)))
		if errors.Is(err, os.ErrNotExist) {
			return nil, version{}, nil
		}
		if err != nil {
			return nil, version{}, fmt.Errorf("open %s: %w", key, err)
		}
		st, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return nil, version{}, fmt.Errorf("open %s: %w", key, err)
		}
		return f, version{exists: true, file: st}, nil
	}
	r, err := l.bucket.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, version{}, nil
	}
	if err != nil {
		return nil, version{}, fmt.Errorf("open %s: %w", key, err)
	}
	defer r.Close()
	v := version{exists: true}
	var s3out s3.GetObjectOutput
	var azout azblobblob.DownloadStreamResponse
	switch {
	case r.As(&s3out):
		v.etag = sdkaws.ToString(s3out.ETag)
	case r.As(&azout) && azout.ETag != nil:
		v.etag = string(*azout.ETag)
	}
	f, err := os.CreateTemp("", "permlake-partition-*.tmp")
	if err != nil {
		return nil, version{}, fmt.Errorf("download %s: %w", key, err)
	}
	_ = os.Remove(f.Name()) // unlinked: the file goes away when closed, whatever happens
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return nil, version{}, fmt.Errorf("download %s: %w", key, err)
	}
	return f, v, nil
}
