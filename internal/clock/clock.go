// Package clock is time for the parts of Moat that must run on a simulated
// clock: the agent (a simulated day in seconds), the notifier (the daily
// digest, retry waits). Real is the system's; Virtual jumps to each
// deadline at once. It imports only the standard library (the agent uses it).
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and waits for it.
type Clock interface {
	Now() time.Time
	// WaitUntil returns at t, or with ctx's error when ctx ends first.
	WaitUntil(ctx context.Context, t time.Time) error
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// WaitUntil sleeps until t.
func (Real) WaitUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Virtual is simulated time: WaitUntil moves it forward at once. Once End
// is reached it stops its user as a cancelled context would.
type Virtual struct {
	mu  sync.Mutex
	now time.Time
	End time.Time // zero = never
}

// NewVirtual starts simulated time at start, ending at end (zero = never).
func NewVirtual(start, end time.Time) *Virtual { return &Virtual{now: start, End: end} }

// Now returns the simulated time.
func (c *Virtual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// WaitUntil jumps to t; at or past End it returns context.Canceled.
func (c *Virtual) WaitUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.End.IsZero() && !t.Before(c.End) {
		c.now = c.End
		return context.Canceled
	}
	if t.After(c.now) {
		c.now = t
	}
	return nil
}

// Advance moves simulated time forward by d.
func (c *Virtual) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves simulated time to t (backwards too).
func (c *Virtual) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// AdvanceTo moves simulated time to t if t is later.
func (c *Virtual) AdvanceTo(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}
