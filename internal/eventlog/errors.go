package eventlog

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Sentinel errors. Every error this package returns wraps at most one of them
// (test with errors.Is); the original cause stays in the chain too.
var (
	// ErrUnavailable means JetStream could not do the work right now: no
	// connection, no responders, timeout, storage full, Log closed, or the
	// caller's context ended. Retrying later may succeed (HTTP 503).
	ErrUnavailable = errors.New("eventlog: unavailable")
	// ErrNoHub means the hub's stream does not exist.
	ErrNoHub = errors.New("eventlog: no such hub")
	// ErrNoPartition means the hub exists but has no such partition.
	ErrNoPartition = errors.New("eventlog: no such partition")
	// ErrTooLarge means an event does not fit in one NATS message (a
	// record holding only that event).
	ErrTooLarge = errors.New("eventlog: event too large")
	// ErrInvalid means an argument was rejected before reaching NATS.
	ErrInvalid = errors.New("eventlog: invalid argument")
	// ErrExists is returned by KV.Create when the key is present.
	ErrExists = errors.New("eventlog: key exists")
	// ErrNotFoundKey is returned by KV.Get and KV.Delete for an absent key.
	ErrNotFoundKey = errors.New("eventlog: key not found")
	// ErrCorrupt means a message stored on a partition is not a record this
	// package can decode (foreign or damaged data). The error names the
	// record's stream sequence R; its events, if any, have sequences
	// R<<16 .. R<<16|0xffff, so reading from (R+1)<<16 skips it.
	ErrCorrupt = errors.New("eventlog: corrupt record")
)

// errClosed is the cause reported for calls made after Close.
var errClosed = errors.New("log closed")

// unavailable wraps cause as ErrUnavailable for operation op.
func unavailable(op string, cause error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, cause)
}

// isTransient reports whether err is a connectivity, timeout, capacity or
// cancellation failure, i.e. one that should surface as ErrUnavailable.
func isTransient(err error) bool {
	switch {
	case errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrNoServers),
		errors.Is(err, nats.ErrSlowConsumer),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount),
		errors.Is(err, jetstream.ErrAsyncPublishTimeout),
		errors.Is(err, jetstream.ErrTooManyStalledMsgs),
		errors.Is(err, errClosed):
		return true
	}
	// Server-side failures (insufficient resources, storage full, no quorum)
	// carry HTTP-like 5xx codes.
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code >= 500
}

// wrap classifies err for operation op: transient failures wrap
// ErrUnavailable, errors already carrying a sentinel pass through, anything
// else is only annotated.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case isTransient(err):
		return unavailable(op, err)
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrNoHub),
		errors.Is(err, ErrNoPartition), errors.Is(err, ErrTooLarge),
		errors.Is(err, ErrInvalid), errors.Is(err, ErrExists),
		errors.Is(err, ErrNotFoundKey), errors.Is(err, ErrCorrupt):
		return err
	default:
		return fmt.Errorf("eventlog: %s: %w", op, err)
	}
}
