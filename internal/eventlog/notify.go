package eventlog

import (
	"fmt"

	"github.com/nats-io/nats.go"
)

// Notifications are best-effort signals between the nodes sharing one
// NATS deployment, such as "device X changed, drop it from your cache".
// They travel as core NATS messages on P.notify.<topic>: not stored, not
// acknowledged, delivered to whoever is subscribed at the time (including
// the sending node). Whatever relies on them must tolerate a lost one, for
// example by also expiring cache entries.

func (l *Log) notifySubject(topic string) string { return l.names.prefix + ".notify." + topic }

// Notify publishes data on topic to every node's OnNotify subscribers.
func (l *Log) Notify(topic string, data []byte) error {
	if !validBucket(topic) {
		return fmt.Errorf("%w: notification topic %q", ErrInvalid, topic)
	}
	if err := l.usable("notify"); err != nil {
		return err
	}
	if err := l.control().nc.Publish(l.notifySubject(topic), data); err != nil {
		return unavailable("notify", err)
	}
	return nil
}

// OnNotify calls fn, from one goroutine and in order, with every
// notification published on topic from now until stop is called.
func (l *Log) OnNotify(topic string, fn func(data []byte)) (stop func(), err error) {
	if !validBucket(topic) {
		return nil, fmt.Errorf("%w: notification topic %q", ErrInvalid, topic)
	}
	if err := l.usable("notify subscribe"); err != nil {
		return nil, err
	}
	nc := l.control().nc
	sub, err := nc.Subscribe(l.notifySubject(topic), func(m *nats.Msg) { fn(m.Data) })
	if err != nil {
		return nil, unavailable("notify subscribe", err)
	}
	// The subscription is registered with the server before OnNotify
	// returns, so a notification published afterwards is not missed.
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, unavailable("notify subscribe", err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}
