package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/tlsutil"
)

// wait bounds every wait in these tests: generous, only hit when broken.
const wait = 20 * time.Second

// t0 is the fake clock's start: a Tuesday, 07:00 UTC.
var t0 = time.Date(2026, 3, 10, 7, 0, 0, 0, time.UTC)

// fakeClock is simulated time. Waits shorter than auto return at once,
// moving the clock and being recorded (retry backoff); longer ones wait
// for Advance (the digest).
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	auto    time.Duration
	waits   []time.Duration // auto-advanced waits, in order
	waiters []*waiter
	changed chan struct{} // closed and replaced when waiters change
}

type waiter struct {
	at time.Time
	ch chan struct{}
}

func newFakeClock(t time.Time, auto time.Duration) *fakeClock {
	return &fakeClock{now: t, auto: auto, changed: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) WaitUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	if d := t.Sub(c.now); d <= 0 || d <= c.auto {
		if d > 0 {
			c.waits = append(c.waits, d)
			c.setLocked(t)
		}
		c.mu.Unlock()
		return ctx.Err()
	}
	w := &waiter{at: t, ch: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.notifyLocked()
	c.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		for i, x := range c.waiters {
			if x == w {
				c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
				break
			}
		}
		c.notifyLocked()
		c.mu.Unlock()
		return ctx.Err()
	}
}

func (c *fakeClock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// setLocked moves the clock and wakes the waiters that are due.
func (c *fakeClock) setLocked(t time.Time) {
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
	c.notifyLocked()
}

// Set moves the clock to t.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.setLocked(t)
	c.mu.Unlock()
}

// Waits returns the auto-advanced waits so far.
func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// waitFor blocks until someone waits for exactly at.
func (c *fakeClock) waitFor(t *testing.T, at time.Time) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for _, w := range c.waiters {
			if w.at.Equal(at) {
				c.mu.Unlock()
				return
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("nobody waits for %s on the fake clock", at)
		}
	}
}

// pending returns the deadlines waited for.
func (c *fakeClock) pending() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Time
	for _, w := range c.waiters {
		out = append(out, w.at)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// testAlert returns an alert as the center raises it.
func testAlert(id, rule, severity, device, source string) center.Alert {
	return center.Alert{
		ID: id, Rule: rule, Title: "SSH brute force", Severity: severity, Technique: "T1110.001",
		DeviceID: device, Hub: "hub-1", Key: source, SourceAddress: source,
		FirstSeen: t0.Add(-10 * time.Minute), LastSeen: t0.Add(-time.Minute), Count: 7,
		Evidence: []center.Evidence{
			{EventID: "e1/0", Time: t0.Add(-10 * time.Minute), Excerpt: "Failed password for root from " + source + " port 4242 ssh2"},
			{EventID: "e2/0", Time: t0.Add(-time.Minute), Excerpt: "Failed password for invalid user admin from " + source},
		},
		Status: center.StatusNew, UpdatedAt: t0, Remediation: "Block the source address and use SSH keys.",
	}
}

// harness runs a notifier and collects its deliveries.
type harness struct {
	n          *Notifier
	clock      *fakeClock
	deliveries chan Delivery
	dispatched chan string
	logs       *syncBuffer
}

type hopts struct {
	clock *fakeClock
	tags  Tagger
	queue int
	roots *x509.CertPool
	link  func(string) string
}

func newHarness(t *testing.T, cfg Config, o hopts) *harness {
	t.Helper()
	h := &harness{clock: o.clock, deliveries: make(chan Delivery, 1000), dispatched: make(chan string, 1000), logs: &syncBuffer{}}
	if h.clock == nil {
		h.clock = newFakeClock(t0, 10*time.Minute)
	}
	n, err := New(cfg, Options{
		Clock:         h.clock,
		Logger:        slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Tags:          o.tags,
		QueueSize:     o.queue,
		RootCAs:       o.roots,
		Link:          o.link,
		OnDelivery:    func(d Delivery) { h.deliveries <- d },
		afterDispatch: func(a center.Alert) { h.dispatched <- a.ID },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.n = n
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := n.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

// delivery returns the next delivery.
func (h *harness) delivery(t *testing.T) Delivery {
	t.Helper()
	select {
	case d := <-h.deliveries:
		return d
	case <-time.After(wait):
		t.Fatal("no delivery")
	}
	return Delivery{}
}

// dispatch notifies and waits until the alert is routed.
func (h *harness) dispatch(t *testing.T, a center.Alert, created bool) {
	t.Helper()
	h.n.Notify(a, created)
	select {
	case id := <-h.dispatched:
		if id != a.ID {
			t.Fatalf("dispatched %q, want %q", id, a.ID)
		}
	case <-time.After(wait):
		t.Fatal("alert not dispatched")
	}
}

// noDelivery checks that no delivery is waiting now.
func (h *harness) noDelivery(t *testing.T) {
	t.Helper()
	select {
	case d := <-h.deliveries:
		t.Fatalf("unexpected delivery %+v", d)
	default:
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ---- SMTP server (go-smtp, in process, real TCP) ----

type smtpMode int

const (
	smtpStartTLS smtpMode = iota // STARTTLS offered
	smtpImplicit                 // TLS from the first byte
	smtpPlain                    // no TLS at all
)

type smtpOpts struct {
	mode smtpMode
	// user/pass are the accepted credentials; "" = no AUTH offered.
	user, pass string
	// insecureAuth offers AUTH on a plaintext connection.
	insecureAuth bool
	// echoPassword makes a failed AUTH quote the password it got (a
	// hostile server), to check that errors scrub it.
	echoPassword bool
}

type received struct {
	from     string
	to       []string
	data     []byte
	tls      bool   // the DATA arrived over TLS
	authUser string // who authenticated ("" = nobody)
	authTLS  bool   // the AUTH happened over TLS
}

type smtpServer struct {
	host, port string
	msgs       chan received
	certPEM    []byte
	mu         sync.Mutex
	auths      int // AUTH commands that reached the backend
}

func (s *smtpServer) authCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

func (s *smtpServer) portInt() int {
	p, _ := strconv.Atoi(s.port)
	return p
}

func (s *smtpServer) next(t *testing.T) received {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(wait):
		t.Fatal("no message reached the SMTP server")
	}
	return received{}
}

func (s *smtpServer) roots(t *testing.T) *x509.CertPool {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(s.certPEM) {
		t.Fatal("bad test certificate")
	}
	return p
}

func startSMTP(t *testing.T, o smtpOpts) *smtpServer {
	t.Helper()
	certPEM, keyPEM, err := tlsutil.SelfSigned([]string{"127.0.0.1", "localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s := &smtpServer{msgs: make(chan received, 100), certPEM: certPEM}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &smtpSession{srv: s, opts: o, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = o.insecureAuth
	srv.ReadTimeout, srv.WriteTimeout = wait, wait
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if o.mode == smtpStartTLS {
		srv.TLSConfig = tlsCfg
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.mode == smtpImplicit {
		ln = tls.NewListener(ln, tlsCfg)
	}
	s.host, s.port, _ = net.SplitHostPort(ln.Addr().String())
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

type smtpSession struct {
	srv     *smtpServer
	opts    smtpOpts
	conn    *gosmtp.Conn
	user    string
	authTLS bool
	msg     received
}

func (s *smtpSession) AuthMechanisms() []string {
	if s.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	s.srv.mu.Lock()
	s.srv.auths++
	s.srv.mu.Unlock()
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.opts.user || pass != s.opts.pass {
			msg := "authentication failed"
			if s.opts.echoPassword {
				msg += " for password " + pass
			}
			return &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8}, Message: msg}
		}
		_, s.authTLS = s.conn.TLSConnectionState()
		s.user = user
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.opts.user != "" && s.user == "" {
		return gosmtp.ErrAuthRequired
	}
	s.msg = received{from: from}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.msg.to = append(s.msg.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.data = b
	_, s.msg.tls = s.conn.TLSConnectionState()
	s.msg.authUser, s.msg.authTLS = s.user, s.authTLS
	s.srv.msgs <- s.msg
	return nil
}

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// emailChannel is an email channel to a test server.
func emailChannel(name string, s *smtpServer, mut func(*EmailConfig)) Channel {
	e := &EmailConfig{Host: s.host, Port: s.portInt(), From: "Moat <moat@example.com>", To: []string{"ops@example.com", "Sec Team <sec@example.com>"},
		InsecureSkipVerify: true, Timeout: Duration(wait)}
	if mut != nil {
		mut(e)
	}
	return Channel{Name: name, Type: TypeEmail, Email: e}
}

func webhookChannel(name, url string, mut func(*WebhookConfig)) Channel {
	w := &WebhookConfig{URL: url, Secret: "0123456789abcdef-webhook-key", Timeout: Duration(wait)}
	if mut != nil {
		mut(w)
	}
	return Channel{Name: name, Type: TypeWebhook, Webhook: w}
}

// closedPort returns a local TCP port nobody listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}
