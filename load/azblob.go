package load

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
)

// azureBucket is a gocloud.dev/blob driver for one Azure Blob Storage container, on the azblob
// SDK. It stands in for gocloud.dev/blob/azureblob, whose v0.47.0 imports
// gocloud.dev/internal/useragent and through it google.golang.org/api/option: six Google Cloud
// modules this module does not require (and must not add). It keeps azureblob's contract where
// load relies on it, so that azureblob.OpenBucket can replace openAzureBucket unchanged:
//   - As types: Bucket **container.Client, Reader *azblobblob.DownloadStreamResponse,
//     WriterOptions.BeforeWrite **azblob.UploadStreamOptions, ReaderOptions.BeforeRead
//     **azblobblob.DownloadStreamOptions, Error **azcore.ResponseError;
//   - WriterOptions.IfNotExist is If-None-Match: *; a failed condition is FailedPrecondition;
//   - an upload is a block blob committed by UploadStream when the writer closes (Put Blob for
//     one block, Put Block List otherwise), so a cancelled context publishes nothing.
//
// Keys are used as blob names without escaping: permlake's keys are validated path segments.
// Copy and SignedURL are not needed by the lake and are Unimplemented.
type azureBucket struct {
	c *container.Client
}

// openAzureBucket returns the lake's blob.Bucket on container client c.
func openAzureBucket(c *container.Client) *blob.Bucket {
	return blob.NewBucket(&azureBucket{c: c})
}

var errAzureUnimplemented = errors.New("not implemented for azblob:// lakes")

const (
	azureBlockSize   = 4 << 20 // staged block size: a writer holds Concurrency+1 of them
	azureConcurrency = 2
)

func (b *azureBucket) ErrorCode(err error) gcerrors.ErrorCode {
	if errors.Is(err, errAzureUnimplemented) {
		return gcerrors.Unimplemented
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return gcerrors.Unknown
	}
	switch bloberror.Code(re.ErrorCode) {
	case bloberror.BlobAlreadyExists, bloberror.ConditionNotMet, bloberror.TargetConditionNotMet:
		return gcerrors.FailedPrecondition
	case bloberror.BlobNotFound, bloberror.ContainerNotFound:
		return gcerrors.NotFound
	case bloberror.AuthenticationFailed, bloberror.AuthorizationFailure, bloberror.AuthorizationPermissionMismatch:
		return gcerrors.PermissionDenied
	}
	switch re.StatusCode { // HEAD answers carry no error body
	case http.StatusNotFound:
		return gcerrors.NotFound
	case http.StatusPreconditionFailed:
		return gcerrors.FailedPrecondition
	case http.StatusForbidden, http.StatusUnauthorized:
		return gcerrors.PermissionDenied
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return gcerrors.ResourceExhausted
	}
	return gcerrors.Unknown
}

func (b *azureBucket) As(i any) bool {
	p, ok := i.(**container.Client)
	if ok {
		*p = b.c
	}
	return ok
}

func (b *azureBucket) ErrorAs(err error, i any) bool {
	if p, ok := i.(**azcore.ResponseError); ok {
		return errors.As(err, p)
	}
	return false
}

func (b *azureBucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	resp, err := b.c.NewBlobClient(key).GetProperties(ctx, nil)
	if err != nil {
		return nil, err
	}
	md := map[string]string{}
	for k, v := range resp.Metadata {
		if v != nil {
			md[k] = *v
		}
	}
	a := &driver.Attributes{
		ContentType: deref(resp.ContentType), CacheControl: deref(resp.CacheControl),
		ContentDisposition: deref(resp.ContentDisposition), ContentEncoding: deref(resp.ContentEncoding),
		ContentLanguage: deref(resp.ContentLanguage), Metadata: md, MD5: resp.ContentMD5,
		AsFunc: func(i any) bool {
			p, ok := i.(*azblobblob.GetPropertiesResponse)
			if ok {
				*p = resp
			}
			return ok
		},
	}
	if resp.ContentLength != nil {
		a.Size = *resp.ContentLength
	}
	if resp.LastModified != nil {
		a.ModTime = *resp.LastModified
	}
	if resp.CreationTime != nil {
		a.CreateTime = *resp.CreationTime
	}
	if resp.ETag != nil {
		a.ETag = string(*resp.ETag)
	}
	return a, nil
}

func (b *azureBucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	var marker, prefix *string
	if len(opts.PageToken) > 0 {
		marker = ptr(string(opts.PageToken))
	}
	if opts.Prefix != "" {
		prefix = ptr(opts.Prefix)
	}
	var maxResults *int32
	if opts.PageSize > 0 {
		maxResults = ptr(int32(opts.PageSize))
	}
	var (
		items    []*container.BlobItem
		prefixes []*container.BlobPrefix
		next     *string
	)
	if opts.Delimiter == "" {
		resp, err := b.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Marker: marker, Prefix: prefix, MaxResults: maxResults}).NextPage(ctx)
		if err != nil {
			return nil, err
		}
		items, next = resp.Segment.BlobItems, resp.NextMarker
	} else {
		resp, err := b.c.NewListBlobsHierarchyPager(opts.Delimiter, &container.ListBlobsHierarchyOptions{Marker: marker, Prefix: prefix, MaxResults: maxResults}).NextPage(ctx)
		if err != nil {
			return nil, err
		}
		items, prefixes, next = resp.Segment.BlobItems, resp.Segment.BlobPrefixes, resp.NextMarker
	}
	page := &driver.ListPage{}
	for _, it := range items {
		o := &driver.ListObject{Key: deref(it.Name)}
		if p := it.Properties; p != nil {
			if p.ContentLength != nil {
				o.Size = *p.ContentLength
			}
			if p.LastModified != nil {
				o.ModTime = *p.LastModified
			}
			o.MD5 = p.ContentMD5
		}
		item := *it
		o.AsFunc = func(i any) bool {
			p, ok := i.(*container.BlobItem)
			if ok {
				*p = item
			}
			return ok
		}
		page.Objects = append(page.Objects, o)
	}
	for _, p := range prefixes {
		bp := *p
		page.Objects = append(page.Objects, &driver.ListObject{Key: deref(p.Name), IsDir: true, AsFunc: func(i any) bool {
			q, ok := i.(*container.BlobPrefix)
			if ok {
				*q = bp
			}
			return ok
		}})
	}
	// Blobs and prefixes come in two lists; gocloud wants one in key order.
	sort.Slice(page.Objects, func(i, j int) bool { return page.Objects[i].Key < page.Objects[j].Key })
	if next != nil && *next != "" {
		page.NextPageToken = []byte(*next)
	}
	return page, nil
}

func (b *azureBucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	dl := &azblobblob.DownloadStreamOptions{Range: azblobblob.HTTPRange{Offset: offset}}
	switch {
	case length > 0:
		dl.Range.Count = length
	case length == 0:
		dl.Range.Count = 1 // Count 0 means "to the end": ask for one byte and return none
	}
	if opts != nil && opts.BeforeRead != nil {
		if err := opts.BeforeRead(func(i any) bool {
			p, ok := i.(**azblobblob.DownloadStreamOptions)
			if ok {
				*p = dl
			}
			return ok
		}); err != nil {
			return nil, err
		}
	}
	resp, err := b.c.NewBlobClient(key).DownloadStream(ctx, dl)
	if err != nil {
		return nil, err
	}
	r := &azureReader{resp: resp}
	// The retry reader resumes a broken body from where it stopped, with If-Match on the
	// ETag of the first answer, so a retried read never mixes two versions.
	r.body = resp.NewRetryReader(ctx, &azblobblob.RetryReaderOptions{MaxRetries: 3})
	if length == 0 {
		_ = r.body.Close()
		r.body = io.NopCloser(strings.NewReader(""))
	}
	r.attrs.ContentType = deref(resp.ContentType)
	if resp.LastModified != nil {
		r.attrs.ModTime = *resp.LastModified
	}
	r.attrs.Size = totalSize(resp.ContentRange, resp.ContentLength)
	return r, nil
}

// totalSize is the blob's size from a "bytes a-b/size" Content-Range, else the body length.
func totalSize(contentRange *string, contentLength *int64) int64 {
	if contentRange != nil {
		if _, total, ok := strings.Cut(*contentRange, "/"); ok {
			if n, err := strconv.ParseInt(total, 10, 64); err == nil {
				return n
			}
		}
	}
	if contentLength != nil {
		return *contentLength
	}
	return 0
}

type azureReader struct {
	resp  azblobblob.DownloadStreamResponse
	body  io.ReadCloser
	attrs driver.ReaderAttributes
}

func (r *azureReader) Read(p []byte) (int, error)           { return r.body.Read(p) }
func (r *azureReader) Close() error                         { return r.body.Close() }
func (r *azureReader) Attributes() *driver.ReaderAttributes { return &r.attrs }
func (r *azureReader) As(i any) bool                        { return asDownload(i, r.resp) }
func asDownload(i any, resp azblobblob.DownloadStreamResponse) bool {
	p, ok := i.(*azblobblob.DownloadStreamResponse)
	if ok {
		*p = resp
	}
	return ok
}

func (b *azureBucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	up := &azblob.UploadStreamOptions{
		BlockSize:   azureBlockSize,
		Concurrency: azureConcurrency,
		HTTPHeaders: &azblobblob.HTTPHeaders{BlobContentType: ptr(contentType)},
	}
	if opts.BufferSize > 0 {
		up.BlockSize = int64(opts.BufferSize)
	}
	if opts.MaxConcurrency > 0 {
		up.Concurrency = opts.MaxConcurrency
	}
	h := up.HTTPHeaders
	for v, dst := range map[string]**string{opts.CacheControl: &h.BlobCacheControl, opts.ContentDisposition: &h.BlobContentDisposition,
		opts.ContentEncoding: &h.BlobContentEncoding, opts.ContentLanguage: &h.BlobContentLanguage} {
		if v != "" {
			*dst = ptr(v)
		}
	}
	h.BlobContentMD5 = opts.ContentMD5
	if len(opts.Metadata) > 0 {
		up.Metadata = map[string]*string{}
		for k, v := range opts.Metadata {
			up.Metadata[k] = ptr(v)
		}
	}
	if opts.IfNotExist {
		any := azcore.ETagAny
		up.AccessConditions = &azblob.AccessConditions{ModifiedAccessConditions: &azblobblob.ModifiedAccessConditions{IfNoneMatch: &any}}
	}
	if opts.BeforeWrite != nil {
		if err := opts.BeforeWrite(func(i any) bool {
			p, ok := i.(**azblob.UploadStreamOptions)
			if ok {
				*p = up
			}
			return ok
		}); err != nil {
			return nil, err
		}
	}
	pr, pw := io.Pipe()
	w := &azureWriter{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		_, w.err = b.c.NewBlockBlobClient(key).UploadStream(ctx, pr, up)
		// Unblock a Write waiting on the pipe when the upload gave up.
		pr.CloseWithError(errors.Join(w.err, errors.New("upload ended")))
	}()
	return w, nil
}

// azureWriter pipes what is written into UploadStream, which commits the blob when the pipe
// ends cleanly; the writer's context (cancelled by blob.Writer on abort) fails the upload.
type azureWriter struct {
	pw   *io.PipeWriter
	done chan struct{}
	err  error // set before done closes
}

func (w *azureWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

func (w *azureWriter) Close() error {
	_ = w.pw.Close()
	<-w.done
	return w.err
}

func (b *azureBucket) Copy(context.Context, string, string, *driver.CopyOptions) error {
	return errAzureUnimplemented
}

func (b *azureBucket) Delete(ctx context.Context, key string, _ *driver.DeleteOptions) error {
	_, err := b.c.NewBlobClient(key).Delete(ctx, nil)
	return err
}

func (b *azureBucket) SignedURL(context.Context, string, *driver.SignedURLOptions) (string, error) {
	return "", errAzureUnimplemented
}

func (b *azureBucket) Close() error { return nil }

func ptr[T any](v T) *T { return &v }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
