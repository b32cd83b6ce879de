package respond

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/store"
)

type fakeStore struct {
	policies []store.ResponsePolicy
	actions  []store.ResponseAction
}

func (f *fakeStore) ListResponsePolicies(context.Context) ([]store.ResponsePolicy, error) {
	return f.policies, nil
}
func (f *fakeStore) AddResponseAction(_ context.Context, a store.ResponseAction) (store.ResponseAction, error) {
	f.actions = append(f.actions, a)
	return a, nil
}

type fakeDevices struct {
	status      map[string]string
	tags        map[string]map[string]string
	quarantined []string
}

func (f *fakeDevices) Quarantine(_ context.Context, id, _ string) error {
	f.quarantined = append(f.quarantined, id)
	f.status[id] = store.DeviceQuarantined
	return nil
}

func (f *fakeDevices) State(_ context.Context, id string) (string, map[string]string, error) {
	st, ok := f.status[id]
	if !ok {
		return "", nil, store.ErrNotFound
	}
	return st, f.tags[id], nil
}

func policy(t *testing.T, p Policy) store.ResponsePolicy {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	return store.ResponsePolicy{Name: p.Name, Spec: b}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		p    Policy
		want string // "" = valid
	}{
		{Policy{Name: "ok", Action: "quarantine"}, ""},
		{Policy{Name: "Bad Name", Action: "quarantine"}, "name"},
		{Policy{Name: "x", Action: "reboot"}, "action"},
		{Policy{Name: "x", Action: "quarantine", MinSeverity: "Critical"}, "minSeverity"},
		{Policy{Name: "x", Action: "quarantine", Rules: []string{""}}, "rules"},
	} {
		err := tc.p.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: err = %v, want %q", tc.p, err, tc.want)
		}
	}
	p := Policy{Name: "d", Action: "quarantine"}
	_ = p.Validate()
	if p.MinSeverity != center.SeverityHigh || !p.IsEnabled() {
		t.Errorf("defaults: %+v", p)
	}
}

func TestOnAlert(t *testing.T) {
	off := false
	st := &fakeStore{}
	st.policies = []store.ResponsePolicy{
		policy(t, Policy{Name: "brute", Rules: []string{"ssh-brute-force"}, Action: "quarantine", Tags: map[string]string{"site": "plant"}}),
		policy(t, Policy{Name: "disabled", Action: "quarantine", MinSeverity: "Low", Enabled: &off}),
	}
	dev := &fakeDevices{status: map[string]string{"d1": "enabled", "d2": "enabled", "d3": "enabled"},
		tags: map[string]map[string]string{"d1": {"site": "plant"}, "d2": {"site": "office"}, "d3": {"site": "plant"}}}
	r := New(st, dev, nil)
	ctx := context.Background()
	alert := func(rule, sev, device string) center.Alert {
		return center.Alert{ID: "a-" + device + "-" + rule, Rule: rule, Severity: sev, DeviceID: device, SourceAddress: "203.0.113.9"}
	}
	for _, a := range []center.Alert{
		alert("ssh-brute-force", "High", "d2"),    // wrong tags
		alert("new-local-user", "High", "d1"),     // wrong rule (and the disabled policy would match)
		alert("ssh-brute-force", "Medium", "d3"),  // below High
		alert("ssh-brute-force", "High", "ghost"), // not registered
	} {
		if err := r.OnAlert(ctx, a, true); err != nil {
			t.Fatal(err)
		}
	}
	if len(dev.quarantined) != 0 {
		t.Fatalf("quarantined %v by alerts no enabled policy matches", dev.quarantined)
	}
	if err := r.OnAlert(ctx, alert("ssh-brute-force", "High", "d1"), true); err != nil {
		t.Fatal(err)
	}
	if err := r.OnAlert(ctx, alert("ssh-brute-force", "High", "d1"), false); err != nil { // grown: already quarantined
		t.Fatal(err)
	}
	if len(dev.quarantined) != 1 || dev.quarantined[0] != "d1" || len(st.actions) != 1 {
		t.Fatalf("quarantined %v, actions %+v", dev.quarantined, st.actions)
	}
	a := st.actions[0]
	if a.Actor != "response-policy:brute" || a.Policy != "brute" || a.AlertID != "a-d1-ssh-brute-force" || !strings.Contains(a.Reason, "203.0.113.9") {
		t.Errorf("action %+v", a)
	}
	// Policies are read once, and again after Reload.
	st.policies = nil
	r.Reload()
	dev.status["d3"] = "enabled"
	if err := r.OnAlert(ctx, alert("ssh-brute-force", "High", "d3"), true); err != nil || len(dev.quarantined) != 1 {
		t.Fatalf("after the policies were deleted: %v, quarantined %v", err, dev.quarantined)
	}
}
