package center

import (
	"context"
	"sync"

	"github.com/moatsec/moat/internal/store"
)

// BaselineStore is what StoreBaseline needs of the metadata store.
type BaselineStore interface {
	RememberValues(ctx context.Context, values []store.BaselineValue) (isNew []bool, err error)
}

// DefaultBaselineCache is how many known values a StoreBaseline keeps in
// memory by default.
const DefaultBaselineCache = 1 << 20

// StoreBaseline is the newvalue rules' memory (detect.Baseline) in the
// metadata store. A device has learned a rule once a marker is stored for
// it (put on the first question, which the engine asks once per device
// before learning), under the rule id with a '#' suffix: no rule id has
// one, so no value can imitate it.
//
// Values known to be stored are also kept in memory, so that a value seen
// again (a port in every snapshot difference, a user logging in daily)
// costs no write to the store's single writer; the memory is dropped
// whole when it reaches its size, and per device by Forget, which the
// server calls on every change to a device (deleting one deletes its
// baseline).
type StoreBaseline struct {
	store BaselineStore
	max   int

	mu    sync.Mutex
	known map[string]map[ruleValue]struct{} // by device
	n     int
}

type ruleValue struct{ rule, value string }

// NewStoreBaseline returns a StoreBaseline keeping up to max known values
// in memory (≤ 0: DefaultBaselineCache).
func NewStoreBaseline(st BaselineStore, max int) *StoreBaseline {
	if max <= 0 {
		max = DefaultBaselineCache
	}
	return &StoreBaseline{store: st, max: max, known: map[string]map[ruleValue]struct{}{}}
}

// Remember adds value to the device's baseline for rule and reports
// whether it was new.
func (b *StoreBaseline) Remember(ctx context.Context, device, rule, value string) (bool, error) {
	k := ruleValue{rule, value}
	b.mu.Lock()
	_, ok := b.known[device][k]
	b.mu.Unlock()
	if ok {
		return false, nil
	}
	isNew, err := b.store.RememberValues(ctx, []store.BaselineValue{{Device: device, Rule: rule, Value: value}})
	if err != nil {
		return false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n >= b.max {
		clear(b.known)
		b.n = 0
	}
	m := b.known[device]
	if m == nil {
		m = map[ruleValue]struct{}{}
		b.known[device] = m
	}
	if _, ok := m[k]; !ok {
		m[k] = struct{}{}
		b.n++
	}
	return isNew[0], nil
}

// Learned reports whether the device has a baseline for rule, marking it
// learned.
func (b *StoreBaseline) Learned(ctx context.Context, device, rule string) (bool, error) {
	isNew, err := b.Remember(ctx, device, rule+"#learned", "learned")
	return !isNew, err
}

// Forget drops what is kept in memory of the device's baseline.
func (b *StoreBaseline) Forget(device string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n -= len(b.known[device])
	delete(b.known, device)
}
