package deviceapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/internal/store"
)

func TestImportRefusesBadRows(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	mustHub(t, s, "tele")
	root := token(s, "/")
	thumb := strings.Repeat("cd", 32)
	for _, tc := range []struct {
		name, format, body string
		want               []string // in the error message
	}{
		{"csv", "csv", "id,hub,status,tags\n" +
			"dev-1,tele,enabled,site=a\n" +
			"dev-2,tele,exploded,\n" + // line 3: bad status
			"dev-3,nohub,,\n" + // line 4: unknown hub
			"dev-1,tele,,\n" + // line 5: duplicate
			"dev 6,tele,,\n" + // line 6: bad ID
			"dev-7,tele,,oops\n", // line 7: bad tags
			[]string{"5 invalid rows", "line 3: ", "line 4: ", "line 5: device \"dev-1\" is also on line 2", "line 6: ", "line 7: "}},
		{"jsonl", "jsonl", `{"id": "dev-1", "hub": "tele"}` + "\n" +
			"\n" +
			`{"id": "dev-2", "hub": "tele", "certThumbprint": "` + thumb + `"}` + "\n" +
			`{"id": "dev-3", "hub": "tele", "certThumbprint": "` + thumb + `"}` + "\n" + // line 4: thumbprint again
			`{"id": "dev-4", "hub": "tele", "policy": {"tokenTTL": "1s"}}` + "\n" + // line 5
			`{"id": "dev-5", "hub": "tele"` + "\n", // line 6: not JSON
			[]string{"3 invalid rows", "line 4: device \"dev-3\": certificate thumbprint " + thumb + " is also on line 3", "line 5: ", "line 6: "}},
		{"csv header", "csv", "id,hub,colour\ndev-1,tele,red\n", []string{"not valid csv: line 1: unknown column \"colour\""}},
	} {
		r, body := call(t, s, "POST", "/api/v1/devices:import?format="+tc.format, root, []byte(tc.body))
		if r != (result{400, "invalid_import"}) {
			t.Errorf("%s: %+v %s", tc.name, r, body)
			continue
		}
		for _, w := range tc.want {
			if msg := messageOf(t, body); !strings.Contains(msg, w) {
				t.Errorf("%s: error %q does not say %q", tc.name, msg, w)
			}
		}
	}
	if p, err := s.Client.ListDevices(t.Context(), device.Filter{}); err != nil || len(p.Devices) != 0 {
		t.Fatalf("devices after refused imports: %v, %v", idsOf(p.Devices), err)
	}
}

func TestImportAppliesStatusAndKeepsKeys(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	ctx := context.Background()
	mustHub(t, s, "tele")
	before := mustPut(t, s, "dev-1", device.Spec{Hub: "tele"})
	csv := "id,hub,status,statusReason,tags\n" +
		"DEV-1,tele,quarantined,tampering,site=berlin\n" +
		"dev-2,tele,,,\n"
	n, err := s.Client.ImportDevices(ctx, device.FormatCSV, strings.NewReader(csv))
	if err != nil || n != 2 {
		t.Fatalf("import: %d, %v", n, err)
	}
	d, err := s.Client.GetDevice(ctx, "dev-1")
	if err != nil {
		t.Fatal(err)
	}
	if d.PrimaryKey != before.PrimaryKey || d.SecondaryKey != before.SecondaryKey || d.Status != store.DeviceQuarantined ||
		d.StatusReason != "tampering" || d.Tags["site"] != "berlin" || !d.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("dev-1 after import: %+v", d)
	}
	if got := sendAs(t, s, "tele", "dev-1"); got != "publisher_revoked" {
		t.Errorf("send as a device imported quarantined: %q", got)
	}
	if d2, err := s.Client.GetDevice(ctx, "dev-2"); err != nil || d2.PrimaryKey == "" || d2.Status != store.DeviceEnabled {
		t.Errorf("dev-2: %+v, %v", d2, err)
	}
	// Importing the device enabled again restores its publisher.
	if _, err := s.Client.ImportDevices(ctx, device.FormatCSV, strings.NewReader("id,hub,status\ndev-1,tele,enabled\n")); err != nil {
		t.Fatal(err)
	}
	if got := sendAs(t, s, "tele", "dev-1"); got != "" {
		t.Errorf("send after importing the device enabled: %q", got)
	}
}

func TestImportThumbprintHeldElsewhere(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	mustHub(t, s, "tele")
	thumb := strings.Repeat("ef", 32)
	mustPut(t, s, "holder", device.Spec{Hub: "tele", CertThumbprint: thumb})
	body := "id,hub,certThumbprint\nnew-1,tele,\nnew-2,tele," + thumb + "\n"
	r, data := call(t, s, "POST", "/api/v1/devices:import?format=csv", token(s, "/"), []byte(body))
	if r != (result{409, "thumbprint_in_use"}) || !strings.Contains(messageOf(t, data), `line 3: certificate thumbprint `+thumb+` is registered to device "holder"`) {
		t.Fatalf("import: %+v %s", r, data)
	}
	// The thumbprint may move from a device of the import to another one of it.
	body = "id,hub,certThumbprint\nholder,tele,\nnew-2,tele," + thumb + "\n"
	if r, data := call(t, s, "POST", "/api/v1/devices:import?format=csv", token(s, "/"), []byte(body)); r.Status != 200 {
		t.Fatalf("import moving a thumbprint: %+v %s", r, data)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	for _, format := range []string{device.FormatCSV, device.FormatJSONL} {
		t.Run(format, func(t *testing.T) { runExportImportRoundTrip(t, format) })
	}
}

func runExportImportRoundTrip(t *testing.T, format string) {
	s := moattest.Start(t, moattest.Options{})
	ctx := context.Background()
	mustHub(t, s, "tele")
	mustHub(t, s, "other")
	mustPut(t, s, "dev-1", device.Spec{Hub: "tele", Tags: map[string]string{"site": "berlin", "note": "a, \"quoted\" = value"},
		Policy: device.Policy{AllowedNetworks: []string{"10.0.0.0/8"}, MaxSilence: device.Duration(3600e9), MaintenanceMode: true}})
	mustPut(t, s, "dev-2", device.Spec{Hub: "other", Status: store.DeviceQuarantined, StatusReason: "scan",
		CertThumbprint: strings.Repeat("12", 32)})
	mustPut(t, s, "cam-1", device.Spec{Hub: "other", CertThumbprint: strings.Repeat("34", 32)})

	var first bytes.Buffer
	if err := s.Client.ExportDevices(ctx, format, &first); err != nil {
		t.Fatal(err)
	}
	want := exported(t, s)

	// Into a fresh server with the same hubs: the same devices, keys included.
	s2 := moattest.Start(t, moattest.Options{})
	mustHub(t, s2, "tele")
	mustHub(t, s2, "other")
	if n, err := s2.Client.ImportDevices(ctx, format, bytes.NewReader(first.Bytes())); err != nil || n != 3 {
		t.Fatalf("import the export: %d, %v\n%s", n, err, first.String())
	}
	got := exported(t, s2)
	ignore := []string{"CreatedAt", "UpdatedAt"}
	if format == device.FormatCSV {
		ignore = append(ignore, "StatusReason") // not a column of the CSV export
	}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(device.Device{}, ignore...), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("devices after export and import (-before +after):\n%s", d)
	}
	if reason := sendAs(t, s2, "other", "dev-2"); reason != "publisher_revoked" {
		t.Errorf("imported quarantined device sends: %q", reason)
	}
	var second bytes.Buffer
	if err := s2.Client.ExportDevices(ctx, format, &second); err != nil {
		t.Fatal(err)
	}
	if format == device.FormatCSV && second.String() != first.String() {
		t.Errorf("the second export differs:\n%s\n%s", first.String(), second.String())
	}
}

// exported returns the server's devices, with keys, as a JSONL export
// reads them back.
func exported(t *testing.T, s *moattest.Server) []device.Device {
	t.Helper()
	var b bytes.Buffer
	if err := s.Client.ExportDevices(t.Context(), device.FormatJSONL, &b); err != nil {
		t.Fatal(err)
	}
	var out []device.Device
	dec := json.NewDecoder(&b)
	for dec.More() {
		var d device.Device
		if err := dec.Decode(&d); err != nil {
			t.Fatal(err)
		}
		if d.PrimaryKey == "" && d.CertThumbprint == "" {
			t.Errorf("export of %s has no keys", d.ID)
		}
		out = append(out, d)
	}
	return out
}

func TestExportOfEmptyRegistry(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	root := token(s, "/")
	for format, want := range map[string]string{"csv": strings.Join(device.ExportColumns, ",") + "\n", "jsonl": ""} {
		r, body := call(t, s, "GET", "/api/v1/devices:export?format="+format, root, nil)
		if r.Status != 200 || string(body) != want {
			t.Errorf("export of an empty registry as %s: %+v %q, want %q", format, r, body, want)
		}
	}
}
