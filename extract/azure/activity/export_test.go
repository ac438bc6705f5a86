package activity

import (
	"context"
	"sync"
)

// RecordListPrefixes makes r record the prefix of every listing it asks its storage for, so that
// a test can check that only the window's days or hours are listed whatever the storage; take
// returns the prefixes recorded since the last call.
func RecordListPrefixes(r *Reader) (take func() []string) {
	rec := &prefixRecorder{store: r.store}
	r.store = rec
	return rec.take
}

type prefixRecorder struct {
	store
	mu       sync.Mutex
	prefixes []string
}

func (p *prefixRecorder) list(ctx context.Context, prefix string, keep func(string) bool) ([]Blob, error) {
	p.mu.Lock()
	p.prefixes = append(p.prefixes, prefix)
	p.mu.Unlock()
	return p.store.list(ctx, prefix, keep)
}

func (p *prefixRecorder) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.prefixes
	p.prefixes = nil
	return out
}
