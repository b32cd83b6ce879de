package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/moatsec/moat/internal/center"
)

// hit is one request a receiver got.
type hit struct {
	header http.Header
	body   []byte
	status int
}

// receiver is an HTTP endpoint answering with the statuses given in
// order (200 once they run out), and recording every request.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	header   http.Header // added to the non-2xx answers
	hits     []hit
	got      chan hit
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses, got: make(chan hit, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		h := hit{header: req.Header.Clone(), body: body, status: status}
		r.hits = append(r.hits, h)
		if status >= 300 {
			for k, v := range r.header {
				w.Header()[k] = v
			}
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		r.got <- h
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.hits)
}

func (r *receiver) all() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

func (r *receiver) next(t *testing.T) hit {
	t.Helper()
	select {
	case h := <-r.got:
		return h
	case <-time.After(wait):
		t.Fatal("the receiver got nothing")
	}
	return hit{}
}

// verify is how a receiver checks a request, written independently of
// Sign (it mirrors the snippet in docs/notifications.md).
func verify(secret string, h http.Header, body []byte, now time.Time) error {
	ts := h.Get("X-Moat-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("no timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("stale")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(h.Get("X-Moat-Signature"))) {
		return errors.New("bad signature")
	}
	return nil
}

func webhookConfig(chs ...Channel) Config { return emailConfig(chs...) }

func TestWebhookSignedJSON(t *testing.T) {
	rcv := newReceiver(t)
	ch := webhookChannel("hook", rcv.URL+"/moat", func(w *WebhookConfig) { w.Headers = map[string]string{"Authorization": "Bearer receiver-token-123"} })
	h := newHarness(t, webhookConfig(ch), hopts{})
	a := testAlert("a-1", "ssh-brute-force", center.SeverityHigh, "dev-1", "203.0.113.9")
	h.n.Notify(a, true)
	if d := h.delivery(t); d.Err != nil || d.Attempts != 1 {
		t.Fatalf("delivery = %+v", d)
	}
	got := rcv.next(t)
	if err := verify(string(ch.Webhook.Secret), got.header, got.body, h.clock.Now()); err != nil {
		t.Fatalf("receiver: %v", err)
	}
	if err := verify("another-secret-of-16+", got.header, got.body, h.clock.Now()); err == nil {
		t.Error("a wrong key verifies")
	}
	tampered := append([]byte(nil), got.body...)
	tampered[len(tampered)-2] ^= 1
	if err := verify(string(ch.Webhook.Secret), got.header, tampered, h.clock.Now()); err == nil {
		t.Error("a tampered body verifies")
	}
	if err := VerifySignature(string(ch.Webhook.Secret), got.body, got.header.Get(HeaderTimestamp), got.header.Get(HeaderSignature), h.clock.Now(), 5*time.Minute); err != nil {
		t.Errorf("VerifySignature: %v", err)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "moat-notify",
		"Authorization": "Bearer receiver-token-123", "X-Moat-Timestamp": strconv.FormatInt(t0.Unix(), 10)} {
		if got.header.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, got.header.Get(k), want)
		}
	}
	if len(got.header.Get(HeaderDelivery)) != 24 {
		t.Errorf("%s = %q", HeaderDelivery, got.header.Get(HeaderDelivery))
	}
	var p AlertPayload
	if err := json.Unmarshal(got.body, &p); err != nil {
		t.Fatal(err)
	}
	want := AlertPayload{Type: "alert", Alert: a, Created: true, SentAt: t0}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(got.body, &raw)
	if string(raw["type"]) != `"alert"` || string(raw["created"]) != "true" || raw["sentAt"] == nil || raw["alert"] == nil {
		t.Errorf("body = %s", got.body)
	}
}

func TestWebhookUnsignedWithoutSecret(t *testing.T) {
	rcv := newReceiver(t)
	h := newHarness(t, webhookConfig(webhookChannel("hook", rcv.URL, func(w *WebhookConfig) { w.Secret = "" })), hopts{})
	h.n.Notify(testAlert("a-1", "r", center.SeverityHigh, "dev-1", ""), true)
	h.delivery(t)
	if got := rcv.next(t); got.header.Get(HeaderSignature) != "" || got.header.Get(HeaderTimestamp) == "" {
		t.Errorf("headers = %v", got.header)
	}
}

func TestWebhookRetries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		statuses   []int
		retryAfter string
		attempts   int // configured, 0 = default
		wantHits   int
		wantOK     bool
		wantWaits  func(t *testing.T, waits []time.Duration)
		wantErr    string
	}{
		{name: "503 twice then 200: delivered once", statuses: []int{503, 503}, wantHits: 3, wantOK: true,
			wantWaits: func(t *testing.T, w []time.Duration) {
				// equal jitter: the n-th wait is in [2^(n-1)/2 s, 2^(n-1) s]
				if len(w) != 2 || w[0] < 500*time.Millisecond || w[0] > time.Second || w[1] < time.Second || w[1] > 2*time.Second {
					t.Errorf("waits = %v", w)
				}
			}},
		{name: "400: not retried", statuses: []int{400}, wantHits: 1, wantErr: "HTTP 400 (not retried)"},
		{name: "404: not retried", statuses: []int{404}, wantHits: 1, wantErr: "HTTP 404"},
		{name: "redirect: not followed", statuses: []int{302}, wantHits: 1, wantErr: "redirects are not followed"},
		{name: "429 with Retry-After: honoured", statuses: []int{429}, retryAfter: "7", wantHits: 2, wantOK: true,
			wantWaits: func(t *testing.T, w []time.Duration) {
				if diff := cmp.Diff([]time.Duration{7 * time.Second}, w); diff != "" {
					t.Errorf("waits (-want +got):\n%s", diff)
				}
			}},
		{name: "Retry-After past the budget: given up", statuses: []int{503}, retryAfter: "3600", wantHits: 1, wantErr: "retry budget"},
		{name: "always 500: attempts bound", statuses: []int{500, 500, 500, 500}, attempts: 3, wantHits: 3, wantErr: "HTTP 500"},
		{name: "always 500: default 5 attempts", statuses: []int{500, 500, 500, 500, 500, 500}, wantHits: 5, wantErr: "HTTP 500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, tc.statuses...)
			if tc.retryAfter != "" {
				rcv.header = http.Header{"Retry-After": {tc.retryAfter}}
			}
			ch := webhookChannel("hook", rcv.URL, func(w *WebhookConfig) { w.Attempts = tc.attempts })
			h := newHarness(t, webhookConfig(ch), hopts{})
			h.n.Notify(testAlert("a-1", "r", center.SeverityHigh, "dev-1", ""), true)
			d := h.delivery(t)
			if tc.wantOK != (d.Err == nil) || (tc.wantErr != "" && !strings.Contains(d.Err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want ok=%v %q", d.Err, tc.wantOK, tc.wantErr)
			}
			if d.Attempts != tc.wantHits || rcv.count() != tc.wantHits {
				t.Errorf("attempts = %d, receiver hits = %d, want %d", d.Attempts, rcv.count(), tc.wantHits)
			}
			ok := 0
			ids := map[string]bool{}
			for _, hit := range rcv.all() {
				if hit.status == 200 {
					ok++
				}
				ids[hit.header.Get(HeaderDelivery)] = true
				if err := verify(string(ch.Webhook.Secret), hit.header, hit.body, h.clock.Now()); err != nil {
					t.Errorf("attempt not verifiable: %v", err)
				}
			}
			if tc.wantOK && ok != 1 {
				t.Errorf("%d successful requests, want exactly 1", ok)
			}
			if len(ids) != 1 {
				t.Errorf("%d delivery ids across the retries of one message, want 1", len(ids))
			}
			if tc.wantWaits != nil {
				tc.wantWaits(t, h.clock.Waits())
			}
			s := h.n.Stats().Channels["hook"]
			if s.Retries != uint64(tc.wantHits-1) || (s.Failed == 1) == tc.wantOK {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

// A webhook that never answers delays neither the email channel nor the
// other webhook.
func TestHangingWebhookDoesNotDelayOthers(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	rcv := newReceiver(t)
	srv := startSMTP(t, smtpOpts{mode: smtpStartTLS})
	cfg := webhookConfig(webhookChannel("a-hang", hang.URL, nil), emailChannel("mail", srv, nil), webhookChannel("z-hook", rcv.URL, nil))
	h := newHarness(t, cfg, hopts{})
	for i := range 3 {
		h.n.Notify(testAlert("a-"+strconv.Itoa(i), "r", center.SeverityHigh, "dev-1", ""), true)
	}
	<-entered // the first message hangs in its attempt (timeout: 20s)
	got := map[string]int{}
	for range 6 {
		d := h.delivery(t)
		if d.Err != nil {
			t.Fatalf("%s: %v", d.Channel, d.Err)
		}
		got[d.Channel]++
	}
	if diff := cmp.Diff(map[string]int{"mail": 3, "z-hook": 3}, got); diff != "" {
		t.Errorf("deliveries while the webhook hangs (-want +got):\n%s", diff)
	}
	for range 3 {
		srv.next(t)
	}
	if s := h.n.Stats().Channels["a-hang"]; s.Sent != 0 || s.Pending != 2 {
		t.Errorf("hanging channel stats = %+v, want 2 pending", s)
	}
}

func TestWebhookTimeout(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // the server notices a client gone only once the body is read
		<-r.Context().Done()
	}))
	defer hang.Close()
	ch := webhookChannel("hook", hang.URL, func(w *WebhookConfig) { w.Timeout, w.Attempts = Duration(100*time.Millisecond), 2 })
	h := newHarness(t, webhookConfig(ch), hopts{})
	h.n.Notify(testAlert("a-1", "r", center.SeverityHigh, "dev-1", ""), true)
	d := h.delivery(t)
	if d.Err == nil || !strings.Contains(d.Err.Error(), "no response within 100ms") || d.Attempts != 2 {
		t.Fatalf("delivery = %+v", d)
	}
}

func TestVerifySignature(t *testing.T) {
	secret, body, now := "0123456789abcdef", []byte(`{"type":"alert"}`), t0
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := Sign(secret, ts, body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != 7+64 {
		t.Fatalf("Sign = %q", sig)
	}
	for _, tc := range []struct {
		name            string
		secret, ts, sig string
		body            []byte
		now             time.Time
		want            error
	}{
		{"good", secret, ts, sig, body, now, nil},
		{"4 minutes late", secret, ts, sig, body, now.Add(4 * time.Minute), nil},
		{"replayed 6 minutes later", secret, ts, sig, body, now.Add(6 * time.Minute), ErrStale},
		{"from the future", secret, ts, sig, body, now.Add(-6 * time.Minute), ErrStale},
		{"timestamp changed", secret, strconv.FormatInt(now.Unix()+1, 10), sig, body, now, ErrBadSignature},
		{"body changed", secret, ts, sig, []byte(`{"type":"alerT"}`), now, ErrBadSignature},
		{"wrong secret", "fedcba9876543210", ts, sig, body, now, ErrBadSignature},
		{"no signature", secret, ts, "", body, now, ErrBadSignature},
		{"bad timestamp", secret, "12ab", sig, body, now, ErrStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(tc.secret, tc.body, tc.ts, tc.sig, tc.now, 5*time.Minute)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzVerifySignature(f *testing.F) {
	f.Add("0123456789abcdef", []byte(`{}`), "1773126000", "sha256=00")
	f.Add("", []byte{}, "-99999999999", "")
	f.Add("k", []byte("\x00"), "9999999999999999999999", "sha256=")
	f.Fuzz(func(t *testing.T, secret string, body []byte, ts, sig string) {
		now := time.Unix(1773126000, 0)
		_ = VerifySignature(secret, body, ts, sig, now, 5*time.Minute)
		good := strconv.FormatInt(now.Unix(), 10)
		if err := VerifySignature(secret, body, good, Sign(secret, good, body), now, 5*time.Minute); err != nil {
			t.Fatalf("own signature: %v", err)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"": 0, "7": 7 * time.Second, " 7 ": 7 * time.Second, "0": 0, "-3": 0, "abc": 0,
		"99999999999999999999": 0, "9999999999": 7 * 24 * time.Hour,
		"Tue, 10 Mar 2026 07:00:30 GMT": 30 * time.Second, "Tue, 10 Mar 2026 06:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, t0); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}
