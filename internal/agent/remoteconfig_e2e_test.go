package agent_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/agent"
	"github.com/moatsec/moat/internal/agent/upload"
	"github.com/moatsec/moat/internal/agentconf"
	"github.com/moatsec/moat/secmsg"
)

// TestRemoteConfiguration changes the device's agent configuration on the
// server while the agent runs: each change applies at the next poll.
// Login at Low priority waits for the low-priority interval and is packed
// with the others into messages of maxMessageSize bytes; a smaller
// maxMessageSize packs fewer events per message; Login Off sends no more
// failed logins.
func TestRemoteConfiguration(t *testing.T) {
	h := newHarness(t)
	h.cfg.ConfigPoll = time.Minute
	putAgentConfig(t, h, `{"eventPriorities":{"Login":"Low"}}`)
	rec := &wireRecorder{base: http.DefaultTransport.(*http.Transport).Clone()}
	h.start(agent.BuildOptions{HTTPClient: &http.Client{Transport: rec, Timeout: time.Minute}})
	if p := h.b.Config().PriorityOf(secmsg.NameLogin); p != agentconf.Low {
		t.Fatalf("Login priority %s after the first poll, want the server's Low", p)
	}
	want := map[string]int64{}
	// burst writes one failed login from a new source every 10 s for two
	// minutes: each flush makes a small Login event, kept until the
	// low-priority interval (10 min since the last low-priority send).
	next := 0
	burst := func() {
		t.Helper()
		for range 12 {
			next++
			ip := fmt.Sprintf("198.51.100.%d", next)
			h.appendLog(failed(h.now(), 5000+next, "root", ip, 40000+next))
			want[ip]++
			h.step(10 * time.Second)
		}
	}

	h.step(10 * time.Second) // the first snapshots (high priority) leave, low-priority events with them
	rec.reset()
	burst()
	if got, _ := attempts(h.events()); len(got) != 0 {
		t.Fatalf("low-priority logins sent before the low-priority interval: %v", got)
	}
	h.steps(8*6+1, 10*time.Second) // to the 10-minute mark
	if got, _ := attempts(h.events()); total(got) != 12 {
		t.Fatalf("after the low-priority interval: %v", got)
	}
	big := rec.take()
	if multi := maxEvents(big, 4096); multi < 2 {
		t.Errorf("at maxMessageSize 4096, messages of at most %d events: %+v", multi, big)
	}

	putAgentConfig(t, h, `{"eventPriorities":{"Login":"Low"},"maxMessageSize":1024}`)
	h.step(time.Minute)
	if n := h.b.Config().MaxMessageSize; n != 1024 {
		t.Fatalf("maxMessageSize %d after the poll, want 1024", n)
	}
	burst()
	h.steps(8*6+1, 10*time.Second)
	small := rec.take()
	if multi := maxEvents(small, 1024); multi < 1 {
		t.Errorf("no message sent at maxMessageSize 1024: %+v", small)
	}
	for _, m := range small {
		if m.events > 1 && m.size > 1024 {
			t.Errorf("a message of %d events and %d bytes at maxMessageSize 1024", m.events, m.size)
		}
	}
	if len(small) <= len(big) {
		t.Errorf("the same events took %d messages at 1024 bytes, %d at 4096", len(small), len(big))
	}

	putAgentConfig(t, h, `{"eventPriorities":{"Login":"Off"}}`)
	h.step(time.Minute)
	if c := h.b.Config(); c.PriorityOf(secmsg.NameLogin) != agentconf.Off || c.MaxMessageSize != 4096 {
		t.Fatalf("after the poll: Login %s, maxMessageSize %d; want Off, 4096", c.PriorityOf(secmsg.NameLogin), c.MaxMessageSize)
	}
	for i := range 5 {
		h.appendLog(failed(h.now(), 6000+i, "root", "203.0.113.99", 41000+i))
		h.step(10 * time.Second)
	}
	h.steps(11*6, 10*time.Second)

	evs := h.events()
	uniqueIDs(t, evs)
	got, _ := attempts(evs)
	if got["203.0.113.99"] != 0 {
		t.Errorf("%d failed logins sent with Login Off", got["203.0.113.99"])
	}
	delete(got, "203.0.113.99")
	if total(got) != total(want) || len(got) != len(want) {
		t.Errorf("failed attempts: %d from %d sources in the stream, %d from %d written", total(got), len(got), total(want), len(want))
	}
}

// putAgentConfig sets the device's layer of the agent configuration.
func putAgentConfig(t *testing.T, h *harness, body string) {
	t.Helper()
	if _, err := h.env.S.Client.PutAgentConfig(context.Background(), h.env.Device, []byte(body)); err != nil {
		t.Fatalf("PUT agent-config %s: %v", body, err)
	}
}

// wireMessage is one security message as it went over the wire.
type wireMessage struct {
	size   int // bytes of its JSON
	events int
}

// wireRecorder is the agent's HTTP transport: it records the security
// messages of every request to the hub the hub accepted.
type wireRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	msgs []wireMessage
}

func (w *wireRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") || r.Body == nil {
		return w.base.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	msgs, err := decodeSend(body, r.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("wireRecorder: the agent sent an undecodable body: %w", err)
	}
	resp, err := w.base.RoundTrip(r)
	if err == nil && resp.StatusCode/100 == 2 {
		w.mu.Lock()
		w.msgs = append(w.msgs, msgs...)
		w.mu.Unlock()
	}
	return resp, err
}

func decodeSend(body []byte, contentType string) ([]wireMessage, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var bodies [][]byte
	if contentType == upload.BatchContentType {
		var batch []struct{ Body string }
		if err := json.Unmarshal(raw, &batch); err != nil {
			return nil, err
		}
		for _, b := range batch {
			bodies = append(bodies, []byte(b.Body))
		}
	} else {
		bodies = [][]byte{raw}
	}
	out := make([]wireMessage, 0, len(bodies))
	for _, b := range bodies {
		m, err := secmsg.Parse(b)
		if err != nil {
			return nil, err
		}
		out = append(out, wireMessage{size: len(b), events: len(m.Events)})
	}
	return out, nil
}

func (w *wireRecorder) reset() { w.take() }

// take returns the messages recorded since the last take.
func (w *wireRecorder) take() []wireMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

// maxEvents returns the most events of one message in msgs, after checking
// that no message of several events exceeds limit bytes.
func maxEvents(msgs []wireMessage, limit int) int {
	n := 0
	for _, m := range msgs {
		if m.events > 1 && m.size > limit {
			return -1
		}
		n = max(n, m.events)
	}
	return n
}
