package notify

import (
	"context"
	"time"
)

// Clock is the notifier's time: when the digest is due, how long a retry
// waits, what Date a message carries. Tests pass a simulated one.
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
