package eventlog

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
)

// Direct gets read stored messages without a consumer: a request on
// $JS.API.DIRECT.GET.<stream> is answered by the stream itself with the
// messages and server headers (Nats-Sequence, Nats-Time-Stamp, ...). Servers
// since 2.11 answer a "batch" request with up to that many messages followed
// by a "204 EOB" status; older servers ignore "batch" and answer one
// message, which we detect by its missing Nats-Num-Pending header and then
// fall back to one request per message.

const directGetPrefix = "$JS.API.DIRECT.GET."

// maxBatchBytes bounds one batched reply so it never overruns the
// subscription's pending limits; a larger read takes several requests.
const maxBatchBytes = 8 << 20

// directQuery selects messages: the first `limit` at or after seq on
// subject (next), or the last one on subject (last).
type directQuery struct {
	stream string
	subj   string
	seq    uint64
	last   bool
	limit  int
}

func (q directQuery) request(batch int) []byte {
	b := make([]byte, 0, 64+len(q.subj))
	if q.last {
		b = append(b, `{"last_by_subj":"`...)
		b = append(b, q.subj...)
		return append(b, `"}`...)
	}
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, q.seq, 10)
	b = append(b, `,"next_by_subj":"`...)
	b = append(b, q.subj...)
	b = append(b, '"')
	if batch > 1 {
		b = append(b, `,"batch":`...)
		b = strconv.AppendInt(b, int64(batch), 10)
		b = append(b, `,"max_bytes":`...)
		b = strconv.AppendInt(b, maxBatchBytes, 10)
	}
	return append(b, '}')
}

// directGet returns up to q.limit raw messages, in sequence order.
func directGet(ctx context.Context, nc *nats.Conn, q directQuery) ([]*nats.Msg, error) {
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sub.Unsubscribe() }()

	var msgs []*nats.Msg
	for len(msgs) < q.limit {
		batch := q.limit - len(msgs)
		if err := nc.PublishRequest(directGetPrefix+q.stream, inbox, q.request(batch)); err != nil {
			return nil, err
		}
		got, more, err := readDirectReplies(ctx, sub, &msgs)
		if err != nil {
			return nil, err
		}
		if got == 0 || !more || q.last {
			break
		}
		q.seq = lastSeq(msgs) + 1
	}
	return msgs, nil
}

// readDirectReplies appends the replies to one direct-get request to msgs.
// more reports whether further messages may follow the ones returned.
func readDirectReplies(ctx context.Context, sub *nats.Subscription, msgs *[]*nats.Msg) (got int, more bool, err error) {
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return got, false, err
		}
		switch status := m.Header.Get(hdrStatus); status {
		case "":
			*msgs = append(*msgs, m)
			got++
			if m.Header.Get(hdrNumPending) == "" {
				// Pre-2.11 server: single message, no EOB follows.
				return got, true, nil
			}
		case "204": // end of batch: more pending if the server stopped early (max bytes)
			return got, m.Header.Get(hdrNumPending) != "0", nil
		case "404": // nothing at or after seq
			return got, false, nil
		case "503": // no such stream (servers >= 2.10; older ones stay silent)
			return got, false, nats.ErrNoResponders
		default:
			return got, false, fmt.Errorf("direct get: status %s %s", status, m.Header.Get(hdrDesc))
		}
	}
}

func lastSeq(msgs []*nats.Msg) uint64 {
	s, _ := strconv.ParseUint(msgs[len(msgs)-1].Header.Get(hdrSequence), 10, 64)
	return s
}
