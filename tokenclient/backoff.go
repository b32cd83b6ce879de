package tokenclient

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Backoff is how long a [Client] waits before another token request after
// one failed, when the service gave no Retry-After. The n-th consecutive
// failure waits Min·2ⁿ⁻¹, at most Max, then varied by ±Jitter so that a
// fleet refused at the same moment does not come back at the same moment.
// The zero Backoff is the default: 1 s to 5 min, ±20%.
type Backoff struct {
	Min time.Duration // first delay (default 1s)
	Max time.Duration // longest delay before jitter (default 5m)
	// Jitter is the relative spread, in [0, 1) (default 0.2: ±20%). A
	// negative value means none.
	Jitter float64
	// Rand returns numbers in [0, 1) that pick the jitter (default
	// math/rand/v2.Float64). Tests may pass a fixed source. It is never
	// called concurrently by one Client.
	Rand func() float64
}

func (b Backoff) withDefaults() (Backoff, error) {
	if b.Min == 0 {
		b.Min = time.Second
	}
	if b.Max == 0 {
		b.Max = 5 * time.Minute
	}
	switch {
	case b.Jitter == 0:
		b.Jitter = 0.2
	case b.Jitter < 0:
		b.Jitter = 0
	case b.Jitter >= 1:
		return b, fmt.Errorf("tokenclient: Backoff.Jitter %v: want less than 1", b.Jitter)
	}
	if b.Rand == nil {
		b.Rand = rand.Float64
	}
	if b.Min < 0 || b.Max < b.Min {
		return b, fmt.Errorf("tokenclient: Backoff: want 0 <= Min (%s) <= Max (%s)", b.Min, b.Max)
	}
	return b, nil
}

// delay is the wait after the n-th consecutive failure (n >= 1).
func (b Backoff) delay(n int) time.Duration {
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		if d > b.Max/2 {
			d = b.Max
			break
		}
		d *= 2
	}
	d = min(d, b.Max)
	if b.Jitter > 0 {
		r := b.Rand()
		if r < 0 || r >= 1 {
			r = 0.5
		}
		f := float64(d) * (1 + b.Jitter*(2*r-1))
		if f >= math.MaxInt64 {
			return math.MaxInt64
		}
		d = time.Duration(f)
	}
	return d
}
