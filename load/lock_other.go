//go:build !unix

package load

import "sync"

var dirLocks sync.Map // directory -> *sync.Mutex

// lockDir serialises commits into dir within this process; without flock(2) two processes
// sharing a file lake are not excluded here (use an object-store lake for that).
func lockDir(dir string) (func(), error) {
	m, _ := dirLocks.LoadOrStore(dir, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock, nil
}
