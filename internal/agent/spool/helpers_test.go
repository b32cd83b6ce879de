package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a hand-moved clock for tests.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustOpen(t testing.TB, dir string, o Options) *Spool {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func mustClose(t testing.TB, s *Spool) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func mustPut(t testing.TB, s *Spool, p Priority, recs ...string) {
	t.Helper()
	b := make([][]byte, len(recs))
	for i, r := range recs {
		b[i] = []byte(r)
	}
	if err := s.Put(p, b...); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

// peekAll returns every pending record, as "h:payload" / "l:payload".
func peekAll(t testing.TB, s *Spool) []string {
	t.Helper()
	items, err := s.Peek(1<<30, 1<<30)
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	return names(items)
}

func names(items []Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, fmt.Sprintf("%c:%s", it.Prio.String()[0], it.Data))
	}
	return out
}

// rec returns a payload of exactly n bytes starting with name.
func rec(name string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '.'
	}
	copy(b, name)
	return string(b)
}

// segments returns the segment files of priority p, oldest first.
func segments(t testing.TB, dir string, p Priority) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, p.String()+"-*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func lastSegment(t testing.TB, dir string, p Priority) string {
	t.Helper()
	m := segments(t, dir, p)
	if len(m) == 0 {
		t.Fatalf("no %s segment in %s", p, dir)
	}
	return m[len(m)-1]
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func mustStats(t testing.TB, s *Spool) Stats {
	t.Helper()
	st, err := s.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}
