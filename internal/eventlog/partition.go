package eventlog

import (
	"context"
	"time"
)

// PartitionInfo describes the retained events of one partition.
type PartitionInfo struct {
	Empty            bool
	FirstSequence    uint64    // oldest retained event; 0 if Empty
	LastSequence     uint64    // newest event; 0 if Empty
	LastEnqueuedTime time.Time // of the newest event, UTC; zero if Empty
}

// PartitionInfo reports the first and last retained events of a partition
// (two direct gets). ErrNoHub, ErrNoPartition, or ErrUnavailable.
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
	last, err := l.get(ctx, c, hub, partition, directQuery{stream: h.stream, subj: subj, last: true, limit: 1})
	if err != nil || len(last) == 0 {
		return PartitionInfo{Empty: err == nil}, err
	}
	first, err := l.get(ctx, c, hub, partition, directQuery{stream: h.stream, subj: subj, seq: 1, limit: 1})
	if err != nil {
		return PartitionInfo{}, err
	}
	info := PartitionInfo{
		LastSequence:     last[0].Sequence,
		LastEnqueuedTime: last[0].EnqueuedTime,
		FirstSequence:    last[0].Sequence,
	}
	if len(first) > 0 { // else everything aged out between the two gets but the last
		info.FirstSequence = first[0].Sequence
	}
	return info, nil
}
