// Package tokenclient obtains short-lived Event Hubs publisher tokens from a
// Moat discovery service, so that a device never holds a hub key.
//
// A device proves who it is to POST /api/v1/discovery/token either with an
// IoT Hub–style SharedAccessSignature signed with its own device key (a
// fresh, one-minute proof for every request) or with a TLS client
// certificate registered to it. The service checks the device's status and
// policy and answers with a publisher token scoped to that one device, its
// expiry and the endpoint to send events to.
//
// A [Client] caches the token and refreshes it once a fraction of its
// lifetime has passed (80% by default), shares one request among concurrent
// callers, and backs off after a refusal or failure instead of hammering the
// service: until the backoff deadline every call answers at once, with the
// cached token while it is still valid and with the last error otherwise.
//
//	c, err := tokenclient.New(tokenclient.Config{
//		Server:    "https://moat.example.com:8443",
//		Namespace: "moat.example.com",
//		DeviceID:  "sensor-042",
//		Key:       deviceKey, // base64
//	})
//	...
//	err = c.Send(ctx, []byte(`{"temp": 21.5}`), "application/json")
//
// The package depends only on the standard library and Moat's public sas
// package, so that it can be built into devices and the on-device agent.
package tokenclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/moatsec/moat/sas"
)

// TokenPath is the discovery endpoint, relative to the server URL.
const TokenPath = "/api/v1/discovery/token"

// Defaults and limits.
const (
	// DefaultProofTTL is the lifetime of the proof signed for each request.
	DefaultProofTTL = time.Minute
	// MaxProofTTL is the longest proof lifetime: the service refuses
	// proofs that expire further ahead.
	MaxProofTTL = 5 * time.Minute
	// DefaultRefresh is the fraction of a token's lifetime after which it
	// is refreshed.
	DefaultRefresh = 0.8
	// DefaultTimeout bounds one token request.
	DefaultTimeout = 30 * time.Second

	maxResponseBytes = 1 << 20
	maxErrorBytes    = 64 << 10
	userAgent        = "moat-tokenclient"
)

// Location is where a device says it is, in decimal degrees (WGS 84). The
// service checks it against the device's geofence.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Config configures a [Client]. Server is required, and so is a way to
// prove the device's identity: Key (with Namespace and DeviceID), or a TLS
// client certificate in TLS or in HTTPClient's transport.
type Config struct {
	// Server is the base URL of the discovery service, e.g.
	// https://moat.example.com:8443.
	Server string
	// Namespace is the namespace host that proofs are scoped to (the
	// server's namespace setting, e.g. "localhost"). Required with Key.
	Namespace string
	// DeviceID is the registered device's ID. Required with Key.
	DeviceID string
	// Key is the device's base64 key (primary or secondary). Each request
	// carries a proof signed with it; the key itself is never sent. Leave
	// it empty to authenticate with a TLS client certificate instead.
	Key string
	// TLS configures the connection: RootCAs to trust the server,
	// Certificates (or GetClientCertificate) for mutual TLS,
	// InsecureSkipVerify for tests. It is cloned; ignored when HTTPClient
	// is set.
	TLS *tls.Config
	// HTTPClient, when set, sends every request (token requests and
	// Send). Its transport must then carry the TLS settings itself.
	HTTPClient *http.Client
	// Location, when set, is called before each token request (from the
	// goroutine that makes it); a nil result sends no location.
	Location func() *Location
	// Firmware is reported with each token request ("" = not reported).
	Firmware string
	// Metadata is reported with each token request (nil = not reported).
	// It must not be modified after New.
	Metadata map[string]any
	// Clock returns the current time (default time.Now). Proofs, refresh
	// and backoff deadlines all follow it; it should be kept within the
	// server's clock skew allowance of the real time.
	Clock func() time.Time
	// Refresh is the fraction of a token's lifetime, in (0, 1], after
	// which it is refreshed (default [DefaultRefresh]).
	Refresh float64
	// ProofTTL is the lifetime of each request's proof (default
	// [DefaultProofTTL], at most [MaxProofTTL]).
	ProofTTL time.Duration
	// Timeout bounds each token request (default [DefaultTimeout]).
	Timeout time.Duration
	// Backoff says how long to wait after a failed token request.
	Backoff Backoff
}

// Token is an issued publisher token.
type Token struct {
	// Value is the SharedAccessSignature to send in the Authorization
	// header of requests to Endpoint.
	Value string
	// ExpiresAt is when the hub stops accepting Value.
	ExpiresAt time.Time
	// Hub and Publisher name the hub and the publisher (the device) the
	// token is scoped to.
	Hub, Publisher string
	// Endpoint is the URL to POST events to:
	// {base}/{hub}/publishers/{publisher}/messages.
	Endpoint string
}

// Client obtains and caches the device's publisher token. It is safe for
// concurrent use.
type Client struct {
	tokenURL string
	ns, id   string
	key      string
	http     *http.Client
	loc      func() *Location
	firmware string
	metadata map[string]any
	clock    func() time.Time
	refresh  float64
	proofTTL time.Duration
	timeout  time.Duration
	backoff  Backoff

	mu        sync.Mutex
	tok       Token
	have      bool      // tok is set
	refreshAt time.Time // when tok should be replaced
	gen       uint64    // incremented by Invalidate
	flight    *flight   // the token request under way, or nil
	lastErr   error     // the last token request's error, nil after a success
	failures  int       // consecutive failed token requests
	retryAt   time.Time // no token request before this after a failure
	lastSe    int64     // expiry of the last proof; each proof gets a later one
}

// flight is one token request shared by the callers that wait for it.
type flight struct {
	done  chan struct{}
	gen   uint64
	start time.Time
	proof string
	tok   Token
	err   error
}

// New checks cfg and returns a Client. It makes no request.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.Server)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("tokenclient: Server %q: want https://host[:port]", cfg.Server)
	}
	c := &Client{
		tokenURL: strings.TrimRight(cfg.Server, "/") + TokenPath,
		ns:       cfg.Namespace,
		id:       cfg.DeviceID,
		key:      cfg.Key,
		http:     cfg.HTTPClient,
		loc:      cfg.Location,
		firmware: cfg.Firmware,
		metadata: cfg.Metadata,
		clock:    cfg.Clock,
		refresh:  cfg.Refresh,
		proofTTL: cfg.ProofTTL,
		timeout:  cfg.Timeout,
	}
	if c.key != "" {
		if c.ns == "" || c.id == "" {
			return nil, errors.New("tokenclient: Namespace and DeviceID are required with Key")
		}
		if _, err := sas.SignIoTHub(c.ns+"/devices/"+c.id, "", c.key, time.Unix(1, 0)); err != nil {
			return nil, fmt.Errorf("tokenclient: Key: %w", err)
		}
	} else if cfg.HTTPClient == nil && (cfg.TLS == nil || (len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetClientCertificate == nil)) {
		return nil, errors.New("tokenclient: set Key, or a TLS client certificate to authenticate the device")
	}
	if c.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.TLS != nil {
			tr.TLSClientConfig = cfg.TLS.Clone()
		}
		tr.ForceAttemptHTTP2 = true
		c.http = &http.Client{Transport: tr}
	}
	if c.clock == nil {
		c.clock = time.Now
	}
	switch {
	case c.refresh == 0:
		c.refresh = DefaultRefresh
	case !(c.refresh > 0 && c.refresh <= 1):
		return nil, fmt.Errorf("tokenclient: Refresh %v: want a fraction in (0, 1]", cfg.Refresh)
	}
	switch {
	case c.proofTTL == 0:
		c.proofTTL = DefaultProofTTL
	case c.proofTTL < time.Second || c.proofTTL > MaxProofTTL:
		return nil, fmt.Errorf("tokenclient: ProofTTL %s: want 1s to %s", cfg.ProofTTL, MaxProofTTL)
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.backoff, err = cfg.Backoff.withDefaults(); err != nil {
		return nil, err
	}
	return c, nil
}

// Token returns the device's publisher token.
//
// A cached token is returned until Refresh of its lifetime has passed; then
// the caller requests a new one. Concurrent callers share that request, and
// those that still hold a valid token do not wait for it. If the request
// fails, Token returns the cached token for as long as it is valid, and the
// error is available from [Client.LastError]; without a valid token it
// returns the error: a [*Refusal] when the service answered, another error
// when it could not be reached or its answer was unusable.
//
// After a failure no request is made before a backoff deadline: the
// Retry-After the service asked for, or an exponentially growing, jittered
// delay (see [Backoff]). Until then Token returns at once, with the cached
// token or the same error. Refusals that only an operator can lift, such as
// device_disabled, back off like any other failure, so a device whose status
// is restored gets a token within Backoff.Max (plus jitter).
//
// If ctx ends while Token waits for a request, it returns ctx's error (or a
// still-valid cached token); the request itself carries on, bounded by
// Config.Timeout, and its result is cached for the next call.
func (c *Client) Token(ctx context.Context) (Token, error) {
	c.mu.Lock()
	now := c.clock()
	valid := c.have && now.Before(c.tok.ExpiresAt)
	cached := c.tok
	switch {
	case valid && now.Before(c.refreshAt):
		c.mu.Unlock()
		return cached, nil
	case c.lastErr != nil && now.Before(c.retryAt):
		err := c.lastErr
		c.mu.Unlock()
		if valid {
			return cached, nil
		}
		return Token{}, err
	case valid && c.flight != nil:
		c.mu.Unlock() // someone is refreshing it; no need to wait
		return cached, nil
	}
	f := c.flight
	if f == nil {
		f = c.startLocked(ctx, now)
	}
	c.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		if valid && c.clock().Before(cached.ExpiresAt) {
			return cached, nil
		}
		return Token{}, ctx.Err()
	}
	if f.err != nil {
		if valid && c.clock().Before(cached.ExpiresAt) {
			return cached, nil
		}
		return Token{}, f.err
	}
	return f.tok, nil
}

// LastError returns the error of the last token request, or nil if it
// succeeded (or none was made). It tells why [Client.Token] is still
// returning an older token.
func (c *Client) LastError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// Invalidate drops the cached token, for example after the hub refused it
// with 401, so that the next [Client.Token] requests a new one (once any
// backoff deadline has passed). A request already under way when Invalidate
// is called still answers its callers, but its token is not cached.
func (c *Client) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalidateLocked()
}

// invalidateIf drops the cached token if it is still value.
func (c *Client) invalidateIf(value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.have && c.tok.Value == value {
		c.invalidateLocked()
	}
}

func (c *Client) invalidateLocked() {
	c.tok, c.have, c.refreshAt = Token{}, false, time.Time{}
	c.gen++
	c.flight = nil
}

// startLocked starts a token request. c.mu is held.
func (c *Client) startLocked(ctx context.Context, now time.Time) *flight {
	f := &flight{done: make(chan struct{}), gen: c.gen, start: now}
	if c.key != "" {
		f.proof = c.proofLocked(now)
	}
	c.flight = f
	// The request outlives a caller that gives up, so that the others
	// waiting for it (and the next call) still get its answer.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	go func() {
		defer cancel()
		tok, err := c.fetch(rctx, f.proof)
		// A refused proof may have been used first by another client of
		// this device (a process restarted within the second): retry with
		// new ones, a few times. A wrong key fails again and backs off as
		// usual.
		for retry := 0; retry < 3 && f.proof != ""; retry++ {
			var r *Refusal
			if !errors.As(err, &r) || r.Reason != ReasonBadProof {
				break
			}
			tok, err = c.fetch(rctx, c.nextProof())
		}
		c.finish(f, tok, err)
	}()
	return f
}

// proofLocked signs a new device proof (c.mu held). The service remembers
// every proof's signature until it expires and refuses a second use, so no
// two proofs may share an expiry. Within this client the expiries only
// grow; the random part keeps two clients of one device (a process
// restarted within the second) from signing the same proof: the expiry is
// drawn from the second half of the proof's lifetime (a retry after a
// refusal moves past the refused one).
func (c *Client) proofLocked(now time.Time) string {
	jitter := int64(0)
	if q := int64(c.proofTTL / time.Second / 2); q > 1 {
		jitter = mrand.Int64N(q)
	}
	se := now.Add(c.proofTTL).Unix() - jitter
	if se <= c.lastSe {
		se = c.lastSe + 1
	}
	c.lastSe = se
	proof, _ := sas.SignIoTHub(c.ns+"/devices/"+c.id, "", c.key, time.Unix(se, 0)) // the key was checked by New
	return proof
}

// nextProof signs a new proof, or returns "" for a client without a key.
func (c *Client) nextProof() string {
	if c.key == "" {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proofLocked(c.clock())
}

// finish records the outcome of f and releases its callers.
func (c *Client) finish(f *flight, tok Token, err error) {
	f.tok, f.err = tok, err
	c.mu.Lock()
	if c.flight == f {
		c.flight = nil
	}
	if f.gen == c.gen {
		now := c.clock()
		if err == nil {
			c.tok, c.have = tok, true
			life := tok.ExpiresAt.Sub(f.start)
			c.refreshAt = f.start.Add(time.Duration(c.refresh * float64(life)))
			c.lastErr, c.failures, c.retryAt = nil, 0, time.Time{}
		} else {
			c.lastErr = err
			c.failures++
			var r *Refusal
			if errors.As(err, &r) && r.RetryAfter > 0 {
				c.retryAt = now.Add(r.RetryAfter)
			} else {
				c.retryAt = now.Add(c.backoff.delay(c.failures))
			}
		}
	}
	c.mu.Unlock()
	close(f.done)
}

// tokenRequest is the JSON body of a token request.
type tokenRequest struct {
	Location *Location      `json:"location,omitempty"`
	Firmware string         `json:"firmware,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// grant is the JSON answer to a successful token request.
type grant struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	Hub       string    `json:"hub"`
	Publisher string    `json:"publisher"`
	Endpoint  string    `json:"endpoint"`
}

// fetch makes one token request.
func (c *Client) fetch(ctx context.Context, proof string) (Token, error) {
	body := tokenRequest{Firmware: c.firmware, Metadata: c.metadata}
	if c.loc != nil {
		body.Location = c.loc()
	}
	var rd io.Reader
	var data []byte
	if body.Location != nil || body.Firmware != "" || len(body.Metadata) > 0 {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return Token{}, fmt.Errorf("tokenclient: encode request: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURL, rd)
	if err != nil {
		return Token{}, fmt.Errorf("tokenclient: %w", err)
	}
	if data != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if proof != "" {
		req.Header.Set("Authorization", proof)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return Token{}, fmt.Errorf("tokenclient: token request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Token{}, readRefusal(resp, c.clock())
	}
	var g grant
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(&g); err != nil {
		return Token{}, fmt.Errorf("tokenclient: token response: %w", err)
	}
	if _, err := sas.Parse(g.Token); err != nil {
		return Token{}, fmt.Errorf("tokenclient: token response: token: %w", err)
	}
	if g.ExpiresAt.IsZero() {
		return Token{}, errors.New("tokenclient: token response: no expiresAt")
	}
	if u, err := url.Parse(g.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Token{}, fmt.Errorf("tokenclient: token response: endpoint %q is not an http(s) URL", g.Endpoint)
	}
	if now := c.clock(); !now.Before(g.ExpiresAt) {
		// Refreshing would only fetch more tokens that look expired.
		return Token{}, fmt.Errorf("tokenclient: the issued token expires at %s, not after the device's time %s: check the device clock",
			g.ExpiresAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return Token{Value: g.Token, ExpiresAt: g.ExpiresAt, Hub: g.Hub, Publisher: g.Publisher, Endpoint: g.Endpoint}, nil
}
