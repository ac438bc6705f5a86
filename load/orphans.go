package load

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// RemoveOrphans deletes the temporary files that killed writers left in a file lake: partition
// and ledger objects are written as "<key>.<random>.tmp" beside their destination and renamed
// when complete, so a process killed before the rename leaves one behind. It looks in the
// directories this Lake value has written into, plus dirs (relative to the root), not below them:
// a killed run's leftovers lie where its retry writes again, and sweeping only those keeps a
// run's cost independent of the lake's size (readers never see a .tmp file; one nothing rewrites
// only takes disk space). Only files older than olderThan go (a running writer's file is younger
// than any sane threshold); it returns how many. Object-store lakes have nothing to remove here:
// an upload that was never completed is not an object (abort stale multipart uploads with the
// bucket's lifecycle rule).
func (l *Lake) RemoveOrphans(ctx context.Context, olderThan time.Duration, dirs ...string) (int, error) {
	if l.root == "" {
		return 0, nil
	}
	l.mu.Lock()
	for d := range l.written {
		dirs = append(dirs, d)
	}
	l.mu.Unlock()
	sort.Strings(dirs)
	cutoff := time.Now().Add(-olderThan)
	n := 0
	for i, d := range dirs {
		if i > 0 && d == dirs[i-1] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		dir := filepath.Join(l.root, filepath.FromSlash(d))
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, err
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".tmp") {
				continue
			}
			info, err := e.Info()
			if err != nil || !info.ModTime().Before(cutoff) {
				continue
			}
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
