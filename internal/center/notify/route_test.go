package notify

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/moatsec/moat/internal/center"
)

func hookCh(name string) Channel {
	return Channel{Name: name, Type: TypeWebhook, Webhook: &WebhookConfig{URL: "https://example.com/" + name}}
}

func TestRoute(t *testing.T) {
	cfg := Config{
		Channels: []Channel{hookCh("oncall"), hookCh("soc"), hookCh("paris"), hookCh("daily")},
		Rules: []Rule{
			{Name: "high", MinSeverity: center.SeverityHigh, Channels: []string{"oncall"}},
			{Name: "ssh", Rules: []string{"ssh-brute-force", "ssh-brute-force-success"}, MinSeverity: center.SeverityMedium, Channels: []string{"soc"}},
			{Name: "paris", DeviceTags: map[string]string{"site": "paris", "env": "prod"}, Channels: []string{"paris"}},
			{Name: "all-daily", Channels: []string{"daily", "soc"}, Digest: true},
		},
	}
	cc, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	parisProd := map[string]string{"site": "paris", "env": "prod", "rack": "3"}
	for _, tc := range []struct {
		name     string
		rule     string
		severity string
		tags     map[string]string // nil = lookup failed
		want     map[string]bool   // channel → digest only
	}{
		{"high ssh from paris: everything", "ssh-brute-force", center.SeverityHigh, parisProd,
			map[string]bool{"oncall": false, "soc": false, "paris": false, "daily": true}},
		{"medium ssh elsewhere: soc at once (beats the digest rule), daily", "ssh-brute-force", center.SeverityMedium, map[string]string{"site": "lyon"},
			map[string]bool{"soc": false, "daily": true}},
		{"low ssh: below ssh's minimum, digest only", "ssh-brute-force", center.SeverityLow, map[string]string{},
			map[string]bool{"soc": true, "daily": true}},
		{"other rule, high: not soc at once", "new-listening-port", center.SeverityHigh, map[string]string{},
			map[string]bool{"oncall": false, "soc": true, "daily": true}},
		{"one tag differs", "device-silent", center.SeverityLow, map[string]string{"site": "paris", "env": "dev"},
			map[string]bool{"soc": true, "daily": true}},
		{"tags unknown: tag rules do not match", "device-silent", center.SeverityHigh, nil,
			map[string]bool{"oncall": false, "soc": true, "daily": true}},
		{"unknown severity: only rules without a minimum", "x", "Critical", parisProd,
			map[string]bool{"paris": false, "soc": true, "daily": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := testAlert("a", tc.rule, tc.severity, "dev-1", "")
			calls := 0
			got := cc.route(&a, func() (map[string]string, bool) { calls++; return tc.tags, tc.tags != nil })
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("route (-want +got):\n%s", diff)
			}
			if calls > 1 {
				t.Errorf("tags looked up %d times", calls)
			}
		})
	}
	t.Run("no rule matches", func(t *testing.T) {
		cc, _ := compile(Config{Channels: []Channel{hookCh("c")}, Rules: []Rule{{Name: "r", MinSeverity: center.SeverityHigh, Channels: []string{"c"}}}})
		a := testAlert("a", "r", center.SeverityLow, "d", "")
		if got := cc.route(&a, nil); got != nil {
			t.Errorf("route = %v", got)
		}
	})
	t.Run("tags looked up only when a tag rule could match", func(t *testing.T) {
		cc, _ := compile(Config{Channels: []Channel{hookCh("c")}, Rules: []Rule{
			{Name: "r", MinSeverity: center.SeverityHigh, DeviceTags: map[string]string{"a": "b"}, Channels: []string{"c"}}}})
		a := testAlert("a", "r", center.SeverityLow, "d", "")
		cc.route(&a, func() (map[string]string, bool) { t.Error("tags looked up"); return nil, false })
	})
}

type tagMap map[string]map[string]string

func (m tagMap) Tags(_ context.Context, device string) (map[string]string, error) {
	if tags, ok := m[device]; ok {
		return tags, nil
	}
	return nil, errors.New("no such device")
}

// Routing end to end: only the matching alerts reach the receiver.
func TestNotifyRoutes(t *testing.T) {
	rcv := newReceiver(t)
	cfg := Config{
		Channels: []Channel{webhookChannel("hook", rcv.URL, nil)},
		Rules: []Rule{{Name: "prod-ssh", MinSeverity: center.SeverityMedium, Rules: []string{"ssh-brute-force"},
			DeviceTags: map[string]string{"env": "prod"}, Channels: []string{"hook"}}},
	}
	h := newHarness(t, cfg, hopts{tags: tagMap{"dev-prod": {"env": "prod"}, "dev-test": {"env": "test"}}})
	for _, a := range []center.Alert{
		testAlert("low", "ssh-brute-force", center.SeverityLow, "dev-prod", ""),
		testAlert("other-rule", "new-local-user", center.SeverityHigh, "dev-prod", ""),
		testAlert("test-device", "ssh-brute-force", center.SeverityHigh, "dev-test", ""),
		testAlert("unknown-device", "ssh-brute-force", center.SeverityHigh, "dev-gone", ""),
		testAlert("match", "ssh-brute-force", center.SeverityMedium, "dev-prod", ""),
	} {
		h.dispatch(t, a, true)
	}
	d := h.delivery(t)
	if diff := cmp.Diff([]string{"match"}, d.AlertIDs); diff != "" || d.Err != nil {
		t.Errorf("delivered %v (%v)", d.AlertIDs, d.Err)
	}
	h.noDelivery(t)
	if s := h.n.Stats(); s.Unrouted != 4 || s.TagErrors != 1 || s.Received != 5 {
		t.Errorf("stats = %+v", s)
	}
}

func TestNewNeedsTagsForTagRules(t *testing.T) {
	cfg := Config{Channels: []Channel{hookCh("c")}, Rules: []Rule{{Name: "r", DeviceTags: map[string]string{"a": "b"}, Channels: []string{"c"}}}}
	if _, err := New(cfg, Options{}); err == nil {
		t.Fatal("New accepted tag rules without a tag source")
	}
}
