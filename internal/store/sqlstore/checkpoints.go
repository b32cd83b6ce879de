package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/moatsec/moat/internal/store"
)

const (
	checkpointColumns = `hub, consumer_group, partition, sequence, metadata, updated_at`

	putCheckpoint = `INSERT INTO checkpoints (` + checkpointColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (hub, consumer_group, partition) DO UPDATE
		SET sequence = excluded.sequence, metadata = excluded.metadata, updated_at = excluded.updated_at`
	getCheckpoint = `SELECT ` + checkpointColumns + ` FROM checkpoints
		WHERE hub = $1 AND consumer_group = $2 AND partition = $3`
	listCheckpoints = `SELECT ` + checkpointColumns + ` FROM checkpoints
		WHERE hub = $1 AND consumer_group = $2 ORDER BY partition`
)

// PutCheckpoint creates or replaces a checkpoint. The hub must exist
// (store.ErrNotFound otherwise) and the sequence must not exceed
// store.MaxSequence.
func (s *Store) PutCheckpoint(ctx context.Context, c store.Checkpoint) error {
	if c.Sequence > store.MaxSequence {
		return fmt.Errorf("put %s: sequence %d exceeds the supported maximum %d",
			checkpointRef(c.Hub, c.ConsumerGroup, c.Partition), c.Sequence, store.MaxSequence)
	}
	_, err := s.write.ExecContext(ctx, putCheckpoint,
		c.Hub, c.ConsumerGroup, c.Partition, int64(c.Sequence), c.Metadata, s.timestamp())
	if err != nil && s.dialect.IsForeignKeyViolation(err) {
		return fmt.Errorf("put %s: hub %q: %w", checkpointRef(c.Hub, c.ConsumerGroup, c.Partition), c.Hub, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", checkpointRef(c.Hub, c.ConsumerGroup, c.Partition), err)
	}
	return nil
}

// GetCheckpoint returns the checkpoint or store.ErrNotFound.
func (s *Store) GetCheckpoint(ctx context.Context, hub, consumerGroup string, partition int) (store.Checkpoint, error) {
	c, err := scanCheckpoint(s.read.QueryRowContext(ctx, getCheckpoint, hub, consumerGroup, partition))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Checkpoint{}, fmt.Errorf("%s: %w", checkpointRef(hub, consumerGroup, partition), store.ErrNotFound)
	}
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("get %s: %w", checkpointRef(hub, consumerGroup, partition), err)
	}
	return c, nil
}

// ListCheckpoints returns the checkpoints of one consumer group ordered by
// partition. An unknown hub or group has none: the result is empty, not an
// error.
func (s *Store) ListCheckpoints(ctx context.Context, hub, consumerGroup string) ([]store.Checkpoint, error) {
	cps, err := list(ctx, s, scanCheckpoint, listCheckpoints, hub, consumerGroup)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints of hub %q group %q: %w", hub, consumerGroup, err)
	}
	return cps, nil
}

func scanCheckpoint(row scanner) (store.Checkpoint, error) {
	var (
		c   store.Checkpoint
		seq int64
	)
	err := row.Scan(&c.Hub, &c.ConsumerGroup, &c.Partition, &seq, &c.Metadata, &c.UpdatedAt)
	if err == nil && seq < 0 {
		err = fmt.Errorf("corrupt sequence %d", seq) // excluded by a CHECK constraint
	}
	c.Sequence = uint64(seq)
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c, err
}

func checkpointRef(hub, consumerGroup string, partition int) string {
	return fmt.Sprintf("checkpoint of hub %q group %q partition %d", hub, consumerGroup, partition)
}
