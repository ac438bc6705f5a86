// Package load writes rows into the lake: Hive-partitioned, zstd Parquet files published
// atomically, an ingestion ledger of every source object read, and run manifests. It knows
// storage through one API, gocloud.dev/blob (fileblob for a local directory, s3blob for S3 and
// S3-compatible stores, and for Azure Blob Storage a small driver on the azblob SDK, see
// azureBucket), not clouds' APIs: the caller builds the S3 or Blob client (endpoint,
// credentials, assumed role) and hands it over in Options.
//
// # Commit protocol
//
// A partition is one object, "<table>/<key>=<id>/date=…/hour=…/data.parquet", and a commit
// replaces that object whole. Object stores have no rename, but they need none here: a
// single-object PUT (S3 PutObject or CompleteMultipartUpload, Blob Put Blob or Put Block List)
// is atomic, so readers see the previous object or the new one, never a part, and the upload
// becomes visible only when the writer's Close succeeds; a failed Write or a done context
// aborts it (multipart uploads are aborted, uncommitted Blob blocks are never visible). A file
// lake gets the same from fileblob's temporary file and rename.
//
// Atomic replace alone would let two runs of the same hour lose rows: both read version A,
// both merge, the second PUT silently drops what the first added. A MergeWriter therefore
// remembers the version it read (the ETag of the GET, or on a file lake the open file itself)
// and commits conditionally: If-Match on that ETag, or If-None-Match: * when the partition did
// not exist (S3 and MinIO support both, FORMATS.md §6.3; Blob through its access conditions,
// §6.4). The loser of a race gets ErrConflict naming the partition and publishes nothing; its
// retry reads the winner's rows and merges again, so nothing is lost and, rows being keyed,
// nothing doubles. A file lake has no conditional rename: there the check and the rename happen
// under an exclusive flock(2) of the partition's directory, which every permlake writer takes,
// and the identity compared is the file's inode (held open since it was read, so it cannot be
// reused). This is one object per partition and no manifest per partition: with a conditional
// swap of the data object itself there is nothing a manifest would add, and no second object
// that a crash could leave out of step with the first.
//
// Ledger objects are created with If-None-Match: * (IfNotExist) and never overwritten; run
// manifests are whole-object replaces.
//
// load imports schemas only among permlake's packages; it must not import extract, transform
// or cmd.
package load

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/permlake/permlake/schemas"
)

// Lake is a lake root. It is safe for concurrent use.
type Lake struct {
	bucket *blob.Bucket
	root   string // local directory for a file lake
	url    string // canonical URL: file:///abs, s3://bucket[/prefix], azblob://container[/prefix]
	seq    atomic.Int64

	mu      sync.Mutex
	written map[string]bool // directories this value wrote into (file lakes: where orphans can be)
}

// wrote records that key is being written (see RemoveOrphans).
func (l *Lake) wrote(key string) {
	if l.root == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written == nil {
		l.written = map[string]bool{}
	}
	l.written[path.Dir(key)] = true
}

// Options says how OpenWith reaches an object-store lake. Credentials, endpoints and assumed
// roles are the caller's: load builds no credential chain of its own.
type Options struct {
	// S3 is the client of an s3:// lake, used as given (endpoint, path style, region,
	// credentials). When nil, one is built from AWS.
	S3 *s3.Client
	// AWS, when S3 is nil, is the configuration an S3 client is built from (the SDK default
	// chain or an assumed role's credentials, and the region), with S3Endpoint and S3PathStyle.
	AWS         *sdkaws.Config
	S3Endpoint  string // e.g. a MinIO URL; empty for AWS's own endpoint
	S3PathStyle bool   // MinIO and most S3-compatible stores want path-style addressing
	// AzureContainer is the client of an azblob:// lake's container (shared key, token
	// credential or SAS, on any account URL, Azurite included). Its URL must name the lake URL's
	// container.
	AzureContainer *container.Client
}

// Open opens the lake at rawURL with no client options: "file:///abs/dir", "file://rel/dir" or
// a plain directory path (created when missing). Object-store lakes need their clients: see
// OpenWith.
func Open(ctx context.Context, rawURL string) (*Lake, error) {
	return OpenWith(ctx, rawURL, Options{})
}

// OpenWith opens the lake at rawURL: a local directory (as Open), "s3://bucket[/prefix]" through
// opts.S3 or opts.AWS, or "azblob://container[/prefix]" through opts.AzureContainer. Opening
// does not contact the store; the first read or write reports a missing bucket or a denied
// credential.
func OpenWith(ctx context.Context, rawURL string, opts Options) (*Lake, error) {
	if !strings.Contains(rawURL, "://") {
		return openDir(rawURL, rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("lake URL %q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "file":
		return openDir(rawURL, strings.TrimPrefix(rawURL, "file://"))
	case "s3", "azblob":
	default:
		return nil, fmt.Errorf("lake URL %q: scheme %q is not supported (use file://, s3:// or azblob://)", rawURL, u.Scheme)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("lake URL %q: want %s://<name>[/prefix], without query or credentials", rawURL, u.Scheme)
	}
	prefix := strings.Trim(u.Path, "/")
	canonical := u.Scheme + "://" + u.Host
	if prefix != "" {
		canonical += "/" + prefix
	}
	var b *blob.Bucket
	if u.Scheme == "s3" {
		b, err = openS3(ctx, u.Host, opts)
	} else {
		b, err = openAzure(u.Host, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("lake %s: %w", canonical, err)
	}
	if prefix != "" {
		b = blob.PrefixedBucket(b, prefix+"/")
	}
	return &Lake{bucket: b, url: canonical}, nil
}

func openDir(rawURL, dir string) (*Lake, error) {
	if dir == "" {
		return nil, fmt.Errorf("lake URL %q: empty path", rawURL)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("lake %q: %w", rawURL, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("lake %q: %w", rawURL, err)
	}
	// NoTempDir: temporary files are written beside their destination ("<key>.<hex>.tmp", which no
	// *.parquet glob matches) so that the final rename is atomic on the same filesystem.
	b, err := fileblob.OpenBucket(abs, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		return nil, fmt.Errorf("open lake %s: %w", abs, err)
	}
	return &Lake{bucket: b, root: abs, url: "file://" + filepath.ToSlash(abs)}, nil
}

func openS3(ctx context.Context, bucket string, opts Options) (*blob.Bucket, error) {
	client := opts.S3
	if client == nil {
		if opts.AWS == nil {
			return nil, errors.New("an s3:// lake needs an S3 client or an AWS configuration (load.Options)")
		}
		client = s3.NewFromConfig(*opts.AWS, func(o *s3.Options) {
			if opts.S3Endpoint != "" {
				o.BaseEndpoint = sdkaws.String(opts.S3Endpoint)
			}
			o.UsePathStyle = opts.S3PathStyle
			// Stores without response checksums (MinIO, some S3-compatibles) must not flood the
			// log with "checksum skipped" lines on every partition read.
			o.DisableLogOutputChecksumValidationSkipped = true
		})
	}
	// The transfer manager s3blob uploads with takes its checksum setting from the bucket
	// options, not the client: pass the client's on.
	return s3blob.OpenBucket(ctx, client, bucket, &s3blob.Options{RequestChecksumCalculation: client.Options().RequestChecksumCalculation})
}

func openAzure(name string, opts Options) (*blob.Bucket, error) {
	c := opts.AzureContainer
	if c == nil {
		return nil, errors.New("an azblob:// lake needs a container client (load.Options.AzureContainer)")
	}
	cu, err := url.Parse(c.URL())
	if err != nil {
		return nil, fmt.Errorf("container client URL: %w", err)
	}
	if p := strings.Trim(cu.Path, "/"); p[strings.LastIndex(p, "/")+1:] != name {
		return nil, fmt.Errorf("the container client is for %s, not container %q", cu.Redacted(), name)
	}
	return openAzureBucket(c), nil
}

// Close releases the lake's storage handle.
func (l *Lake) Close() error { return l.bucket.Close() }

// Root is the local directory of a file lake ("" for object stores).
func (l *Lake) Root() string { return l.root }

// URL is the lake's canonical URL: "file:///abs/dir", "s3://bucket[/prefix]" or
// "azblob://container[/prefix]". It carries no credentials.
func (l *Lake) URL() string { return l.url }

// Bucket is the lake's storage.
func (l *Lake) Bucket() *blob.Bucket { return l.bucket }

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	uuidPattern      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

func validateAccountID(id string) error {
	if !accountIDPattern.MatchString(id) {
		return fmt.Errorf("invalid AWS account ID %q: want exactly 12 digits", id)
	}
	return nil
}

// validateID checks a partition or ledger ID for its kind before it reaches a path: 12 digits for
// an AWS account, a lower-case UUID for an Azure subscription or tenant.
func validateID(by schemas.Partitioning, id string) error {
	if by == schemas.ByAccountHour {
		return validateAccountID(id)
	}
	if !uuidPattern.MatchString(id) {
		return fmt.Errorf("invalid %s %q: want a lower-case UUID", by.Key(), id)
	}
	return nil
}

// Partition is one (account, hour) partition of a table: the AWS account, or the Azure
// subscription or tenant, that By names.
type Partition struct {
	ID   string               // 12-digit AWS account ID, or the Azure subscription or tenant ID (lower-case UUID)
	By   schemas.Partitioning // ByAccountHour (the zero value), BySubscriptionHour or ByTenantHour
	Hour time.Time            // truncated to the UTC hour by Dir
}

// Validate rejects IDs that are not of the partitioning's kind (before they reach a path) and a
// zero hour.
func (p Partition) Validate() error {
	if err := validateID(p.By, p.ID); err != nil {
		return err
	}
	if p.Hour.IsZero() {
		return fmt.Errorf("partition %s=%s has no hour", p.By.Key(), p.ID)
	}
	return nil
}

// validateFor checks p and that it is partitioned as t is.
func (p Partition) validateFor(t *schemas.Table) error {
	if p.By != t.Partitioning {
		return fmt.Errorf("table %s is partitioned by %s, not %s", t.Name, t.Partitioning.Key(), p.By.Key())
	}
	return p.Validate()
}

// Dir is the partition's folder under the lake root:
// "<table>/account_id=012345678901/date=2026-11-02/hour=07" (subscription_id=… or tenant_id=… for
// Azure tables).
func (p Partition) Dir(table string) string {
	h := p.Hour.UTC().Truncate(time.Hour)
	return fmt.Sprintf("%s/%s=%s/date=%s/hour=%02d", table, p.By.Key(), p.ID, h.Format("2006-01-02"), h.Hour())
}

// dataKey is the one object holding a partition's rows.
func (p Partition) dataKey(table string) string { return p.Dir(table) + "/data.parquet" }

// listPageSize is how many objects a listing asks for at a time (S3's maximum).
const listPageSize = 1000

// fileListPageSize is a file lake's page size after the first page. fileblob answers every page
// by walking the directory from its start (skipping the keys up to the page token) and statting
// each entry, so pages of listPageSize made listing n objects cost n²/2000 stats: the 19,310
// commit journal entries of a 1,000-account day took 2.3 s of every model build. The rest of a
// listing longer than one page is asked for in one more walk. Not the first page: gocloud
// allocates a page's capacity up front, and most listings (one account's ledger) are short.
const fileListPageSize = 1 << 17

// pageSize is the page size l's listings ask for, for their page'th page (from 0).
func (l *Lake) pageSize(page int) int {
	if l.root != "" && page > 0 {
		return fileListPageSize
	}
	return listPageSize
}

// listRetries is how many times a page of a listing is asked for again when it failed because
// an object vanished while it was being listed.
const listRetries = 5

// list calls fn with every object under prefix, in key order, a page at a time; fn's error
// stops the listing and is returned. fileblob reads a directory, then stats every entry: a
// concurrent writer's temporary file renamed away in between fails the whole page with
// NotFound (two runs of one file lake at once met it), so such a page is listed again — the
// same page token, so nothing is skipped or repeated.
func (l *Lake) list(ctx context.Context, prefix string, fn func(*blob.ListObject) error) error {
	token := blob.FirstPageToken
	for n := 0; ; n++ {
		var page []*blob.ListObject
		var next []byte
		var err error
		for attempt := 1; ; attempt++ {
			page, next, err = l.bucket.ListPage(ctx, token, l.pageSize(n), &blob.ListOptions{Prefix: prefix})
			if err == nil || gcerrors.Code(err) != gcerrors.NotFound || attempt == listRetries || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, obj := range page {
			if err := fn(obj); err != nil {
				return err
			}
		}
		if len(next) == 0 {
			return nil
		}
		token = next
	}
}
