// Package client is a Go client for a Moat server's REST API (admin, device
// registry, send, read, revocations). The CLI, the benchmarks and the end-to-end tests use
// it. It signs its own SAS tokens from a connection string and reuses each
// token until 80% of its lifetime has passed.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/sas"
)

// Error is a failed API call: the server's status and reason.
type Error struct {
	Status  int
	Reason  string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Reason, e.Message)
}

// ReasonOf returns the reason of an *Error in err's chain, or "".
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Client talks to one server.
type Client struct {
	base   string
	http   *http.Client
	tokens *Tokens
}

// Options configures a Client.
type Options struct {
	Server     string       // base URL, e.g. https://localhost:8443
	TLS        *tls.Config  // nil = system defaults
	HTTPClient *http.Client // overrides TLS when set
	Tokens     *Tokens
}

// New returns a Client.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: server %q: want http(s)://host:port", o.Server)
	}
	hc := o.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if o.TLS != nil {
			tr.TLSClientConfig = o.TLS.Clone() // the transport's HTTP/2 setup mutates it
		}
		tr.MaxIdleConnsPerHost = 256
		tr.ForceAttemptHTTP2 = true
		hc = &http.Client{Transport: tr}
	}
	return &Client{base: strings.TrimRight(o.Server, "/"), http: hc, tokens: o.Tokens}, nil
}

// Tokens signs and caches SAS tokens for resources of one namespace.
type Tokens struct {
	ns      string
	keyName string
	key     string
	static  string // a SharedAccessSignature from the connection string
	ttl     time.Duration
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]cachedToken
}

type cachedToken struct {
	token   string
	refresh time.Time
}

// NewTokens returns a token source for a connection string. ttl is the
// lifetime of the tokens it signs (default 1h).
func NewTokens(cs sas.ConnectionString, ttl time.Duration) *Tokens {
	if ttl <= 0 {
		ttl = time.Hour
	}
	return &Tokens{ns: cs.Namespace(), keyName: cs.SharedAccessKeyName, key: cs.SharedAccessKey,
		static: cs.SharedAccessSignature, ttl: ttl, now: time.Now, cache: map[string]cachedToken{}}
}

// Namespace returns the namespace host tokens are scoped to.
func (t *Tokens) Namespace() string { return t.ns }

// For returns a token for resource (a path such as "/" or "/hub/publishers/p").
func (t *Tokens) For(resource string) string {
	if t.static != "" {
		return t.static
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.cache[resource]; ok && now.Before(c.refresh) {
		return c.token
	}
	tok := sas.Sign("sb://"+t.ns+resource, t.keyName, t.key, now.Add(t.ttl))
	t.cache[resource] = cachedToken{tok, now.Add(t.ttl * 8 / 10)}
	return tok
}

// do sends a request with a token for resource and decodes a JSON answer
// into out (when non-nil). Non-2xx answers become *Error.
func (c *Client) do(ctx context.Context, method, path, resource string, body io.Reader, hdr http.Header, out any) error {
	resp, err := c.send(ctx, method, path, resource, body, hdr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("client: decode %s %s: %w", method, path, err)
	}
	return nil
}

// stream sends a GET with a token for resource and hands a 2xx answer's
// body to fn. Non-2xx answers become *Error.
func (c *Client) stream(ctx context.Context, path, resource string, fn func(body io.Reader) error) error {
	resp, err := c.send(ctx, http.MethodGet, path, resource, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return fn(resp.Body)
}

// send sends a request with a token for resource and returns a 2xx
// response, whose body the caller closes. Non-2xx answers become *Error.
func (c *Client) send(ctx context.Context, method, path, resource string, body io.Reader, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.tokens != nil {
		req.Header.Set("Authorization", c.tokens.For(resource))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var b apierr.Body
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &b) != nil || b.Error.Reason == "" {
		return nil, &Error{Status: resp.StatusCode, Reason: "http_" + strconv.Itoa(resp.StatusCode), Message: strings.TrimSpace(string(data))}
	}
	return nil, &Error{Status: b.Error.Status, Reason: b.Error.Reason, Message: b.Error.Message}
}

func jsonBody(v any) (io.Reader, http.Header) {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}}
}

func esc(s string) string { return url.PathEscape(s) }

// Hub is a hub as the admin API returns it.
type Hub struct {
	Name           string    `json:"name"`
	Partitions     int       `json:"partitions"`
	RetentionHours int       `json:"retentionHours"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// PutHub creates or updates a hub.
func (c *Client) PutHub(ctx context.Context, name string, spec hub.HubSpec) (Hub, error) {
	var h Hub
	body, hdr := jsonBody(spec)
	return h, c.do(ctx, http.MethodPut, "/api/v1/hubs/"+esc(name), "/", body, hdr, &h)
}

// GetHub returns one hub.
func (c *Client) GetHub(ctx context.Context, name string) (Hub, error) {
	var h Hub
	return h, c.do(ctx, http.MethodGet, "/api/v1/hubs/"+esc(name), "/"+strings.ToLower(name), nil, nil, &h)
}

// ListHubs lists every hub.
func (c *Client) ListHubs(ctx context.Context) ([]Hub, error) {
	var out struct {
		Hubs []Hub `json:"hubs"`
	}
	return out.Hubs, c.do(ctx, http.MethodGet, "/api/v1/hubs", "/", nil, nil, &out)
}

// DeleteHub deletes a hub and its events.
func (c *Client) DeleteHub(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/hubs/"+esc(name), "/", nil, nil, nil)
}

// Rule is an authorization rule as the admin API returns it.
type Rule struct {
	hub.RuleKeys
	PrimaryConnectionString   string `json:"primaryConnectionString,omitempty"`
	SecondaryConnectionString string `json:"secondaryConnectionString,omitempty"`
}

func rulePath(hubName, rule string) (path, resource string) {
	if hubName == "" {
		return "/api/v1/authorizationRules/" + esc(rule), "/"
	}
	return "/api/v1/hubs/" + esc(hubName) + "/authorizationRules/" + esc(rule), "/" + strings.ToLower(hubName)
}

// PutRule creates a rule (with fresh keys) or updates its rights. hubName ""
// is the namespace scope.
func (c *Client) PutRule(ctx context.Context, hubName, rule string, rights []string) (Rule, error) {
	var r Rule
	p, res := rulePath(hubName, rule)
	body, hdr := jsonBody(map[string]any{"rights": rights})
	return r, c.do(ctx, http.MethodPut, p, res, body, hdr, &r)
}

// ListKeys returns a rule with its keys and connection strings.
func (c *Client) ListKeys(ctx context.Context, hubName, rule string) (Rule, error) {
	var r Rule
	p, res := rulePath(hubName, rule)
	return r, c.do(ctx, http.MethodGet, p+"/listKeys", res, nil, nil, &r)
}

// ListRules lists the rules of a scope (without keys).
func (c *Client) ListRules(ctx context.Context, hubName string) ([]Rule, error) {
	var out struct {
		Rules []Rule `json:"rules"`
	}
	p, res := rulePath(hubName, "")
	return out.Rules, c.do(ctx, http.MethodGet, strings.TrimSuffix(p, "/"), res, nil, nil, &out)
}

// RegenerateKey replaces a rule's PrimaryKey or SecondaryKey.
func (c *Client) RegenerateKey(ctx context.Context, hubName, rule string, which hub.KeyType) (Rule, error) {
	var r Rule
	p, res := rulePath(hubName, rule)
	body, hdr := jsonBody(map[string]any{"keyType": which})
	return r, c.do(ctx, http.MethodPost, p+"/regenerateKeys", res, body, hdr, &r)
}

// DeleteRule deletes a rule.
func (c *Client) DeleteRule(ctx context.Context, hubName, rule string) error {
	p, res := rulePath(hubName, rule)
	return c.do(ctx, http.MethodDelete, p, res, nil, nil, nil)
}

// Revoke blocks a publisher.
func (c *Client) Revoke(ctx context.Context, hubName, publisher string) error {
	return c.do(ctx, http.MethodPut, "/"+esc(hubName)+"/revokedpublishers/"+esc(publisher), "/"+strings.ToLower(hubName), nil, nil, nil)
}

// Restore lifts a publisher's revocation.
func (c *Client) Restore(ctx context.Context, hubName, publisher string) error {
	return c.do(ctx, http.MethodDelete, "/"+esc(hubName)+"/revokedpublishers/"+esc(publisher), "/"+strings.ToLower(hubName), nil, nil, nil)
}

// ListRevoked lists a hub's revoked publishers.
func (c *Client) ListRevoked(ctx context.Context, hubName string) ([]hub.RevokedPublisher, error) {
	var out struct {
		RevokedPublishers []hub.RevokedPublisher `json:"revokedPublishers"`
	}
	return out.RevokedPublishers, c.do(ctx, http.MethodGet, "/"+esc(hubName)+"/revokedpublishers", "/"+strings.ToLower(hubName), nil, nil, &out)
}

// Raw sends a request with a body and a token for resource; a non-2xx
// answer is an *Error. For endpoints without a typed method.
func (c *Client) Raw(ctx context.Context, method, path, resource string, body []byte, contentType string) error {
	var hdr http.Header
	if contentType != "" {
		hdr = http.Header{"Content-Type": {contentType}}
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	return c.do(ctx, method, path, resource, r, hdr, nil)
}
