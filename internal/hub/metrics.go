package hub

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	eventsIn     *prometheus.CounterVec
	bytesIn      *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	appendSecs   prometheus.Histogram

	security       *prometheus.CounterVec // security messages by result
	securityEvents *prometheus.CounterVec // security events by outcome
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		eventsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "moat", Subsystem: "hub", Name: "events_in_total",
			Help: "Events durably accepted, by hub.",
		}, []string{"hub"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "moat", Subsystem: "hub", Name: "bytes_in_total",
			Help: "Event body bytes durably accepted, by hub.",
		}, []string{"hub"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "moat", Subsystem: "hub", Name: "auth_failures_total",
			Help: "Requests refused by authorization, by reason.",
		}, []string{"reason"}),
		appendSecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "moat", Subsystem: "hub", Name: "log_append_seconds",
			Help:    "Time from handing a request's events to the log until all are acknowledged.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		security: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "moat", Subsystem: "hub", Name: "security_messages_total",
			Help: "Security messages received, by result: accepted or invalid (refused with 400).",
		}, []string{"result"}),
		securityEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "moat", Subsystem: "hub", Name: "security_events_total",
			Help: "Security events of accepted messages, by outcome: stored or duplicate (dropped).",
		}, []string{"outcome"}),
	}
	for _, r := range []string{"accepted", "invalid"} {
		m.security.WithLabelValues(r)
	}
	for _, o := range []string{"stored", "duplicate"} {
		m.securityEvents.WithLabelValues(o)
	}
	for _, r := range authReasons {
		m.authFailures.WithLabelValues(r) // export zeros so dashboards see every reason
	}
	for _, col := range []prometheus.Collector{m.eventsIn, m.bytesIn, m.authFailures, m.appendSecs, m.security, m.securityEvents} {
		if err := reg.Register(col); err != nil {
			return nil, fmt.Errorf("hub: register metrics: %w", err)
		}
	}
	return m, nil
}
