package deviceapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/sas"
)

// publisherToken signs the token discovery would issue to device id of hub h.
func publisherToken(s *moattest.Server, h, id string) string {
	// A hub-wide Send rule stands in for discovery's signing rule: what
	// matters is the token's scope, /{hub}/publishers/{id}.
	return sas.Sign("sb://"+s.Root.Namespace()+"/"+h+"/publishers/"+id, s.Root.SharedAccessKeyName, s.Root.SharedAccessKey, time.Now().Add(time.Hour))
}

func TestAgentConfigLayers(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	mustHub(t, s, "fleet")
	mustPut(t, s, "dev-1", device.Spec{Hub: "fleet"})
	mustPut(t, s, "dev-2", device.Spec{Hub: "fleet"})
	manage := token(s, "/")

	get := func(id, tok string) (result, device.AgentConfig) {
		t.Helper()
		r, body := call(t, s, "GET", "/api/v1/devices/"+id+"/agent-config", tok, nil)
		var c device.AgentConfig
		if r.Status == 200 {
			if err := json.Unmarshal(body, &c); err != nil {
				t.Fatal(err)
			}
		}
		return r, c
	}
	r, base := get("dev-1", manage)
	if r.Status != 200 || base.Config.LowPriorityInterval.D() != 10*time.Minute || base.Version == "" {
		t.Fatalf("defaults: %+v %+v", r, base)
	}

	// The fleet's layer, then the device's, each over the one below.
	if r, body := call(t, s, "PUT", "/api/v1/agent-config", manage, []byte(`{"lowPriorityInterval":"30m","eventPriorities":{"ProcessCreate":"Off"}}`)); r.Status != 200 {
		t.Fatalf("put fleet: %+v %s", r, body)
	}
	if r, body := call(t, s, "PUT", "/api/v1/devices/dev-1/agent-config", manage, []byte(`{"eventPriorities":{"ProcessCreate":"High"}}`)); r.Status != 200 {
		t.Fatalf("put device: %+v %s", r, body)
	}
	_, c1 := get("dev-1", manage)
	_, c2 := get("dev-2", manage)
	if c1.Config.LowPriorityInterval.D() != 30*time.Minute || c1.Config.PriorityOf("ProcessCreate") != "High" {
		t.Errorf("dev-1 effective: %+v", c1.Config)
	}
	if c2.Config.LowPriorityInterval.D() != 30*time.Minute || c2.Config.PriorityOf("ProcessCreate") != "Off" {
		t.Errorf("dev-2 effective: %+v", c2.Config)
	}
	if c1.Version == base.Version || c1.Version == c2.Version {
		t.Errorf("versions did not change: base %s dev-1 %s dev-2 %s", base.Version, c1.Version, c2.Version)
	}

	// The device reads its own configuration with its publisher token,
	// not another device's; If-None-Match saves the body.
	if r, c := get("dev-1", publisherToken(s, "fleet", "dev-1")); r.Status != 200 || c.Version != c1.Version {
		t.Errorf("device's own token: %+v version %s", r, c.Version)
	}
	if r, _ := get("dev-2", publisherToken(s, "fleet", "dev-1")); r.Status != 401 {
		t.Errorf("another device's token: %+v, want 401", r)
	}
	if r, _ := get("nobody", publisherToken(s, "fleet", "nobody")); r.Status != 401 {
		t.Errorf("unknown device with a publisher token: %+v, want 401 (not 404: no registry facts without Manage)", r)
	}
	r2, _ := moattest.Call(t, "GET", s.URL()+"/api/v1/devices/dev-1/agent-config", publisherToken(s, "fleet", "dev-1"), nil,
		map[string]string{"If-None-Match": `"` + c1.Version + `"`})
	if r2.Status != 304 {
		t.Errorf("If-None-Match with the current version: %d, want 304", r2.Status)
	}
	// A publisher token cannot write.
	if r, _ := call(t, s, "PUT", "/api/v1/devices/dev-1/agent-config", publisherToken(s, "fleet", "dev-1"), []byte(`{}`)); r.Status != 401 {
		t.Errorf("PUT with a publisher token: %+v, want 401", r)
	}

	// Bad layers are refused with the field at fault, and change nothing.
	for _, bad := range []string{`{"lowPriorityInterval":"1s"}`, `{"eventPriorities":{"Login":"Sometimes"}}`, `{"nope":1}`, `not json`} {
		r, body := call(t, s, "PUT", "/api/v1/devices/dev-1/agent-config", manage, []byte(bad))
		if r.Status != 400 || r.Reason != "invalid_agent_config" {
			t.Errorf("PUT %s: %+v %s", bad, r, body)
		}
	}
	if _, c := get("dev-1", manage); c.Version != c1.Version {
		t.Error("a refused layer changed the configuration")
	}
	if r, _ := call(t, s, "PUT", "/api/v1/devices/ghost/agent-config", manage, []byte(`{}`)); r.Status != 404 {
		t.Errorf("PUT for an unknown device: %+v", r)
	}

	// Removing the device's layer returns it to the fleet's; deleting the
	// device forgets its layer.
	if r, _ := call(t, s, "DELETE", "/api/v1/devices/dev-1/agent-config", manage, nil); r.Status != 200 {
		t.Fatalf("delete layer: %+v", r)
	}
	if r, _ := call(t, s, "DELETE", "/api/v1/devices/dev-1/agent-config", manage, nil); r.Status != 404 || r.Reason != "agent_config_not_found" {
		t.Errorf("delete layer twice: %+v", r)
	}
	if _, c := get("dev-1", manage); c.Version != c2.Version {
		t.Errorf("after deleting its layer dev-1 has version %s, want the fleet's %s", c.Version, c2.Version)
	}
	call(t, s, "PUT", "/api/v1/devices/dev-2/agent-config", manage, []byte(`{"maxMessageSize":8192}`))
	call(t, s, "DELETE", "/api/v1/devices/dev-2", manage, nil)
	mustPut(t, s, "dev-2", device.Spec{Hub: "fleet"})
	if _, c := get("dev-2", manage); c.Config.MaxMessageSize != 4096 {
		t.Errorf("re-registered dev-2 kept its old layer: maxMessageSize %d", c.Config.MaxMessageSize)
	}
}
