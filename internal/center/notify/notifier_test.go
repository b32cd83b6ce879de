package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/moatsec/moat/internal/center"
)

func TestThrottlePerAlert(t *testing.T) {
	rcv := newReceiver(t)
	h := newHarness(t, webhookConfig(webhookChannel("hook", rcv.URL, nil)), hopts{})
	a := testAlert("a-1", "ssh-brute-force", center.SeverityMedium, "dev-1", "203.0.113.9")
	sentAlert := func(want string) {
		t.Helper()
		d := h.delivery(t)
		if d.Err != nil || d.AlertIDs[0] != "a-1" {
			t.Fatalf("delivery = %+v", d)
		}
		var p AlertPayload
		if err := json.Unmarshal(rcv.next(t).body, &p); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%s/%d", p.Alert.Severity, p.Alert.Count); got != want {
			t.Errorf("sent %s, want %s", got, want)
		}
	}

	h.dispatch(t, a, true) // new: sent
	sentAlert("Medium/7")

	a.Count = 9 // grown, same severity, 5 minutes later: held back
	h.clock.Set(t0.Add(5 * time.Minute))
	h.dispatch(t, a, false)
	h.noDelivery(t)

	a.Count, a.Severity = 10, center.SeverityHigh // severity rose: sent at once
	h.dispatch(t, a, false)
	sentAlert("High/10")

	a.Count = 11 // same severity again, 14 minutes after the last send: held back
	h.clock.Set(t0.Add(19 * time.Minute))
	h.dispatch(t, a, false)
	h.noDelivery(t)

	a.Count = 12 // 15 minutes after the last send: sent
	h.clock.Set(t0.Add(20 * time.Minute))
	h.dispatch(t, a, false)
	sentAlert("High/12")

	s := h.n.Stats().Channels["hook"]
	if s.Sent != 3 || s.Throttled != 2 || s.Digested != 2 || s.DigestPending != 1 {
		t.Errorf("stats = %+v", s)
	}
	if rcv.count() != 3 {
		t.Errorf("receiver got %d, want 3", rcv.count())
	}
}

func TestThrottlePerAlertIsPerChannel(t *testing.T) {
	th := newThrottle()
	th.sent("a", "x", 2, t0, time.Minute)
	if th.alertAllowed("a", "x", 2, t0.Add(59*time.Second), time.Minute) {
		t.Error("same channel allowed within the period")
	}
	if !th.alertAllowed("b", "x", 2, t0, time.Minute) || !th.alertAllowed("a", "y", 2, t0, time.Minute) {
		t.Error("another channel or alert held back")
	}
	if th.alertAllowed("a", "x", 1, t0.Add(time.Second), time.Minute) {
		t.Error("lower severity allowed")
	}
}

func TestThrottlePerChannel(t *testing.T) {
	rcv := newReceiver(t)
	other := newReceiver(t)
	cfg := webhookConfig(webhookChannel("hook", rcv.URL, nil), webhookChannel("other", other.URL, nil))
	cfg.Throttle.PerChannel = 3
	cfg.Rules = []Rule{{Name: "hook", Rules: []string{"r"}, Channels: []string{"hook"}}, {Name: "other", Rules: []string{"rare"}, Channels: []string{"other"}}}
	h := newHarness(t, cfg, hopts{})
	for i := range 5 {
		h.dispatch(t, testAlert(fmt.Sprint("a-", i), "r", center.SeverityHigh, "dev-1", ""), true)
	}
	h.dispatch(t, testAlert("rare-1", "rare", center.SeverityHigh, "dev-1", ""), true) // another channel: its own budget
	got := map[string]int{}
	for range 4 {
		got[h.delivery(t).Channel]++
	}
	h.noDelivery(t)
	if diff := cmp.Diff(map[string]int{"hook": 3, "other": 1}, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	s := h.n.Stats().Channels["hook"]
	if s.RateLimited != 2 || s.DigestPending != 2 {
		t.Errorf("stats = %+v", s)
	}
	// 59 s after the first: still full; 60 s: one slot back.
	h.clock.Set(t0.Add(59 * time.Second))
	h.dispatch(t, testAlert("a-5", "r", center.SeverityHigh, "dev-1", ""), true)
	h.clock.Set(t0.Add(60 * time.Second))
	h.dispatch(t, testAlert("a-6", "r", center.SeverityHigh, "dev-1", ""), true)
	if d := h.delivery(t); d.AlertIDs[0] != "a-6" {
		t.Errorf("delivered %v, want a-6", d.AlertIDs)
	}
	if s := h.n.Stats().Channels["hook"]; s.RateLimited != 3 || s.Sent != 4 {
		t.Errorf("stats = %+v", s)
	}
}

func TestRateWindow(t *testing.T) {
	r := &rate{times: make([]time.Time, 2)}
	steps := []struct {
		at   time.Duration
		want bool
	}{{0, true}, {10 * time.Second, true}, {59 * time.Second, false}, {60 * time.Second, true}, {69 * time.Second, false}, {70 * time.Second, true}, {71 * time.Second, false}}
	for _, s := range steps {
		if got := r.allow(t0.Add(s.at)); got != s.want {
			t.Errorf("at %s: allow = %v, want %v", s.at, got, s.want)
		}
	}
}

// blockingTags holds the dispatcher inside a tag lookup until released.
type blockingTags struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingTags) Tags(ctx context.Context, _ string) (map[string]string, error) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
		return map[string]string{"env": "prod"}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestQueueOverflowCounted(t *testing.T) {
	rcv := newReceiver(t)
	tags := &blockingTags{entered: make(chan struct{}, 100), release: make(chan struct{})}
	cfg := webhookConfig(webhookChannel("hook", rcv.URL, nil))
	cfg.Rules[0].DeviceTags = map[string]string{"env": "prod"}
	h := newHarness(t, cfg, hopts{tags: tags, queue: 2})
	h.n.Notify(testAlert("a-0", "r", center.SeverityHigh, "dev-1", ""), true)
	<-tags.entered // the dispatcher holds a-0; the queue is empty
	for i := 1; i <= 9; i++ {
		h.n.Notify(testAlert(fmt.Sprint("a-", i), "r", center.SeverityHigh, "dev-1", ""), true) // never blocks
	}
	s := h.n.Stats()
	if s.Received != 3 || s.Overflow != 7 || s.Queued != 2 {
		t.Errorf("stats = %+v, want 3 received, 7 overflowed, 2 queued", s)
	}
	if !strings.Contains(h.logs.String(), "queue full") {
		t.Errorf("overflow not logged:\n%s", h.logs)
	}
	if n := strings.Count(h.logs.String(), "queue full"); n != 1 {
		t.Errorf("overflow logged %d times, want once a minute", n)
	}
	close(tags.release)
	var ids []string
	for range 3 {
		ids = append(ids, h.delivery(t).AlertIDs...)
	}
	if diff := cmp.Diff([]string{"a-0", "a-1", "a-2"}, ids); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}

func TestSetConfig(t *testing.T) {
	a, b := newReceiver(t), newReceiver(t)
	h := newHarness(t, webhookConfig(webhookChannel("a", a.URL, nil)), hopts{})
	h.dispatch(t, testAlert("x-1", "r", center.SeverityLow, "dev-1", ""), true)
	h.delivery(t)

	bad := webhookConfig(webhookChannel("a", "ftp://nope", nil))
	if err := h.n.SetConfig(bad); err == nil {
		t.Fatal("SetConfig accepted an invalid configuration")
	}
	next := webhookConfig(webhookChannel("a", a.URL, nil), webhookChannel("b", b.URL, nil))
	next.Rules = []Rule{{Name: "high-to-b", MinSeverity: center.SeverityHigh, Channels: []string{"b"}}}
	if err := h.n.SetConfig(next); err != nil {
		t.Fatal(err)
	}
	h.dispatch(t, testAlert("x-2", "r", center.SeverityLow, "dev-1", ""), true) // no rule now
	h.dispatch(t, testAlert("x-3", "r", center.SeverityHigh, "dev-1", ""), true)
	if d := h.delivery(t); d.Channel != "b" || d.AlertIDs[0] != "x-3" {
		t.Errorf("delivery = %+v", d)
	}
	h.noDelivery(t)
	s := h.n.Stats()
	if s.Channels["a"].Sent != 1 || s.Channels["b"].Sent != 1 || s.Unrouted != 1 {
		t.Errorf("stats = %+v (a keeps its counters across SetConfig)", s)
	}
	if diff := cmp.Diff(next, h.n.Config()); diff != "" {
		t.Errorf("Config (-want +got):\n%s", diff)
	}
	// Removing a channel: it is gone from the stats.
	if err := h.n.SetConfig(webhookConfig(webhookChannel("b", b.URL, nil))); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.n.Stats().Channels["a"]; ok {
		t.Error("removed channel still in the stats")
	}
}

func TestCloseDrainsQueue(t *testing.T) {
	rcv := newReceiver(t)
	n, err := New(webhookConfig(webhookChannel("hook", rcv.URL, nil)), Options{Clock: newFakeClock(t0, 10*time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		n.Notify(testAlert(fmt.Sprint("a-", i), "r", center.SeverityHigh, "dev-1", ""), true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if rcv.count() != 30 { // the default 30 a minute; the rest went to the digest, which Close does not send
		t.Errorf("receiver got %d, want 30", rcv.count())
	}
	if s := n.Stats().Channels["hook"]; s.Sent != 30 || s.RateLimited != 20 {
		t.Errorf("stats = %+v", s)
	}
	n.Notify(testAlert("late", "r", center.SeverityHigh, "dev-1", ""), true)
	if s := n.Stats(); s.Overflow != 1 {
		t.Errorf("Notify after Close: overflow = %d, want 1", s.Overflow)
	}
	if err := n.SetConfig(webhookConfig(webhookChannel("hook", rcv.URL, nil))); !errors.Is(err, ErrClosed) {
		t.Errorf("SetConfig after Close = %v", err)
	}
	if err := n.Close(ctx); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestCloseGivesUp(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The body is read first: net/http notices a client that hung up
		// (and cancels r's context) only once the body is consumed.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	defer hang.Close()
	deliveries := make(chan Delivery, 10)
	n, err := New(webhookConfig(webhookChannel("hook", hang.URL, nil)), Options{Clock: newFakeClock(t0, 10*time.Minute),
		OnDelivery: func(d Delivery) { deliveries <- d }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		n.Notify(testAlert(fmt.Sprint("a-", i), "r", center.SeverityHigh, "dev-1", ""), true)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no patience at all
	if err := n.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want context.Canceled", err)
	}
	s := n.Stats().Channels["hook"]
	if s.Sent+s.Failed+s.Dropped != 3 {
		t.Errorf("stats = %+v: every alert is sent, failed or dropped", s)
	}
}

// Secrets never reach logs, errors or stats.
func TestSecretsNeverShown(t *testing.T) {
	const (
		password   = "pa55-Word-never-shown"
		hookSecret = "hmac-key-never-shown-0123"
		urlToken   = "T0KEN-in-the-url-path"
		header     = "Bearer header-never-shown"
	)
	srv := startSMTP(t, smtpOpts{mode: smtpStartTLS, user: "moat", pass: "the-right-one", echoPassword: true})
	cfg := webhookConfig(
		emailChannel("mail", srv, func(e *EmailConfig) { e.Username, e.Password = "moat", password }),
		webhookChannel("hook", fmt.Sprintf("http://127.0.0.1:%d/services/%s?token=%s", closedPort(t), urlToken, urlToken), func(w *WebhookConfig) {
			w.Secret, w.Headers, w.Attempts = hookSecret, map[string]string{"Authorization": header}, 2
		}),
	)
	h := newHarness(t, cfg, hopts{})
	h.n.Notify(testAlert("a-1", "r", center.SeverityHigh, "dev-1", ""), true)
	var errs []string
	for range 2 {
		d := h.delivery(t)
		if d.Err == nil {
			t.Fatalf("%s delivered", d.Channel)
		}
		errs = append(errs, d.Err.Error())
	}
	if !strings.Contains(strings.Join(errs, "\n"), "[redacted]") {
		t.Errorf("the hostile server's echo was not scrubbed? errors: %q", errs)
	}
	var logCfg strings.Builder
	for _, lg := range []*slog.Logger{slog.New(slog.NewJSONHandler(&logCfg, nil)), slog.New(slog.NewTextHandler(&logCfg, nil))} {
		lg.Info("config", "cfg", cfg, "email", cfg.Channels[0].Email, "emailValue", *cfg.Channels[0].Email,
			"hook", cfg.Channels[1].Webhook, "channel", cfg.Channels[1], "password", cfg.Channels[0].Email.Password)
	}
	view, _ := json.Marshal(cfg.View())
	stats, _ := json.Marshal(h.n.Stats())
	runtime := map[string]string{"errors": strings.Join(errs, "\n"), "logs": h.logs.String(), "stats": string(stats)}
	shown := map[string]string{"view": string(view), "slog": logCfg.String(),
		"fmt": fmt.Sprintf("%v %+v %#v %s %v %+v %#v", cfg, cfg, cfg, cfg.Channels[0].Email.Password, *cfg.Channels[0].Email, *cfg.Channels[1].Webhook, *cfg.Channels[0].Email)}
	for where, text := range runtime {
		shown[where] = text
		for _, s := range []string{urlToken, header} { // not secrets in the configuration, but kept out of what runs
			if strings.Contains(text, s) {
				t.Errorf("%s shows %q:\n%s", where, s, text)
			}
		}
	}
	for where, text := range shown {
		for _, s := range []string{password, hookSecret} {
			if strings.Contains(text, s) {
				t.Errorf("%s shows %q:\n%s", where, s, text)
			}
		}
	}
	if !strings.Contains(logCfg.String(), Redacted) {
		t.Errorf("slog output does not show the secrets as %q:\n%s", Redacted, logCfg.String())
	}
	if !strings.Contains(h.logs.String(), "delivery failed") {
		t.Errorf("failures not logged:\n%s", h.logs)
	}
}
