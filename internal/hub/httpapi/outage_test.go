package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/config"
	"github.com/moatsec/moat/internal/eventlog/natstest"
	"github.com/moatsec/moat/internal/moattest"
)

// TestLogOutageAnswers503AndRecovers stops the NATS server under a running
// hub: sends are refused with 503 log_unavailable and a Retry-After header,
// the process keeps serving, and once NATS is back sends succeed again and
// nothing acknowledged before the outage is lost.
func TestLogOutageAnswers503AndRecovers(t *testing.T) {
	ns := natstest.StartServer(t)
	s := moattest.Start(t, moattest.Options{Config: func(c *config.Server) { c.NATS = ns.URL() }})
	mustHub(t, s, "h", 1)
	tok := rootToken(s)
	send := func(body string) (result, http.Header) {
		req, _ := http.NewRequestWithContext(context.Background(), "POST", s.URL()+"/h/messages", stringsReader(body))
		req.Header.Set("Authorization", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		defer resp.Body.Close()
		r, _ := call(t, "GET", s.URL()+"/healthz", "", nil, nil) // the process is still up
		if r.Status != 200 {
			t.Fatalf("healthz during send: %+v", r)
		}
		return result{Status: resp.StatusCode, Reason: reasonOf(t, resp)}, resp.Header
	}
	if r, _ := send("before"); r.Status != 201 {
		t.Fatalf("before outage: %+v", r)
	}
	ns.Stop()
	r, hdr := send("during")
	if r != (result{503, "log_unavailable"}) {
		t.Fatalf("during outage: %+v", r)
	}
	if secs, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || secs < 1 {
		t.Fatalf("Retry-After %q", hdr.Get("Retry-After"))
	}
	ns.Start()
	var ok bool
	for range 100 { // the client reconnects in the background; poll until it has
		if r, _ := send("after"); r.Status == 201 {
			ok = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !ok {
		t.Fatal("sends did not recover after NATS came back")
	}
	resp, err := s.Client.Read(context.Background(), "h", 0, 1, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Events) == 0 || string(resp.Events[0].Body) != "before" {
		t.Fatalf("event acknowledged before the outage is missing: %+v", resp.Events)
	}
}
