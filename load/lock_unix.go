//go:build unix

package load

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock(2) on directory dir and returns its release. flock locks
// belong to the open file description, so two Lake values in one process exclude each other as
// two processes do. Directories are locked rather than lock files so that the lake holds only
// its data.
func lockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}
