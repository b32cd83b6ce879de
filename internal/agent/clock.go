package agent

import (
	"time"

	"github.com/moatsec/moat/internal/clock"
)

// Clock is the agent's time: the real one, or a simulated one that jumps
// to each deadline at once (moat-agent bench footprint, replay).
type Clock = clock.Clock

// RealClock is the system clock.
type RealClock = clock.Real

// VirtualClock is simulated time (see clock.Virtual).
type VirtualClock = clock.Virtual

// NewVirtualClock starts simulated time at start, ending at end (zero = never).
func NewVirtualClock(start, end time.Time) *VirtualClock { return clock.NewVirtual(start, end) }
