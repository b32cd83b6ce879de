// Package upload sends the agent's spooled security events to the hub:
// it packs them into secmsg messages of about MaxMessageSize bytes, sends
// them gzip-compressed to the device's publisher endpoint marked as
// security messages, and acknowledges them in the spool only when the hub
// stored them (at-least-once; the hub drops a resent event by its Id).
package upload

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/moatsec/moat/internal/agent/spool"
	"github.com/moatsec/moat/secmsg"
	"github.com/moatsec/moat/tokenclient"
)

// The marking of security messages (the hub's SecurityProperty and
// SecurityMarker; repeated here because the agent does not import the hub).
const (
	InterfaceIDHeader = "iothub-interface-id"
	SecurityAgentID   = "urn:azureiot:Security:SecurityAgent:1"
)

// BatchContentType sends several messages in one request (Event Hubs batch).
const BatchContentType = "application/vnd.microsoft.servicebus.json"

// Sender sends one request body to the device's publisher endpoint with its
// token. *tokenclient.Client implements it.
type Sender interface {
	SendWithHeader(ctx context.Context, body []byte, header http.Header) error
}

// Options configure an Uploader.
type Options struct {
	Spool        *spool.Spool
	Sender       Sender
	AgentVersion string
	AgentID      string
	// MaxMessageSize: events are packed into messages of at most this many
	// bytes of JSON (default 4096); an event larger than that goes alone.
	MaxMessageSize int
	// MaxRequest bounds the events of one request (default 512 KiB of JSON,
	// below the hub's default 1 MiB body limit).
	MaxRequest int
}

// Stats counts what the uploader did since the last TakeStats.
type Stats struct {
	Requests         int64 // HTTP requests that the hub accepted
	MessagesSent     int64 // security messages the hub stored
	EventsSent       int64
	BytesSent        int64 // request bodies as sent (compressed)
	BytesRaw         int64 // the security messages' JSON, before compression and batch framing
	LargestMessage   int64 // bytes of the largest message sent
	MessagesFailed   int64 // not delivered this time (network, 5xx, token); retried later
	MessagesRejected int64 // refused by the hub as invalid: dropped
	EventsRejected   int64
}

// Uploader drains the spool. Flush is not meant to be called concurrently.
type Uploader struct {
	o        Options
	envelope []byte // `{"AgentVersion":…,"Events":[`
	mu       sync.Mutex
	stats    Stats // since the last TakeStats
	total    Stats // since New
}

// New returns an Uploader.
func New(o Options) (*Uploader, error) {
	if o.Spool == nil || o.Sender == nil || o.AgentID == "" {
		return nil, errors.New("upload: Spool, Sender and AgentID are required")
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 4096
	}
	if o.MaxRequest <= 0 {
		o.MaxRequest = 512 << 10
	}
	env, err := json.Marshal(struct {
		AgentVersion         string `json:"AgentVersion"`
		AgentID              string `json:"AgentId"`
		MessageSchemaVersion string `json:"MessageSchemaVersion"`
	}{o.AgentVersion, o.AgentID, secmsg.SchemaVersion})
	if err != nil {
		return nil, err
	}
	u := &Uploader{o: o, envelope: append(env[:len(env)-1], `,"Events":[`...)}
	return u, nil
}

// SetMaxMessageSize changes the packing size (remote configuration).
func (u *Uploader) SetMaxMessageSize(n int) {
	u.mu.Lock()
	u.o.MaxMessageSize = n
	u.mu.Unlock()
}

// TakeStats returns the counts since the last call and resets them.
func (u *Uploader) TakeStats() Stats {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.stats
	u.stats = Stats{}
	return s
}

// Totals returns the counts since New.
func (u *Uploader) Totals() Stats {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.total
}

// add counts into both the window and the totals (u.mu held).
func (u *Uploader) add(f func(s *Stats)) {
	f(&u.stats)
	f(&u.total)
}

// Pending reports whether the spool holds events of priority p or higher.
func (u *Uploader) Pending(p spool.Priority) (bool, error) {
	items, err := u.o.Spool.Peek(1, 1)
	if err != nil || len(items) == 0 {
		return false, err
	}
	return items[0].Prio >= p, nil
}

// Flush sends the spooled events: the high-priority ones, and with low also
// the low-priority ones, in requests of up to MaxRequest bytes, until the
// spool holds no more of them or a request fails. It returns the first
// error that stopped it (the events stay spooled); events the hub refuses
// as invalid are dropped and counted, not returned as an error.
func (u *Uploader) Flush(ctx context.Context, low bool) error {
	for ctx.Err() == nil {
		u.mu.Lock()
		maxMsg, maxReq := u.o.MaxMessageSize, u.o.MaxRequest
		u.mu.Unlock()
		items, err := u.o.Spool.Peek(4096, maxReq)
		if err != nil {
			return fmt.Errorf("upload: spool: %w", err)
		}
		if !low {
			n := 0
			for n < len(items) && items[n].Prio == spool.High {
				n++
			}
			items = items[:n]
		}
		if len(items) == 0 {
			return nil
		}
		msgs := u.pack(items, maxMsg)
		if err := u.send(ctx, msgs); err != nil {
			return err
		}
		if err := u.o.Spool.Ack(items...); err != nil {
			return fmt.Errorf("upload: acknowledge: %w", err)
		}
	}
	return ctx.Err()
}

// message is one packed secmsg message and the events in it.
type message struct {
	body   []byte
	events int
}

// pack groups events (each a JSON secmsg event) into messages of at most
// max bytes, in order.
func (u *Uploader) pack(items []spool.Item, max int) []message {
	var out []message
	var cur []byte
	n := 0
	closeMsg := func() {
		if n > 0 {
			out = append(out, message{body: append(cur, "]}"...), events: n})
		}
		cur, n = nil, 0
	}
	for _, it := range items {
		if n > 0 && len(cur)+1+len(it.Data)+2 > max {
			closeMsg()
		}
		if n == 0 {
			cur = append(append([]byte{}, u.envelope...), it.Data...)
		} else {
			cur = append(append(cur, ','), it.Data...)
		}
		n++
	}
	closeMsg()
	return out
}

// send delivers messages in one request (a batch when there are several).
// A request the hub refuses as invalid is retried message by message so
// that only the invalid ones are dropped.
func (u *Uploader) send(ctx context.Context, msgs []message) error {
	err := u.request(ctx, msgs)
	var he *tokenclient.HubError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &he) && (he.Status == http.StatusBadRequest || he.Status == http.StatusRequestEntityTooLarge):
		if len(msgs) == 1 {
			u.mu.Lock()
			u.add(func(s *Stats) {
				s.MessagesRejected++
				s.EventsRejected += int64(msgs[0].events)
			})
			u.mu.Unlock()
			return nil // dropped: the hub will never accept it
		}
		for _, m := range msgs {
			if err := u.send(ctx, []message{m}); err != nil {
				return err
			}
		}
		return nil
	default:
		u.mu.Lock()
		u.add(func(s *Stats) { s.MessagesFailed += int64(len(msgs)) })
		u.mu.Unlock()
		return err
	}
}

func (u *Uploader) request(ctx context.Context, msgs []message) error {
	var raw []byte
	h := http.Header{"Content-Encoding": {"gzip"}}
	if len(msgs) == 1 {
		raw = msgs[0].body
		h.Set("Content-Type", "application/json")
		h.Set(InterfaceIDHeader, SecurityAgentID)
	} else {
		type item struct {
			Body           string            `json:"Body"`
			UserProperties map[string]string `json:"UserProperties"`
		}
		batch := make([]item, len(msgs))
		props := map[string]string{InterfaceIDHeader: SecurityAgentID}
		for i, m := range msgs {
			batch[i] = item{Body: string(m.body), UserProperties: props}
		}
		var err error
		if raw, err = json.Marshal(batch); err != nil {
			return err
		}
		h.Set("Content-Type", BatchContentType)
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	if err := u.o.Sender.SendWithHeader(ctx, z.Bytes(), h); err != nil {
		return err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.add(func(s *Stats) {
		s.Requests++
		s.MessagesSent += int64(len(msgs))
		s.BytesSent += int64(z.Len())
		for _, m := range msgs {
			s.EventsSent += int64(m.events)
			s.BytesRaw += int64(len(m.body))
			s.LargestMessage = max(s.LargestMessage, int64(len(m.body)))
		}
	})
	return nil
}

// Encode turns an event into the JSON the spool keeps, after checking that
// the hub would accept it (so that no invalid event can block the spool).
func Encode(agentVersion, agentID string, ev secmsg.Event) ([]byte, error) {
	if ev.Payload == nil {
		ev.Payload = []secmsg.Item{}
	}
	if err := secmsg.NewMessage(agentVersion, agentID, ev).Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
