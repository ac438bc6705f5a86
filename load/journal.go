package load

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// The commit journal tells incremental readers (the model build) which partitions changed
// without listing the lake: every PartitionedWriter commit appends one immutable object naming
// the partitions it covered,
//
//	_manifests/commits/date=YYYY-MM-DD/<unix nanoseconds>-<random>.json
//
// dated by the writer's wall clock. It is written after the partitions are committed and before
// the caller records its source objects as ingested, so a partition can only change without a
// journal entry when the run dies in between — and then its source objects are read again by the
// next run, which commits and journals the same partitions. A journal entry may name a partition
// that did not change (nothing new to add): reading it again is harmless.
const journalPrefix = "_manifests/commits/"

// Commit is one journal entry.
type Commit struct {
	Key         string         `json:"-"` // the entry's object key, unique
	CommittedAt time.Time      `json:"committed_at"`
	Partitions  []PartitionRef `json:"partitions"`
}

// PartitionRef names a partition: its table and its directory below the lake root
// ("<table>/<key>=<id>/date=YYYY-MM-DD/hour=HH").
type PartitionRef struct {
	Table string `json:"table"`
	Dir   string `json:"dir"`
}

func journalDir(day time.Time) string {
	return fmt.Sprintf("%sdate=%s/", journalPrefix, day.UTC().Format("2006-01-02"))
}

// recordCommit appends a journal entry naming parts (nothing when parts is empty).
func (l *Lake) recordCommit(ctx context.Context, parts []PartitionRef) error {
	if len(parts) == 0 {
		return nil
	}
	now := time.Now().UTC()
	b, err := json.Marshal(Commit{CommittedAt: now, Partitions: parts})
	if err != nil {
		return err
	}
	for range 100 {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return err
		}
		key := fmt.Sprintf("%s%019d-%s.json", journalDir(now), now.UnixNano(), hex.EncodeToString(r[:]))
		err := l.createObject(ctx, key, "application/json", append(b, '\n'))
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", key, err)
		}
		return nil
	}
	return errors.New("write commit journal: no free name")
}

// Commits returns the journal entries of the days from since's UTC date through tomorrow (the
// writers' clocks may run ahead of this one), oldest first by CommittedAt, except those whose
// key seen reports (nil: none): the caller keeps the keys it has read, since entries are dated by
// other machines' clocks and a late-listed entry may be older than one already read. A zero since
// reads the whole journal. Cost: one listing per day covered and one read per entry not seen,
// independent of the lake's size.
func (l *Lake) Commits(ctx context.Context, since time.Time, seen func(key string) bool) ([]Commit, error) {
	var prefixes []string
	if since.IsZero() {
		prefixes = []string{journalPrefix}
	} else {
		end := time.Now().UTC().AddDate(0, 0, 1).Truncate(24 * time.Hour)
		for d := since.UTC().Truncate(24 * time.Hour); !d.After(end); d = d.AddDate(0, 0, 1) {
			prefixes = append(prefixes, journalDir(d))
		}
	}
	var out []Commit
	for _, prefix := range prefixes {
		err := l.list(ctx, prefix, func(obj *blob.ListObject) error {
			if obj.IsDir || !strings.HasSuffix(obj.Key, ".json") || seen != nil && seen(obj.Key) {
				return nil // a writer's temporary file, or read before
			}
			b, err := l.bucket.ReadAll(ctx, obj.Key)
			if err != nil {
				return fmt.Errorf("read %s: %w", obj.Key, err)
			}
			var c Commit
			if err := json.Unmarshal(b, &c); err != nil {
				return fmt.Errorf("read %s: %w", obj.Key, err)
			}
			c.Key = obj.Key
			out = append(out, c)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CommittedAt.Before(out[j].CommittedAt) })
	return out, nil
}

// lakeIDKey holds a random ID created with the lake's first model build: a lake deleted and
// written again under the same URL gets a new one, so state kept about the old lake (the
// models' rollups) is not trusted for the new.
const lakeIDKey = "_manifests/lake-id"

// InstanceID returns the lake's instance ID, creating it when the lake has none.
func (l *Lake) InstanceID(ctx context.Context) (string, error) {
	for range 3 {
		b, err := l.bucket.ReadAll(ctx, lakeIDKey)
		if err == nil {
			return strings.TrimSpace(string(b)), nil
		}
		if gcerrors.Code(err) != gcerrors.NotFound {
			return "", fmt.Errorf("read %s: %w", lakeIDKey, err)
		}
		var r [16]byte
		if _, err := rand.Read(r[:]); err != nil {
			return "", err
		}
		err = l.createObject(ctx, lakeIDKey, "text/plain", []byte(hex.EncodeToString(r[:])+"\n"))
		if err != nil && !errors.Is(err, ErrConflict) {
			return "", fmt.Errorf("write %s: %w", lakeIDKey, err)
		}
		// Created, or another build created it first: read what is there.
	}
	return "", fmt.Errorf("read %s: it keeps disappearing", lakeIDKey)
}

// Journal appends a journal entry naming the partitions of stats (nothing when empty), for
// writers other than PartitionedWriter (which journals its own commits): call it after the
// partitions are committed, e.g. after an entitlement snapshot's ReplacePartition calls.
func (l *Lake) Journal(ctx context.Context, stats []PartitionStats) error {
	refs := make([]PartitionRef, 0, len(stats))
	for _, st := range stats {
		refs = append(refs, PartitionRef{Table: st.Table, Dir: strings.TrimSuffix(st.Dir, "/")})
	}
	return l.recordCommit(ctx, refs)
}
