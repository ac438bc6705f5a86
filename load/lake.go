// Package load writes rows into the lake: Hive-partitioned, zstd Parquet files published
// atomically, an ingestion ledger of every source object read, and run manifests. It knows
// storage (through gocloud.dev/blob), not clouds' APIs.
//
// load imports schemas only; it must not import extract, transform or cmd.
package load

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"

	"github.com/permlake/permlake/schemas"
)

// Lake is a lake root. It is safe for concurrent use.
type Lake struct {
	bucket *blob.Bucket
	root   string // local directory for a file lake
	seq    atomic.Int64
}

// Open opens the lake at rawURL: "file:///abs/dir", "file://rel/dir" or a plain directory path
// (created when missing). Object-store lakes come with their credential chains in a later
// release; their schemes are refused here with a clear error.
func Open(ctx context.Context, rawURL string) (*Lake, error) {
	dir := rawURL
	if strings.Contains(rawURL, "://") {
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("lake URL %q: %w", rawURL, err)
		}
		if u.Scheme != "file" {
			return nil, fmt.Errorf("lake URL %q: scheme %q is not supported yet (use file:// or a directory)", rawURL, u.Scheme)
		}
		dir = strings.TrimPrefix(rawURL, "file://")
	}
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
	return &Lake{bucket: b, root: abs}, nil
}

// Close releases the lake's storage handle.
func (l *Lake) Close() error { return l.bucket.Close() }

// Root is the local directory of a file lake ("" for object stores).
func (l *Lake) Root() string { return l.root }

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
