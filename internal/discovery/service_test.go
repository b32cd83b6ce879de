package discovery

import (
	"context"
	"encoding/base64"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/discovery/geo"
	"github.com/moatsec/moat/internal/discovery/maint"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/sas"
)

const ns = "fleet.example"

var (
	keyA   = base64.StdEncoding.EncodeToString([]byte("device-a-primary-key-32-bytes!!!"))
	keyA2  = base64.StdEncoding.EncodeToString([]byte("device-a-secondary-key-32-bytes!"))
	t0     = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	office = netip.MustParsePrefix("203.0.113.0/24")
)

// memRegistry and memHub implement the service's interfaces in memory so
// the policy can be tested cell by cell with a controlled clock; the
// end-to-end tests run the real registry and hub.
type memRegistry struct {
	mu      sync.Mutex
	devices map[string]Device
	status  map[string]string
}

func (r *memRegistry) Lookup(_ context.Context, id string) (Device, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[id]
	if !ok {
		return Device{}, ErrUnknownDevice
	}
	if s, ok := r.status[id]; ok {
		d.Status = s
	}
	return d, nil
}

func (r *memRegistry) LookupByThumbprint(ctx context.Context, t string) (Device, error) {
	r.mu.Lock()
	var id string
	for _, d := range r.devices {
		if d.CertThumbprint != "" && d.CertThumbprint == t {
			id = d.ID
		}
	}
	r.mu.Unlock()
	if id == "" {
		return Device{}, ErrUnknownDevice
	}
	return r.Lookup(ctx, id)
}

func (r *memRegistry) SetStatus(_ context.Context, id, status, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status[id] = status
	return nil
}

type memHub struct {
	revoked map[string]bool
	seen    map[string]time.Time
}

func (h *memHub) IsRevoked(hub, pub string) bool { return h.revoked[hub+"/"+pub] }
func (h *memHub) LastSeen(_ context.Context, hub, pub string) (time.Time, bool, error) {
	t, ok := h.seen[hub+"/"+pub]
	return t, ok, nil
}
func (h *memHub) SigningKey(context.Context, string) (string, string, error) {
	return "moat-discovery", "hub-signing-key", nil
}

type memAudit struct{ ds []Decision }

func (a *memAudit) Record(_ context.Context, d Decision) error { a.ds = append(a.ds, d); return nil }

type fixture struct {
	svc   *Service
	reg   *memRegistry
	hub   *memHub
	audit *memAudit
	now   time.Time
}

func newFixture(t *testing.T, devs ...Device) *fixture {
	t.Helper()
	f := &fixture{reg: &memRegistry{devices: map[string]Device{}, status: map[string]string{}},
		hub: &memHub{revoked: map[string]bool{}, seen: map[string]time.Time{}}, audit: &memAudit{}, now: t0}
	for _, d := range devs {
		f.reg.devices[d.ID] = d
	}
	svc, err := New(Options{Namespace: ns, Endpoint: "https://" + ns + ":8443/", Registry: f.reg, Hub: f.hub,
		Auditor: f.audit, Clock: func() time.Time { return f.now }, MaxTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func device(id string, mod ...func(*Device)) Device {
	d := Device{ID: id, Hub: "telemetry", Status: store.DeviceEnabled, PrimaryKey: keyA, SecondaryKey: keyA2, CreatedAt: t0.Add(-24 * time.Hour)}
	for _, m := range mod {
		m(&d)
	}
	return d
}

func proof(id, key string, exp time.Time) string {
	tok, err := sas.SignIoTHub(ns+"/devices/"+id, "", key, exp)
	if err != nil {
		panic(err)
	}
	return tok
}

func code(err error) string {
	if err == nil {
		return "issued"
	}
	return apierr.As(err).Reason
}

var src = netip.MustParseAddr("203.0.113.7")

func TestRefusalCodes(t *testing.T) {
	berlin := &geo.Fence{Circle: &geo.Circle{Center: geo.Point{Lat: 52.52, Lon: 13.405}, RadiusMeters: 5000}}
	inBerlin := &geo.Point{Lat: 52.52, Lon: 13.40}
	inParis := &geo.Point{Lat: 48.8566, Lon: 2.3522}
	cases := []struct {
		name   string
		dev    Device
		req    func(f *fixture) Request
		setup  func(f *fixture)
		want   string
		status int
	}{
		{name: "issued", dev: device("a"), want: "issued"},
		{name: "secondary key", dev: device("a"), req: func(f *fixture) Request {
			return Request{Authorization: proof("a", keyA2, f.now.Add(time.Minute)), Source: src}
		}, want: "issued"},
		{name: "no proof", dev: device("a"), req: func(*fixture) Request { return Request{Source: src} }, want: CodeBadProof, status: 401},
		{name: "malformed proof", dev: device("a"), req: func(*fixture) Request {
			return Request{Authorization: "SharedAccessSignature garbage", Source: src}
		}, want: CodeBadProof, status: 401},
		{name: "wrong key", dev: device("a"), req: func(f *fixture) Request {
			return Request{Authorization: proof("a", base64.StdEncoding.EncodeToString([]byte("another key")), f.now.Add(time.Minute)), Source: src}
		}, want: CodeBadProof, status: 401},
		{name: "unknown device", dev: device("a"), req: func(f *fixture) Request {
			return Request{Authorization: proof("b", keyA, f.now.Add(time.Minute)), Source: src}
		}, want: CodeUnknownDevice, status: 404},
		{name: "other namespace", dev: device("a"), req: func(f *fixture) Request {
			tok, _ := sas.SignIoTHub("evil.example/devices/a", "", keyA, f.now.Add(time.Minute))
			return Request{Authorization: tok, Source: src}
		}, want: CodeBadProof, status: 401},
		{name: "not a device resource", dev: device("a"), req: func(f *fixture) Request {
			tok, _ := sas.SignIoTHub(ns+"/devices/a/modules/m", "", keyA, f.now.Add(time.Minute))
			return Request{Authorization: tok, Source: src}
		}, want: CodeBadProof, status: 401},
		{name: "expired proof", dev: device("a"), req: func(f *fixture) Request {
			return Request{Authorization: proof("a", keyA, f.now.Add(-time.Minute)), Source: src}
		}, want: CodeExpiredProof, status: 401},
		{name: "expired within skew", dev: device("a"), req: func(f *fixture) Request {
			return Request{Authorization: proof("a", keyA, f.now.Add(-10*time.Second)), Source: src}
		}, want: "issued"},
		{name: "future-dated proof", dev: device("a"), req: func(f *fixture) Request {
			return Request{Authorization: proof("a", keyA, f.now.Add(10*time.Minute)), Source: src}
		}, want: CodeBadProof, status: 401},
		{name: "certificate", dev: device("a", func(d *Device) { d.CertThumbprint = strings.Repeat("ab", 32) }), req: func(*fixture) Request {
			return Request{Thumbprint: strings.Repeat("ab", 32), Source: src}
		}, want: "issued"},
		{name: "unknown certificate", dev: device("a"), req: func(*fixture) Request {
			return Request{Thumbprint: strings.Repeat("cd", 32), Source: src}
		}, want: CodeBadProof, status: 401},
		{name: "disabled", dev: device("a", func(d *Device) { d.Status = store.DeviceDisabled }), want: CodeDeviceDisabled, status: 403},
		{name: "quarantined", dev: device("a", func(d *Device) { d.Status = store.DeviceQuarantined }), want: CodeQuarantined, status: 403},
		{name: "publisher revoked", dev: device("a"), setup: func(f *fixture) { f.hub.revoked["telemetry/a"] = true }, want: CodePublisherRevoked, status: 403},
		{name: "allowed network", dev: device("a", func(d *Device) { d.AllowedNetworks = []netip.Prefix{office} }), want: "issued"},
		{name: "allowed network, IPv4-mapped source", dev: device("a", func(d *Device) { d.AllowedNetworks = []netip.Prefix{office} }),
			req: func(f *fixture) Request {
				return Request{Authorization: proof("a", keyA, f.now.Add(time.Minute)), Source: netip.MustParseAddr("::ffff:203.0.113.9")}
			}, want: "issued"},
		{name: "network not allowed", dev: device("a", func(d *Device) { d.AllowedNetworks = []netip.Prefix{office} }),
			req: func(f *fixture) Request {
				return Request{Authorization: proof("a", keyA, f.now.Add(time.Minute)), Source: netip.MustParseAddr("198.51.100.1")}
			}, want: CodeNetworkNotAllowed, status: 403},
		{name: "location required", dev: device("a", func(d *Device) { d.Geofence = berlin }), want: CodeLocationRequired, status: 403},
		{name: "inside geofence", dev: device("a", func(d *Device) { d.Geofence = berlin }), req: func(f *fixture) Request {
			return Request{Authorization: proof("a", keyA, f.now.Add(time.Minute)), Source: src, Location: inBerlin}
		}, want: "issued"},
		{name: "outside geofence", dev: device("a", func(d *Device) { d.Geofence = berlin }), req: func(f *fixture) Request {
			return Request{Authorization: proof("a", keyA, f.now.Add(time.Minute)), Source: src, Location: inParis}
		}, want: CodeOutsideGeofence, status: 403},
		{name: "recently seen", dev: device("a", func(d *Device) { d.MaxSilence = time.Hour }),
			setup: func(f *fixture) { f.hub.seen["telemetry/a"] = f.now.Add(-30 * time.Minute) }, want: "issued"},
		{name: "silent too long", dev: device("a", func(d *Device) { d.MaxSilence = time.Hour }),
			setup: func(f *fixture) { f.hub.seen["telemetry/a"] = f.now.Add(-2 * time.Hour) }, want: CodeNeedsMaintenance, status: 403},
		{name: "never seen, registered long ago", dev: device("a", func(d *Device) { d.MaxSilence = time.Hour }), want: CodeNeedsMaintenance, status: 403},
		{name: "never seen, grace since registration", dev: device("a", func(d *Device) { d.MaxSilence = time.Hour; d.CreatedAt = t0.Add(-10 * time.Minute) }), want: "issued"},
		{name: "silent but maintenance mode", dev: device("a", func(d *Device) { d.MaxSilence = time.Hour; d.MaintenanceMode = true }),
			setup: func(f *fixture) { f.hub.seen["telemetry/a"] = f.now.Add(-2 * time.Hour) }, want: "issued"},
		{name: "silent but in a maintenance window", dev: device("a", func(d *Device) {
			d.MaxSilence = time.Hour
			d.Maintenance = maint.Schedule{Windows: []maint.Window{{Days: []string{"mon"}, Start: "11:00", Duration: "2h", TimeZone: "UTC"}}}
		}), setup: func(f *fixture) { f.hub.seen["telemetry/a"] = f.now.Add(-2 * time.Hour) }, want: "issued"},
		{name: "marked needs_maintenance", dev: device("a", func(d *Device) { d.Status = store.DeviceNeedsMaintenance }), want: CodeNeedsMaintenance, status: 403},
		{name: "marked needs_maintenance, in maintenance", dev: device("a", func(d *Device) { d.Status = store.DeviceNeedsMaintenance; d.MaintenanceMode = true }), want: "issued"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.dev)
			if c.setup != nil {
				c.setup(f)
			}
			req := Request{Authorization: proof("a", keyA, f.now.Add(time.Minute)), Source: src}
			if c.req != nil {
				req = c.req(f)
			}
			g, err := f.svc.Issue(context.Background(), req)
			if got := code(err); got != c.want {
				t.Fatalf("got %s (%v), want %s", got, err, c.want)
			}
			if err != nil && apierr.As(err).Status != c.status {
				t.Errorf("status %d, want %d", apierr.As(err).Status, c.status)
			}
			if len(f.audit.ds) != 1 || f.audit.ds[0].Result != c.want {
				t.Errorf("audit = %+v, want one %s decision", f.audit.ds, c.want)
			}
			if err != nil {
				return
			}
			checkGrant(t, f, g, "a", 5*time.Minute)
		})
	}
}

func checkGrant(t *testing.T, f *fixture, g Grant, id string, ttl time.Duration) {
	t.Helper()
	tok, err := sas.Parse(g.Token)
	if err != nil {
		t.Fatal(err)
	}
	scope, err := tok.Scope(ns)
	if err != nil || scope != "/telemetry/publishers/"+id || tok.KeyName != "moat-discovery" {
		t.Fatalf("token scope %q key %q err %v", scope, tok.KeyName, err)
	}
	if tok.Verify("hub-signing-key") != 0 {
		t.Fatal("token not signed with the hub's signing key")
	}
	if !g.ExpiresAt.Equal(f.now.Add(ttl).Truncate(time.Second)) || tok.Expiry != g.ExpiresAt.Unix() {
		t.Fatalf("expires %v (se %d), want now+%s", g.ExpiresAt, tok.Expiry, ttl)
	}
	if g.Endpoint != "https://"+ns+":8443/telemetry/publishers/"+id+"/messages" || g.Publisher != id || g.Hub != "telemetry" {
		t.Fatalf("grant %+v", g)
	}
}

func TestSilentDeviceIsMarkedNeedsMaintenance(t *testing.T) {
	f := newFixture(t, device("a", func(d *Device) { d.MaxSilence = time.Hour }))
	f.hub.seen["telemetry/a"] = f.now.Add(-90 * time.Minute)
	if _, err := f.svc.Issue(context.Background(), Request{Authorization: proof("a", keyA, f.now.Add(time.Minute)), Source: src}); code(err) != CodeNeedsMaintenance {
		t.Fatalf("first request: %v", err)
	}
	if f.reg.status["a"] != store.DeviceNeedsMaintenance {
		t.Fatalf("status = %q, want needs_maintenance", f.reg.status["a"])
	}
	// Sending again does not lift it by itself: an operator (or a maintenance window) must.
	f.hub.seen["telemetry/a"] = f.now
	f.now = f.now.Add(time.Second)
	if _, err := f.svc.Issue(context.Background(), Request{Authorization: proof("a", keyA, f.now.Add(time.Minute)), Source: src}); code(err) != CodeNeedsMaintenance {
		t.Fatalf("second request: %v", err)
	}
}

func TestReplayedProofRefused(t *testing.T) {
	f := newFixture(t, device("a"))
	req := Request{Authorization: proof("a", keyA, f.now.Add(time.Minute)), Source: src}
	if _, err := f.svc.Issue(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Issue(context.Background(), req); code(err) != CodeBadProof {
		t.Fatalf("replay: %v", err)
	}
	// A failed (wrong-key) attempt does not burn a signature the device may still use.
	f2 := newFixture(t, device("a"))
	good := proof("a", keyA, f2.now.Add(time.Minute))
	bad := strings.Replace(good, "sig=", "sig=A", 1)
	f2.svc.Issue(context.Background(), Request{Authorization: bad, Source: src})
	if _, err := f2.svc.Issue(context.Background(), Request{Authorization: good, Source: src}); err != nil {
		t.Fatalf("good proof after a bad one: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, device("a"))
	n := 0
	issue := func() error {
		n++ // a distinct expiry makes a distinct proof (each may be used once)
		_, err := f.svc.Issue(context.Background(), Request{Authorization: proof("a", keyA, f.now.Add(time.Minute+time.Duration(n)*time.Second)), Source: src})
		return err
	}
	for i := range 10 {
		if err := issue(); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	err := issue()
	if code(err) != CodeRateLimited || apierr.As(err).Status != 429 || apierr.As(err).RetryAfter <= 0 {
		t.Fatalf("11th request: %v", err)
	}
	f.now = f.now.Add(6 * time.Second) // 10 per minute: one more token
	if err := issue(); err != nil {
		t.Fatalf("after refill: %v", err)
	}
}

func TestTokenTTLIsCapped(t *testing.T) {
	for _, c := range []struct{ policy, want time.Duration }{{0, 5 * time.Minute}, {30 * time.Minute, 30 * time.Minute}, {2 * time.Hour, time.Hour}} {
		f := newFixture(t, device("a", func(d *Device) { d.TokenTTL = c.policy }))
		g, err := f.svc.Issue(context.Background(), Request{Authorization: proof("a", keyA, f.now.Add(time.Minute)), Source: src})
		if err != nil {
			t.Fatal(err)
		}
		checkGrant(t, f, g, "a", c.want)
	}
}
