package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/moatsec/moat/internal/center"
)

// Webhook headers.
const (
	HeaderSignature = "X-Moat-Signature" // "sha256=" + hex HMAC-SHA256 of "<timestamp>.<body>"
	HeaderTimestamp = "X-Moat-Timestamp" // Unix seconds when the attempt was signed
	HeaderDelivery  = "X-Moat-Delivery"  // random id, the same on every retry of one message
	UserAgent       = "moat-notify"
)

// AlertPayload is the body of an alert webhook.
type AlertPayload struct {
	Type    string       `json:"type"` // "alert"
	Alert   center.Alert `json:"alert"`
	Created bool         `json:"created"`
	SentAt  time.Time    `json:"sentAt"`
}

// DigestPayload is the body of a digest webhook.
type DigestPayload struct {
	Type   string        `json:"type"` // "digest"
	Since  time.Time     `json:"since"`
	Until  time.Time     `json:"until"`
	Alerts []DigestEntry `json:"alerts"`
	SentAt time.Time     `json:"sentAt"`
}

// Sign returns the X-Moat-Signature value for a body sent at timestamp
// (the X-Moat-Timestamp value): "sha256=" and the hex HMAC-SHA256, keyed
// with secret, of timestamp + "." + body.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Errors of VerifySignature.
var (
	ErrBadSignature = errors.New("notify: webhook signature does not match")
	ErrStale        = errors.New("notify: webhook timestamp outside the accepted window")
)

// VerifySignature checks a received webhook, for receivers written in Go:
// the signature must match the exact body and timestamp, and the
// timestamp be within tolerance of now (5 minutes is a good tolerance).
func VerifySignature(secret string, body []byte, timestamp, signature string, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || len(timestamp) > 12 {
		return fmt.Errorf("%w: bad timestamp", ErrStale)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	if !hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature)) {
		return ErrBadSignature
	}
	return nil
}

// sendWebhook delivers a job to a webhook channel with retries.
func (n *Notifier) sendWebhook(ctx context.Context, w *WebhookConfig, j job) (int, error) {
	now := n.clock.Now().UTC()
	var payload any
	if j.kind == KindDigest {
		payload = DigestPayload{Type: KindDigest, Since: j.since, Until: j.until, Alerts: j.entries, SentAt: now}
	} else {
		payload = AlertPayload{Type: KindAlert, Alert: j.alert, Created: j.created, SentAt: now}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return 0, fmt.Errorf("webhook: encode: %w", err)
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	delivery := hex.EncodeToString(id[:])
	tries := w.Attempts
	if tries == 0 {
		tries = DefaultAttempts
	}
	secrets := w.secrets()
	return n.withRetries(ctx, tries, func(ctx context.Context) outcome {
		o := n.webhookAttempt(ctx, w, body, delivery)
		o.err = scrub(o.err, secrets...)
		return o
	})
}

// secrets are the strings no error may show: the key, header values, and
// the URL's path and query (chat services put their tokens there).
func (w *WebhookConfig) secrets() []string {
	out := []string{string(w.Secret)}
	for _, v := range w.Headers {
		out = append(out, v)
	}
	if u, err := url.Parse(w.URL); err == nil {
		out = append(out, w.URL, u.RawQuery, u.EscapedPath(), u.Path)
	}
	return out
}

// redactedURL is the URL as errors show it: scheme and host only.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(webhook URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

func (n *Notifier) webhookAttempt(ctx context.Context, w *WebhookConfig, body []byte, delivery string) outcome {
	timeout := w.Timeout.D()
	if timeout == 0 {
		timeout = DefaultWebhookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	where := "webhook POST " + redactedURL(w.URL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return outcome{err: fmt.Errorf("%s: bad request", where)}
	}
	for k, v := range w.Headers {
		req.Header.Set(k, v)
	}
	ts := strconv.FormatInt(n.clock.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderDelivery, delivery)
	if w.Secret != "" {
		req.Header.Set(HeaderSignature, Sign(string(w.Secret), ts, body))
	}
	resp, err := n.http.Do(req)
	if err != nil {
		// *url.Error names the full URL: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("no response within %s", timeout)
		}
		return outcome{err: fmt.Errorf("%s: %w", where, err), retry: !isCanceled(err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return outcome{}
	case code == http.StatusTooManyRequests || code >= 500:
		return outcome{err: fmt.Errorf("%s: HTTP %d", where, code), retry: true,
			after: parseRetryAfter(resp.Header.Get("Retry-After"), n.clock.Now())}
	case code >= 300 && code < 400:
		return outcome{err: fmt.Errorf("%s: HTTP %d (redirects are not followed: configure the final URL)", where, code)}
	default:
		return outcome{err: fmt.Errorf("%s: HTTP %d (not retried)", where, code)}
	}
}
