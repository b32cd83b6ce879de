package detect

import (
	"context"
	"sync"
)

// MemoryBaseline is a Baseline in memory, for tests and simulations. Safe
// for concurrent use.
type MemoryBaseline struct {
	mu     sync.Mutex
	values map[[2]string]map[string]bool // (device, rule) → values
}

// NewMemoryBaseline returns an empty baseline.
func NewMemoryBaseline() *MemoryBaseline {
	return &MemoryBaseline{values: map[[2]string]map[string]bool{}}
}

// Remember implements Baseline.
func (b *MemoryBaseline) Remember(_ context.Context, device, rule, value string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := [2]string{device, rule}
	m := b.values[k]
	if m == nil {
		m = map[string]bool{}
		b.values[k] = m
	}
	if m[value] {
		return false, nil
	}
	m[value] = true
	return true, nil
}

// Learned implements Baseline.
func (b *MemoryBaseline) Learned(_ context.Context, device, rule string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.values[[2]string{device, rule}]) > 0, nil
}
