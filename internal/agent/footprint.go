package agent

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
)

// FootprintOptions configure a simulated run.
type FootprintOptions struct {
	// Duration of simulated time (default 24h).
	Duration time.Duration
	// Firewall source of the fixture tree (nil = the Config's).
	Firewall *firewall.Options
	// IdleConnTimeout: a connection unused this long (simulated time) is
	// closed, as a real day's idle gaps would close it (default 90s, the
	// agent's HTTP client setting).
	IdleConnTimeout time.Duration
	// TokenTTL of the device's tokens (default 5m, the server's default).
	TokenTTL time.Duration
}

// FootprintResult is what an agent sent during the simulated time.
type FootprintResult struct {
	Simulated time.Duration
	// Requests to the hub (sends) and to the server (configuration polls).
	Sends, ConfigPolls int64
	Messages, Events   int64
	// BodyBytes are the request bodies sent (gzip-compressed batches).
	BodyBytes int64
	// WireBytes are the bytes that crossed the network in both directions
	// (TCP payload: TLS records with HTTP headers and bodies), including
	// one token request, measured.
	WireBytes int64
	// TokenRequests is how many tokens a day of this activity needs (the
	// token is refreshed at 80% of its lifetime when it is next used), and
	// TokenRequestBytes the measured wire cost of one; the token requests
	// of the simulated time are added to WireBytesPerDay with it.
	TokenRequests     int64
	TokenRequestBytes int64
	// Per day of simulated time.
	WireBytesPerDay, MessagesPerDay float64
	// Resources of this process during the run.
	CPUTime     time.Duration
	PeakRSSKiB  int64
	RealElapsed time.Duration
}

// countingConn counts the bytes that cross a connection.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// simTransport closes idle connections across simulated idle gaps and
// counts requests, and token refreshes on simulated time.
type simTransport struct {
	base  *http.Transport
	clock Clock
	idle  time.Duration
	ttl   time.Duration
	wire  *atomic.Int64

	mu                sync.Mutex
	last              time.Time
	sends, polls      int64
	tokens            int64 // token requests a real day would make
	tokenBytes        int64 // wire bytes of the measured one
	refreshAt         time.Time
	tokenRequestsSeen int64 // token requests actually made
}

func (t *simTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	now := t.clock.Now()
	t.mu.Lock()
	if !t.last.IsZero() && now.Sub(t.last) > t.idle {
		t.base.CloseIdleConnections()
	}
	t.last = now
	isToken := strings.HasSuffix(r.URL.Path, "/api/v1/discovery/token")
	switch {
	case isToken:
		t.tokenRequestsSeen++
	case strings.HasSuffix(r.URL.Path, "/agent-config"):
		t.polls++
	default:
		t.sends++
	}
	if !isToken {
		// A request carrying a token: on a real day a new token is needed
		// once 80% of the last one's lifetime has passed.
		if !now.Before(t.refreshAt) {
			t.tokens++
			t.refreshAt = now.Add(t.ttl * 8 / 10)
		}
	}
	t.mu.Unlock()
	before := t.wire.Load()
	resp, err := t.base.RoundTrip(r)
	if isToken && err == nil {
		// Measured when the body is closed, so the whole exchange counts.
		resp.Body = &closeHook{ReadCloser: resp.Body, done: func() {
			t.mu.Lock()
			t.tokenBytes = t.wire.Load() - before
			t.mu.Unlock()
		}}
	}
	return resp, err
}

type closeHook struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (c *closeHook) Close() error {
	err := c.ReadCloser.Close()
	c.once.Do(c.done)
	return err
}

// Footprint runs the real agent for a simulated duration against a real
// server and reports what it sent. cfg must be valid; its Root should be a
// fixture tree of a typical idle device.
func Footprint(ctx context.Context, cfg Config, o FootprintOptions) (FootprintResult, error) {
	if o.Duration <= 0 {
		o.Duration = 24 * time.Hour
	}
	if o.IdleConnTimeout <= 0 {
		o.IdleConnTimeout = 90 * time.Second
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = 5 * time.Minute
	}
	start := time.Now()
	vc := NewVirtualClock(start, start.Add(o.Duration))
	hc, err := cfg.HTTPClient()
	if err != nil {
		return FootprintResult{}, err
	}
	base := hc.Transport.(*http.Transport)
	var wire atomic.Int64
	dialer := &net.Dialer{Timeout: 15 * time.Second}
	base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: c, n: &wire}, nil
	}
	st := &simTransport{base: base, clock: vc, idle: o.IdleConnTimeout, ttl: o.TokenTTL, wire: &wire}
	hc.Transport = st
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b, err := Build(cfg, BuildOptions{Clock: vc, HTTPClient: hc, NoAudit: true, Firewall: o.Firewall})
	if err != nil {
		return FootprintResult{}, err
	}
	defer b.Close()
	if err := b.Run(ctx); err != nil {
		return FootprintResult{}, err
	}
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	us := b.o.Uploader.Totals()
	st.mu.Lock()
	defer st.mu.Unlock()
	r := FootprintResult{
		Simulated: o.Duration, Sends: st.sends, ConfigPolls: st.polls,
		Messages: us.MessagesSent, Events: us.EventsSent,
		BodyBytes: us.BytesSent, WireBytes: wire.Load(),
		TokenRequests: st.tokens, TokenRequestBytes: st.tokenBytes,
		CPUTime:     tv(ru1.Utime) + tv(ru1.Stime) - tv(ru0.Utime) - tv(ru0.Stime),
		PeakRSSKiB:  int64(ru1.Maxrss),
		RealElapsed: time.Since(start),
	}
	days := o.Duration.Hours() / 24
	// The one real token request is in WireBytes; the day's others are added.
	extra := max(r.TokenRequests-st.tokenRequestsSeen, 0) * r.TokenRequestBytes
	r.WireBytesPerDay = float64(r.WireBytes+extra) / days
	r.MessagesPerDay = float64(r.Messages) / days
	return r, nil
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond //nolint:unconvert // int32 on 32-bit
}
