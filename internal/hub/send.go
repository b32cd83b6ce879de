package hub

import (
	"context"
	"errors"
	"hash/fnv"
	"net/http"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/eventlog"
)

// Event is one event as a front door received it.
type Event struct {
	Body         []byte
	Properties   map[string]any // user properties
	PartitionKey string         // from BrokerProperties; ignored when sent as a publisher
}

// SendRequest is a send to one hub: to the hub (Publisher "" and
// Partition -1), to a publisher, or to an explicit partition.
type SendRequest struct {
	Hub       string // canonical
	Publisher string // canonical, or ""
	Partition int    // explicit partition, or -1
	Events    []Event
}

// Send appends the events and returns once every one is durable in the log.
// The caller has authorized the request. A revoked publisher is refused here,
// whatever token it presented.
func (c *Core) Send(ctx context.Context, req SendRequest) ([]uint64, error) {
	h, ok := c.lookupHub(req.Hub)
	if !ok {
		return nil, apierr.NotFound("hub_not_found", "hub %q does not exist", req.Hub)
	}
	if len(req.Events) == 0 {
		return nil, apierr.BadRequest("empty_batch", "the request holds no events")
	}
	if err := c.CheckPublisher(req.Hub, req.Publisher); err != nil {
		return nil, err
	}
	if req.Partition >= h.Partitions {
		return nil, apierr.NotFound("partition_not_found", "hub %q has partitions 0..%d", req.Hub, h.Partitions-1)
	}
	telemetry, secRecs, err := c.splitSecurity(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.limit)
	defer cancel()
	if len(secRecs) > 0 {
		// Security first: if the telemetry append then fails, the client's
		// retry stores the telemetry and its security events are dropped
		// as duplicates.
		if err := c.appendSecurity(ctx, secRecs); err != nil {
			return nil, err
		}
	}
	if len(telemetry) == 0 {
		if req.Publisher != "" {
			c.seen.mark(pubKey{req.Hub, req.Publisher}, c.clock())
		}
		return nil, nil
	}
	req.Events = telemetry
	// Unkeyed events of one request stay together in one partition, as in
	// Event Hubs, so a batch keeps its order.
	unkeyed := req.Partition
	if unkeyed < 0 {
		unkeyed = int(c.rr.Add(1) % uint32(h.Partitions))
	}
	evs := make([]eventlog.Event, len(req.Events))
	var bytes int
	for i, e := range req.Events {
		key := e.PartitionKey
		if req.Publisher != "" {
			key = req.Publisher
		}
		p := unkeyed
		if req.Partition < 0 && key != "" {
			p = PartitionFor(key, h.Partitions)
		}
		evs[i] = eventlog.Event{Partition: p, Publisher: req.Publisher, PartitionKey: key, Properties: e.Properties, Body: e.Body}
		bytes += len(e.Body)
	}
	start := time.Now()
	seqs, err := c.log.Append(ctx, req.Hub, evs)
	c.m.appendSecs.Observe(time.Since(start).Seconds())
	switch {
	case errors.Is(err, eventlog.ErrNoHub):
		return nil, apierr.New(http.StatusNotFound, "hub_not_found", "hub %q does not exist", req.Hub)
	case errors.Is(err, eventlog.ErrCorrupt):
		return nil, apierr.Wrap(err, http.StatusInternalServerError, "corrupt_record", "the event log holds a record this server cannot decode")
	case errors.Is(err, eventlog.ErrTooLarge):
		return nil, apierr.Wrap(err, http.StatusRequestEntityTooLarge, "event_too_large",
			"an event is larger than the event log accepts in one message")
	case err != nil:
		return nil, logErr(err)
	}
	if req.Publisher != "" {
		c.seen.mark(pubKey{req.Hub, req.Publisher}, c.clock())
	}
	c.m.eventsIn.WithLabelValues(req.Hub).Add(float64(len(evs)))
	c.m.bytesIn.WithLabelValues(req.Hub).Add(float64(bytes))
	return seqs, nil
}

// CheckPublisher refuses a revoked publisher (401 publisher_revoked). Front
// doors call it right after authorization, before reading a request body, so
// a revoked device costs as little as possible; Send checks again.
func (c *Core) CheckPublisher(hub, publisher string) error {
	if publisher != "" && c.IsRevoked(hub, publisher) {
		c.m.authFailures.WithLabelValues(ReasonPublisherRevoked).Inc()
		return apierr.Unauthorized(ReasonPublisherRevoked, "publisher %q is revoked", publisher)
	}
	return nil
}

// PartitionFor maps a partition key to a partition: FNV-1a (32-bit) of the
// key's bytes modulo the partition count. Stable across restarts and nodes.
func PartitionFor(key string, partitions int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(partitions))
}
