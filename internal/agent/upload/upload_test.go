package upload_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/agent/spool"
	"github.com/moatsec/moat/internal/agent/upload"
	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/secmsg"
	"github.com/moatsec/moat/tokenclient"
)

type env struct {
	s  *moattest.Server
	sp *spool.Spool
	tc *tokenclient.Client
	u  *upload.Uploader
}

const agentID = "0f6c1c7e-6a43-4a53-9d0e-2f6a2b9c1d11"

func start(t *testing.T, sender func(*tokenclient.Client) upload.Sender) *env {
	t.Helper()
	s := moattest.Start(t, moattest.Options{})
	ctx := context.Background()
	if _, err := s.Client.PutHub(ctx, "fleet", hub.HubSpec{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	key := base64.StdEncoding.EncodeToString(k)
	if _, err := s.Client.PutDevice(ctx, "dev-1", device.Device{Spec: device.Spec{Hub: "fleet", PrimaryKey: key}}); err != nil {
		t.Fatal(err)
	}
	tc, err := tokenclient.New(tokenclient.Config{Server: s.URL(), Namespace: "localhost", DeviceID: "dev-1", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	var snd upload.Sender = tc
	if sender != nil {
		snd = sender(tc)
	}
	u, err := upload.New(upload.Options{Spool: sp, Sender: snd, AgentVersion: "0.1.0", AgentID: agentID})
	if err != nil {
		t.Fatal(err)
	}
	return &env{s: s, sp: sp, tc: tc, u: u}
}

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func loginEvent(t *testing.T, i int) []byte {
	t.Helper()
	ev := secmsg.NewEvent(secmsg.NameLogin, t0.Add(time.Duration(i)*time.Second), secmsg.Login{
		Operation: secmsg.OperationLogin, Result: secmsg.ResultFail, UserName: "root",
		RemoteAddress: "203.0.113.7", RemotePort: 40000 + i, AuthMethod: secmsg.AuthPassword, Source: secmsg.SourceAuthLog,
	})
	b, err := upload.Encode("0.1.0", agentID, ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stored returns the agent records of the hub's security stream.
func stored(t *testing.T, e *env) []hub.AgentRecord {
	t.Helper()
	resp, err := e.s.Client.ReadSecurity(context.Background(), "fleet", "", 1, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []hub.AgentRecord
	for _, r := range resp.Records {
		if r.Source != "agent" { // token decisions are there too
			continue
		}
		var ar hub.AgentRecord
		if err := json.Unmarshal(r.Data, &ar); err != nil {
			t.Fatal(err)
		}
		out = append(out, ar)
	}
	return out
}

func TestFlushPriorities(t *testing.T) {
	e := start(t, nil)
	ctx := context.Background()
	var high, low [][]byte
	for i := range 40 {
		high = append(high, loginEvent(t, i))
	}
	for i := range 5 {
		low = append(low, loginEvent(t, 100+i))
	}
	if err := e.sp.Put(spool.Low, low...); err != nil {
		t.Fatal(err)
	}
	if err := e.sp.Put(spool.High, high...); err != nil {
		t.Fatal(err)
	}
	if err := e.u.Flush(ctx, false); err != nil {
		t.Fatalf("Flush high: %v", err)
	}
	if got := len(stored(t, e)); got != 40 {
		t.Fatalf("after the high flush: %d events stored, want 40", got)
	}
	st := e.u.TakeStats()
	if st.EventsSent != 40 || st.Requests != 1 || st.MessagesSent < 2 {
		t.Errorf("stats %+v: want 40 events in one request of several ~4 KB messages", st)
	}
	if st.LargestMessage > 4096 || st.BytesRaw/st.MessagesSent < 3000 {
		t.Errorf("messages of %d bytes on average, %d at most: want packed toward 4096", st.BytesRaw/st.MessagesSent, st.LargestMessage)
	}
	if st.BytesSent >= st.BytesRaw/2 {
		t.Errorf("gzip: %d bytes sent for %d raw", st.BytesSent, st.BytesRaw)
	}
	if pending, _ := e.u.Pending(spool.Low); !pending {
		t.Fatal("low events were sent by a high-only flush")
	}
	if err := e.u.Flush(ctx, true); err != nil {
		t.Fatal(err)
	}
	recs := stored(t, e)
	if len(recs) != 45 {
		t.Fatalf("%d events stored, want 45", len(recs))
	}
	for _, r := range recs {
		if r.Device != "dev-1" {
			t.Errorf("record of device %q", r.Device)
		}
	}
	if pending, _ := e.u.Pending(spool.Low); pending {
		t.Error("spool not empty after flushing everything")
	}
}

// failing fails every send until ok is set.
type failing struct {
	next upload.Sender
	ok   bool
	n    int
}

func (f *failing) SendWithHeader(ctx context.Context, body []byte, h http.Header) error {
	f.n++
	if !f.ok {
		return errors.New("network is unreachable")
	}
	return f.next.SendWithHeader(ctx, body, h)
}

func TestFailedSendKeepsEvents(t *testing.T) {
	var f *failing
	e := start(t, func(tc *tokenclient.Client) upload.Sender { f = &failing{next: tc}; return f })
	ctx := context.Background()
	if err := e.sp.Put(spool.High, loginEvent(t, 1), loginEvent(t, 2)); err != nil {
		t.Fatal(err)
	}
	if err := e.u.Flush(ctx, true); err == nil {
		t.Fatal("Flush with the network down succeeded")
	}
	if st := e.u.TakeStats(); st.MessagesFailed != 1 || st.EventsSent != 0 {
		t.Errorf("stats %+v", st)
	}
	f.ok = true
	if err := e.u.Flush(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := len(stored(t, e)); got != 2 {
		t.Fatalf("%d events stored after the network came back, want 2", got)
	}
}

// corrupting spoils the first message of each request so the hub refuses
// it with 400.
type corrupting struct{ next upload.Sender }

func (c corrupting) SendWithHeader(ctx context.Context, body []byte, h http.Header) error {
	if h.Get("Content-Type") != upload.BatchContentType {
		return c.next.SendWithHeader(ctx, []byte("not gzip"), h) // 400 bad_encoding
	}
	return c.next.SendWithHeader(ctx, body, h)
}

func TestRejectedMessagesAreDropped(t *testing.T) {
	e := start(t, func(tc *tokenclient.Client) upload.Sender { return corrupting{next: tc} })
	if err := e.sp.Put(spool.High, loginEvent(t, 1)); err != nil {
		t.Fatal(err)
	}
	if err := e.u.Flush(context.Background(), true); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if st := e.u.TakeStats(); st.MessagesRejected != 1 || st.EventsRejected != 1 {
		t.Errorf("stats %+v, want one rejected message", st)
	}
	if pending, _ := e.u.Pending(spool.Low); pending {
		t.Error("a message the hub refuses stays in the spool forever")
	}
}

func TestEncodeRefusesInvalidEvents(t *testing.T) {
	ev := secmsg.NewEvent(secmsg.NameLogin, t0, secmsg.Login{Operation: secmsg.OperationLogin, Result: "Maybe"})
	if _, err := upload.Encode("0.1.0", agentID, ev); err == nil || !strings.Contains(err.Error(), "Result") {
		t.Fatalf("Encode of an invalid event: %v", err)
	}
}
