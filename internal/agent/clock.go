package agent

import (
	"context"
	"sync"
	"time"
)

// Clock is the agent's time: the real one, or a simulated one that jumps
// to each deadline at once (moat-agent bench footprint).
type Clock interface {
	Now() time.Time
	// WaitUntil returns at t, or with ctx's error when ctx ends first.
	WaitUntil(ctx context.Context, t time.Time) error
}

// RealClock is the system clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// WaitUntil sleeps until t.
func (RealClock) WaitUntil(ctx context.Context, t time.Time) error {
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

// VirtualClock is simulated time: WaitUntil moves it forward at once. It
// stops the agent (as a cancelled context would) once End is reached.
type VirtualClock struct {
	mu  sync.Mutex
	now time.Time
	End time.Time // zero = never
}

// NewVirtualClock starts simulated time at start.
func NewVirtualClock(start, end time.Time) *VirtualClock {
	return &VirtualClock{now: start, End: end}
}

// Now returns the simulated time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// WaitUntil jumps to t; past End it returns context.Canceled.
func (c *VirtualClock) WaitUntil(ctx context.Context, t time.Time) error {
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

// Advance moves simulated time forward by d (tests).
func (c *VirtualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
