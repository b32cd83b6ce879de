package hub

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/eventlog"
)

// A send is a security message, not telemetry, when it carries this user
// property with this value, as Azure IoT's security agent marked its
// messages. Security messages go to the security stream (never to the hub's
// partitions), validated and with duplicate events dropped.
const (
	SecurityProperty = "iothub-interface-id"
	SecurityMarker   = "urn:azureiot:Security:SecurityAgent:1"
)

// AuthFailure is a request a hub refused by authorization, as filed in the
// security stream (source "hub") for the center.
type AuthFailure struct {
	ID            string    `json:"id"`
	Time          time.Time `json:"time"`
	Hub           string    `json:"hub"`
	Publisher     string    `json:"publisher,omitempty"` // the publisher the request was for
	Reason        string    `json:"reason"`              // the 401/403 reason code
	SourceAddress string    `json:"sourceAddress,omitempty"`
	KeyName       string    `json:"rule,omitempty"` // the key name the token named (skn)
}

// SourceHub files authorization failures in the security stream.
const SourceHub = "hub"

// ReasonSecurityNeedsPublisher refuses a security message sent to the hub
// or a partition instead of a publisher.
const ReasonSecurityNeedsPublisher = "security_requires_publisher"

// SourceAgent files agents' events in the security stream.
const SourceAgent = "agent"

// SecurityItem is one record a security message contributes to the security
// stream: one security event, with its id (for duplicate detection) and the
// JSON stored for it.
type SecurityItem struct {
	ID   string
	Data []byte
}

// SecurityParser validates a security message's body and splits it into
// items. An invalid body is refused with a typed *apierr.Error (400).
type SecurityParser func(body []byte, hub, device string, received time.Time) ([]SecurityItem, error)

// IsSecurity reports whether an event is marked as a security message. The
// property name is matched case-insensitively (HTTP headers arrive
// canonicalized).
func IsSecurity(e Event) bool {
	for k, v := range e.Properties {
		if len(k) == len(SecurityProperty) && equalFold(k, SecurityProperty) {
			s, _ := v.(string)
			return s == SecurityMarker
		}
	}
	return false
}

func equalFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// splitSecurity separates the security messages of a send from its
// telemetry and turns them into security stream records, refusing the whole
// send if one is invalid (nothing is stored then).
func (c *Core) splitSecurity(req SendRequest) (telemetry []Event, recs []eventlog.SecurityRecord, err error) {
	for i, e := range req.Events {
		if !IsSecurity(e) {
			telemetry = append(telemetry, e)
			continue
		}
		if c.parseSecurity == nil {
			return nil, nil, apierr.BadRequest("security_not_supported", "this server does not accept security messages")
		}
		// The device is the publisher the token proved; on the hub and
		// partition paths nothing proves who sent the message.
		if req.Publisher == "" {
			c.m.security.WithLabelValues("invalid").Inc()
			return nil, nil, apierr.BadRequest(ReasonSecurityNeedsPublisher,
				"security messages must be sent to a publisher endpoint (/{hub}/publishers/{device}/messages): the publisher is the device")
		}
		device := req.Publisher
		items, err := c.parseSecurity(e.Body, req.Hub, device, c.clock())
		if err != nil {
			c.m.security.WithLabelValues("invalid").Inc()
			var ae *apierr.Error
			if errors.As(err, &ae) && len(req.Events) > 1 {
				ae.Message = "event " + itoa(i) + ": " + ae.Message
			}
			return nil, nil, err
		}
		c.m.security.WithLabelValues("accepted").Inc()
		for _, it := range items {
			recs = append(recs, eventlog.SecurityRecord{Hub: req.Hub, Source: SourceAgent, Device: device, ID: it.ID, Data: it.Data})
		}
	}
	return telemetry, recs, nil
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for ; i > 0; i /= 10 {
		n--
		b[n] = byte('0' + i%10)
	}
	return string(b[n:])
}

// appendSecurity stores records in the security stream; duplicates (same
// device and event id within the stream's window) are dropped and counted.
func (c *Core) appendSecurity(ctx context.Context, recs []eventlog.SecurityRecord) error {
	dups, err := c.log.AppendSecurity(ctx, recs)
	if err != nil {
		return logErr(err)
	}
	c.m.securityEvents.WithLabelValues("stored").Add(float64(len(recs) - dups))
	c.m.securityEvents.WithLabelValues("duplicate").Add(float64(dups))
	return nil
}

// SecurityEnd is the sequence of the next security record (read from it for
// new records only).
func (c *Core) SecurityEnd(ctx context.Context) (uint64, error) {
	end, err := c.log.SecurityEnd(ctx)
	if err != nil {
		return 0, logErr(err)
	}
	return end, nil
}

// ReadSecurity returns a hub's security stream records (device "" = all)
// from sequence from on, waiting up to wait for the first one.
func (c *Core) ReadSecurity(ctx context.Context, hub, device string, from uint64, limit int, wait time.Duration) ([]eventlog.SecurityEntry, uint64, error) {
	h, err := CanonicalHub(hub)
	if err != nil {
		return nil, 0, err
	}
	if _, ok := c.lookupHub(h); !ok {
		return nil, 0, apierr.NotFound("hub_not_found", "hub %q does not exist", h)
	}
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	limit = min(limit, MaxReadLimit)
	es, next, err := c.log.ReadSecurity(ctx, eventlog.SecurityFilter{Hub: h, Device: device}, from, limit, wait)
	switch {
	case errors.Is(err, eventlog.ErrCorrupt):
		return nil, 0, apierr.Wrap(err, http.StatusInternalServerError, "corrupt_record", "%v", err)
	case err != nil:
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, logErr(err)
	}
	return es, next, nil
}
