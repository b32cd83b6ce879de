package store

import "math"

// MaxSequence is the largest Checkpoint.Sequence a backend accepts. SQL
// backends keep sequences in a signed 64-bit column, so PutCheckpoint rejects
// larger values instead of storing them bit-cast as negative numbers. At a
// billion events per second a partition takes 292 years to get there.
const MaxSequence uint64 = math.MaxInt64
