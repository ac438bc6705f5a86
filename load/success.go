package load

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"gocloud.dev/blob"
)

// Success markers tell schedulers which hours are complete:
//
//	_manifests/success/date=YYYY-MM-DD/hour=HH/<cloud>-<id>.json   one account's or subscription's hour committed
//	_manifests/success/date=YYYY-MM-DD/hour=HH/_SUCCESS            every account of the run committed that hour
//
// A marker is written only after everything it vouches for was committed, and rewritten (same
// key) by a later run of the same hour, so an Airflow sensor can wait on the key of the hour (or of
// one account) without reading the lake.

// SuccessMarker is the content of one account's marker.
type SuccessMarker struct {
	Cloud       string    `json:"cloud"` // aws or azure
	ID          string    `json:"id"`    // account, subscription or tenant ID
	Hour        time.Time `json:"hour"`
	RunID       string    `json:"run_id"`
	CommittedAt time.Time `json:"committed_at"`
}

func successDir(hour time.Time) string {
	h := hour.UTC().Truncate(time.Hour)
	return fmt.Sprintf("_manifests/success/date=%s/hour=%02d/", h.Format("2006-01-02"), h.Hour())
}

// WriteSuccess writes the markers of hour: one per marker in ms and, when all is set, the hour's
// _SUCCESS. Call it only after the hour's data and ledger are committed.
func (l *Lake) WriteSuccess(ctx context.Context, hour time.Time, ms []SuccessMarker, all bool) error {
	dir := successDir(hour)
	for _, m := range ms {
		if err := validateScopeID(m.ID); err != nil {
			return err
		}
		if m.Cloud != "aws" && m.Cloud != "azure" {
			return fmt.Errorf("success marker of %s: unknown cloud %q", m.ID, m.Cloud)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		key := dir + m.Cloud + "-" + m.ID + ".json"
		l.wrote(key)
		if err := l.bucket.WriteAll(ctx, key, append(b, '\n'), &blob.WriterOptions{ContentType: "application/json"}); err != nil {
			return fmt.Errorf("write %s: %w", key, err)
		}
	}
	if !all {
		return nil
	}
	key := dir + "_SUCCESS"
	l.wrote(key)
	if err := l.bucket.WriteAll(ctx, key, nil, nil); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// Freshness is the latest committed hour of one account, subscription or tenant.
type Freshness struct {
	Cloud    string
	ID       string
	LastHour time.Time
	RunID    string
}

// Freshness returns, for every account with a success marker in the days before now (now's day
// included), its latest committed hour, sorted by cloud and ID.
func (l *Lake) Freshness(ctx context.Context, now time.Time, days int) ([]Freshness, error) {
	latest := map[string]Freshness{}
	day := now.UTC().Truncate(24 * time.Hour)
	for d := 0; d < days; d++ {
		prefix := fmt.Sprintf("_manifests/success/date=%s/", day.AddDate(0, 0, -d).Format("2006-01-02"))
		err := l.list(ctx, prefix, func(obj *blob.ListObject) error {
			if !strings.HasSuffix(obj.Key, ".json") {
				return nil
			}
			b, err := l.bucket.ReadAll(ctx, obj.Key)
			if err != nil {
				return fmt.Errorf("read %s: %w", obj.Key, err)
			}
			var m SuccessMarker
			if err := json.Unmarshal(b, &m); err != nil {
				return fmt.Errorf("%s: %w", obj.Key, err)
			}
			k := m.Cloud + "/" + m.ID
			if cur, ok := latest[k]; !ok || m.Hour.After(cur.LastHour) {
				latest[k] = Freshness{Cloud: m.Cloud, ID: m.ID, LastHour: m.Hour.UTC(), RunID: m.RunID}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]Freshness, 0, len(latest))
	for _, f := range latest {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Cloud != out[j].Cloud {
			return out[i].Cloud < out[j].Cloud
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// RecentRuns returns the last n run manifests, newest first (run IDs start with their UTC start
// time, so their names sort by time).
func (l *Lake) RecentRuns(ctx context.Context, n int) ([]RunManifest, error) {
	var keys []string
	err := l.list(ctx, "_manifests/runs/", func(obj *blob.ListObject) error {
		if path.Ext(obj.Key) == ".json" {
			keys = append(keys, obj.Key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	// Names sort by start second only: take every run of the n-th one's second too, then order
	// by the start time inside the manifests.
	cut := min(n, len(keys))
	if cut > 0 {
		second := path.Base(keys[cut-1])[:min(16, len(path.Base(keys[cut-1])))]
		for cut < len(keys) && strings.HasPrefix(path.Base(keys[cut]), second) {
			cut++
		}
	}
	var out []RunManifest
	for _, k := range keys[:cut] {
		b, err := l.bucket.ReadAll(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", k, err)
		}
		var m RunManifest
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartedAt.After(out[j].StartedAt) })
	return out[:min(n, len(out))], nil
}
