package eventlog

import (
	"context"
	"fmt"
	"time"
)

// PartitionInfo describes the retained events of one partition.
type PartitionInfo struct {
	Empty            bool
	FirstSequence    uint64    // sequence of the oldest retained event; 0 if Empty
	LastSequence     uint64    // sequence of the newest event; 0 if Empty
	LastEnqueuedTime time.Time // of the newest event, UTC; zero if Empty
}

// PartitionInfo reports the first and last retained events of a partition
// (two direct gets: the last record, whose Moat-Count header gives the last
// event's index, and the first record). Sequences are not contiguous, so
// LastSequence-FirstSequence is not a count. ErrNoHub, ErrNoPartition,
// ErrCorrupt (the last record cannot be decoded) or ErrUnavailable.
func (l *Log) PartitionInfo(ctx context.Context, hub string, partition int) (PartitionInfo, error) {
	if err := l.usable("partition info"); err != nil {
		return PartitionInfo{}, err
	}
	h, err := l.partition(ctx, hub, partition)
	if err != nil {
		return PartitionInfo{}, wrap("partition info", err)
	}
	c := l.pick()
	subj := h.subjects[partition]
	gctx, cancel := l.withTimeout(ctx)
	defer cancel()
	g, err := newDirectGetter(c.nc, h.stream)
	if err != nil {
		return PartitionInfo{}, wrap("partition info", err)
	}
	defer g.close()

	last, err := g.last(gctx, subj)
	if err != nil {
		return PartitionInfo{}, l.directFailed(ctx, "partition info", hub, err)
	}
	if last == nil {
		return PartitionInfo{Empty: true}, nil
	}
	lastSeq, lastTime, err := directMeta(last)
	if err != nil {
		return PartitionInfo{}, fmt.Errorf("eventlog: partition info %s/%d: %w", hub, partition, err)
	}
	rec, err := storedRecord(last.Header, last.Data)
	if err != nil {
		return PartitionInfo{}, corrupt(hub, partition, lastSeq, err)
	}
	info := PartitionInfo{
		FirstSequence:    eventSeq(lastSeq, 0),
		LastSequence:     eventSeq(lastSeq, rec.n-1),
		LastEnqueuedTime: lastTime.UTC(),
	}

	first, _, err := g.next(gctx, subj, 1, 1)
	if err != nil {
		return PartitionInfo{}, l.directFailed(ctx, "partition info", hub, err)
	}
	if len(first) > 0 { // else everything aged out between the two gets but the last
		firstSeq, _, err := directMeta(first[0])
		if err != nil {
			return PartitionInfo{}, fmt.Errorf("eventlog: partition info %s/%d: %w", hub, partition, err)
		}
		info.FirstSequence = eventSeq(min(firstSeq, lastSeq), 0)
	}
	return info, nil
}
