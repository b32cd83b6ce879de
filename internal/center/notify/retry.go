package notify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Retry policy.
const (
	RetryBase       = time.Second      // first wait (before jitter)
	RetryMaxWait    = 30 * time.Second // longest backoff wait (Retry-After may ask for more)
	MaxRetryElapsed = 2 * time.Minute  // no attempt starts later than this after the first
	EmailAttempts   = 3                // tries of one email
)

// outcome is one attempt's result.
type outcome struct {
	err   error
	retry bool          // worth another attempt
	after time.Duration // the server's Retry-After, 0 = none
}

// withRetries runs attempt up to tries times, waiting between tries with
// exponential backoff and jitter (or the server's Retry-After) on the
// clock, and never starting a try more than MaxRetryElapsed after the
// first. It returns the number of attempts made and the last error.
func (n *Notifier) withRetries(ctx context.Context, tries int, attempt func(context.Context) outcome) (int, error) {
	start := n.clock.Now()
	for i := 1; ; i++ {
		o := attempt(ctx)
		if o.err == nil {
			return i, nil
		}
		if !o.retry || i >= tries {
			return i, o.err
		}
		if ctx.Err() != nil {
			return i, fmt.Errorf("%w (stopped: the channel was removed or the notifier closed)", o.err)
		}
		wait := o.after
		if wait <= 0 {
			wait = backoff(i)
		}
		now := n.clock.Now()
		if now.Add(wait).Sub(start) > MaxRetryElapsed {
			return i, fmt.Errorf("%w (gave up: the next try in %s would pass the %s retry budget)", o.err, wait.Round(time.Second), MaxRetryElapsed)
		}
		if err := n.clock.WaitUntil(ctx, now.Add(wait)); err != nil {
			return i, fmt.Errorf("%w (stopped: the channel was removed or the notifier closed)", o.err)
		}
	}
}

// backoff is the wait after the n-th failed attempt: RetryBase·2^(n-1),
// at most RetryMaxWait, of which a random half ("equal jitter").
func backoff(n int) time.Duration {
	d := RetryMaxWait
	if n < 16 {
		d = min(RetryBase<<(n-1), RetryMaxWait)
	}
	return d/2 + rand.N(d/2+1)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date. 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, 7*24*3600)) * time.Second
	}
	if t, err := time.Parse(timeRFC1123GMT, v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 7*24*time.Hour)
		}
	}
	return 0
}

const timeRFC1123GMT = "Mon, 02 Jan 2006 15:04:05 GMT"

// safeError is an error whose text has been scrubbed of secrets. It does
// not unwrap, so that the original (secret-bearing) text cannot be
// reached through it.
type safeError struct{ msg string }

func (e *safeError) Error() string { return e.msg }

// scrub returns err with every non-trivial secret replaced by
// "[redacted]".
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return &safeError{msg: msg}
}

// isCanceled reports whether err comes from a cancelled context (not a
// deadline).
func isCanceled(err error) bool { return errors.Is(err, context.Canceled) }
