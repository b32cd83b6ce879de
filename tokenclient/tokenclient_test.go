package tokenclient_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/config"
	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/internal/server"
	"github.com/moatsec/moat/internal/tlsutil"
	"github.com/moatsec/moat/sas"
	"github.com/moatsec/moat/tokenclient"
)

// newClock is the one clock of a test: the server's and the client's, in
// whole seconds so that token lifetimes (whole seconds on the server) are exact.
func newClock() *moattest.Clock { return moattest.NewClock(time.Now().Truncate(time.Second)) }

// counter counts token requests on their way through the real transport.
type counter struct {
	next   http.RoundTripper
	tokens atomic.Int64
	sends  atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == tokenclient.TokenPath {
		c.tokens.Add(1)
	} else {
		c.sends.Add(1)
	}
	return c.next.RoundTrip(r)
}

// env is a running server with a hub and a registered device.
type env struct {
	s      *moattest.Server
	clock  *moattest.Clock
	hub    string
	device string
	key    string
}

func start(t *testing.T, cfg func(*config.Server)) *env {
	t.Helper()
	clock := newClock()
	s := moattest.Start(t, moattest.Options{TLS: true, Clock: clock.Now, Config: cfg})
	e := &env{s: s, clock: clock, hub: "telemetry", device: "sensor-1", key: newKey(t)}
	ctx := context.Background()
	if _, err := s.Client.PutHub(ctx, e.hub, hub.HubSpec{Partitions: 1}); err != nil {
		t.Fatalf("PutHub: %v", err)
	}
	if _, err := s.Client.PutDevice(ctx, e.device, device.Device{Spec: device.Spec{Hub: e.hub, PrimaryKey: e.key}}); err != nil {
		t.Fatalf("PutDevice: %v", err)
	}
	return e
}

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// httpClient returns an HTTP client trusting the server, counting requests.
func (e *env) httpClient(t *testing.T) (*http.Client, *counter) {
	t.Helper()
	cfg, err := tlsutil.ClientConfig(filepath.Join(e.s.Data, server.CertFile), false)
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	t.Cleanup(tr.CloseIdleConnections)
	n := &counter{next: tr}
	return &http.Client{Transport: n}, n
}

// noJitter makes backoff delays exact.
var noJitter = tokenclient.Backoff{Rand: func() float64 { return 0.5 }}

// client returns a tokenclient for the env's device, on the env's clock.
func (e *env) client(t *testing.T, mod func(*tokenclient.Config)) (*tokenclient.Client, *counter) {
	t.Helper()
	hc, n := e.httpClient(t)
	cfg := tokenclient.Config{
		Server:     e.s.URL(),
		Namespace:  "localhost",
		DeviceID:   e.device,
		Key:        e.key,
		HTTPClient: hc,
		Clock:      e.clock.Now,
		Backoff:    noJitter,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := tokenclient.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, n
}

// setStatus changes the device's status through the admin API.
func (e *env) setStatus(t *testing.T, status string) {
	t.Helper()
	ctx := context.Background()
	var err error
	if status == "quarantined" {
		_, err = e.s.Client.QuarantineDevice(ctx, e.device, "test")
	} else {
		_, err = e.s.Client.PutDevice(ctx, e.device, device.Device{Spec: device.Spec{Hub: e.hub, Status: status, StatusReason: "test"}})
	}
	if err != nil {
		t.Fatalf("set status %s: %v", status, err)
	}
}

func wantRefusal(t *testing.T, err error, status int, reason string) *tokenclient.Refusal {
	t.Helper()
	var r *tokenclient.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("error %v (%T): want a *Refusal %d %s", err, err, status, reason)
	}
	if r.Status != status || r.Reason != reason {
		t.Fatalf("refusal %d %s (%s): want %d %s", r.Status, r.Reason, r.Message, status, reason)
	}
	return r
}

func wantRequests(t *testing.T, n *counter, want int64) {
	t.Helper()
	if got := n.tokens.Load(); got != want {
		t.Fatalf("%d token requests, want %d", got, want)
	}
}

// TestNoServerSidePackages: devices and the agent build this package, so it
// may use only the standard library, the public sas package and golang.org/x.
func TestNoServerSidePackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/moatsec/moat/tokenclient").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list listed no dependencies")
	}
	for _, d := range deps {
		switch {
		case d == "github.com/moatsec/moat/tokenclient", d == "github.com/moatsec/moat/sas":
		case strings.HasPrefix(d, "golang.org/x/"):
		default:
			t.Errorf("tokenclient depends on %s", d)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	ok := tokenclient.Config{Server: "https://localhost:8443", Namespace: "localhost", DeviceID: "d", Key: key}
	if _, err := tokenclient.New(ok); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, mod := range map[string]func(*tokenclient.Config){
		"no server":       func(c *tokenclient.Config) { c.Server = "" },
		"bad scheme":      func(c *tokenclient.Config) { c.Server = "ftp://localhost" },
		"no namespace":    func(c *tokenclient.Config) { c.Namespace = "" },
		"no device":       func(c *tokenclient.Config) { c.DeviceID = "" },
		"bad key":         func(c *tokenclient.Config) { c.Key = "not base64!" },
		"no credential":   func(c *tokenclient.Config) { c.Key = "" },
		"refresh 0":       func(c *tokenclient.Config) { c.Refresh = -0.5 },
		"refresh over 1":  func(c *tokenclient.Config) { c.Refresh = 1.5 },
		"proof too long":  func(c *tokenclient.Config) { c.ProofTTL = 6 * time.Minute },
		"max below min":   func(c *tokenclient.Config) { c.Backoff = tokenclient.Backoff{Min: time.Minute, Max: time.Second} },
		"jitter too wide": func(c *tokenclient.Config) { c.Backoff = tokenclient.Backoff{Jitter: 1} },
	} {
		cfg := ok
		mod(&cfg)
		if _, err := tokenclient.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestTokenIsUsable(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c, n := e.client(t, func(c *tokenclient.Config) {
		c.Firmware = "1.2.3"
		c.Location = func() *tokenclient.Location { return &tokenclient.Location{Lat: 52.37, Lon: 4.89} }
	})
	ctx := context.Background()
	tok, err := c.Token(ctx)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok.Hub != e.hub || tok.Publisher != e.device || !strings.HasSuffix(tok.Endpoint, "/"+e.hub+"/publishers/"+e.device+"/messages") {
		t.Fatalf("token %+v", tok)
	}
	if !tok.ExpiresAt.After(e.clock.Now()) {
		t.Fatalf("token expires at %s, before now %s", tok.ExpiresAt, e.clock.Now())
	}
	if _, err := sas.Parse(tok.Value); err != nil {
		t.Fatalf("token value: %v", err)
	}
	if err := c.Send(ctx, []byte(`{"temp": 21.5}`), "application/json"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	wantRequests(t, n, 1)
	res, err := e.s.Client.Read(ctx, e.hub, 0, 1, 10, 0)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(res.Events) != 1 || string(res.Events[0].Body) != `{"temp": 21.5}` || res.Events[0].Publisher != e.device {
		t.Fatalf("events %+v", res.Events)
	}
	if c.LastError() != nil {
		t.Fatalf("LastError after success: %v", c.LastError())
	}
}

func TestTokenIsCached(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c, n := e.client(t, nil)
	ctx := context.Background()
	first, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	second, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Fatalf("second token %+v differs from the first %+v", second, first)
	}
	wantRequests(t, n, 1)
}

func TestRefreshAfter80Percent(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c, n := e.client(t, nil)
	ctx := context.Background()
	first, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	life := first.ExpiresAt.Sub(e.clock.Now())
	if life <= 0 {
		t.Fatalf("token lifetime %s", life)
	}
	e.clock.Add(life*8/10 - time.Second)
	if tok, err := c.Token(ctx); err != nil || tok != first {
		t.Fatalf("just before 80%%: %+v, %v; want the first token", tok, err)
	}
	wantRequests(t, n, 1)
	e.clock.Add(time.Second)
	second, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantRequests(t, n, 2)
	if second.Value == first.Value || !second.ExpiresAt.After(first.ExpiresAt) {
		t.Fatalf("refreshed token %+v, first %+v", second, first)
	}
	if err := c.Send(ctx, []byte("x"), ""); err != nil {
		t.Fatalf("Send with the refreshed token: %v", err)
	}
}

func TestRefreshFraction(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c, n := e.client(t, func(c *tokenclient.Config) { c.Refresh = 0.5 })
	ctx := context.Background()
	first, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	half := first.ExpiresAt.Sub(e.clock.Now()) / 2
	e.clock.Add(half - time.Second)
	if _, err := c.Token(ctx); err != nil {
		t.Fatal(err)
	}
	wantRequests(t, n, 1)
	e.clock.Add(time.Second)
	if _, err := c.Token(ctx); err != nil {
		t.Fatal(err)
	}
	wantRequests(t, n, 2)
}

// gate holds token requests until released.
type gate struct {
	next    http.RoundTripper
	release chan struct{}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == tokenclient.TokenPath {
		<-g.release
	}
	return g.next.RoundTrip(r)
}

func TestConcurrentCallersShareOneRequest(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	g := &gate{release: make(chan struct{})}
	c, n := e.client(t, func(c *tokenclient.Config) {
		g.next = c.HTTPClient.Transport
		c.HTTPClient = &http.Client{Transport: g}
	})
	const callers = 16
	var (
		started, done sync.WaitGroup
		mu            sync.Mutex
		values        = map[string]int{}
		errs          []error
	)
	started.Add(callers)
	done.Add(callers)
	for range callers {
		go func() {
			defer done.Done()
			started.Done()
			tok, err := c.Token(context.Background())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			values[tok.Value]++
		}()
	}
	started.Wait()
	close(g.release)
	done.Wait()
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if len(values) != 1 {
		t.Fatalf("callers got %d different tokens", len(values))
	}
	wantRequests(t, n, 1)
}

// TestCallerGivingUpDoesNotCancelTheRequest: a caller whose context ends
// stops waiting, but the request completes and is cached for the others.
func TestCallerGivingUpDoesNotCancelTheRequest(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	g := &gate{release: make(chan struct{})}
	c, n := e.client(t, func(c *tokenclient.Config) {
		g.next = c.HTTPClient.Transport
		c.HTTPClient = &http.Client{Transport: g}
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Token with a cancelled context: %v", err)
	}
	close(g.release)
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatalf("Token: %v", err)
	}
	wantRequests(t, n, 1)
	if c.LastError() != nil {
		t.Fatalf("LastError: %v", c.LastError())
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ status, reason string }{
		{"disabled", tokenclient.ReasonDeviceDisabled},
		{"quarantined", tokenclient.ReasonQuarantined},
	} {
		t.Run(tc.status, func(t *testing.T) {
			t.Parallel()
			e := start(t, nil)
			e.setStatus(t, tc.status)
			c, n := e.client(t, nil)
			_, err := c.Token(context.Background())
			r := wantRefusal(t, err, http.StatusForbidden, tc.reason)
			if !r.Permanent() || r.Message == "" {
				t.Fatalf("refusal %+v: want permanent, with a message", r)
			}
			if !errors.Is(c.LastError(), err) {
				t.Fatalf("LastError %v, want %v", c.LastError(), err)
			}
			wantRequests(t, n, 1)
		})
	}
}

func TestUnknownDeviceAndWrongKey(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c, _ := e.client(t, func(c *tokenclient.Config) { c.DeviceID = "nobody" })
	_, err := c.Token(context.Background())
	wantRefusal(t, err, http.StatusNotFound, tokenclient.ReasonUnknownDevice)

	c, _ = e.client(t, func(c *tokenclient.Config) { c.Key = newKey(t) })
	_, err = c.Token(context.Background())
	wantRefusal(t, err, http.StatusUnauthorized, tokenclient.ReasonBadProof)
}

// TestBackoff: after a refusal, calls before the backoff deadline get the
// same refusal without a request; the delay doubles up to Max.
func TestBackoff(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	e.setStatus(t, "disabled")
	c, n := e.client(t, func(c *tokenclient.Config) {
		c.Backoff = tokenclient.Backoff{Min: time.Second, Max: 4 * time.Second, Rand: func() float64 { return 0.5 }}
	})
	ctx := context.Background()
	_, first := c.Token(ctx)
	wantRefusal(t, first, http.StatusForbidden, tokenclient.ReasonDeviceDisabled)
	wantRequests(t, n, 1)

	var want int64 = 1
	for _, delay := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		e.clock.Add(delay - time.Millisecond)
		_, err := c.Token(ctx)
		if err != first {
			t.Fatalf("before the deadline: %v, want the same refusal %v", err, first)
		}
		wantRequests(t, n, want)
		e.clock.Add(time.Millisecond)
		_, err = c.Token(ctx)
		wantRefusal(t, err, http.StatusForbidden, tokenclient.ReasonDeviceDisabled)
		want++
		wantRequests(t, n, want)
		first = err
	}

	// Re-enabled: the next attempt after the deadline succeeds.
	e.setStatus(t, "enabled")
	e.clock.Add(4 * time.Second)
	if _, err := c.Token(ctx); err != nil {
		t.Fatalf("after re-enabling: %v", err)
	}
	if c.LastError() != nil {
		t.Fatalf("LastError after success: %v", c.LastError())
	}
}

func TestBackoffJitter(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	e.setStatus(t, "disabled")
	// Rand 0 is the low end of ±20%: the first delay is 0.8s, not 1s.
	c, n := e.client(t, func(c *tokenclient.Config) {
		c.Backoff = tokenclient.Backoff{Rand: func() float64 { return 0 }}
	})
	ctx := context.Background()
	if _, err := c.Token(ctx); err == nil {
		t.Fatal("Token succeeded for a disabled device")
	}
	e.clock.Add(799 * time.Millisecond)
	_, _ = c.Token(ctx)
	wantRequests(t, n, 1)
	e.clock.Add(time.Millisecond)
	_, _ = c.Token(ctx)
	wantRequests(t, n, 2)
}

// TestRetryAfterHonoured: rate_limited carries Retry-After, which replaces
// the (much shorter) exponential delay.
func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *config.Server) { c.TokenRate, c.TokenBurst = 1, 1 })
	c, n := e.client(t, nil)
	ctx := context.Background()
	if _, err := c.Token(ctx); err != nil {
		t.Fatal(err)
	}
	c.Invalidate()
	_, err := c.Token(ctx)
	r := wantRefusal(t, err, http.StatusTooManyRequests, tokenclient.ReasonRateLimited)
	if r.RetryAfter != time.Minute || r.Permanent() {
		t.Fatalf("refusal %+v: want a temporary one with RetryAfter 1m", r)
	}
	wantRequests(t, n, 2)
	e.clock.Add(time.Minute - time.Second)
	if _, err2 := c.Token(ctx); err2 != err {
		t.Fatalf("before Retry-After: %v, want %v", err2, err)
	}
	wantRequests(t, n, 2)
	e.clock.Add(time.Second)
	if _, err := c.Token(ctx); err != nil {
		t.Fatalf("after Retry-After: %v", err)
	}
	wantRequests(t, n, 3)
}

// TestValidTokenOutlivesFailedRefresh: a refresh that is refused leaves the
// cached token in use until it expires, with the refusal in LastError.
func TestValidTokenOutlivesFailedRefresh(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c, n := e.client(t, nil)
	ctx := context.Background()
	first, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.setStatus(t, "disabled")
	e.clock.Add(first.ExpiresAt.Sub(e.clock.Now()) * 9 / 10)
	tok, err := c.Token(ctx)
	if err != nil || tok != first {
		t.Fatalf("refused refresh: %+v, %v; want the cached token", tok, err)
	}
	wantRequests(t, n, 2)
	wantRefusal(t, c.LastError(), http.StatusForbidden, tokenclient.ReasonDeviceDisabled)
	// Within the backoff: the cached token, no request.
	if tok, err := c.Token(ctx); err != nil || tok != first {
		t.Fatalf("during backoff: %+v, %v", tok, err)
	}
	wantRequests(t, n, 2)
	// Expired: the refusal.
	e.clock.Add(first.ExpiresAt.Sub(e.clock.Now()))
	_, err = c.Token(ctx)
	wantRefusal(t, err, http.StatusForbidden, tokenclient.ReasonDeviceDisabled)
}

func TestInvalidate(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c, n := e.client(t, nil)
	ctx := context.Background()
	first, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Second)
	c.Invalidate()
	second, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantRequests(t, n, 2)
	if second.Value == first.Value {
		t.Fatal("Invalidate kept the token")
	}
	if third, err := c.Token(ctx); err != nil || third != second {
		t.Fatalf("after the new token: %+v, %v", third, err)
	}
	wantRequests(t, n, 2)
}

// TestProofsAreNeverReused: the service refuses a replayed proof, so
// requests in the same second must still carry distinct proofs.
func TestProofsAreNeverReused(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c, n := e.client(t, nil)
	ctx := context.Background()
	for i := range 3 {
		c.Invalidate()
		if _, err := c.Token(ctx); err != nil {
			t.Fatalf("request %d in the same second: %v", i, err)
		}
	}
	wantRequests(t, n, 3)
}

// TestSendRenewsRejectedToken: when the hub rejects the token (here: the
// discovery signing key was rotated), Send gets a new one and retries once.
func TestSendRenewsRejectedToken(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c, n := e.client(t, nil)
	ctx := context.Background()
	if err := c.Send(ctx, []byte("one"), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Client.RegenerateKey(ctx, e.hub, hub.DiscoveryRuleName, hub.PrimaryKey); err != nil {
		t.Fatalf("rotate the signing key: %v", err)
	}
	e.clock.Add(time.Second)
	if err := c.Send(ctx, []byte("two"), ""); err != nil {
		t.Fatalf("Send after key rotation: %v", err)
	}
	wantRequests(t, n, 2)
	if got := n.sends.Load(); got != 3 {
		t.Fatalf("%d sends, want 3 (one, two refused, two retried)", got)
	}
	res, err := e.s.Client.Read(ctx, e.hub, 0, 1, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, ev := range res.Events {
		bodies = append(bodies, string(ev.Body))
	}
	if fmt.Sprint(bodies) != "[one two]" {
		t.Fatalf("events %q", bodies)
	}
}

// TestSendToRevokedPublisher: the hub answers 401 publisher_revoked; the
// retry's token request is refused, and that refusal is returned.
func TestSendToRevokedPublisher(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c, n := e.client(t, nil)
	ctx := context.Background()
	if _, err := c.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Client.Revoke(ctx, e.hub, e.device); err != nil {
		t.Fatal(err)
	}
	err := c.Send(ctx, []byte("x"), "")
	wantRefusal(t, err, http.StatusForbidden, tokenclient.ReasonPublisherRevoked)
	wantRequests(t, n, 2)
	// Backing off: no more requests to either service.
	sends := n.sends.Load()
	if err2 := c.Send(ctx, []byte("x"), ""); err2 != err {
		t.Fatalf("second Send: %v, want %v", err2, err)
	}
	wantRequests(t, n, 2)
	if n.sends.Load() != sends {
		t.Fatal("Send reached the hub during backoff")
	}
}

func TestSendHubError(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *config.Server) { c.MaxBody = 1024 })
	c, _ := e.client(t, nil)
	err := c.Send(context.Background(), bytes.Repeat([]byte("x"), 2048), "")
	var he *tokenclient.HubError
	if !errors.As(err, &he) || he.Status != http.StatusRequestEntityTooLarge || he.Reason != "body_too_large" {
		t.Fatalf("Send of a large body: %v", err)
	}
}

// TestClientCertificate: a device registered with a certificate thumbprint
// authenticates with mutual TLS and no key.
func TestClientCertificate(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	certPEM, keyPEM, err := tlsutil.SelfSigned([]string{"sensor-2"}, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	ctx := context.Background()
	if _, err := e.s.Client.PutDevice(ctx, "sensor-2", device.Device{Spec: device.Spec{Hub: e.hub, CertThumbprint: hex.EncodeToString(sum[:])}}); err != nil {
		t.Fatalf("PutDevice: %v", err)
	}
	tc, err := tlsutil.ClientConfig(filepath.Join(e.s.Data, server.CertFile), false)
	if err != nil {
		t.Fatal(err)
	}
	tc.Certificates = []tls.Certificate{cert}
	c, err := tokenclient.New(tokenclient.Config{Server: e.s.URL(), TLS: tc, Clock: e.clock.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tok, err := c.Token(ctx)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok.Publisher != "sensor-2" || tok.Hub != e.hub {
		t.Fatalf("token %+v", tok)
	}
	if err := c.Send(ctx, []byte("by certificate"), "text/plain"); err != nil {
		t.Fatalf("Send: %v", err)
	}

	// Without the certificate there is no proof at all.
	tc2, err := tlsutil.ClientConfig(filepath.Join(e.s.Data, server.CertFile), false)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc2}}
	t.Cleanup(hc.CloseIdleConnections)
	c2, err := tokenclient.New(tokenclient.Config{Server: e.s.URL(), HTTPClient: hc, Clock: e.clock.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	_, err = c2.Token(ctx)
	wantRefusal(t, err, http.StatusUnauthorized, tokenclient.ReasonBadProof)
}

// TestSendWithHeader: a gzip-compressed body with a user property arrives
// inflated, with the property.
func TestSendWithHeader(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c, _ := e.client(t, nil)
	ctx := context.Background()
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	_, _ = zw.Write([]byte(`{"temp":21.5}`))
	_ = zw.Close()
	h := http.Header{"Content-Encoding": {"gzip"}, "Content-Type": {"application/json"}, "X-Unit": {"C"}}
	if err := c.SendWithHeader(ctx, zbuf.Bytes(), h); err != nil {
		t.Fatal(err)
	}
	res, err := e.s.Client.Read(ctx, e.hub, 0, 1, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 1 || string(res.Events[0].Body) != `{"temp":21.5}` || res.Events[0].Properties["X-Unit"] != "C" {
		t.Fatalf("events %+v", res.Events)
	}
}

// TestTwoClientsOfOneDevice: a device's process restarted within the same
// second (two clients, one clock) still gets its tokens: the proofs differ,
// or the refused one is replaced at once.
func TestTwoClientsOfOneDevice(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	ctx := context.Background()
	for i := range 20 {
		e.clock.Add(2 * time.Minute) // the earlier rounds' proofs expired
		a, _ := e.client(t, nil)
		b, _ := e.client(t, nil)
		if _, err := a.Token(ctx); err != nil {
			t.Fatalf("round %d, first client: %v", i, err)
		}
		if _, err := b.Token(ctx); err != nil {
			t.Fatalf("round %d, second client in the same second: %v", i, err)
		}
	}
}
