package load

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"gocloud.dev/blob"
)

// MaxAttempts is how many runs try an unreadable version of a source object before it is
// quarantined: skipped until the object changes (a new ETag) or an operator acknowledges it.
// Until then every run that skips it is partial and its hours get no success marker, so a
// scheduler never sees an hour as complete while data is missing.
const MaxAttempts = 3

// Acknowledgement is an operator's acceptance that a quarantined version of an object is lost
// (`permlake quarantine ack`): runs then skip it without reporting the hour partial.
type Acknowledgement struct {
	At   time.Time `json:"at"`
	By   string    `json:"by,omitempty"`
	Note string    `json:"note,omitempty"`
}

// IsQuarantined reports whether o, the latest ledger record of an object version, is a read that
// failed MaxAttempts times or more.
func (o SourceObject) IsQuarantined() bool { return o.Error != "" && o.Attempts >= MaxAttempts }

// Quarantined returns the quarantined objects of every source and scope in the ledger delivered
// on the days from..to (inclusive, UTC), acknowledged or not, sorted by source, scope and key.
// An object read successfully since (or changed and read again) is not listed.
func (l *Lake) Quarantined(ctx context.Context, from, to time.Time) ([]SourceObject, error) {
	sources, err := l.listDirs(ctx, "_manifests/ingested/")
	if err != nil {
		return nil, err
	}
	var out []SourceObject
	for _, sdir := range sources {
		source, ok := strings.CutPrefix(strings.TrimSuffix(sdir[len("_manifests/ingested/"):], "/"), "source=")
		if !ok || !sourceNamePattern.MatchString(source) {
			continue
		}
		scopes, err := l.listDirs(ctx, sdir)
		if err != nil {
			return nil, err
		}
		for _, adir := range scopes {
			scope, ok := strings.CutPrefix(strings.TrimSuffix(adir[len(sdir):], "/"), "account_id=")
			if !ok || validateScopeID(scope) != nil {
				continue
			}
			for day := from.UTC().Truncate(24 * time.Hour); !day.After(to); day = day.AddDate(0, 0, 1) {
				got, err := l.Ingested(ctx, source, scope, day)
				if err != nil {
					return nil, err
				}
				for _, o := range got {
					if o.IsQuarantined() {
						out = append(out, o)
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.AccountID != b.AccountID {
			return a.AccountID < b.AccountID
		}
		return a.Key < b.Key
	})
	return out, nil
}

// Acknowledge records ack on each quarantined object: a new ledger record of the same version
// that later runs read as the latest. Objects not quarantined are refused (named in the error)
// and nothing is written.
func (l *Lake) Acknowledge(ctx context.Context, runID string, objs []SourceObject, ack Acknowledgement) error {
	recs := make([]SourceObject, 0, len(objs))
	for _, quarantined := range objs {
		if !quarantined.IsQuarantined() {
			return fmt.Errorf("%s is not quarantined", quarantined.Key)
		}
		o := quarantined
		o.Acknowledged = &ack
		o.RunID, o.IngestedAt = runID, ack.At.UTC()
		// The acknowledgement must be the object's latest record even when this machine's clock
		// is behind the one of the run that quarantined it.
		if !o.IngestedAt.After(quarantined.IngestedAt) {
			o.IngestedAt = quarantined.IngestedAt.Add(time.Millisecond)
		}
		recs = append(recs, o)
	}
	return l.RecordIngested(ctx, runID, recs)
}

// listDirs returns the "directories" right under prefix (keys up to the next "/").
func (l *Lake) listDirs(ctx context.Context, prefix string) ([]string, error) {
	var dirs []string
	token := blob.FirstPageToken
	for n := 0; ; n++ {
		page, next, err := l.bucket.ListPage(ctx, token, l.pageSize(n), &blob.ListOptions{Prefix: prefix, Delimiter: "/"})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, obj := range page {
			if obj.IsDir {
				dirs = append(dirs, obj.Key)
			}
		}
		if len(next) == 0 {
			return dirs, nil
		}
		token = next
	}
}
