package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/moatsec/moat/internal/store"
)

// device returns a valid device of hub with distinct keys, two tags and a
// policy.
func device(id, hub string) store.Device {
	return store.Device{
		ID:           id,
		Hub:          hub,
		Status:       store.DeviceEnabled,
		Tags:         map[string]string{"site": "berlin", "model": "m-" + id},
		PrimaryKey:   []byte("sealed-primary-" + id),
		SecondaryKey: []byte("sealed-secondary-" + id),
		Policy:       []byte(`{"maxSilence": "1h", "allowedNetworks": ["10.0.0.0/8"]}`),
	}
}

// compareDevices compares devices without timestamps, with policies
// compared as JSON values (PostgreSQL's jsonb does not keep the text).
var compareDevices = cmp.Options{
	cmpopts.IgnoreFields(store.Device{}, "CreatedAt", "UpdatedAt"),
	cmp.FilterPath(func(p cmp.Path) bool { return !isPolicy(p) }, cmpopts.EquateEmpty()),
	cmp.FilterPath(isPolicy,
		cmp.Transformer("json", func(b []byte) any {
			if len(b) == 0 {
				return nil
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				return fmt.Sprintf("invalid JSON %q: %v", b, err)
			}
			return v
		})),
}

func isPolicy(p cmp.Path) bool { return p.Last().String() == ".Policy" }

func diffDevices(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, compareDevices); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func putDevice(t *testing.T, s store.Store, d store.Device) (created bool) {
	t.Helper()
	created, err := s.PutDevice(t.Context(), d)
	if err != nil {
		t.Fatalf("PutDevice(%q): %v", d.ID, err)
	}
	return created
}

func getDevice(t *testing.T, s store.Store, id string) store.Device {
	t.Helper()
	d, err := s.GetDevice(t.Context(), id)
	if err != nil {
		t.Fatalf("GetDevice(%q): %v", id, err)
	}
	return d
}

func listDevices(t *testing.T, s store.Store, f store.DeviceFilter) []store.Device {
	t.Helper()
	ds, err := s.ListDevices(t.Context(), f)
	if err != nil {
		t.Fatalf("ListDevices(%+v): %v", f, err)
	}
	return ds
}

func deviceIDs(ds []store.Device) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func wantConflict(t *testing.T, op string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("%s: err = %v, want store.ErrConflict", op, err)
	}
}

func testPutDevice(t *testing.T, s store.Store) {
	putHub(t, s, hub("h1"))
	putHub(t, s, hub("h2"))
	d := device("dev-1", "h1")
	d.CertThumbprint = "ab01"
	c := tick()
	if !putDevice(t, s, d) {
		t.Error("PutDevice(new) created = false, want true")
	}
	c = c.stop()
	first := getDevice(t, s, "dev-1")
	diffDevices(t, "GetDevice after create", d, first)
	checkStamp(t, "CreatedAt", first.CreatedAt, c)
	if !first.UpdatedAt.Equal(first.CreatedAt) {
		t.Errorf("after create UpdatedAt = %v, want CreatedAt %v", first.UpdatedAt, first.CreatedAt)
	}

	// Replace every field: a new hub, status, keys, no thumbprint, no policy, other tags.
	changed := store.Device{ID: "dev-1", Hub: "h2", Status: store.DeviceQuarantined, StatusReason: "attack",
		Tags: map[string]string{"site": "paris"}, PrimaryKey: []byte{0, 1, 2}}
	c = tick()
	if putDevice(t, s, changed) {
		t.Error("PutDevice(existing) created = true, want false")
	}
	c = c.stop()
	second := getDevice(t, s, "dev-1")
	diffDevices(t, "GetDevice after replace", changed, second)
	if !second.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("replace changed CreatedAt from %v to %v", first.CreatedAt, second.CreatedAt)
	}
	checkStamp(t, "UpdatedAt", second.UpdatedAt, c)
	if second.Tags == nil || second.PrimaryKey == nil || second.SecondaryKey == nil {
		t.Errorf("GetDevice returned nil tags or keys: %+v", second)
	}
	// The old thumbprint is free again.
	_, err := s.GetDeviceByThumbprint(t.Context(), "ab01")
	wantNotFound(t, "GetDeviceByThumbprint of a removed thumbprint", err)
}

func testDeviceNotFound(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	putDevice(t, s, device("present", "h"))
	_, err := s.GetDevice(t.Context(), "absent")
	wantNotFound(t, "GetDevice(absent)", err)
	_, err = s.GetDeviceByThumbprint(t.Context(), "ffff")
	wantNotFound(t, "GetDeviceByThumbprint(unknown)", err)
	_, err = s.GetDeviceByThumbprint(t.Context(), "")
	wantNotFound(t, "GetDeviceByThumbprint(\"\")", err)
	wantNotFound(t, "SetDeviceStatus(absent)", s.SetDeviceStatus(t.Context(), "absent", store.DeviceDisabled, ""))
	wantNotFound(t, "DeleteDevice(absent)", s.DeleteDevice(t.Context(), "absent"))
}

func testDeviceTags(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	d := device("d", "h")
	d.Tags = map[string]string{"a": "1", "b": "", "key with space": "välue;=x", "z": "26"}
	putDevice(t, s, d)
	diffDevices(t, "tags after create", d.Tags, getDevice(t, s, "d").Tags)

	d.Tags = map[string]string{"a": "2", "c": "3"}
	putDevice(t, s, d)
	diffDevices(t, "tags after replace", d.Tags, getDevice(t, s, "d").Tags)

	d.Tags = nil
	putDevice(t, s, d)
	if got := getDevice(t, s, "d").Tags; got == nil || len(got) != 0 {
		t.Errorf("tags after replacing with none = %#v, want an empty, non-nil map", got)
	}
}

func testDeviceOnMissingHub(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	_, err := s.PutDevice(t.Context(), device("d", "nohub"))
	wantNotFound(t, "PutDevice on a missing hub", err)
	wantNotFound(t, "PutDevices on a missing hub", s.PutDevices(t.Context(), []store.Device{device("a", "h"), device("b", "nohub")}))
	diffDevices(t, "devices after failed writes", []store.Device{}, listDevices(t, s, store.DeviceFilter{}))
}

func testDeviceThumbprint(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	a, b := device("a", "h"), device("b", "h")
	a.CertThumbprint = "aaaa"
	putDevice(t, s, a)
	putDevice(t, s, b) // no thumbprint: NULLs do not collide
	putDevice(t, s, device("c", "h"))
	got, err := s.GetDeviceByThumbprint(t.Context(), "aaaa")
	if err != nil {
		t.Fatalf("GetDeviceByThumbprint: %v", err)
	}
	diffDevices(t, "GetDeviceByThumbprint", a, got)

	b.CertThumbprint = "aaaa"
	_, err = s.PutDevice(t.Context(), b)
	wantConflict(t, "PutDevice with another device's thumbprint", err)
	wantConflict(t, "PutDevices with another device's thumbprint", s.PutDevices(t.Context(), []store.Device{device("new", "h"), b}))
	diffDevices(t, "b after refused writes", device("b", "h"), getDevice(t, s, "b"))
	_, err = s.GetDevice(t.Context(), "new")
	wantNotFound(t, "a device of a refused PutDevices", err)

	// Within one PutDevices a thumbprint can move from one device to another.
	a.CertThumbprint, b.CertThumbprint = "", "aaaa"
	if err := s.PutDevices(t.Context(), []store.Device{b, a}); err != nil {
		t.Fatalf("PutDevices moving a thumbprint: %v", err)
	}
	if got, err := s.GetDeviceByThumbprint(t.Context(), "aaaa"); err != nil || got.ID != "b" {
		t.Errorf("thumbprint after the move: device %q, err %v; want b", got.ID, err)
	}
}

func testListDevicesFilters(t *testing.T, s store.Store) {
	putHub(t, s, hub("h1"))
	putHub(t, s, hub("h2"))
	mk := func(id, hub, status string, tags map[string]string) store.Device {
		d := device(id, hub)
		d.Status, d.Tags = status, tags
		return d
	}
	all := []store.Device{
		mk("a", "h1", store.DeviceEnabled, map[string]string{"site": "berlin", "floor": "1"}),
		mk("b", "h1", store.DeviceQuarantined, map[string]string{"site": "paris"}),
		mk("c", "h2", store.DeviceEnabled, map[string]string{"site": "berlin"}),
		mk("d", "h2", store.DeviceNeedsMaintenance, nil),
		mk("e", "h1", store.DeviceEnabled, map[string]string{"floor": "2"}),
	}
	if err := s.PutDevices(t.Context(), all); err != nil {
		t.Fatal(err)
	}
	diffDevices(t, "ListDevices()", all, listDevices(t, s, store.DeviceFilter{}))
	for _, tc := range []struct {
		f    store.DeviceFilter
		want []string
	}{
		{store.DeviceFilter{Status: store.DeviceEnabled}, []string{"a", "c", "e"}},
		{store.DeviceFilter{Status: store.DeviceDisabled}, []string{}},
		{store.DeviceFilter{Hub: "h2"}, []string{"c", "d"}},
		{store.DeviceFilter{Hub: "nohub"}, []string{}},
		{store.DeviceFilter{TagKey: "site"}, []string{"a", "b", "c"}},
		{store.DeviceFilter{TagKey: "site", TagVal: "berlin"}, []string{"a", "c"}},
		{store.DeviceFilter{TagKey: "berlin"}, []string{}},
		{store.DeviceFilter{TagKey: "floor", Hub: "h1", Status: store.DeviceEnabled}, []string{"a", "e"}},
		{store.DeviceFilter{TagKey: "site", TagVal: "berlin", Hub: "h1"}, []string{"a"}},
		{store.DeviceFilter{Status: store.DeviceEnabled, After: "a", Limit: 1}, []string{"c"}},
	} {
		if got := deviceIDs(listDevices(t, s, tc.f)); !cmp.Equal(tc.want, got) {
			t.Errorf("ListDevices(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
	// A filtered list still returns every tag of the devices it selects.
	got := listDevices(t, s, store.DeviceFilter{TagKey: "site", TagVal: "berlin", Hub: "h1"})
	diffDevices(t, "tags of a tag-filtered device", all[0].Tags, got[0].Tags)
}

func testListDevicesPaging(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	const n = 1234 // more than one page of 1000
	var all []store.Device
	for i := range n {
		all = append(all, device(fmt.Sprintf("dev-%05d", i), "h"))
	}
	if err := s.PutDevices(t.Context(), all); err != nil {
		t.Fatal(err)
	}
	if got := listDevices(t, s, store.DeviceFilter{}); len(got) != 1000 {
		t.Errorf("ListDevices without a limit = %d devices, want the cap of 1000", len(got))
	}
	if got := listDevices(t, s, store.DeviceFilter{Limit: 5000}); len(got) != 1000 {
		t.Errorf("ListDevices(Limit 5000) = %d devices, want the cap of 1000", len(got))
	}
	var paged []store.Device
	f := store.DeviceFilter{Limit: 300}
	for pages := 0; ; pages++ {
		if pages > n/f.Limit+1 {
			t.Fatalf("paging does not end after %d pages", pages)
		}
		page := listDevices(t, s, f)
		paged = append(paged, page...)
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].ID
	}
	diffDevices(t, "devices read page by page", all, paged)
}

func testSetDeviceStatus(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	d := device("d", "h")
	putDevice(t, s, d)
	before := getDevice(t, s, "d")
	c := tick()
	if err := s.SetDeviceStatus(t.Context(), "d", store.DeviceQuarantined, "port scan"); err != nil {
		t.Fatal(err)
	}
	c = c.stop()
	after := getDevice(t, s, "d")
	d.Status, d.StatusReason = store.DeviceQuarantined, "port scan"
	diffDevices(t, "device after SetDeviceStatus", d, after)
	checkStamp(t, "UpdatedAt", after.UpdatedAt, c)
	if !after.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("SetDeviceStatus changed CreatedAt")
	}
}

func testDeleteDevice(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	putDevice(t, s, device("doomed", "h"))
	putDevice(t, s, device("kept", "h"))
	if err := s.DeleteDevice(t.Context(), "doomed"); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetDevice(t.Context(), "doomed")
	wantNotFound(t, "GetDevice after DeleteDevice", err)
	wantNotFound(t, "second DeleteDevice", s.DeleteDevice(t.Context(), "doomed"))
	diffDevices(t, "devices after DeleteDevice", []store.Device{device("kept", "h")}, listDevices(t, s, store.DeviceFilter{}))
	// Its tags went with it: a new device of that ID has none.
	d := device("doomed", "h")
	d.Tags = nil
	if !putDevice(t, s, d) {
		t.Error("PutDevice after DeleteDevice: created = false, want true")
	}
	diffDevices(t, "device re-created without tags", d, getDevice(t, s, "doomed"))
	if got := listDevices(t, s, store.DeviceFilter{TagKey: "site"}); len(got) != 1 {
		t.Errorf("tag filter after delete = %v, want only kept", deviceIDs(got))
	}
}

func testDeleteHubWithDevices(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	putRule(t, s, rule("h", "r"))
	putDevice(t, s, device("d", "h"))
	wantConflict(t, "DeleteHub with a device", s.DeleteHub(t.Context(), "h"))
	// Nothing was deleted: not the hub, not its rules.
	getHub(t, s, "h")
	getRule(t, s, "h", "r")
	getDevice(t, s, "d")

	if err := s.DeleteDevice(t.Context(), "d"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteHub(t.Context(), "h"); err != nil {
		t.Fatalf("DeleteHub without devices: %v", err)
	}
}

func testPutDevices(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	old := device("old", "h")
	putDevice(t, s, old)
	created := getDevice(t, s, "old").CreatedAt

	// Replacing keeps CreatedAt; a repeated ID counts once, the last one.
	replaced := device("old", "h")
	replaced.Status, replaced.Tags = store.DeviceDisabled, map[string]string{"new": "tag"}
	first, last := device("dup", "h"), device("dup", "h")
	first.StatusReason, last.StatusReason = "first", "last"
	c := tick()
	if err := s.PutDevices(t.Context(), []store.Device{first, replaced, last}); err != nil {
		t.Fatal(err)
	}
	c = c.stop()
	got := listDevices(t, s, store.DeviceFilter{})
	diffDevices(t, "devices after PutDevices", []store.Device{last, replaced}, got)
	if !got[1].CreatedAt.Equal(created) {
		t.Errorf("PutDevices changed CreatedAt of a replaced device from %v to %v", created, got[1].CreatedAt)
	}
	checkStamp(t, "UpdatedAt of a replaced device", got[1].UpdatedAt, c)
	checkStamp(t, "CreatedAt of a new device", got[0].CreatedAt, c)

	if err := s.PutDevices(t.Context(), nil); err != nil {
		t.Errorf("PutDevices(nil): %v", err)
	}

	// All or nothing: a failure on the last of many rows leaves every device as it was.
	var many []store.Device
	for i := range 1100 {
		d := device(fmt.Sprintf("bulk-%04d", i), "h")
		d.Tags = map[string]string{"i": fmt.Sprint(i)}
		many = append(many, d)
	}
	bad := replaced
	bad.Status, bad.Hub = store.DeviceEnabled, "nohub"
	wantNotFound(t, "PutDevices with one bad row", s.PutDevices(t.Context(), append(many, bad)))
	diffDevices(t, "devices after a failed PutDevices", []store.Device{last, replaced}, listDevices(t, s, store.DeviceFilter{}))

	// The same rows without the bad one: every device and tag is written.
	if err := s.PutDevices(t.Context(), many); err != nil {
		t.Fatal(err)
	}
	bulk := listDevices(t, s, store.DeviceFilter{TagKey: "i", Limit: 1000})
	bulk = append(bulk, listDevices(t, s, store.DeviceFilter{TagKey: "i", After: bulk[len(bulk)-1].ID})...)
	diffDevices(t, "devices of a large PutDevices", many, bulk)
}

func testLastSeen(t *testing.T, s store.Store) {
	ctx := t.Context()
	putHub(t, s, hub("h"))
	base := time.Date(2026, 11, 23, 18, 30, 0, 123456789, time.FixedZone("CET", 3600))
	if err := s.PutLastSeen(ctx, "h", map[string]time.Time{"a": base, "b": base}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutLastSeen(ctx, "h", map[string]time.Time{"a": base.Add(time.Minute), "b": base.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutLastSeen(ctx, "other", map[string]time.Time{"a": base.Add(time.Hour)}); err != nil {
		t.Fatal(err) // no foreign key: any hub name is accepted
	}
	if err := s.PutLastSeen(ctx, "h", nil); err != nil {
		t.Fatalf("PutLastSeen(nil): %v", err)
	}
	for _, tc := range []struct {
		hub, pub string
		want     time.Time
	}{
		{"h", "a", base.Add(time.Minute)}, // later time wins
		{"h", "b", base},                  // earlier time ignored
		{"other", "a", base.Add(time.Hour)},
	} {
		got, err := s.GetLastSeen(ctx, tc.hub, tc.pub)
		want := tc.want.UTC().Truncate(time.Microsecond)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("GetLastSeen(%s, %s) = %v, %v; want %v in UTC", tc.hub, tc.pub, got, err, want)
		}
	}
	_, err := s.GetLastSeen(ctx, "h", "never")
	wantNotFound(t, "GetLastSeen of a publisher never seen", err)

	// Many publishers at once (several statements).
	many := map[string]time.Time{}
	for i := range 1200 {
		many[fmt.Sprint("p", i)] = base
	}
	if err := s.PutLastSeen(ctx, "h", many); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetLastSeen(ctx, "h", "p1199"); err != nil {
		t.Errorf("GetLastSeen after a large PutLastSeen: %v", err)
	}

	// Deleting the hub deletes its last-seen times, and only its.
	if err := s.DeleteHub(ctx, "h"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetLastSeen(ctx, "h", "a")
	wantNotFound(t, "GetLastSeen after DeleteHub", err)
	if _, err := s.GetLastSeen(ctx, "other", "a"); err != nil {
		t.Errorf("GetLastSeen of another hub after DeleteHub: %v", err)
	}
}
