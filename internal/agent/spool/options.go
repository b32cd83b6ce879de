package spool

import (
	"errors"
	"fmt"
	"time"
)

// Defaults and limits of [Options].
const (
	DefaultCapacity  = 10 << 20
	DefaultMaxRecord = 256 << 10
	// MaxRecordLimit is the largest MaxRecord accepted; Open also treats a
	// frame header announcing a longer payload as garbage.
	MaxRecordLimit = hardMaxRecord
	minSegmentSize = 4 << 10
	maxSegmentSize = 1 << 20
	// maxSegments bounds the number of segment files per priority implied
	// by Capacity/SegmentSize, and so the number of open files.
	maxSegments = 1024
	// maxSegmentFile: a segment file is never written past this size, and
	// only this much of a larger (foreign) file is read.
	maxSegmentFile = 1 << 30
)

// Options configures a [Spool]. The zero value is valid: 10 MiB, records up
// to 256 KiB, fsync on every Put, the system clock.
type Options struct {
	// Capacity bounds the total size of the segment files, in bytes
	// (default 10 MiB). The spool directory also holds a 76-byte state file
	// and an empty lock file.
	Capacity int64
	// SegmentSize is the size at which a segment file is closed and a new
	// one started (default Capacity/32, within 4 KiB–1 MiB, never more than
	// Capacity). When the spool is full, space is reclaimed a whole segment
	// at a time, so this is also the granularity of drops.
	SegmentSize int64
	// MaxRecord is the largest record accepted by Put, in bytes (default
	// 256 KiB, at most MaxRecordLimit). Larger records, and records whose
	// frame exceeds Capacity, are refused with a *RecordTooLargeError.
	MaxRecord int
	// SyncInterval selects the fsync policy. 0 (the default): every Put
	// fsyncs before it returns, so a returned Put survives a power cut.
	// > 0: group fsync: Put returns after write(2), which survives the
	// agent's crash or kill -9 but not a power cut, and a background
	// goroutine fsyncs every SyncInterval (and Sync and Close do).
	SyncInterval time.Duration
	// Now is the clock used for record times and ages (default time.Now).
	Now func() time.Time
}

// ErrOptions reports invalid Options.
var ErrOptions = errors.New("spool: invalid options")

// withDefaults validates o and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Capacity < 0:
		return o, fmt.Errorf("%w: negative Capacity %d", ErrOptions, o.Capacity)
	case o.SegmentSize < 0:
		return o, fmt.Errorf("%w: negative SegmentSize %d", ErrOptions, o.SegmentSize)
	case o.MaxRecord < 0 || o.MaxRecord > MaxRecordLimit:
		return o, fmt.Errorf("%w: MaxRecord %d not within 0..%d", ErrOptions, o.MaxRecord, MaxRecordLimit)
	case o.SyncInterval < 0:
		return o, fmt.Errorf("%w: negative SyncInterval %s", ErrOptions, o.SyncInterval)
	}
	if o.Capacity == 0 {
		o.Capacity = DefaultCapacity
	}
	if o.Capacity <= headerSize {
		return o, fmt.Errorf("%w: Capacity %d cannot hold a record", ErrOptions, o.Capacity)
	}
	if o.MaxRecord == 0 {
		o.MaxRecord = DefaultMaxRecord
	}
	o.MaxRecord = int(min(int64(o.MaxRecord), o.Capacity-headerSize))
	if o.SegmentSize == 0 {
		o.SegmentSize = min(max(o.Capacity/32, minSegmentSize), maxSegmentSize)
	}
	o.SegmentSize = min(max(o.SegmentSize, o.Capacity/maxSegments), o.Capacity, maxSegmentFile)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}
