package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIDevices drives the device commands against a live server: create
// with policy flags, show, list with filters, quarantine and release (the
// publisher revoked and restored), import and export in both formats.
func TestCLIDevices(t *testing.T) {
	data, addr := t.TempDir(), freePort(t)
	startServe(t, data, addr)
	cli := cliRunner{t: t, addr: addr, data: data}
	moat, must := cli.run, cli.must
	must("", "hub", "create", "telemetry", "--partitions", "2")

	policy := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policy, []byte(`{"maxSilence": "2h", "tokenTTL": "10m",
		"maintenance": {"windows": [{"days": ["sun"], "start": "02:00", "duration": "2h", "timeZone": "UTC"}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := must("", "device", "create", "Dev-1", "--hub", "telemetry", "--tag", "site=berlin", "--tag", "floor=2",
		"--allowed-network", "10.0.0.0/8", "--circle", "52.52,13.40,5000", "--policy-file", policy, "--token-ttl", "15m", "-o", "json")
	var d struct {
		ID, Hub, Status, PrimaryKey string
		Tags                        map[string]string
		Policy                      map[string]any
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("device create -o json: %v\n%s", err, out)
	}
	if d.ID != "dev-1" || d.Status != "enabled" || d.PrimaryKey == "" || d.Tags["floor"] != "2" ||
		d.Policy["tokenTTL"] != "15m" || d.Policy["maxSilence"] != "2h" || d.Policy["geofence"] == nil || d.Policy["maintenance"] == nil {
		t.Fatalf("device create: %s", out)
	}
	if out := must("", "device", "show", "dev-1"); !strings.Contains(out, "primaryKey:") || !strings.Contains(out, "floor=2;site=berlin") {
		t.Fatalf("device show:\n%s", out)
	}
	if _, err := moat("", "device", "create", "dev-2", "--hub", "telemetry", "--circle", "1,2"); err == nil ||
		!strings.Contains(err.Error(), "LAT,LON,RADIUS_METERS") {
		t.Fatalf("bad --circle: %v", err)
	}
	if _, err := moat("", "device", "create", "dev-2", "--hub", "telemetry", "--polygon", "0 0;0 1;1 1", "--token-ttl", "1s"); err == nil ||
		!strings.Contains(err.Error(), "400 invalid_device") {
		t.Fatalf("too short --token-ttl: %v", err)
	}

	// Quarantine revokes the device's publisher; release restores it.
	must("", "device", "quarantine", "dev-1", "--reason", "port scan")
	if _, err := moat("", "send", "--hub", "telemetry", "--publisher", "dev-1", "x"); err == nil || !strings.Contains(err.Error(), "publisher_revoked") {
		t.Fatalf("send while quarantined: %v", err)
	}
	if out := must("", "device", "list", "--status", "quarantined"); !strings.Contains(out, "dev-1") {
		t.Fatalf("device list --status quarantined:\n%s", out)
	}
	must("", "device", "release", "dev-1")
	must("", "send", "--hub", "telemetry", "--publisher", "dev-1", "x")

	// Import CSV from standard input, a JSONL file, then list with filters and pages.
	csv := "id,hub,tags\nsensor-1,telemetry,site=paris\nsensor-2,telemetry,site=paris\nsensor-3,telemetry,\n"
	if out := must(csv, "device", "import", "-", "--format", "csv"); !strings.Contains(out, "imported 3 devices") {
		t.Fatalf("device import csv: %s", out)
	}
	jsonlFile := filepath.Join(t.TempDir(), "more.jsonl")
	if err := os.WriteFile(jsonlFile, []byte(`{"id": "cam-1", "hub": "telemetry", "certThumbprint": "`+strings.Repeat("a1", 32)+`"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	must("", "device", "import", jsonlFile)
	if _, err := moat("id,hub\nbad id,telemetry\n", "device", "import", "-", "--format", "csv"); err == nil ||
		!strings.Contains(err.Error(), "invalid_import") || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("import of a bad row: %v", err)
	}
	if out := must("", "device", "list", "--tag", "site=paris", "-o", "json"); strings.Count(out, `"id"`) != 2 {
		t.Fatalf("device list --tag site=paris:\n%s", out)
	}
	out = must("", "device", "list", "--limit", "2")
	if !strings.Contains(out, "cam-1") || strings.Contains(out, "sensor-1") || !strings.Contains(out, "--after dev-1") {
		t.Fatalf("device list --limit 2:\n%s", out)
	}
	if out := must("", "device", "list", "--limit", "2", "--all"); strings.Count(out, "telemetry") != 5 {
		t.Fatalf("device list --all:\n%s", out)
	}

	// Export to a private file, delete everything, import the export back.
	export := filepath.Join(t.TempDir(), "devices.jsonl")
	must("", "device", "export", "--file", export)
	if fi, err := os.Stat(export); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v, %v", fi, err)
	}
	csvOut := must("", "device", "export", "--format", "csv")
	if !strings.HasPrefix(csvOut, "id,hub,status,tags,primaryKey,secondaryKey,certThumbprint,policy\n") || strings.Count(csvOut, "\n") != 6 {
		t.Fatalf("device export --format csv:\n%s", csvOut)
	}
	if _, err := moat("", "hub", "delete", "telemetry"); err == nil || !strings.Contains(err.Error(), "hub_has_devices") {
		t.Fatalf("hub delete with devices: %v", err)
	}
	for _, id := range []string{"dev-1", "sensor-1", "sensor-2", "sensor-3", "cam-1"} {
		must("", "device", "delete", id)
	}
	if out := must("", "device", "import", export); !strings.Contains(out, "imported 5 devices") {
		t.Fatalf("re-import: %s", out)
	}
	if again := must("", "device", "export", "--format", "csv"); again != csvOut {
		t.Fatalf("export after re-import differs:\n%s\n%s", csvOut, again)
	}
	must("", "device", "rotate-key", "dev-1", "--key", "secondary")

	// The device's own view: a token from its key (refused outside its
	// geofence, issued inside), an event sent with it, both decisions audited.
	key := base64.StdEncoding.EncodeToString([]byte("probe-1 key, thirty-two bytes!!!"))
	must("", "device", "create", "probe-1", "--hub", "telemetry", "--key", key, "--circle", "52.52,13.405,2000")
	if _, err := moat("", "device", "token", "probe-1", "--key", key, "--lat", "48.85", "--lon", "2.35", "--proof-ttl", "1m"); err == nil || !strings.Contains(err.Error(), "outside_geofence") {
		t.Fatalf("token outside the geofence: %v", err)
	}
	if out := must("", "device", "token", "probe-1", "--key", key, "--lat", "52.52", "--lon", "13.40", "--send", "hello from probe-1", "--proof-ttl", "2m"); !strings.Contains(out, "/telemetry/publishers/probe-1/messages") {
		t.Fatalf("device token:\n%s", out)
	}
	if out := must("", "consume", "--hub", "telemetry", "--from-start", "-o", "json"); !strings.Contains(out, `"body":"hello from probe-1"`) {
		t.Fatalf("event sent with the issued token is missing:\n%s", out)
	}
	audit := must("", "device", "audit", "probe-1")
	if !strings.Contains(audit, "outside_geofence") || !strings.Contains(audit, "issued") {
		t.Fatalf("device audit:\n%s", audit)
	}
}
