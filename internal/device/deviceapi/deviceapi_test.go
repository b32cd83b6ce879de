package deviceapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/internal/store"
)

func TestDeviceRoundTrip(t *testing.T) {
	for _, b := range moattest.Backends {
		t.Run(b.Name, func(t *testing.T) { runDeviceRoundTrip(t, moattest.Options{External: b.External}) })
	}
}

func runDeviceRoundTrip(t *testing.T, o moattest.Options) {
	s := moattest.Start(t, o)
	ctx := context.Background()
	mustHub(t, s, "tele")
	root := token(s, "/")
	thumb := strings.Repeat("AB", 32)

	body := `{"hub": "Tele", "tags": {"site": "berlin"},
		"policy": {"allowedNetworks": ["10.1.2.3/8", "192.168.0.1", "10.0.0.0/8"], "maxSilence": "90m",
		           "geofence": {"circle": {"center": {"lat": 52.52, "lon": 13.40}, "radiusMeters": 5000}},
		           "maintenance": {"windows": [{"days": ["sat"], "start": "22:00", "duration": "4h", "timeZone": "Europe/Berlin"}]}}}`
	r, data := call(t, s, "PUT", "/api/v1/devices/Dev-1", root, []byte(body))
	if r.Status != 201 {
		t.Fatalf("create: %+v %s", r, data)
	}
	var created device.Device
	if err := json.Unmarshal(data, &created); err != nil {
		t.Fatal(err)
	}
	// Canonical ID and hub, generated 256-bit keys, normalized policy with the default token lifetime.
	if created.ID != "dev-1" || created.Hub != "tele" || created.Status != store.DeviceEnabled {
		t.Errorf("created: %+v", created)
	}
	for _, k := range []string{created.PrimaryKey, created.SecondaryKey} {
		if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) != 32 {
			t.Errorf("generated key %q: %d bytes, %v", k, len(b), err)
		}
	}
	if created.PrimaryKey == created.SecondaryKey {
		t.Error("the two generated keys are equal")
	}
	wantPolicy := `{"allowedNetworks":["10.0.0.0/8","192.168.0.1/32"],"geofence":{"circle":{"center":{"lat":52.52,"lon":13.4},"radiusMeters":5000}},` +
		`"maxSilence":"1h30m","maintenance":{"windows":[{"days":["sat"],"start":"22:00","duration":"4h","timeZone":"Europe/Berlin"}]},"tokenTTL":"5m"}`
	if got, _ := json.Marshal(created.Policy); string(got) != wantPolicy {
		t.Errorf("policy:\n got %s\nwant %s", got, wantPolicy)
	}
	if created.CreatedAt.IsZero() || !created.UpdatedAt.Equal(created.CreatedAt) {
		t.Errorf("timestamps: %v %v", created.CreatedAt, created.UpdatedAt)
	}

	got, err := s.Client.GetDevice(ctx, "DEV-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(created, got); d != "" {
		t.Errorf("GET differs from the PUT answer (-put +get):\n%s", d)
	}

	// Replace: what is left out of status, reason and keys is kept; the rest is replaced.
	q, err := s.Client.QuarantineDevice(ctx, "dev-1", "port scan")
	if err != nil {
		t.Fatal(err)
	}
	if q.PrimaryKey != "" || q.Status != store.DeviceQuarantined || q.StatusReason != "port scan" {
		t.Errorf("quarantine answer: %+v", q)
	}
	r, data = call(t, s, "PUT", "/api/v1/devices/dev-1", root, []byte(`{"id": "DEV-1", "hub": "tele", "tags": {"floor": "2"},
		"certThumbprint": "`+thumb+`", "createdAt": "2001-01-01T00:00:00Z"}`))
	if r.Status != 200 {
		t.Fatalf("replace: %+v %s", r, data)
	}
	var replaced device.Device
	_ = json.Unmarshal(data, &replaced)
	if replaced.PrimaryKey != created.PrimaryKey || replaced.SecondaryKey != created.SecondaryKey ||
		replaced.Status != store.DeviceQuarantined || replaced.StatusReason != "port scan" ||
		replaced.CertThumbprint != strings.ToLower(thumb) || !cmp.Equal(replaced.Tags, map[string]string{"floor": "2"}) ||
		replaced.Policy.Geofence != nil || replaced.Policy.TokenTTL != device.Duration(device.DefaultTokenTTL) ||
		!replaced.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("replaced: %+v", replaced)
	}
	if d := mustPut(t, s, "dev-1", device.Spec{Hub: "tele", StatusReason: "confirmed"}); d.Status != store.DeviceQuarantined || d.StatusReason != "confirmed" {
		t.Errorf("a new reason without a status: %+v", d)
	}
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	set := mustPut(t, s, "dev-1", device.Spec{Hub: "tele", Status: store.DeviceEnabled, PrimaryKey: key})
	if set.PrimaryKey != key || set.SecondaryKey != created.SecondaryKey || set.StatusReason != "" || set.CertThumbprint != "" {
		t.Errorf("explicit key: %+v", set)
	}

	// A certificate-only device has no keys.
	certOnly := mustPut(t, s, "cam-7", device.Spec{Hub: "tele", CertThumbprint: thumb})
	if certOnly.PrimaryKey != "" || certOnly.SecondaryKey != "" {
		t.Errorf("certificate-only device got keys: %+v", certOnly)
	}

	// Lists carry no keys.
	page, err := s.Client.ListDevices(ctx, device.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if ids := idsOf(page.Devices); !slices.Equal(ids, []string{"cam-7", "dev-1"}) || page.Next != "" {
		t.Fatalf("list: %v next %q", ids, page.Next)
	}
	for _, d := range page.Devices {
		if d.PrimaryKey != "" || d.SecondaryKey != "" {
			t.Errorf("list shows keys of %s", d.ID)
		}
	}

	// What the token service calls: Lookup and LookupByThumbprint open the keys.
	svc := s.Devices()
	if d, err := svc.Lookup(ctx, "dev-1"); err != nil || d.PrimaryKey != key {
		t.Errorf("Lookup: %+v, %v", d, err)
	}
	if d, err := svc.LookupByThumbprint(ctx, thumb); err != nil || d.ID != "cam-7" {
		t.Errorf("LookupByThumbprint: %+v, %v", d, err)
	}
	for _, tp := range []string{strings.Repeat("0", 64), "xyz", ""} {
		if _, err := svc.LookupByThumbprint(ctx, tp); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LookupByThumbprint(%q): err = %v, want store.ErrNotFound", tp, err)
		}
	}
	if _, err := svc.Lookup(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Lookup(nobody): err = %v, want store.ErrNotFound", err)
	}

	// Rotating a key replaces that one only.
	rot, err := s.Client.RotateDeviceKey(ctx, "dev-1", hub.SecondaryKey)
	if err != nil {
		t.Fatal(err)
	}
	if rot.PrimaryKey != key || rot.SecondaryKey == set.SecondaryKey || rot.SecondaryKey == "" {
		t.Errorf("rotate secondary: %+v", rot)
	}

	// Survives a restart (keys sealed under the master key).
	s = s.Restart(t)
	if d, err := s.Client.GetDevice(ctx, "dev-1"); err != nil || d.SecondaryKey != rot.SecondaryKey {
		t.Fatalf("after restart: %+v, %v", d, err)
	}

	if r, _ := call(t, s, "DELETE", "/api/v1/devices/dev-1", token(s, "/"), nil); r.Status != 200 {
		t.Fatalf("delete: %+v", r)
	}
	if r, _ := call(t, s, "GET", "/api/v1/devices/dev-1", token(s, "/"), nil); r != (result{404, "device_not_found"}) {
		t.Fatalf("get after delete: %+v", r)
	}
}

func idsOf(ds []device.Device) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func TestDeviceErrors(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	mustHub(t, s, "tele")
	thumb := strings.Repeat("ab", 32)
	mustPut(t, s, "holder", device.Spec{Hub: "tele", CertThumbprint: thumb})
	mustPut(t, s, "off", device.Spec{Hub: "tele", Status: store.DeviceDisabled})
	root := token(s, "/")
	dev := func(fields string) []byte { return []byte(`{"hub": "tele"` + fields + `}`) }
	tags := map[string]string{}
	for i := range device.MaxTags + 1 {
		tags[fmt.Sprint("t", i)] = "v"
	}
	tooMany, _ := json.Marshal(map[string]any{"hub": "tele", "tags": tags})
	cases := []struct {
		name         string
		method, path string
		token        string
		body         []byte
		want         result
	}{
		{"no token", "GET", "/api/v1/devices", "", nil, result{401, "missing_token"}},
		{"hub token", "GET", "/api/v1/devices/holder", token(s, "/tele"), nil, result{401, "wrong_resource"}},
		{"token before the ID is checked", "PUT", "/api/v1/devices/a%20b", "", dev(""), result{401, "missing_token"}},
		{"bad id", "PUT", "/api/v1/devices/a%20b", root, dev(""), result{400, "invalid_name"}},
		{"id mismatch", "PUT", "/api/v1/devices/d", root, dev(`, "id": "e"`), result{400, "invalid_device"}},
		{"no hub", "PUT", "/api/v1/devices/d", root, []byte(`{}`), result{400, "invalid_device"}},
		{"bad hub name", "PUT", "/api/v1/devices/d", root, []byte(`{"hub": "a b"}`), result{400, "invalid_name"}},
		{"unknown hub", "PUT", "/api/v1/devices/d", root, []byte(`{"hub": "nohub"}`), result{404, "hub_not_found"}},
		{"bad status", "PUT", "/api/v1/devices/d", root, dev(`, "status": "broken"`), result{400, "invalid_device"}},
		{"control character in reason", "PUT", "/api/v1/devices/d", root, dev(`, "statusReason": "a\u0000b"`), result{400, "invalid_device"}},
		{"too many tags", "PUT", "/api/v1/devices/d", root, tooMany, result{400, "invalid_device"}},
		{"bad tag key", "PUT", "/api/v1/devices/d", root, dev(`, "tags": {"a=b": "c"}`), result{400, "invalid_device"}},
		{"tag value with ;", "PUT", "/api/v1/devices/d", root, dev(`, "tags": {"a": "b;c"}`), result{400, "invalid_device"}},
		{"key not base64", "PUT", "/api/v1/devices/d", root, dev(`, "primaryKey": "not base64!"`), result{400, "invalid_device"}},
		{"key too short", "PUT", "/api/v1/devices/d", root, dev(`, "secondaryKey": "c2hvcnQ="`), result{400, "invalid_device"}},
		{"bad thumbprint", "PUT", "/api/v1/devices/d", root, dev(`, "certThumbprint": "abc"`), result{400, "invalid_device"}},
		{"thumbprint in use", "PUT", "/api/v1/devices/d", root, dev(`, "certThumbprint": "` + strings.ToUpper(thumb) + `"`), result{409, "thumbprint_in_use"}},
		{"bad network", "PUT", "/api/v1/devices/d", root, dev(`, "policy": {"allowedNetworks": ["10.0.0.0/33"]}`), result{400, "invalid_device"}},
		{"bad geofence", "PUT", "/api/v1/devices/d", root, dev(`, "policy": {"geofence": {"circle": {"center": {"lat": 1, "lon": 2}, "radiusMeters": 0}}}`), result{400, "invalid_device"}},
		{"bad maintenance", "PUT", "/api/v1/devices/d", root, dev(`, "policy": {"maintenance": {"windows": [{"days": ["mon"], "start": "25:00", "duration": "1h"}]}}`), result{400, "invalid_device"}},
		{"token TTL too short", "PUT", "/api/v1/devices/d", root, dev(`, "policy": {"tokenTTL": "5s"}`), result{400, "invalid_device"}},
		{"token TTL too long", "PUT", "/api/v1/devices/d", root, dev(`, "policy": {"tokenTTL": "2h"}`), result{400, "invalid_device"}},
		{"negative max silence", "PUT", "/api/v1/devices/d", root, dev(`, "policy": {"maxSilence": "-1m"}`), result{400, "invalid_device"}},
		{"duration as a number", "PUT", "/api/v1/devices/d", root, dev(`, "policy": {"tokenTTL": 300}`), result{400, "bad_json"}},
		{"unknown field", "PUT", "/api/v1/devices/d", root, dev(`, "colour": "red"`), result{400, "bad_json"}},
		{"empty body", "PUT", "/api/v1/devices/d", root, nil, result{400, "bad_json"}},
		{"get unknown", "GET", "/api/v1/devices/nobody", root, nil, result{404, "device_not_found"}},
		{"delete unknown", "DELETE", "/api/v1/devices/nobody", root, nil, result{404, "device_not_found"}},
		{"rotate unknown", "POST", "/api/v1/devices/nobody/rotateKey", root, []byte(`{"keyType": "PrimaryKey"}`), result{404, "device_not_found"}},
		{"rotate bad key type", "POST", "/api/v1/devices/holder/rotateKey", root, []byte(`{"keyType": "Tertiary"}`), result{400, "invalid_key_type"}},
		{"quarantine unknown", "POST", "/api/v1/devices/nobody/quarantine", root, nil, result{404, "device_not_found"}},
		{"quarantine bad body", "POST", "/api/v1/devices/holder/quarantine", root, []byte(`{"why": "x"}`), result{400, "bad_json"}},
		{"release disabled", "POST", "/api/v1/devices/off/release", root, nil, result{409, "device_disabled"}},
		{"list bad limit", "GET", "/api/v1/devices?limit=0", root, nil, result{400, "invalid_query"}},
		{"list limit too large", "GET", "/api/v1/devices?limit=1001", root, nil, result{400, "invalid_query"}},
		{"list bad status", "GET", "/api/v1/devices?status=gone", root, nil, result{400, "invalid_query"}},
		{"list bad hub", "GET", "/api/v1/devices?hub=a%20b", root, nil, result{400, "invalid_query"}},
		{"list tag value without key", "GET", "/api/v1/devices?tag==v", root, nil, result{400, "invalid_query"}},
		{"import bad format", "POST", "/api/v1/devices:import?format=xml", root, []byte("x"), result{400, "invalid_query"}},
		{"export bad format", "GET", "/api/v1/devices:export", root, nil, result{400, "invalid_query"}},
		{"hub with devices", "DELETE", "/api/v1/hubs/tele", root, nil, result{409, "hub_has_devices"}},
		{"wrong method", "PATCH", "/api/v1/devices/holder", root, nil, result{405, "method_not_allowed"}},
	}
	for _, c := range cases {
		got, body := call(t, s, c.method, c.path, c.token, c.body)
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v (body %.300s)", c.name, got, c.want, body)
		}
	}
	// Nothing was written, and the hub that has devices is still there with its log.
	page, err := s.Client.ListDevices(t.Context(), device.Filter{})
	if err != nil || !slices.Equal(idsOf(page.Devices), []string{"holder", "off"}) {
		t.Fatalf("devices after the refused requests: %v, %v", idsOf(page.Devices), err)
	}
	if reason := sendAs(t, s, "tele", "someone"); reason != "" {
		t.Fatalf("send to the hub whose delete was refused: %s", reason)
	}
	// Once its devices are gone the hub can be deleted.
	for _, id := range []string{"holder", "off"} {
		if err := s.Client.DeleteDevice(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Client.DeleteHub(t.Context(), "tele"); err != nil {
		t.Fatalf("delete a hub without devices: %v", err)
	}
}

func TestListPagingAndFilters(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	ctx := context.Background()
	mustHub(t, s, "h1")
	mustHub(t, s, "h2")
	var all []device.Device
	for i := range 250 {
		d := device.Device{ID: fmt.Sprintf("dev-%03d", i), Spec: device.Spec{Hub: "h1", Tags: map[string]string{"site": "berlin"}}}
		switch {
		case i%10 == 0:
			d.Hub, d.Tags["site"] = "h2", "paris"
		case i%25 == 1:
			d.Status = store.DeviceNeedsMaintenance
			d.Tags["floor"] = "3"
		}
		all = append(all, d)
	}
	if n, err := s.Client.ImportDevices(ctx, device.FormatJSONL, strings.NewReader(string(jsonl(t, all...)))); err != nil || n != 250 {
		t.Fatalf("import: %d, %v", n, err)
	}

	var paged []string
	f := device.Filter{Limit: 100}
	for pages := 1; ; pages++ {
		p, err := s.Client.ListDevices(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, idsOf(p.Devices)...)
		if p.Next == "" {
			if pages != 3 {
				t.Errorf("%d pages of 100 for 250 devices, want 3", pages)
			}
			break
		}
		f.After = p.Next
	}
	if want := idsOf(all); !slices.Equal(paged, want) {
		t.Fatalf("paged IDs: %d, want %d in order", len(paged), len(want))
	}

	count := func(f device.Filter) int {
		t.Helper()
		f.Limit = device.MaxPageSize
		p, err := s.Client.ListDevices(ctx, f)
		if err != nil {
			t.Fatalf("list %+v: %v", f, err)
		}
		return len(p.Devices)
	}
	for _, tc := range []struct {
		f    device.Filter
		want int
	}{
		{device.Filter{Hub: "H2"}, 25},
		{device.Filter{Status: store.DeviceNeedsMaintenance}, 10},
		{device.Filter{Status: store.DeviceEnabled, Hub: "h1"}, 215},
		{device.Filter{TagKey: "floor"}, 10},
		{device.Filter{TagKey: "site", TagValue: "paris"}, 25},
		{device.Filter{TagKey: "site", TagValue: "rome"}, 0},
		{device.Filter{TagKey: "site", Hub: "h1", Status: store.DeviceNeedsMaintenance}, 10},
	} {
		if got := count(tc.f); got != tc.want {
			t.Errorf("list %+v: %d devices, want %d", tc.f, got, tc.want)
		}
	}
}

func TestStatusDrivesRevocation(t *testing.T) {
	for _, b := range moattest.Backends {
		t.Run(b.Name, func(t *testing.T) { runStatusDrivesRevocation(t, moattest.Options{External: b.External}) })
	}
}

func runStatusDrivesRevocation(t *testing.T, o moattest.Options) {
	s := moattest.Start(t, o)
	ctx := context.Background()
	mustHub(t, s, "tele")
	mustHub(t, s, "other")
	mustPut(t, s, "dev-1", device.Spec{Hub: "tele"})
	const revoked = "publisher_revoked"
	step := func(what string, want string) {
		t.Helper()
		if got := sendAs(t, s, "tele", "dev-1"); got != want {
			t.Fatalf("%s: send as dev-1 gives %q, want %q", what, got, want)
		}
	}
	step("enabled", "")
	if _, err := s.Client.QuarantineDevice(ctx, "dev-1", "attack"); err != nil {
		t.Fatal(err)
	}
	step("quarantined", revoked)
	if _, err := s.Client.QuarantineDevice(ctx, "dev-1", "again"); err != nil {
		t.Fatalf("quarantine twice: %v", err)
	}
	if list, err := s.Client.ListRevoked(ctx, "tele"); err != nil || len(list) != 1 || list[0].Name != "dev-1" {
		t.Fatalf("revoked publishers: %+v, %v", list, err)
	}
	if _, err := s.Client.ReleaseDevice(ctx, "dev-1"); err != nil {
		t.Fatal(err)
	}
	step("released", "")
	if _, err := s.Client.ReleaseDevice(ctx, "dev-1"); err != nil {
		t.Fatalf("release an enabled device: %v", err)
	}
	// Each operator's quarantine and release is recorded with who and why.
	acts, err := s.Client.ResponseActions(ctx, "dev-1", 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range acts {
		got = append(got, a.Action+" by "+a.Actor+": "+a.Reason)
		if a.Policy != "" || a.At.IsZero() {
			t.Errorf("operator's action %+v: want no policy and a time", a)
		}
	}
	actor := "rule:" + s.Root.SharedAccessKeyName
	want := []string{"release by " + actor + ": ", "release by " + actor + ": ",
		"quarantine by " + actor + ": again", "quarantine by " + actor + ": attack"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("recorded actions, newest first (-want +got):\n%s", d)
	}

	mustPut(t, s, "dev-1", device.Spec{Hub: "tele", Status: store.DeviceDisabled})
	step("disabled", revoked)
	mustPut(t, s, "dev-1", device.Spec{Hub: "tele", Status: store.DeviceEnabled})
	step("enabled again", "")

	// needs_maintenance does not revoke.
	if err := s.Devices().SetStatus(ctx, "dev-1", store.DeviceNeedsMaintenance, "silent for 2h"); err != nil {
		t.Fatal(err)
	}
	step("needs maintenance", "")
	if d, _ := s.Client.GetDevice(ctx, "dev-1"); d.Status != store.DeviceNeedsMaintenance || d.StatusReason != "silent for 2h" {
		t.Fatalf("after SetStatus: %+v", d)
	}

	// needs_maintenance never lifts a quarantine (the discovery service
	// racing the security center).
	if _, err := s.Client.QuarantineDevice(ctx, "dev-1", "attack"); err != nil {
		t.Fatal(err)
	}
	if err := s.Devices().SetStatus(ctx, "dev-1", store.DeviceNeedsMaintenance, "silent"); apierr.As(err).Reason != "device_blocked" {
		t.Fatalf("SetStatus(needs_maintenance) of a quarantined device: %v, want 409 device_blocked", err)
	}
	step("still quarantined", revoked)
	if _, err := s.Client.ReleaseDevice(ctx, "dev-1"); err != nil {
		t.Fatal(err)
	}

	// A publisher revoked by hand first: quarantine and release still work.
	if err := s.Client.Revoke(ctx, "tele", "dev-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.QuarantineDevice(ctx, "dev-1", ""); err != nil {
		t.Fatalf("quarantine a revoked publisher: %v", err)
	}
	if _, err := s.Client.ReleaseDevice(ctx, "dev-1"); err != nil {
		t.Fatal(err)
	}
	step("released after a manual revocation", "")

	// Moving a quarantined device moves the revocation with it.
	if _, err := s.Client.QuarantineDevice(ctx, "dev-1", ""); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "dev-1", device.Spec{Hub: "other"})
	step("moved away while quarantined", "")
	if got := sendAs(t, s, "other", "dev-1"); got != revoked {
		t.Fatalf("send in the new hub while quarantined: %q", got)
	}

	// Deleting a quarantined device leaves its publisher revoked.
	if err := s.Client.DeleteDevice(ctx, "dev-1"); err != nil {
		t.Fatal(err)
	}
	if got := sendAs(t, s, "other", "dev-1"); got != revoked {
		t.Fatalf("send after deleting a quarantined device: %q", got)
	}
}
