package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/moatsec/moat/internal/store"
)

func port(key, process string) store.DeviceItem {
	return store.DeviceItem{Key: key, Fields: map[string]string{"Protocol": "tcp", "Process": process}}
}

func applySnapshot(t *testing.T, s store.Store, device, name string, full bool, items ...store.DeviceItem) {
	t.Helper()
	if err := s.ApplySnapshot(t.Context(), device, name, full, items); err != nil {
		t.Fatalf("ApplySnapshot(%q, %q, full %v): %v", device, name, full, err)
	}
}

// itemsOf lists a device's items as "name/key=Process" strings.
func itemsOf(t *testing.T, s store.Store, device, name string) []string {
	t.Helper()
	items, err := s.ListDeviceItems(t.Context(), device, name)
	if err != nil {
		t.Fatalf("ListDeviceItems(%q, %q): %v", device, name, err)
	}
	out := []string{}
	for _, it := range items {
		out = append(out, it.Name+"/"+it.Key+"="+it.Fields["Process"])
	}
	return out
}

func testApplySnapshot(t *testing.T, s store.Store) {
	const lp = "ListeningPorts"
	applySnapshot(t, s, "d1", lp, true, port("22", "sshd"), port("80", "nginx"), port("443", "nginx"))
	applySnapshot(t, s, "d1", "LocalUsers", true, port("root", ""))
	applySnapshot(t, s, "d2", lp, true, port("22", "dropbear"))
	diff(t, "after full", []string{lp + "/22=sshd", lp + "/443=nginx", lp + "/80=nginx"}, itemsOf(t, s, "d1", lp))

	// A diff: add, change, remove (and remove an absent key); the last
	// occurrence of a key wins.
	added, changed, removed, gone := port("8080", "python"), port("22", "sshd-new"), port("80", ""), port("9", "")
	removed.Change, gone.Change, added.Change, changed.Change = store.ItemRemoved, store.ItemRemoved, store.ItemAdded, store.ItemChanged
	flip := port("443", "")
	flip.Change = store.ItemRemoved
	back := port("443", "caddy")
	back.Change = store.ItemAdded
	c := tick()
	applySnapshot(t, s, "d1", lp, false, added, changed, removed, gone, flip, back)
	c = c.stop()
	diff(t, "after diff", []string{lp + "/22=sshd-new", lp + "/443=caddy", lp + "/8080=python"}, itemsOf(t, s, "d1", lp))
	items, err := s.ListDeviceItems(t.Context(), "d1", lp)
	if err != nil {
		t.Fatal(err)
	}
	checkStamp(t, "UpdatedAt", items[0].UpdatedAt, c)
	if d := cmp.Diff(map[string]string{"Protocol": "tcp", "Process": "sshd-new"}, items[0].Fields); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}

	// A full snapshot replaces all items of its name, and no others.
	applySnapshot(t, s, "d1", lp, true, port("2222", "sshd"))
	diff(t, "after second full", []string{lp + "/2222=sshd", "LocalUsers/root="}, itemsOf(t, s, "d1", ""))
	diff(t, "other device untouched", []string{lp + "/22=dropbear"}, itemsOf(t, s, "d2", ""))
	// In a full snapshot Change means nothing: Removed items are kept.
	r := port("53", "dnsmasq")
	r.Change = store.ItemRemoved
	applySnapshot(t, s, "d2", lp, true, r)
	diff(t, "full with a Removed item", []string{lp + "/53=dnsmasq"}, itemsOf(t, s, "d2", lp))
	// An empty full snapshot: nothing listens any more.
	applySnapshot(t, s, "d2", lp, true)
	diff(t, "after empty full", []string{}, itemsOf(t, s, "d2", ""))

	ids, err := s.ListDevicesWithItems(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "devices with items", []string{"d1"}, ids)

	// A snapshot larger than one statement.
	many := make([]store.DeviceItem, 1100)
	for i := range many {
		many[i] = port(fmt.Sprintf("%05d", i), "p")
	}
	applySnapshot(t, s, "d3", lp, true, many...)
	for i := range many {
		many[i].Change = store.ItemRemoved
	}
	applySnapshot(t, s, "d3", lp, false, many[1:]...)
	diff(t, "after removing all but one", []string{lp + "/00000=p"}, itemsOf(t, s, "d3", ""))
}

func testAgentSeen(t *testing.T, s store.Store) {
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	touch := func(seen map[string]store.AgentSeen) {
		t.Helper()
		if err := s.TouchAgentSeen(t.Context(), seen); err != nil {
			t.Fatalf("TouchAgentSeen: %v", err)
		}
	}
	touch(map[string]store.AgentSeen{
		"d1": {Hub: "h1", FirstSeen: at(10), LastSeen: at(20), Messages: 2, Events: 10, Bytes: 1000},
		"d2": {Hub: "h1", FirstSeen: at(0), LastSeen: at(0), Messages: 1, Events: 1, Bytes: 50},
	})
	touch(map[string]store.AgentSeen{
		"d1": {FirstSeen: at(5), LastSeen: at(15), Messages: 1, Events: 3, Bytes: 100}, // hub "" keeps h1
		"d2": {Hub: "h2", FirstSeen: at(30), LastSeen: at(40), Messages: 1, Events: 2, Bytes: 60},
	})
	c := tick()
	touch(map[string]store.AgentSeen{"d3": {Messages: 1}})
	c = c.stop()
	seen, err := s.ListAgentSeen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 {
		t.Fatalf("ListAgentSeen = %+v, want 3 devices", seen)
	}
	checkStamp(t, "FirstSeen of a touch without times", seen[2].FirstSeen, c)
	checkStamp(t, "LastSeen of a touch without times", seen[2].LastSeen, c)
	want := []store.AgentSeen{
		{Device: "d1", Hub: "h1", FirstSeen: at(5), LastSeen: at(20), Messages: 3, Events: 13, Bytes: 1100},
		{Device: "d2", Hub: "h2", FirstSeen: at(0), LastSeen: at(40), Messages: 2, Events: 3, Bytes: 110},
		{Device: "d3", Messages: 1, FirstSeen: seen[2].FirstSeen, LastSeen: seen[2].LastSeen},
	}
	diff(t, "agents seen", want, seen)
	if err := s.TouchAgentSeen(t.Context(), nil); err != nil {
		t.Errorf("TouchAgentSeen(nil): %v", err)
	}
}

func testRememberValues(t *testing.T, s store.Store) {
	remember := func(vs ...store.BaselineValue) []bool {
		t.Helper()
		isNew, err := s.RememberValues(t.Context(), vs)
		if err != nil {
			t.Fatalf("RememberValues: %v", err)
		}
		return isNew
	}
	v := func(device, rule, value string) store.BaselineValue {
		return store.BaselineValue{Device: device, Rule: rule, Value: value}
	}
	diff(t, "first", []bool{true, true, false, true},
		remember(v("d1", "new-port", "22"), v("d1", "new-port", "80"), v("d1", "new-port", "22"), v("d1", "new-user", "root")))
	diff(t, "again", []bool{false, true, true, true, true},
		remember(v("d1", "new-port", "80"), v("d2", "new-port", "80"), v("d1", "new-port", "8080"), v("d1", "new-user", "22"),
			v("d1\x00", "new-user", "x\xff")))
	diff(t, "cleaned", []bool{false}, remember(v("d1\uFFFD", "new-user", "x\uFFFD")))

	// More than one statement's worth.
	many := make([]store.BaselineValue, 1100)
	for i := range many {
		many[i] = v("d3", "new-port", fmt.Sprint(i))
	}
	isNew := remember(append(many, v("d1", "new-port", "22"))...)
	for i, n := range isNew {
		if n != (i < len(many)) {
			t.Fatalf("isNew[%d] = %v", i, n)
		}
	}
	if got := remember(); len(got) != 0 {
		t.Errorf("RememberValues() = %v", got)
	}
}

// testDeleteDeviceKeepsHistory deletes a device: its state goes, its
// security history stays.
func testDeleteDeviceKeepsHistory(t *testing.T, s store.Store) {
	ctx := t.Context()
	putHub(t, s, hub("h"))
	for _, id := range []string{"gone", "kept"} {
		putDevice(t, s, device(id, "h"))
		putEvents(t, s, secEvent("ev-"+id, id, "10.0.0.1", 0))
		raise(t, s, bruteForce(id, "10.0.0.1", 5, 0, 1, id))
		applySnapshot(t, s, id, "ListeningPorts", true, port("22", "sshd"))
		if err := s.TouchAgentSeen(ctx, map[string]store.AgentSeen{id: {Messages: 1}}); err != nil {
			t.Fatal(err)
		}
		remember := []store.BaselineValue{{Device: id, Rule: "new-port", Value: "22"}}
		if _, err := s.RememberValues(ctx, remember); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddResponseAction(ctx, store.ResponseAction{Device: id, Action: "quarantine"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteDevice(ctx, "gone"); err != nil {
		t.Fatal(err)
	}

	// History stays.
	diff(t, "events", []string{"ev-gone"}, eventIDs(listEvents(t, s, store.SecurityEventFilter{Device: "gone"})))
	if n := len(listAlerts(t, s, store.AlertFilter{Device: "gone"})); n != 1 {
		t.Errorf("%d alerts of the deleted device, want 1", n)
	}
	if as, err := s.ListResponseActions(ctx, "gone", 0); err != nil || len(as) != 1 {
		t.Errorf("response actions of the deleted device: %v, %v", as, err)
	}
	// State goes, the other device's stays.
	diff(t, "items", []string{}, itemsOf(t, s, "gone", ""))
	if ids, err := s.ListDevicesWithItems(ctx); err != nil || !cmp.Equal(ids, []string{"kept"}) {
		t.Errorf("devices with items = %v, %v; want [kept]", ids, err)
	}
	seen, err := s.ListAgentSeen(ctx)
	if err != nil || len(seen) != 1 || seen[0].Device != "kept" {
		t.Errorf("agents seen = %+v, %v; want kept only", seen, err)
	}
	isNew, err := s.RememberValues(ctx, []store.BaselineValue{{Device: "gone", Rule: "new-port", Value: "22"},
		{Device: "kept", Rule: "new-port", Value: "22"}})
	if err != nil || !cmp.Equal(isNew, []bool{true, false}) {
		t.Errorf("baseline after delete: %v, %v; want the deleted device's forgotten", isNew, err)
	}
	// A failed delete deletes nothing.
	wantNotFound(t, "DeleteDevice of an unknown device", s.DeleteDevice(ctx, "kept-not"))
	diff(t, "kept items", []string{"ListeningPorts/22=sshd"}, itemsOf(t, s, "kept", ""))
}

func testResponsePolicies(t *testing.T, s store.Store) {
	ctx := t.Context()
	put := func(name, spec string) bool {
		t.Helper()
		created, err := s.PutResponsePolicy(ctx, store.ResponsePolicy{Name: name, Spec: []byte(spec)})
		if err != nil {
			t.Fatalf("PutResponsePolicy(%q): %v", name, err)
		}
		return created
	}
	_, err := s.GetResponsePolicy(ctx, "quarantine-brute-force")
	wantNotFound(t, "GetResponsePolicy before put", err)
	spec := `{"rules": ["ssh-brute-force"], "minSeverity": "High", "action": "quarantine"}`
	c := tick()
	if !put("quarantine-brute-force", spec) {
		t.Error("first put: created = false")
	}
	c = c.stop()
	p, err := s.GetResponsePolicy(ctx, "quarantine-brute-force")
	if err != nil || string(p.Spec) != spec {
		t.Fatalf("GetResponsePolicy = %q, %v", p.Spec, err)
	}
	checkStamp(t, "CreatedAt", p.CreatedAt, c)
	if put("quarantine-brute-force", `{}`) {
		t.Error("replace: created = true")
	}
	q, err := s.GetResponsePolicy(ctx, "quarantine-brute-force")
	if err != nil || string(q.Spec) != `{}` || !q.CreatedAt.Equal(p.CreatedAt) || q.UpdatedAt.Before(p.UpdatedAt) {
		t.Errorf("after replace: %+v, %v", q, err)
	}
	put("a-first", `{"action":"quarantine"}`)
	ps, err := s.ListResponsePolicies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "policies", []string{"a-first", "quarantine-brute-force"}, []string{ps[0].Name, ps[len(ps)-1].Name})
	if err := s.DeleteResponsePolicy(ctx, "a-first"); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, "DeleteResponsePolicy twice", s.DeleteResponsePolicy(ctx, "a-first"))
	if ps, _ := s.ListResponsePolicies(ctx); len(ps) != 1 {
		t.Errorf("%d policies after delete, want 1", len(ps))
	}
	for _, bad := range []string{"", string(make([]byte, 201))} {
		if _, err := s.PutResponsePolicy(ctx, store.ResponsePolicy{Name: bad, Spec: []byte("{}")}); err == nil {
			t.Errorf("PutResponsePolicy(name of %d bytes): err = nil", len(bad))
		}
	}
}

func testResponseActions(t *testing.T, s store.Store) {
	ctx := t.Context()
	add := func(a store.ResponseAction) store.ResponseAction {
		t.Helper()
		got, err := s.AddResponseAction(ctx, a)
		if err != nil {
			t.Fatalf("AddResponseAction: %v", err)
		}
		return got
	}
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	q := add(store.ResponseAction{Device: "d1", Policy: "p", AlertID: "a1", Action: "quarantine", Actor: "policy p",
		Reason: "ssh-brute-force from 10.0.0.1", At: at(0)})
	if len(q.ID) != 32 {
		t.Errorf("generated ID %q, want 32 hex digits", q.ID)
	}
	r := add(store.ResponseAction{ID: "release-1", Device: "d1", Action: "release", Actor: "alice", Reason: "cleaned", At: at(10)})
	o := add(store.ResponseAction{Device: "d2", Action: "quarantine", At: at(5)})
	c := tick()
	now := add(store.ResponseAction{Device: "d3", Action: "quarantine"})
	c = c.stop()
	checkStamp(t, "At of an action without a time", now.At, c)

	list := func(device string, limit int) []store.ResponseAction {
		t.Helper()
		as, err := s.ListResponseActions(ctx, device, limit)
		if err != nil {
			t.Fatalf("ListResponseActions(%q): %v", device, err)
		}
		return as
	}
	if d := cmp.Diff([]store.ResponseAction{r, q}, list("d1", 0), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("actions of d1 (-want +got):\n%s", d)
	}
	diff(t, "all, newest first", []store.ResponseAction{now, r, o, q}, list("", 0))
	diff(t, "limit", []store.ResponseAction{now, r}, list("", 2))
	_, err := s.AddResponseAction(ctx, store.ResponseAction{ID: "release-1", Device: "d1", Action: "release"})
	wantConflict(t, "AddResponseAction with a taken ID", err)
}

// testApplySnapshots checks that several snapshots in one call leave the
// same items as one call each, in order, and that nothing is applied when
// the call fails.
func testApplySnapshots(t *testing.T, s store.Store) {
	const lp = "ListeningPorts"
	removed := port("80", "")
	removed.Change = store.ItemRemoved
	snaps := []store.Snapshot{
		{Device: "d2", Name: lp, Full: true, Items: []store.DeviceItem{port("22", "dropbear")}},
		{Device: "d1", Name: lp, Full: true, Items: []store.DeviceItem{port("22", "sshd"), port("80", "nginx")}},
		{Device: "d1", Name: "LocalUsers", Full: true, Items: []store.DeviceItem{port("root", "")}},
		// Later snapshots of d1's ports: a diff, then a diff removing.
		{Device: "d1", Name: lp, Items: []store.DeviceItem{port("8080", "python")}},
		{Device: "d1", Name: lp, Items: []store.DeviceItem{removed}},
		{Device: "d2", Name: lp, Full: true, Items: []store.DeviceItem{port("2222", "dropbear")}},
	}
	if err := s.ApplySnapshots(t.Context(), snaps); err != nil {
		t.Fatalf("ApplySnapshots: %v", err)
	}
	diff(t, "d1", []string{"ListeningPorts/22=sshd", "ListeningPorts/8080=python", "LocalUsers/root="}, itemsOf(t, s, "d1", ""))
	diff(t, "d2", []string{"ListeningPorts/2222=dropbear"}, itemsOf(t, s, "d2", ""))
	if err := s.ApplySnapshots(t.Context(), nil); err != nil {
		t.Errorf("ApplySnapshots(nil): %v", err)
	}

	// A canceled call applies nothing.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.ApplySnapshots(ctx, []store.Snapshot{{Device: "d3", Name: lp, Full: true, Items: []store.DeviceItem{port("1", "x")}}})
	if err == nil {
		t.Error("ApplySnapshots with a canceled context: err = nil")
	}
	diff(t, "d3 after a failed call", []string{}, itemsOf(t, s, "d3", ""))
}
