package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestVirtual(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	c := NewVirtual(t0, t0.Add(time.Hour))
	ctx := context.Background()
	if err := c.WaitUntil(ctx, t0.Add(10*time.Minute)); err != nil || !c.Now().Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("WaitUntil: %v at %v", err, c.Now())
	}
	if err := c.WaitUntil(ctx, t0); err != nil || !c.Now().Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("waiting for the past moved time back: %v", c.Now())
	}
	c.AdvanceTo(t0) // earlier: no effect
	c.Advance(time.Minute)
	if !c.Now().Equal(t0.Add(11 * time.Minute)) {
		t.Fatalf("Advance: %v", c.Now())
	}
	if err := c.WaitUntil(ctx, t0.Add(2*time.Hour)); !errors.Is(err, context.Canceled) || !c.Now().Equal(t0.Add(time.Hour)) {
		t.Fatalf("past End: %v at %v", err, c.Now())
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := NewVirtual(t0, time.Time{}).WaitUntil(cctx, t0.Add(time.Second)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestRealReturnsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Real{}).WaitUntil(ctx, time.Now().Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if err := (Real{}).WaitUntil(context.Background(), time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("past time: %v", err)
	}
}
