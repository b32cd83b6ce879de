package hub

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/eventlog"
	"github.com/moatsec/moat/internal/store"
)

// Read limits.
const (
	DefaultReadLimit = 100
	MaxReadLimit     = 1000
	maxCheckpointMD  = 1024
)

func (c *Core) partition(hub string, partition int) (string, error) {
	h, err := CanonicalHub(hub)
	if err != nil {
		return "", err
	}
	meta, ok := c.lookupHub(h)
	if !ok {
		return "", apierr.NotFound("hub_not_found", "hub %q does not exist", h)
	}
	if partition < 0 || partition >= meta.Partitions {
		return "", apierr.NotFound("partition_not_found", "hub %q has partitions 0..%d", h, meta.Partitions-1)
	}
	return h, nil
}

// Read returns events of one partition from sequence from on, waiting up to
// wait for the first one when none is there yet.
func (c *Core) Read(ctx context.Context, hub string, partition int, from uint64, limit int, wait time.Duration) ([]eventlog.Event, uint64, error) {
	h, err := c.partition(hub, partition)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	limit = min(limit, MaxReadLimit)
	if from == 0 {
		from = 1
	}
	evs, next, err := c.log.Read(ctx, h, partition, from, limit, wait)
	if errors.Is(err, eventlog.ErrNoHub) {
		return nil, 0, apierr.NotFound("hub_not_found", "hub %q does not exist", h)
	} else if errors.Is(err, eventlog.ErrCorrupt) {
		// Retrying cannot help; the message names the record to skip.
		return nil, 0, apierr.Wrap(err, http.StatusInternalServerError, "corrupt_record", "%v", err)
	} else if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, logErr(err)
	}
	return evs, next, nil
}

// PartitionInfo reports the first and last retained sequence of a partition.
func (c *Core) PartitionInfo(ctx context.Context, hub string, partition int) (eventlog.PartitionInfo, error) {
	h, err := c.partition(hub, partition)
	if err != nil {
		return eventlog.PartitionInfo{}, err
	}
	info, err := c.log.PartitionInfo(ctx, h, partition)
	if errors.Is(err, eventlog.ErrNoHub) {
		return info, apierr.NotFound("hub_not_found", "hub %q does not exist", h)
	} else if err != nil {
		return info, logErr(err)
	}
	return info, nil
}

// PutCheckpoint records a consumer group's position in a partition.
func (c *Core) PutCheckpoint(ctx context.Context, cp store.Checkpoint) (store.Checkpoint, error) {
	h, err := c.partition(cp.Hub, cp.Partition)
	if err != nil {
		return store.Checkpoint{}, err
	}
	g, err := CanonicalGroup(cp.ConsumerGroup)
	if err != nil {
		return store.Checkpoint{}, err
	}
	if len(cp.Metadata) > maxCheckpointMD {
		return store.Checkpoint{}, apierr.BadRequest("metadata_too_large", "checkpoint metadata is limited to %d bytes", maxCheckpointMD)
	}
	if cp.Sequence > 1<<63-1 {
		return store.Checkpoint{}, apierr.BadRequest("invalid_sequence", "sequence out of range")
	}
	cp.Hub, cp.ConsumerGroup = h, g
	if err := c.store.PutCheckpoint(ctx, cp); err != nil {
		return store.Checkpoint{}, mapStoreErr(err)
	}
	cp, err = c.store.GetCheckpoint(ctx, h, g, cp.Partition)
	return cp, mapStoreErrNil(err)
}

// GetCheckpoint returns a consumer group's position in a partition.
func (c *Core) GetCheckpoint(ctx context.Context, hub, group string, partition int) (store.Checkpoint, error) {
	h, err := c.partition(hub, partition)
	if err != nil {
		return store.Checkpoint{}, err
	}
	g, err := CanonicalGroup(group)
	if err != nil {
		return store.Checkpoint{}, err
	}
	cp, err := c.store.GetCheckpoint(ctx, h, g, partition)
	if errors.Is(err, store.ErrNotFound) {
		return store.Checkpoint{}, apierr.NotFound("checkpoint_not_found", "consumer group %q has no checkpoint in partition %d", g, partition)
	}
	return cp, mapStoreErrNil(err)
}

// LogError maps an event-log failure for other front doors: 503
// log_unavailable with Retry-After.
func LogError(err error) error { return logErr(err) }
