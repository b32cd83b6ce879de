package agent_test

import (
	"context"
	"sync"
	"testing"
	"time"
)

// stepClock is the agent's time in the end-to-end tests: it stands still
// until the test moves it. agent.VirtualClock jumps to every deadline at
// once, which suits a run with an End but not a test that must act between
// two of the agent's tasks (append lines, rotate the log, stop the hub);
// stepClock blocks the agent's WaitUntil until the test's Advance reaches
// the deadline, and Advance returns once the agent has done everything that
// was due and waits again. Each step is therefore deterministic: the tasks
// due at the new time have run, and nothing else.
type stepClock struct {
	mu       sync.Mutex
	cond     *sync.Cond
	now      time.Time
	waiting  bool      // the agent is blocked in WaitUntil …
	deadline time.Time // … until this
	exited   bool      // Run returned
}

func newStepClock(start time.Time) *stepClock {
	c := &stepClock{now: start}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Now returns the clock's time.
func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// WaitUntil blocks until the test advanced the clock to t or ctx ends.
func (c *stepClock) WaitUntil(ctx context.Context, t time.Time) error {
	stop := context.AfterFunc(ctx, c.wake)
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.now.Before(t) {
		if err := ctx.Err(); err != nil {
			c.waiting = false
			c.cond.Broadcast()
			return err
		}
		c.waiting, c.deadline = true, t
		c.cond.Broadcast()
		c.cond.Wait()
	}
	c.waiting = false
	return ctx.Err()
}

func (c *stepClock) wake() {
	c.mu.Lock()
	c.cond.Broadcast()
	c.mu.Unlock()
}

// exit records that the agent's Run returned.
func (c *stepClock) exit() {
	c.mu.Lock()
	c.exited = true
	c.cond.Broadcast()
	c.mu.Unlock()
}

// idleTimeout bounds, in real time, how long one step of the agent may
// take before the test fails instead of hanging (the agent's HTTP requests
// go to an in-process server; a step takes milliseconds).
const idleTimeout = time.Minute

// settle waits until the agent waits for a time after now (or returned).
func (c *stepClock) settle(t testing.TB) {
	t.Helper()
	limit := time.Now().Add(idleTimeout)
	timer := time.AfterFunc(idleTimeout, c.wake)
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.exited && (!c.waiting || !c.deadline.After(c.now)) {
		if time.Now().After(limit) {
			t.Fatalf("the agent did not finish its work at %s within %s", c.now.Format(time.TimeOnly), idleTimeout)
		}
		c.cond.Wait()
	}
}

// Advance moves the clock forward by d and waits until the agent did what
// was due.
func (c *stepClock) Advance(t testing.TB, d time.Duration) {
	t.Helper()
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.cond.Broadcast()
	c.mu.Unlock()
	c.settle(t)
}
