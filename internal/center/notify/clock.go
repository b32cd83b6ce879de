package notify

import "github.com/moatsec/moat/internal/clock"

// Clock is the notifier's time: when the digest is due, how long a retry
// waits, what Date a message carries. Tests pass a simulated one.
type Clock = clock.Clock

// RealClock is the system clock.
type RealClock = clock.Real
