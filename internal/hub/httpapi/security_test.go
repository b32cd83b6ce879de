package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/hub/httpapi"
	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/secmsg"
)

func loginFailures(t *testing.T, n int, from string) ([]byte, *secmsg.Message) {
	t.Helper()
	now := time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)
	var evs []secmsg.Event
	for i := range n {
		evs = append(evs, secmsg.NewEvent(secmsg.NameLogin, now.Add(time.Duration(i)*time.Second), secmsg.Login{
			Operation: secmsg.OperationLogin, Result: secmsg.ResultFail, UserName: "root", RemoteAddress: from,
			RemotePort: 40000 + i, Executable: "/usr/sbin/sshd", AuthMethod: secmsg.AuthPassword, Source: secmsg.SourceAuthLog,
		}))
	}
	m := secmsg.NewMessage("0.1.0", secmsg.NewID(), evs...)
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b, m
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func readSecurity(t *testing.T, s *moattest.Server, h string) []httpapi.SecurityRecordView {
	t.Helper()
	r, body := call(t, "GET", s.URL()+"/"+h+"/security?limit=1000", rootToken(s), nil, nil)
	if r.Status != 200 {
		t.Fatalf("read security: %+v %s", r, body)
	}
	var resp httpapi.SecurityReadResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Records
}

// TestSecurityMessages: marked sends go to the security stream, one record
// per event, never to the partitions; they are validated; a resent
// message's events are dropped as duplicates; gzip works.
func TestSecurityMessages(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	mustHub(t, s, "fleet", 2)
	url := s.URL() + "/fleet/publishers/dev-1/messages"
	tok := rootToken(s)
	marked := map[string]string{hub.SecurityProperty: hub.SecurityMarker, "Content-Type": "application/json"}

	body, msg := loginFailures(t, 3, "203.0.113.9")
	if r, b := call(t, "POST", url, tok, body, marked); r.Status != 201 {
		t.Fatalf("send security message: %+v %s", r, b)
	}
	// The same message again (an agent that lost the answer), gzipped.
	zipped := map[string]string{hub.SecurityProperty: hub.SecurityMarker, "Content-Encoding": "gzip"}
	if r, b := call(t, "POST", url, tok, gz(body), zipped); r.Status != 201 {
		t.Fatalf("resend gzipped: %+v %s", r, b)
	}
	recs := readSecurity(t, s, "fleet")
	if len(recs) != 3 {
		t.Fatalf("%d security records, want 3 (one per event, resend dropped)", len(recs))
	}
	for i, rec := range recs {
		if rec.Source != "agent" || rec.Device != "dev-1" || rec.Hub != "fleet" {
			t.Errorf("record %d: %+v", i, rec)
		}
		var ar hub.AgentRecord
		if err := json.Unmarshal(rec.Data, &ar); err != nil {
			t.Fatal(err)
		}
		one, err := secmsg.Parse(ar.Message)
		if err != nil {
			t.Fatalf("stored message does not parse: %v", err)
		}
		if ar.Device != "dev-1" || len(one.Events) != 1 || one.Events[0].ID != msg.Events[i].ID || one.AgentID != msg.AgentID {
			t.Errorf("record %d: device %q, events %+v", i, ar.Device, one.Events)
		}
		login, ok := one.Events[0].Payload[0].(secmsg.Login)
		if !ok || login.RemoteAddress != "203.0.113.9" || login.Result != secmsg.ResultFail {
			t.Errorf("record %d payload %#v", i, one.Events[0].Payload[0])
		}
	}
	// Telemetry consumers saw nothing.
	for p := range 2 {
		r, b := call(t, "GET", fmt.Sprintf("%s/fleet/partitions/%d/events", s.URL(), p), tok, nil, nil)
		if r.Status != 200 || strings.Contains(string(b), `"sequence"`) {
			t.Errorf("partition %d holds events: %s", p, b)
		}
	}

	// Invalid security messages: 400 with the path at fault, nothing stored.
	for name, bad := range map[string]string{
		"not json":      `{{`,
		"unknown event": strings.Replace(string(body), `"Name":"Login"`, `"Name":"Teleport"`, 1),
		"bad port":      strings.Replace(string(body), `"RemotePort":40000`, `"RemotePort":70000`, 1),
		"empty":         ``,
	} {
		r, b := call(t, "POST", url, tok, []byte(bad), marked)
		if r.Status != 400 || r.Reason != hub.ReasonInvalidSecurityMessage {
			t.Errorf("%s: %+v %s", name, r, b)
		}
	}
	if r, b := call(t, "POST", url, tok, []byte(strings.Replace(string(body), `"RemotePort":40000`, `"RemotePort":70000`, 1)), marked); !strings.Contains(string(b), "Events[0].Payload[0].RemotePort") {
		t.Errorf("error does not name the field: %+v %s", r, b)
	}
	if n := len(readSecurity(t, s, "fleet")); n != 3 {
		t.Errorf("after refused messages: %d records", n)
	}
	// Refusals are counted.
	resp, err := http.Get(s.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`moat_hub_security_messages_total{result="invalid"} 5`, `moat_hub_security_messages_total{result="accepted"} 2`,
		`moat_hub_security_events_total{outcome="duplicate"} 3`, `moat_hub_security_events_total{outcome="stored"} 3`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// Only the publisher path says which device sent a security message.
	if r, b := call(t, "POST", s.URL()+"/fleet/messages", tok, body, marked); r.Status != 400 || r.Reason != hub.ReasonSecurityNeedsPublisher {
		t.Errorf("security message to the hub path: %+v %s", r, b)
	}

	// Unmarked sends stay telemetry; a batch mixing both splits.
	batch := fmt.Sprintf(`[{"Body":"t1"},{"Body":%q,"UserProperties":{"iothub-interface-id":%q}}]`, body2(t), hub.SecurityMarker)
	if r, b := call(t, "POST", url, tok, []byte(batch), map[string]string{"Content-Type": httpapi.BatchContentType}); r.Status != 201 {
		t.Fatalf("mixed batch: %+v %s", r, b)
	}
	if n := len(readSecurity(t, s, "fleet")); n != 4 {
		t.Errorf("after the mixed batch: %d security records, want 4", n)
	}
	found := 0
	for p := range 2 {
		_, b := call(t, "GET", fmt.Sprintf("%s/fleet/partitions/%d/events", s.URL(), p), tok, nil, nil)
		found += strings.Count(string(b), `"sequence"`)
	}
	if found != 1 {
		t.Errorf("%d telemetry events after the mixed batch, want 1", found)
	}
}

func body2(t *testing.T) string {
	b, _ := loginFailures(t, 1, "198.51.100.1")
	return string(b)
}

// TestAuthFailuresReachSecurityStream: requests refused by authorization on
// a hub are filed in its security stream (source "hub") for the center.
func TestAuthFailuresReachSecurityStream(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	mustHub(t, s, "fleet", 1)
	url := s.URL() + "/fleet/publishers/dev-9/messages"
	// A token signed with a wrong key, then a revoked publisher.
	bad := sign(s, "/fleet/publishers/dev-9", s.Root.SharedAccessKeyName, "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXkh", time.Hour)
	if r, _ := call(t, "POST", url, bad, []byte("x"), nil); r.Status != 401 {
		t.Fatalf("bad signature: %+v", r)
	}
	if r, _ := call(t, "PUT", s.URL()+"/fleet/revokedpublishers/dev-9", rootToken(s), nil, nil); r.Status != 201 {
		t.Fatalf("revoke: %+v", r)
	}
	if r, _ := call(t, "POST", url, rootToken(s), []byte("x"), nil); r.Status != 401 || r.Reason != "publisher_revoked" {
		t.Fatalf("revoked publisher: %+v", r)
	}
	var reasons []string
	deadline := time.Now().Add(10 * time.Second)
	for len(reasons) < 2 && time.Now().Before(deadline) {
		reasons = reasons[:0]
		for _, rec := range readSecurity(t, s, "fleet") {
			if rec.Source != "hub" {
				continue
			}
			var f hub.AuthFailure
			if err := json.Unmarshal(rec.Data, &f); err != nil {
				t.Fatal(err)
			}
			if f.ID == "" || f.Publisher != "dev-9" || rec.Device != "dev-9" || f.SourceAddress != "127.0.0.1" || f.KeyName != s.Root.SharedAccessKeyName {
				t.Errorf("record %+v", f)
			}
			reasons = append(reasons, f.Reason)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(reasons) != 2 || reasons[1] != "publisher_revoked" || reasons[0] == "" {
		t.Fatalf("auth failures in the security stream: %v", reasons)
	}
}
