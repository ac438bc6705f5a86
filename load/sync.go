package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
// files whose object is gone, so the copy's cost follows the new data, not the lake's size.

// SyncStats says what a sync did.
type SyncStats struct {
	Objects    int   // partition objects in the window
	Downloaded int   // of which changed and were fetched
	Bytes      int64 // bytes fetched
	Removed    int   // local files whose object no longer exists
}

// syncIndex is the copy's record of what each local file was when fetched.
type syncIndex map[string]syncEntry

// syncEntry is an object's version as listed: MD5 when the store reports one (not for every
// upload), and always size and modification time.
type syncEntry struct {
	MD5     string    `json:"md5,omitempty"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
}

const syncIndexFile = ".permlake-sync.json"

var partitionDate = regexp.MustCompile(`/date=(\d{4}-\d{2}-\d{2})/`)

// SyncTo mirrors into dir every table's partition objects whose date is on or after since's UTC
// day (every event hour and every snapshot the models can read for a window starting then). A
// file lake needs no copy: SyncTo refuses it (use Root). Files are written beside their
// destination and renamed, so an interrupted sync leaves whole files; the index is written last,
// so an interrupted sync re-checks what it fetched on the next call.
func (l *Lake) SyncTo(ctx context.Context, dir string, since time.Time) (SyncStats, error) {
	var st SyncStats
	if l.root != "" {
		return st, fmt.Errorf("sync %s: a file lake is read in place", l.url)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, err
	}
	idx := syncIndex{}
	if b, err := os.ReadFile(filepath.Join(dir, syncIndexFile)); err == nil {
		if err := json.Unmarshal(b, &idx); err != nil {
			return st, fmt.Errorf("sync index %s: %w (delete it to copy everything again)", filepath.Join(dir, syncIndexFile), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return st, err
	}
	sinceDay := since.UTC().Format("2006-01-02")
	seen := map[string]bool{}
	for _, t := range schemas.All {
		it := l.bucket.List(&blob.ListOptions{Prefix: t.Name + "/"})
		for {
			obj, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return st, fmt.Errorf("list %s: %w", t.Name, err)
			}
			if !strings.HasSuffix(obj.Key, ".parquet") {
				continue
			}
			if m := partitionDate.FindStringSubmatch(obj.Key); m != nil && m[1] < sinceDay {
				continue
			}
			if strings.Contains(obj.Key, "..") {
				return st, fmt.Errorf("sync: refusing object key %q", obj.Key)
			}
			st.Objects++
			seen[obj.Key] = true
			local := filepath.Join(dir, filepath.FromSlash(obj.Key))
			listed := syncEntry{MD5: fmt.Sprintf("%x", obj.MD5), Size: obj.Size, ModTime: obj.ModTime.UTC()}
			if e, ok := idx[obj.Key]; ok && e.MD5 == listed.MD5 && e.Size == listed.Size && e.ModTime.Equal(listed.ModTime) {
				if fi, err := os.Stat(local); err == nil && fi.Size() == obj.Size {
					continue
				}
			}
			n, err := l.fetch(ctx, obj.Key, local)
			if err != nil {
				return st, err
			}
			st.Downloaded++
			st.Bytes += n
			// The listed version: an object rewritten while it was fetched lists newer next time.
			idx[obj.Key] = listed
		}
	}
	for key := range idx {
		if seen[key] {
			continue
		}
		delete(idx, key)
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(key))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return st, err
		}
		st.Removed++
	}
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
