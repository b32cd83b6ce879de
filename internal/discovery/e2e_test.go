package discovery_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/config"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/sas"
)

// env is a real server (embedded JetStream, SQLite) on a fake clock, with
// 127.0.0.1 as a trusted proxy so tests can present other source addresses
// through X-Forwarded-For.
type env struct {
	t   *testing.T
	s   *moattest.Server
	clk *moattest.Clock
}

func start(t *testing.T) *env {
	// The store stamps registrations with the real clock, so the fake one
	// starts from real now and only moves forward.
	clk := moattest.NewClock(time.Now().UTC().Truncate(time.Second))
	s := moattest.Start(t, moattest.Options{Clock: clk.Now, Config: func(c *config.Server) { c.Proxies = "127.0.0.1" }})
	if _, err := s.Client.PutHub(context.Background(), "telemetry", hub.HubSpec{Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, s: s, clk: clk}
}

func (e *env) admin(method, path string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.s.URL()+path, r)
	req.Header.Set("Authorization", sas.Sign("sb://"+e.s.Root.Namespace()+"/", e.s.Root.SharedAccessKeyName, e.s.Root.SharedAccessKey, e.clk.Now().Add(time.Hour)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func (e *env) register(id string, policy map[string]any) string {
	e.t.Helper()
	key := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%-32s", "key of "+id)))
	if code, body := e.admin("PUT", "/api/v1/devices/"+id, map[string]any{"hub": "telemetry", "primaryKey": key, "policy": policy}); code != 201 {
		e.e2eFatal("register %s: %d %s", id, code, body)
	}
	return key
}

func (e *env) e2eFatal(format string, args ...any) { e.t.Helper(); e.t.Fatalf(format, args...) }

var proofN atomic.Int64

// token asks for a token as device id from source address from.
func (e *env) token(id, key, from string, body any) (int, string, map[string]any) {
	e.t.Helper()
	// A distinct expiry per proof: each proof may be used once. Expiries
	// cycle over 200 s so that they stay within the proof lifetime limit.
	proof, err := sas.SignIoTHub(e.s.Root.Namespace()+"/devices/"+id, "", key, e.clk.Now().Add(time.Minute+time.Duration(proofN.Add(1)%200)*time.Second))
	if err != nil {
		e.t.Fatal(err)
	}
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest("POST", e.s.URL()+"/api/v1/discovery/token", r)
	req.Header.Set("Authorization", proof)
	req.Header.Set("X-Forwarded-For", from)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	if resp.StatusCode != 200 {
		var b apierr.Body
		_ = json.Unmarshal(data, &b)
		return resp.StatusCode, b.Error.Reason, out
	}
	return 200, "", out
}

// send posts an event with an issued token to the endpoint it came with.
func (e *env) send(grant map[string]any) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", grant["endpoint"].(string), bytes.NewReader([]byte(`{"t":1}`)))
	req.Header.Set("Authorization", grant["token"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b apierr.Body
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &b)
	return resp.StatusCode, b.Error.Reason
}

func TestGeofenceAndNetworksEndToEnd(t *testing.T) {
	e := start(t)
	key := e.register("pump-1", map[string]any{
		"allowedNetworks": []string{"203.0.113.0/24"},
		"geofence":        map[string]any{"circle": map[string]any{"center": map[string]any{"lat": 52.52, "lon": 13.405}, "radiusMeters": 2000}},
	})
	inside := map[string]any{"location": map[string]any{"lat": 52.525, "lon": 13.41}}
	outside := map[string]any{"location": map[string]any{"lat": 48.8566, "lon": 2.3522}}
	code, reason, grant := e.token("pump-1", key, "203.0.113.5", inside)
	if code != 200 {
		t.Fatalf("inside: %d %s", code, reason)
	}
	if grant["publisher"] != "pump-1" || grant["hub"] != "telemetry" {
		t.Fatalf("grant %v", grant)
	}
	if c, r := e.send(grant); c != 201 {
		t.Fatalf("send with the issued token: %d %s", c, r)
	}
	for _, c := range []struct {
		from string
		body any
		want string
	}{
		{"198.51.100.1", inside, "network_not_allowed"},
		{"203.0.113.5", outside, "outside_geofence"},
		{"203.0.113.5", nil, "location_required"},
		{"203.0.113.5", map[string]any{"location": map[string]any{"lat": 95, "lon": 0}}, "invalid_request"},
	} {
		if _, reason, _ := e.token("pump-1", key, c.from, c.body); reason != c.want {
			t.Errorf("from %s with %v: %s, want %s", c.from, c.body, reason, c.want)
		}
	}
	// Every decision is in the audit journal.
	code, body := e.admin("GET", "/api/v1/discovery/audit?device=pump-1", nil)
	var audit struct {
		Decisions []struct {
			Result string
			Source string `json:"sourceAddress"`
		}
	}
	if code != 200 || json.Unmarshal(body, &audit) != nil {
		t.Fatalf("audit: %d %s", code, body)
	}
	var results []string
	for _, d := range audit.Decisions {
		results = append(results, d.Result+"@"+d.Source)
	}
	want := []string{"issued@203.0.113.5", "network_not_allowed@198.51.100.1", "outside_geofence@203.0.113.5", "location_required@203.0.113.5"}
	if fmt.Sprint(results) != fmt.Sprint(want) {
		t.Fatalf("audit results %v, want %v", results, want)
	}
}

func TestSilenceAndMaintenanceEndToEnd(t *testing.T) {
	e := start(t)
	quiet := e.register("quiet", map[string]any{"maxSilence": "1h"})
	// A weekly window that opens 90 minutes from now and lasts two hours.
	opens := e.clk.Now().Add(90 * time.Minute)
	windowed := e.register("windowed", map[string]any{"maxSilence": "1h",
		"maintenance": map[string]any{"windows": []any{map[string]any{"days": []string{opens.Weekday().String()[:3]},
			"start": opens.Format("15:04"), "duration": "2h", "timeZone": "UTC"}}}})
	// Registered now: the grace rule gives them an hour to send.
	if code, reason, _ := e.token("quiet", quiet, "127.0.0.2", nil); code != 200 {
		t.Fatalf("new device: %s", reason)
	}
	e.clk.Add(2 * time.Hour) // silent for two hours; the window opened 30 minutes ago
	if _, reason, _ := e.token("quiet", quiet, "127.0.0.2", nil); reason != "needs_maintenance" {
		t.Fatalf("silent device: %s", reason)
	}
	if code, body := e.admin("GET", "/api/v1/devices/quiet", nil); code != 200 || !bytes.Contains(body, []byte(`"status":"needs_maintenance"`)) {
		t.Fatalf("device after refusal: %d %s", code, body)
	}
	// Inside its maintenance window a silent device still gets a token.
	if code, reason, _ := e.token("windowed", windowed, "127.0.0.2", nil); code != 200 {
		t.Fatalf("silent device in its maintenance window: %s", reason)
	}
	e.clk.Add(2 * time.Hour) // after the window
	if _, reason, _ := e.token("windowed", windowed, "127.0.0.2", nil); reason != "needs_maintenance" {
		t.Fatalf("after the window: %s", reason)
	}
}

func TestQuarantineActsOnBothDoors(t *testing.T) {
	e := start(t)
	key := e.register("cam-7", nil)
	_, _, grant := e.token("cam-7", key, "127.0.0.2", nil)
	if c, r := e.send(grant); c != 201 {
		t.Fatalf("before quarantine: %d %s", c, r)
	}
	if code, body := e.admin("POST", "/api/v1/devices/cam-7/quarantine", map[string]any{"reason": "brute force"}); code != 200 {
		t.Fatalf("quarantine: %d %s", code, body)
	}
	if c, r := e.send(grant); c != 401 || r != "publisher_revoked" {
		t.Fatalf("hub door after quarantine: %d %s", c, r)
	}
	if _, reason, _ := e.token("cam-7", key, "127.0.0.2", nil); reason != "quarantined" {
		t.Fatalf("token door after quarantine: %s", reason)
	}
	if code, body := e.admin("POST", "/api/v1/devices/cam-7/release", nil); code != 200 {
		t.Fatalf("release: %d %s", code, body)
	}
	code, reason, grant := e.token("cam-7", key, "127.0.0.2", nil)
	if code != 200 {
		t.Fatalf("token after release: %s", reason)
	}
	if c, r := e.send(grant); c != 201 {
		t.Fatalf("send after release: %d %s", c, r)
	}
	// Revoking the publisher through the hub stops issuance too.
	if err := e.s.Client.Revoke(context.Background(), "telemetry", "cam-7"); err != nil {
		t.Fatal(err)
	}
	if _, reason, _ := e.token("cam-7", key, "127.0.0.2", nil); reason != "publisher_revoked" {
		t.Fatalf("token after hub revocation: %s", reason)
	}
}

// TestChangeOnOneNodeActsOnAll: two nodes share NATS and PostgreSQL. Node B
// has the device in its token-service cache; disabling it through node A
// must refuse B's next token at once (the change travels as a NATS
// notification), not when B's cache entry expires.
func TestChangeOnOneNodeActsOnAll(t *testing.T) {
	clk := moattest.NewClock(time.Now().UTC().Truncate(time.Second))
	a := moattest.Start(t, moattest.Options{External: true, Clock: clk.Now, Config: func(c *config.Server) {
		c.Proxies, c.TokenRate, c.TokenBurst = "127.0.0.1", 6000, 1000
	}})
	if _, err := a.Client.PutHub(context.Background(), "telemetry", hub.HubSpec{Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	ea := &env{t: t, s: a, clk: clk}
	eb := &env{t: t, s: a.Peer(t), clk: clk}
	key := ea.register("dev-x", nil)
	for _, e := range []*env{eb, eb} { // the second request is served from B's cache
		if code, _, body := e.token("dev-x", key, "10.0.0.1", nil); code != 200 {
			t.Fatalf("token on node B: %d %v", code, body)
		}
	}
	if code, body := ea.admin("PUT", "/api/v1/devices/dev-x", map[string]any{"hub": "telemetry", "status": "disabled"}); code != 200 {
		t.Fatalf("disable on node A: %d %s", code, body)
	}
	// The notification is asynchronous; B must see it well before its cache
	// would expire (minutes). Poll without advancing the clock.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, reason, _ := eb.token("dev-x", key, "10.0.0.1", nil)
		if code == 403 && reason == "device_disabled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node B still answers %d %s ten seconds after the device was disabled on node A", code, reason)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDecisionsReachSecurityStream: issued and refused decisions about a
// known device appear in its hub's security stream (source "discovery"),
// readable with GET /{hub}/security.
func TestDecisionsReachSecurityStream(t *testing.T) {
	e := start(t)
	key := e.register("dev-s", map[string]any{"allowedNetworks": []string{"10.0.0.0/8"}})
	if code, _, body := e.token("dev-s", key, "10.1.2.3", nil); code != 200 {
		t.Fatalf("token: %d %v", code, body)
	}
	if code, reason, _ := e.token("dev-s", key, "192.0.2.1", nil); reason != "network_not_allowed" {
		t.Fatalf("token from outside: %d %s", code, reason)
	}
	// The feed is asynchronous: long-poll until both decisions are there.
	var results []string
	var from uint64 = 1
	deadline := time.Now().Add(10 * time.Second)
	for len(results) < 2 && time.Now().Before(deadline) {
		code, body := e.admin("GET", fmt.Sprintf("/telemetry/security?device=dev-s&from=%d&wait=5s", from), nil)
		if code != 200 {
			t.Fatalf("read security: %d %s", code, body)
		}
		var resp struct {
			Records []struct {
				Source, Device string
				Data           struct {
					ID, Result, Hub, DeviceID string
				}
			}
			Next uint64
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.Records {
			if r.Source != "discovery" || r.Device != "dev-s" || r.Data.Hub != "telemetry" || r.Data.DeviceID != "dev-s" || r.Data.ID == "" {
				t.Errorf("record %+v", r)
			}
			results = append(results, r.Data.Result)
		}
		from = resp.Next
	}
	if want := []string{"issued", "network_not_allowed"}; fmt.Sprint(results) != fmt.Sprint(want) {
		t.Fatalf("security stream decisions %v, want %v", results, want)
	}
}

// TestFirstTokensOfANewHubAllWork: concurrent first token requests of a
// new hub create its signing rule once; every token they get is accepted.
func TestFirstTokensOfANewHubAllWork(t *testing.T) {
	clk := moattest.NewClock(time.Now().UTC().Truncate(time.Second))
	s := moattest.Start(t, moattest.Options{Clock: clk.Now, Config: func(c *config.Server) { c.Proxies = "127.0.0.1" }})
	if _, err := s.Client.PutHub(context.Background(), "telemetry", hub.HubSpec{Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, s: s, clk: clk}
	const n = 20
	keys := make([]string, n)
	for i := range n {
		keys[i] = e.register(fmt.Sprintf("dev-%02d", i), nil)
	}
	grants := make([]map[string]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, grants[i] = e.token(fmt.Sprintf("dev-%02d", i), keys[i], "10.0.0.1", nil)
		}()
	}
	wg.Wait()
	for i, g := range grants {
		if g == nil || g["token"] == nil {
			t.Fatalf("device %d got no token: %v", i, g)
		}
		if code, reason := e.send(g); code != 201 {
			t.Errorf("device %d: send with its first token: %d %s", i, code, reason)
		}
	}
}
