package load

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RemoveOrphans deletes the temporary files that killed writers left in a file lake: partition
// and ledger objects are written as "<key>.<random>.tmp" beside their destination and renamed
// when complete, so a process killed before the rename leaves one behind. Only files older than
// olderThan go (a running writer's file is younger than any sane threshold); it returns how many.
// Object-store lakes have nothing to remove here: an upload that was never completed is not an
// object (abort stale multipart uploads with the bucket's lifecycle rule).
func (l *Lake) RemoveOrphans(ctx context.Context, olderThan time.Duration) (int, error) {
	if l.root == "" {
		return 0, nil
	}
	cutoff := time.Now().Add(-olderThan)
	n := 0
	err := filepath.WalkDir(l.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".tmp") {
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		n++
		return nil
	})
	return n, err
}
