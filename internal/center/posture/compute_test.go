package posture

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/secmsg"
)

// TestComputeOrderAndDedup: one recommendation per ID with every device
// once, sorted by severity then ID; devices sorted; unknown devices and
// repeated registrations ignored.
func TestComputeOrderAndDedup(t *testing.T) {
	old := now.Add(-30 * 24 * time.Hour)
	fresh := store.AgentSeen{FirstSeen: old, LastSeen: now, Messages: 10, Bytes: 100_000}
	in := Input{
		Now: now,
		Devices: []Device{{ID: "z9", Hub: "h"}, {ID: "a1", Hub: "h"}, {ID: "m5", Hub: "other", CreatedAt: old},
			{ID: "a1", Hub: "h"}},
		Items: map[string][]store.DeviceItem{
			"a1": join(sysinfo, items(secmsg.NameListeningPorts, port("tcp", "0.0.0.0", 23, "/bin/busybox")),
				items(secmsg.NameOSBaseline, check("x.low", "Fail", "Low"), check("x.info", "Fail", "Informational"))),
			"z9": join(dropInput, items(secmsg.NameListeningPorts, port("tcp", "0.0.0.0", 1883, "")),
				items(secmsg.NameOSBaseline, check("x.low", "Fail", "Low"))),
			"ghost": join(sysinfo, items(secmsg.NameListeningPorts, port("tcp", "0.0.0.0", 23, ""))),
		},
		Agents:          map[string]store.AgentSeen{"a1": fresh, "z9": fresh, "ghost": {LastSeen: old}},
		SharedSendRules: []SharedRule{{Hub: "h", Name: "send"}},
	}
	got := Compute(in)
	type row struct {
		ID, Severity string
		Devices      []Affected
	}
	var rows []row
	for _, r := range got {
		if r.Title == "" || r.Description == "" || r.Remediation == "" {
			t.Errorf("%s: empty text: %+v", r.ID, r)
		}
		rows = append(rows, row{r.ID, r.Severity, r.Devices})
	}
	want := []row{
		{IDFirewallDefaultAccept, "High", []Affected{{"a1", "no firewall rules"}}},
		{IDAgentMissing, "Medium", []Affected{{"m5", "never sent, registered 2026-02-12T12:00:00Z"}}},
		{IDOpenPort, "Medium", []Affected{{"a1", "tcp 0.0.0.0:23 (busybox)"}, {"z9", "tcp 0.0.0.0:1883"}}},
		{IDSharedSendKey, "Medium", []Affected{{"a1", "hub rule h/send"}, {"z9", "hub rule h/send"}}},
		{"baseline:x.low", "Low", []Affected{{"a1", "actual: bad"}, {"z9", "actual: bad"}}},
		{"baseline:x.info", "Informational", []Affected{{"a1", "actual: bad"}}},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("recommendations (-want +got):\n%s", diff)
	}
	if in.Devices[0].ID != "z9" {
		t.Errorf("Compute reordered the caller's devices")
	}
	if diff := cmp.Diff(got, Compute(in)); diff != "" {
		t.Errorf("a second run differs:\n%s", diff)
	}
	scores := Scores(in, got)
	if s := scores["a1"]; s.Score != 100-25-10-10-5 || s.Failed != (Counts{High: 1, Medium: 2, Low: 1, Informational: 1}) {
		t.Errorf("a1 scored %+v", s)
	}
	if _, ok := scores["ghost"]; ok {
		t.Errorf("an unregistered device was scored")
	}
}

func TestComputeEmpty(t *testing.T) {
	if got := Compute(Input{Now: now}); len(got) != 0 {
		t.Errorf("no devices: %v", got)
	}
}

// TestDetailBounds: a device with thousands of ports gets one bounded
// detail; long or invalid strings are clipped to valid UTF-8.
func TestDetailBounds(t *testing.T) {
	var ports []map[string]string
	for p := 1000; p < 3000; p++ {
		ports = append(ports, port("tcp", "0.0.0.0", p, ""))
	}
	ports = append(ports, port("udp", "0.0.0.0", 9, "/opt/"+strings.Repeat("é", 300)+"\xff"))
	recs := Compute(oneDevice(join(dropInput, items(secmsg.NameListeningPorts, ports...))...))
	a := affected(t, recs, IDOpenPort)
	if len(a) != 1 {
		t.Fatalf("affected: %v", a)
	}
	d := a[0].Detail
	if !strings.HasPrefix(d, "tcp 0.0.0.0:1000; tcp 0.0.0.0:1001;") || !strings.HasSuffix(d, "; … and 1991 more") {
		t.Errorf("detail: %q", d)
	}
	if len(d) > (maxDetails+1)*(maxDetailBytes+4) {
		t.Errorf("detail of %d bytes", len(d))
	}
	long := clip("udp 0.0.0.0:9 ("+strings.Repeat("é", 300)+"\xff)", maxDetailBytes)
	if !strings.HasSuffix(long, "é…") || len(long) > maxDetailBytes+len("…") || strings.ContainsRune(long, '\uFFFD') {
		t.Errorf("clip: %q", long)
	}
	if got := clip("a\xffb", 10); got != "a\uFFFDb" {
		t.Errorf("clip of invalid UTF-8: %q", got)
	}
}
