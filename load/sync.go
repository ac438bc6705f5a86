package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"gocloud.dev/blob"

	"github.com/permlake/permlake/schemas"
)

// The embedded DuckDB here has no httpfs (extensions cannot be downloaded), so the models read an
// object-store lake through a local copy: SyncTo mirrors the partitions the look-back window needs
// into a directory, downloading only objects that changed since the last sync and deleting local
// files whose object is gone; after the first copy it follows the commit journal, so its cost
// follows the new data, not the lake's size.

// SyncStats says what a sync did.
type SyncStats struct {
	Mode       string // "full" (every object listed) or "journal" (only the partitions the commit journal named)
	Objects    int    // partition objects in the window (held by the copy after the sync)
	Listed     int    // partitions (journal) or tables (full) listed
	Downloaded int    // objects changed and fetched
	Bytes      int64  // bytes fetched
	Removed    int    // local files whose object is gone or left the window
}

// syncIndex is the copy's record of what each local file was when fetched, and how far the
// commit journal has been followed.
type syncIndex struct {
	Version int                  `json:"version"`
	Objects map[string]syncEntry `json:"objects"`
	// JournalSince is when the last full sync started; Seen holds the journal entries read since
	// (key → commit time), so that an entry is acted on once.
	JournalSince time.Time            `json:"journal_since"`
	Seen         map[string]time.Time `json:"journal_seen"`
	// WindowDay is the first day the copy holds.
	WindowDay string `json:"window_day"`
}

const syncIndexVersion = 2

// syncEntry is an object's version as listed: MD5 when the store reports one (not for every
// upload), and always size and modification time.
type syncEntry struct {
	MD5     string    `json:"md5,omitempty"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
}

const syncIndexFile = ".permlake-sync.json"

// journalMargin is how far before the newest journal entry already read a sync lists again:
// entries are dated by the writers' clocks, which may lag this one's.
const journalMargin = 24 * time.Hour

var partitionDate = regexp.MustCompile(`/date=(\d{4}-\d{2}-\d{2})/`)

// SyncTo mirrors into dir every table's partition objects whose date is on or after since's UTC
// day (every event hour and every snapshot the models can read for a window starting then). A
// file lake needs no copy: SyncTo refuses it (use Root).
//
// The first sync, one after the copy's index was lost, or one with full set lists every object
// of the lake. Later ones follow the commit journal (see journal.go): they list only the
// partitions its new entries name, and drop what left the window, so an hourly sync costs what
// the hour committed, not what the lake holds. A partition changed without a journal entry (an
// object deleted by hand or by a lifecycle rule inside the window) reaches the copy with the next
// full sync.
//
// Files are written beside their destination and renamed, so an interrupted sync leaves whole
// files; the index is written last, so an interrupted sync re-checks what it fetched next time.
func (l *Lake) SyncTo(ctx context.Context, dir string, since time.Time, full bool) (SyncStats, error) {
	var st SyncStats
	if l.root != "" {
		return st, fmt.Errorf("sync %s: a file lake is read in place", l.url)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, err
	}
	idx := syncIndex{}
	if b, err := os.ReadFile(filepath.Join(dir, syncIndexFile)); err == nil {
		if err := json.Unmarshal(b, &idx); err != nil || idx.Version != syncIndexVersion {
			idx = syncIndex{} // another layout: fetch everything again
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return st, err
	}
	if idx.Objects == nil || idx.Seen == nil || idx.JournalSince.IsZero() {
		full = true
	}
	if idx.Objects == nil {
		idx.Objects = map[string]syncEntry{}
	}
	sinceDay := since.UTC().Format("2006-01-02")
	started := time.Now().UTC()
	var err error
	if full {
		st.Mode = "full"
		err = l.syncFull(ctx, dir, sinceDay, started, &idx, &st)
	} else {
		st.Mode = "journal"
		err = l.syncJournal(ctx, dir, sinceDay, &idx, &st)
	}
	if err != nil {
		return st, err
	}
	// What left the window (it moves a day at a time).
	if idx.WindowDay != sinceDay {
		for key := range idx.Objects {
			if m := partitionDate.FindStringSubmatch(key); m != nil && m[1] < sinceDay {
				if err := l.removeLocal(dir, key, &idx, &st); err != nil {
					return st, err
				}
			}
		}
	}
	idx.WindowDay = sinceDay
	st.Objects = len(idx.Objects)
	var newest time.Time
	for _, at := range idx.Seen {
		if at.After(newest) {
			newest = at
		}
	}
	for k, at := range idx.Seen {
		if at.Before(newest.Add(-3 * journalMargin)) {
			delete(idx.Seen, k) // older than any later listing reaches
		}
	}
	idx.Version = syncIndexVersion
	b, err := json.Marshal(idx)
	if err != nil {
		return st, err
	}
	tmp := filepath.Join(dir, syncIndexFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return st, err
	}
	return st, os.Rename(tmp, filepath.Join(dir, syncIndexFile))
}

// syncFull lists every table. The journal is read first: each entry there now names a commit the
// listing sees, so later syncs need not look at its partitions again.
func (l *Lake) syncFull(ctx context.Context, dir, sinceDay string, started time.Time, idx *syncIndex, st *SyncStats) error {
	entries, err := l.Commits(ctx, started.Add(-journalMargin), nil)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, t := range schemas.All {
		st.Listed++
		if err := l.syncPrefix(ctx, dir, t.Name+"/", sinceDay, idx, st, seen); err != nil {
			return err
		}
	}
	for key := range idx.Objects {
		if !seen[key] {
			if err := l.removeLocal(dir, key, idx, st); err != nil {
				return err
			}
		}
	}
	idx.JournalSince = started
	idx.Seen = map[string]time.Time{}
	for _, c := range entries {
		idx.Seen[c.Key] = c.CommittedAt
	}
	return nil
}

// syncJournal lists the partitions named by journal entries not read before.
func (l *Lake) syncJournal(ctx context.Context, dir, sinceDay string, idx *syncIndex, st *SyncStats) error {
	from := idx.JournalSince
	for _, at := range idx.Seen {
		if at.After(from) {
			from = at
		}
	}
	entries, err := l.Commits(ctx, from.Add(-journalMargin), func(k string) bool { _, ok := idx.Seen[k]; return ok })
	if err != nil {
		return err
	}
	dirs := map[string]bool{}
	for _, c := range entries {
		for _, p := range c.Partitions {
			dirs[p.Dir] = true
		}
	}
	seen := map[string]bool{}
	for d := range dirs {
		if strings.Contains(d, "..") || schemas.ByName(strings.SplitN(d, "/", 2)[0]) == nil {
			return fmt.Errorf("sync: refusing journaled partition %q", d)
		}
		st.Listed++
		if err := l.syncPrefix(ctx, dir, d+"/", sinceDay, idx, st, seen); err != nil {
			return err
		}
	}
	if len(dirs) > 0 {
		for key := range idx.Objects { // objects gone from a journaled partition
			if dirs[path.Dir(key)] && !seen[key] {
				if err := l.removeLocal(dir, key, idx, st); err != nil {
					return err
				}
			}
		}
	}
	for _, c := range entries {
		idx.Seen[c.Key] = c.CommittedAt
	}
	return nil
}

// syncPrefix fetches the changed partition objects under prefix dated on or after sinceDay,
// marking every one listed in seen.
func (l *Lake) syncPrefix(ctx context.Context, dir, prefix, sinceDay string, idx *syncIndex, st *SyncStats, seen map[string]bool) error {
	return l.list(ctx, prefix, func(obj *blob.ListObject) error {
		if !strings.HasSuffix(obj.Key, ".parquet") {
			return nil
		}
		if m := partitionDate.FindStringSubmatch(obj.Key); m != nil && m[1] < sinceDay {
			return nil
		}
		if strings.Contains(obj.Key, "..") {
			return fmt.Errorf("sync: refusing object key %q", obj.Key)
		}
		seen[obj.Key] = true
		local := filepath.Join(dir, filepath.FromSlash(obj.Key))
		listed := syncEntry{MD5: fmt.Sprintf("%x", obj.MD5), Size: obj.Size, ModTime: obj.ModTime.UTC()}
		if e, ok := idx.Objects[obj.Key]; ok && e.MD5 == listed.MD5 && e.Size == listed.Size && e.ModTime.Equal(listed.ModTime) {
			if fi, err := os.Stat(local); err == nil && fi.Size() == obj.Size {
				return nil
			}
		}
		n, err := l.fetch(ctx, obj.Key, local)
		if err != nil {
			return err
		}
		st.Downloaded++
		st.Bytes += n
		// The listed version: an object rewritten while it was fetched lists newer next time.
		idx.Objects[obj.Key] = listed
		return nil
	})
}

// removeLocal drops key from the copy.
func (l *Lake) removeLocal(dir, key string, idx *syncIndex, st *SyncStats) error {
	delete(idx.Objects, key)
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(key))); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	st.Removed++
	return nil
}

// fetch downloads key to local (temp file + rename) and returns its size.
func (l *Lake) fetch(ctx context.Context, key, local string) (n int64, err error) {
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return 0, err
	}
	r, err := l.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	defer r.Close()
	f, err := os.CreateTemp(filepath.Dir(local), filepath.Base(local)+".*.tmp")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if n, err = io.Copy(f, r); err != nil {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	if err = f.Close(); err != nil {
		return 0, err
	}
	return n, os.Rename(f.Name(), local)
}
