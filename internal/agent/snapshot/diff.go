package snapshot

import (
	"cmp"
	"slices"
	"strconv"
)

// Op is what happened to an item between two snapshots.
type Op string

// Ops.
const (
	Added   Op = "added"
	Removed Op = "removed"
	Changed Op = "changed"
)

// Change is one difference. Old is nil for Added, New is nil for Removed.
type Change[T any] struct {
	Op  Op     `json:"op"`
	Key string `json:"key"`
	Old *T     `json:"old,omitempty"`
	New *T     `json:"new,omitempty"`
}

// Diff compares two lists of items by key. Items whose key repeats within
// a list are told apart by order of appearance ("key", "key#2", …).
// Changes are sorted by key, so the result is deterministic whatever the
// order of the inputs.
func Diff[T any](prev, cur []T, key func(T) string, equal func(a, b T) bool) []Change[T] {
	before := index(prev, key)
	after := index(cur, key)
	var out []Change[T]
	for k, p := range before {
		c, ok := after[k]
		switch {
		case !ok:
			out = append(out, Change[T]{Op: Removed, Key: k, Old: p})
		case !equal(*p, *c):
			out = append(out, Change[T]{Op: Changed, Key: k, Old: p, New: c})
		}
	}
	for k, c := range after {
		if _, ok := before[k]; !ok {
			out = append(out, Change[T]{Op: Added, Key: k, New: c})
		}
	}
	slices.SortFunc(out, func(a, b Change[T]) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

func index[T any](items []T, key func(T) string) map[string]*T {
	m := make(map[string]*T, len(items))
	seen := make(map[string]int, len(items))
	for i := range items {
		k := key(items[i])
		seen[k]++
		if n := seen[k]; n > 1 {
			k += "#" + strconv.Itoa(n)
		}
		m[k] = &items[i]
	}
	return m
}
