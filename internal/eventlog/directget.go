package eventlog

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// Direct gets read stored messages without a consumer: a request on
// $JS.API.DIRECT.GET.<stream> is answered by the stream itself with the
// messages and server headers (Nats-Sequence, Nats-Time-Stamp, ...). Servers
// since 2.11 answer a "batch" request with up to that many messages followed
// by a "204 EOB" status; older servers ignore "batch" and answer one
// message, which we detect by its missing Nats-Num-Pending header.

const directGetPrefix = "$JS.API.DIRECT.GET."

// maxBatchBytes bounds one batched reply (the server stops after the
// message that reaches it) so it never overruns the subscription's pending
// limits; a larger read takes several requests.
const maxBatchBytes = 8 << 20

// directGetter sends direct gets to one stream and collects the replies on
// one inbox subscription. Requests are sequential: each one's replies are
// read completely before the next is sent.
type directGetter struct {
	nc     *nats.Conn
	stream string
	inbox  string
	sub    *nats.Subscription
}

func newDirectGetter(nc *nats.Conn, stream string) (*directGetter, error) {
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	return &directGetter{nc: nc, stream: stream, inbox: inbox, sub: sub}, nil
}

func (g *directGetter) close() { _ = g.sub.Unsubscribe() }

// next returns up to batch messages on subj with sequence >= seq, in
// sequence order. more reports whether further messages may follow (an old
// server answers one message per request, with more always set).
func (g *directGetter) next(ctx context.Context, subj string, seq uint64, batch int) (msgs []*nats.Msg, more bool, err error) {
	b := make([]byte, 0, 96+len(subj))
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"next_by_subj":"`...)
	b = append(b, subj...)
	b = append(b, '"')
	if batch > 1 {
		b = append(b, `,"batch":`...)
		b = strconv.AppendInt(b, int64(batch), 10)
		b = append(b, `,"max_bytes":`...)
		b = strconv.AppendInt(b, maxBatchBytes, 10)
	}
	b = append(b, '}')
	return g.request(ctx, b)
}

// last returns the last message on subj, or nil if there is none.
func (g *directGetter) last(ctx context.Context, subj string) (*nats.Msg, error) {
	msgs, _, err := g.request(ctx, []byte(`{"last_by_subj":"`+subj+`"}`))
	if err != nil || len(msgs) == 0 {
		return nil, err
	}
	return msgs[0], nil
}

func (g *directGetter) request(ctx context.Context, req []byte) ([]*nats.Msg, bool, error) {
	if err := g.nc.PublishRequest(directGetPrefix+g.stream, g.inbox, req); err != nil {
		return nil, false, err
	}
	var msgs []*nats.Msg
	for {
		m, err := g.sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, false, err
		}
		switch status := m.Header.Get(hdrStatus); status {
		case "":
			msgs = append(msgs, m)
			if m.Header.Get(hdrNumPending) == "" {
				// Single message (pre-2.11 server, or no batch asked): no EOB follows.
				return msgs, true, nil
			}
		case "204": // end of batch: more pending if the server stopped early (max bytes)
			return msgs, m.Header.Get(hdrNumPending) != "0", nil
		case "404": // nothing (more) at or after seq
			return msgs, false, nil
		case "503": // no such stream (servers >= 2.10; older ones stay silent)
			return nil, false, nats.ErrNoResponders
		default:
			return nil, false, fmt.Errorf("direct get: status %s %s", status, m.Header.Get(hdrDesc))
		}
	}
}

// Headers the server adds to direct-get replies.
const (
	hdrSequence   = "Nats-Sequence"
	hdrTimeStamp  = "Nats-Time-Stamp"
	hdrNumPending = "Nats-Num-Pending"
	hdrStatus     = "Status"
	hdrDesc       = "Description"
)

// directMeta returns the stream sequence and storage time of a direct-get
// reply.
func directMeta(m *nats.Msg) (uint64, time.Time, error) {
	seq, err := strconv.ParseUint(m.Header.Get(hdrSequence), 10, 64)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("bad %s header: %w", hdrSequence, err)
	}
	ts, err := time.Parse(time.RFC3339Nano, m.Header.Get(hdrTimeStamp))
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("bad %s header: %w", hdrTimeStamp, err)
	}
	return seq, ts, nil
}
