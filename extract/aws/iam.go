package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"gocloud.dev/blob"

	"github.com/permlake/permlake/extract"
)

// IAMSnapshot is one account's raw entitlement data: every GetAccountAuthorizationDetails page in
// order and the credential report CSV (nil when unavailable).
type IAMSnapshot struct {
	AccountID        string
	GAADPages        [][]byte
	CredentialReport []byte
	SourceKey        string // where it was read from, for lineage
}

// IAMSource yields IAM snapshots. Implementations are safe for concurrent use by several accounts.
type IAMSource interface {
	// Snapshot returns the account's current snapshot. Errors name the account and the object or
	// call that failed.
	Snapshot(ctx context.Context, accountID string) (*IAMSnapshot, error)
}

// SnapshotFiles reads snapshots exported as objects:
// <Prefix>/<account>/gaad-0001.json, gaad-0002.json, … (GAAD response pages, documents URL-encoded
// as the API returns them, or one file as `aws iam get-account-authorization-details` or boto3
// writes it, documents as JSON objects: transform.GAAD reads both) and
// <Prefix>/<account>/credential-report.csv. The demo organization is written this way; so can an
// offline export be.
type SnapshotFiles struct {
	Bucket *blob.Bucket
	Prefix string
}

// Snapshot implements IAMSource.
func (s *SnapshotFiles) Snapshot(ctx context.Context, accountID string) (*IAMSnapshot, error) {
	if err := extract.ValidateAccountID(accountID); err != nil {
		return nil, err
	}
	dir := path.Join(strings.Trim(s.Prefix, "/"), accountID) + "/"
	dir = strings.TrimPrefix(dir, "/")
	it := s.Bucket.List(&blob.ListOptions{Prefix: dir})
	var pages []string
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("account %s: list %s: %w", accountID, dir, err)
		}
		name := path.Base(obj.Key)
		if strings.HasPrefix(name, "gaad-") && strings.HasSuffix(name, ".json") {
			pages = append(pages, obj.Key)
		}
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("account %s: no GetAccountAuthorizationDetails pages (gaad-*.json) under %s", accountID, dir)
	}
	sort.Strings(pages)
	snap := &IAMSnapshot{AccountID: accountID, SourceKey: dir}
	for _, k := range pages {
		b, err := s.Bucket.ReadAll(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("account %s: read %s: %w", accountID, k, err)
		}
		snap.GAADPages = append(snap.GAADPages, b)
	}
	report := dir + "credential-report.csv"
	b, err := s.Bucket.ReadAll(ctx, report)
	switch {
	case err == nil:
		snap.CredentialReport = b
	case isNotFound(err):
	default:
		return nil, fmt.Errorf("account %s: read %s: %w", accountID, report, err)
	}
	return snap, nil
}
