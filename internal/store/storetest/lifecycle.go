package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/moatsec/moat/internal/store"
)

// testContextCanceled checks that every method gives up on a canceled
// context, returning an error that wraps context.Canceled, and writes nothing.
func testContextCanceled(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	calls := map[string]func() error{
		"PutHub":          func() error { _, err := s.PutHub(ctx, hub("new")); return err },
		"GetHub":          func() error { _, err := s.GetHub(ctx, "h"); return err },
		"ListHubs":        func() error { _, err := s.ListHubs(ctx); return err },
		"DeleteHub":       func() error { return s.DeleteHub(ctx, "h") },
		"PutRule":         func() error { _, err := s.PutRule(ctx, rule("h", "new")); return err },
		"GetRule":         func() error { _, err := s.GetRule(ctx, "h", "r"); return err },
		"ListRules":       func() error { _, err := s.ListRules(ctx, "h"); return err },
		"ListAllRules":    func() error { _, err := s.ListAllRules(ctx); return err },
		"DeleteRule":      func() error { return s.DeleteRule(ctx, "h", "r") },
		"PutCheckpoint":   func() error { return s.PutCheckpoint(ctx, store.Checkpoint{Hub: "h", ConsumerGroup: "g"}) },
		"GetCheckpoint":   func() error { _, err := s.GetCheckpoint(ctx, "h", "g", 0); return err },
		"ListCheckpoints": func() error { _, err := s.ListCheckpoints(ctx, "h", "g"); return err },
		"PutDevice":       func() error { _, err := s.PutDevice(ctx, device("d", "h")); return err },
		"PutDevices":      func() error { return s.PutDevices(ctx, []store.Device{device("d", "h")}) },
		"GetDevice":       func() error { _, err := s.GetDevice(ctx, "d"); return err },
		"GetDeviceByThumbprint": func() error {
			_, err := s.GetDeviceByThumbprint(ctx, "ab")
			return err
		},
		"ListDevices":     func() error { _, err := s.ListDevices(ctx, store.DeviceFilter{}); return err },
		"SetDeviceStatus": func() error { return s.SetDeviceStatus(ctx, "d", store.DeviceDisabled, "") },
		"DeleteDevice":    func() error { return s.DeleteDevice(ctx, "d") },
		"PutLastSeen":     func() error { return s.PutLastSeen(ctx, "h", map[string]time.Time{"p": time.Now()}) },
		"GetLastSeen":     func() error { _, err := s.GetLastSeen(ctx, "h", "p"); return err },
		"Ping":            func() error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: err = %v, want context.Canceled", name, err)
		}
	}

	diff(t, "hubs after canceled writes", []store.Hub{hub("h")}, listHubs(t, s))
	diff(t, "rules after canceled writes", []store.Rule{}, listAllRules(t, s))
	diff(t, "checkpoints after canceled writes", []store.Checkpoint{}, listCheckpoints(t, s, "h", "g"))
	diffDevices(t, "devices after canceled writes", []store.Device{}, listDevices(t, s, store.DeviceFilter{}))
	_, err := s.GetLastSeen(t.Context(), "h", "p")
	wantNotFound(t, "last-seen time after a canceled write", err)
}

func testPingClose(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping after Close: err = nil, want an error")
	}
}

// RunReopen checks that what one store wrote is read back unchanged, to the
// microsecond, by another opened later on the same database. open must open
// the same database every time it is called (creating it on the first call);
// RunReopen closes each store it opens.
func RunReopen(t *testing.T, open func(t *testing.T) store.Store) {
	first := open(t)
	putHub(t, first, hub("h"))
	putRule(t, first, store.Rule{Name: "ns", Rights: []string{store.RightManage}, PrimaryKey: []byte{0, 1, 0}})
	putRule(t, first, rule("h", "r"))
	putCheckpoint(t, first, store.Checkpoint{Hub: "h", ConsumerGroup: "g", Partition: 1, Sequence: store.MaxSequence, Metadata: "m"})
	d := device("d", "h")
	d.CertThumbprint = "0123abcd"
	putDevice(t, first, d)
	seen := time.Date(2026, 11, 23, 18, 30, 0, 123456000, time.UTC)
	if err := first.PutLastSeen(t.Context(), "h", map[string]time.Time{"d": seen}); err != nil {
		t.Fatal(err)
	}
	putEvents(t, first, secEvent("ev", "d", "10.0.0.1", 0))
	raise(t, first, bruteForce("d", "10.0.0.1", 5, 0, 1, "ev"))
	applySnapshot(t, first, "d", "ListeningPorts", true, port("22", "sshd"))
	wantEvents := listEvents(t, first, store.SecurityEventFilter{})
	wantAlerts := listAlerts(t, first, store.AlertFilter{})
	wantItems := listItems(t, first, "d")
	wantHubs := listHubs(t, first)
	wantDevices := listDevices(t, first, store.DeviceFilter{})
	wantRules := listAllRules(t, first)
	wantCheckpoints := listCheckpoints(t, first, "h", "g")
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	second := open(t)
	defer second.Close()
	for _, c := range []struct {
		what      string
		want, got any
	}{
		{"hubs", wantHubs, listHubs(t, second)},
		{"rules", wantRules, listAllRules(t, second)},
		{"checkpoints", wantCheckpoints, listCheckpoints(t, second, "h", "g")},
		{"devices", wantDevices, listDevices(t, second, store.DeviceFilter{})},
		{"security events", wantEvents, listEvents(t, second, store.SecurityEventFilter{})},
		{"alerts", wantAlerts, listAlerts(t, second, store.AlertFilter{})},
		{"device items", wantItems, listItems(t, second, "d")},
	} {
		if d := cmp.Diff(c.want, c.got); d != "" {
			t.Errorf("%s after reopening (-before +after):\n%s", c.what, d)
		}
	}
	if got, err := second.GetLastSeen(t.Context(), "h", "d"); err != nil || !got.Equal(seen) {
		t.Errorf("last-seen time after reopening = %v, %v; want %v", got, err, seen)
	}
}

func listItems(t *testing.T, s store.Store, device string) []store.DeviceItem {
	t.Helper()
	items, err := s.ListDeviceItems(t.Context(), device, "")
	if err != nil {
		t.Fatalf("ListDeviceItems(%q): %v", device, err)
	}
	return items
}

// testSecurityContextCanceled checks the security methods like
// testContextCanceled: a canceled context fails them with context.Canceled,
// and nothing is written.
func testSecurityContextCanceled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ev := secEvent("e", "d", "a", 0)
	calls := map[string]func() error{
		"PutSecurityEvents": func() error { _, err := s.PutSecurityEvents(ctx, []store.SecurityEvent{ev}); return err },
		"ListSecurityEvents": func() error {
			_, err := s.ListSecurityEvents(ctx, store.SecurityEventFilter{})
			return err
		},
		"SecurityEventsSince": func() error {
			return s.SecurityEventsSince(ctx, t0, nil, func(store.SecurityEvent) error { return nil })
		},
		"DeleteSecurityEventsBefore": func() error { _, err := s.DeleteSecurityEventsBefore(ctx, t0); return err },
		"TopSecurityEvents": func() error {
			_, err := s.TopSecurityEvents(ctx, store.TopQuery{Name: "Login", By: store.TopByDevice})
			return err
		},
		"RaiseAlert":     func() error { _, _, err := s.RaiseAlert(ctx, bruteForce("d", "a", 1, 0, 0, "e")); return err },
		"GetAlert":       func() error { _, err := s.GetAlert(ctx, "x"); return err },
		"ListAlerts":     func() error { _, err := s.ListAlerts(ctx, store.AlertFilter{}); return err },
		"SetAlertStatus": func() error { _, err := s.SetAlertStatus(ctx, "x", store.AlertResolved, ""); return err },
		"CountAlerts":    func() error { _, err := s.CountAlerts(ctx, t0, time.Hour); return err },
		"ApplySnapshot": func() error {
			return s.ApplySnapshot(ctx, "d", "ListeningPorts", true, []store.DeviceItem{{Key: "22"}})
		},
		"ListDeviceItems":      func() error { _, err := s.ListDeviceItems(ctx, "d", ""); return err },
		"ListDevicesWithItems": func() error { _, err := s.ListDevicesWithItems(ctx); return err },
		"TouchAgentSeen": func() error {
			return s.TouchAgentSeen(ctx, map[string]store.AgentSeen{"d": {Messages: 1}})
		},
		"ListAgentSeen": func() error { _, err := s.ListAgentSeen(ctx); return err },
		"RememberValues": func() error {
			_, err := s.RememberValues(ctx, []store.BaselineValue{{Device: "d", Rule: "r", Value: "v"}})
			return err
		},
		"PutResponsePolicy": func() error {
			_, err := s.PutResponsePolicy(ctx, store.ResponsePolicy{Name: "p", Spec: []byte("{}")})
			return err
		},
		"GetResponsePolicy":    func() error { _, err := s.GetResponsePolicy(ctx, "p"); return err },
		"ListResponsePolicies": func() error { _, err := s.ListResponsePolicies(ctx); return err },
		"DeleteResponsePolicy": func() error { return s.DeleteResponsePolicy(ctx, "p") },
		"AddResponseAction": func() error {
			_, err := s.AddResponseAction(ctx, store.ResponseAction{Device: "d", Action: "quarantine"})
			return err
		},
		"ListResponseActions": func() error { _, err := s.ListResponseActions(ctx, "", 0); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: err = %v, want context.Canceled", name, err)
		}
	}
	diffEvents(t, "events after canceled writes", nil, listEvents(t, s, store.SecurityEventFilter{}))
	diff(t, "alerts after canceled writes", []string{}, alertIDs(listAlerts(t, s, store.AlertFilter{})))
	diff(t, "items after canceled writes", []string{}, itemsOf(t, s, "d", ""))
	if seen, err := s.ListAgentSeen(t.Context()); err != nil || len(seen) != 0 {
		t.Errorf("agents seen after canceled writes: %v, %v", seen, err)
	}
	if ps, err := s.ListResponsePolicies(t.Context()); err != nil || len(ps) != 0 {
		t.Errorf("policies after canceled writes: %v, %v", ps, err)
	}
}
