package tokenclient

import (
	"math"
	"net/http"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b, err := Backoff{Rand: func() float64 { return 0.5 }}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300}
	for i, w := range want {
		if got := b.delay(i + 1); got != w*time.Second {
			t.Errorf("delay(%d) = %s, want %s", i+1, got, w*time.Second)
		}
	}
	if got := b.delay(math.MaxInt); got != 5*time.Minute {
		t.Errorf("delay(MaxInt) = %s", got)
	}
	huge := Backoff{Min: time.Second, Max: math.MaxInt64, Jitter: -1}
	if huge, err = huge.withDefaults(); err != nil {
		t.Fatal(err)
	}
	if got := huge.delay(100); got != math.MaxInt64 {
		t.Errorf("delay(100) with Max MaxInt64 = %d: overflowed", got)
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	for _, tc := range []struct {
		r    float64
		want time.Duration
	}{
		{0, 8 * time.Second},
		{0.5, 10 * time.Second},
		{0.75, 11 * time.Second},
		{-1, 10 * time.Second}, // out of range: no jitter
		{1, 10 * time.Second},
	} {
		b, err := Backoff{Min: 10 * time.Second, Rand: func() float64 { return tc.r }}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if got := b.delay(1); got != tc.want {
			t.Errorf("rand %v: delay %s, want %s", tc.r, got, tc.want)
		}
	}
	b, err := Backoff{Min: 10 * time.Second, Jitter: -1, Rand: func() float64 { return 0 }}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got := b.delay(1); got != 10*time.Second {
		t.Errorf("no jitter: delay %s", got)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"99999999999", time.Hour},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour},
	} {
		if got := retryAfter(tc.v, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tc.v, got, tc.want)
		}
	}
}
