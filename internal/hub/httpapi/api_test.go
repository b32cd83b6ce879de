package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"

	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/internal/config"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/hub/httpapi"
	"github.com/moatsec/moat/internal/moattest"
)

func TestSendAndReadRoundTrip(t *testing.T) {
	for _, b := range moattest.Backends {
		t.Run(b.Name, func(t *testing.T) { runSendAndReadRoundTrip(t, moattest.Options{TLS: true, External: b.External}) })
	}
}

func runSendAndReadRoundTrip(t *testing.T, o moattest.Options) {
	s := moattest.Start(t, o)
	ctx := context.Background()
	mustHub(t, s, "tele", 4)
	c := s.Client

	// A single event with header properties and a partition key.
	if err := c.Send(ctx, client.Target{Hub: "tele"}, client.Event{Body: []byte("one"),
		Properties: map[string]any{"Priority": "high"}, PartitionKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	// A batch as publisher dev-7: the publisher is the partition key.
	batch := []client.Event{
		{Body: []byte(`{"t":21.5}`), Properties: map[string]any{"n": 1, "ok": true, "s": "x", "f": 1.5}},
		{Body: []byte("two"), PartitionKey: "ignored-for-publishers"},
	}
	if err := c.Send(ctx, client.Target{Hub: "tele", Publisher: "Dev-7"}, batch...); err != nil {
		t.Fatal(err)
	}
	var got []httpapi.EventView
	for p := range 4 {
		resp, err := c.Read(ctx, "tele", p, 1, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range resp.Events {
			if e.EnqueuedTime.IsZero() || e.Sequence == 0 {
				t.Errorf("event without sequence or enqueued time: %+v", e)
			}
			if wantP := partitionOf(e); wantP >= 0 && wantP != p {
				t.Errorf("event keyed %q in partition %d, want %d", e.PartitionKey, p, wantP)
			}
		}
		got = append(got, resp.Events...)
	}
	want := []httpapi.EventView{
		{PartitionKey: "k1", Properties: map[string]any{"Priority": "high"}, Body: []byte("one")},
		{Publisher: "dev-7", PartitionKey: "dev-7", Properties: map[string]any{"n": float64(1), "ok": true, "s": "x", "f": 1.5}, Body: []byte(`{"t":21.5}`)},
		{Publisher: "dev-7", PartitionKey: "dev-7", Body: []byte("two")},
	}
	sortEvents := cmpopts.SortSlices(func(a, b httpapi.EventView) bool { return a.Sequence < b.Sequence })
	if diff := cmp.Diff(want, got, sortEvents, cmpopts.IgnoreFields(httpapi.EventView{}, "Sequence", "EnqueuedTime")); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
}

func partitionOf(e httpapi.EventView) int {
	if e.PartitionKey == "" {
		return -1
	}
	return hub.PartitionFor(e.PartitionKey, 4)
}

func TestExplicitPartitionAndBatchOrder(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	ctx := context.Background()
	mustHub(t, s, "h", 3)
	p := 2
	evs := make([]client.Event, 50)
	for i := range evs {
		evs[i] = client.Event{Body: []byte{byte('a' + i%26)}}
	}
	if err := s.Client.Send(ctx, client.Target{Hub: "h", Partition: &p}, evs...); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Client.Read(ctx, "h", 2, 1, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Events) != 50 {
		t.Fatalf("read %d events from partition 2, want 50", len(resp.Events))
	}
	for i, e := range resp.Events {
		if !bytes.Equal(e.Body, evs[i].Body) {
			t.Fatalf("event %d out of order: %q want %q", i, e.Body, evs[i].Body)
		}
	}
	if resp.Next != resp.Events[49].Sequence+1 {
		t.Fatalf("next %d, want %d", resp.Next, resp.Events[49].Sequence+1)
	}
	// Paging: limit and next.
	page, err := s.Client.Read(ctx, "h", 2, resp.Events[10].Sequence, 5, 0)
	if err != nil || len(page.Events) != 5 || page.Events[0].Sequence != resp.Events[10].Sequence {
		t.Fatalf("page: %d events, err %v", len(page.Events), err)
	}
}

func TestBadInput(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	mustHub(t, s, "h", 2)
	tok := rootToken(s)
	batchCT := map[string]string{"Content-Type": httpapi.BatchContentType}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat([]byte("a"), 2<<20)) // a 2 MiB bomb in a few KB
	zw.Close()
	cases := []struct {
		name   string
		method string
		path   string
		body   []byte
		hdr    map[string]string
		want   result
	}{
		{"batch not JSON", "POST", "/h/messages", []byte("{oops"), batchCT, result{400, "malformed_batch"}},
		{"batch not array", "POST", "/h/messages", []byte(`{"Body":"x"}`), batchCT, result{400, "malformed_batch"}},
		{"batch empty", "POST", "/h/messages", []byte(`[]`), batchCT, result{400, "empty_batch"}},
		{"batch item without Body", "POST", "/h/messages", []byte(`[{"UserProperties":{}}]`), batchCT, result{400, "malformed_batch"}},
		{"batch unknown field", "POST", "/h/messages", []byte(`[{"Body":"x","Bogus":1}]`), batchCT, result{400, "malformed_batch"}},
		{"batch trailing data", "POST", "/h/messages", []byte(`[{"Body":"x"}] [1]`), batchCT, result{400, "malformed_batch"}},
		{"batch bad broker props", "POST", "/h/messages", []byte(`[{"Body":"x","BrokerProperties":{"PartitionKey":5}}]`), batchCT, result{400, "malformed_batch"}},
		{"single over 1 MiB", "POST", "/h/messages", bytes.Repeat([]byte("a"), 1<<20+1), nil, result{413, "body_too_large"}},
		{"batch over 1 MiB", "POST", "/h/messages", batchOf(6000, 200), batchCT, result{413, "body_too_large"}},
		{"gzip bomb", "POST", "/h/messages", gz.Bytes(), map[string]string{"Content-Encoding": "gzip"}, result{413, "body_too_large"}},
		{"bad gzip", "POST", "/h/messages", []byte("not gzip"), map[string]string{"Content-Encoding": "gzip"}, result{400, "bad_encoding"}},
		{"unknown encoding", "POST", "/h/messages", []byte("x"), map[string]string{"Content-Encoding": "br"}, result{415, "unsupported_encoding"}},
		{"bad BrokerProperties", "POST", "/h/messages", []byte("x"), map[string]string{"BrokerProperties": "{"}, result{400, "malformed_broker_properties"}},
		{"unknown hub", "POST", "/nohub/messages", []byte("x"), nil, result{404, "hub_not_found"}},
		{"bad hub name", "POST", "/bad.name!/messages", []byte("x"), nil, result{400, "invalid_name"}},
		{"bad publisher name", "POST", "/h/publishers/a%20b/messages", []byte("x"), nil, result{400, "invalid_name"}},
		{"partition out of range", "POST", "/h/partitions/5/messages", []byte("x"), nil, result{404, "partition_not_found"}},
		{"partition not a number", "POST", "/h/partitions/x/messages", []byte("x"), nil, result{400, "invalid_partition"}},
		{"read bad limit", "GET", "/h/partitions/0/events?limit=0", nil, nil, result{400, "invalid_query"}},
		{"read bad from", "GET", "/h/partitions/0/events?from=-1", nil, nil, result{400, "invalid_query"}},
		{"read bad wait", "GET", "/h/partitions/0/events?wait=soon", nil, nil, result{400, "invalid_query"}},
		{"hub bad JSON", "PUT", "/api/v1/hubs/x", []byte(`{"partitions":`), nil, result{400, "bad_json"}},
		{"hub unknown field", "PUT", "/api/v1/hubs/x", []byte(`{"partitionz":2}`), nil, result{400, "bad_json"}},
		{"hub too many partitions", "PUT", "/api/v1/hubs/x", []byte(`{"partitions":33}`), nil, result{400, "invalid_partitions"}},
		{"hub reserved name", "PUT", "/api/v1/hubs/api", []byte(`{}`), nil, result{400, "invalid_name"}},
		{"rule no rights", "PUT", "/api/v1/authorizationRules/r", []byte(`{"rights":[]}`), nil, result{400, "invalid_rights"}},
		{"rule bad right", "PUT", "/api/v1/authorizationRules/r", []byte(`{"rights":["Root"]}`), nil, result{400, "invalid_rights"}},
		{"rule admin body too large", "PUT", "/api/v1/authorizationRules/r", bytes.Repeat([]byte(" "), 70<<10), nil, result{413, "body_too_large"}},
		{"regenerate bad key type", "POST", "/api/v1/authorizationRules/RootManageSharedAccessKey/regenerateKeys", []byte(`{"keyType":"Tertiary"}`), nil, result{400, "invalid_key_type"}},
		{"checkpoint no sequence", "PUT", "/h/consumergroups/g/checkpoints/0", []byte(`{}`), nil, result{400, "bad_json"}},
		{"unknown route", "GET", "/h/no/such/route/here", nil, nil, result{404, "not_found"}},
		{"wrong method", "DELETE", "/h/messages", nil, nil, result{405, "method_not_allowed"}},
		{"unknown rule", "GET", "/api/v1/authorizationRules/nope/listKeys", nil, nil, result{404, "rule_not_found"}},
	}
	for _, c := range cases {
		got, body := call(t, c.method, s.URL()+c.path, tok, c.body, c.hdr)
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v (body %.200s)", c.name, got, c.want, body)
		}
	}
	// Nothing above was stored, and the server still serves.
	for p := range 2 {
		resp, err := s.Client.Read(context.Background(), "h", p, 1, 10, 0)
		if err != nil || len(resp.Events) != 0 {
			t.Fatalf("partition %d after bad input: %d events, err %v", p, len(resp.Events), err)
		}
	}
}

func TestGzipSend(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	mustHub(t, s, "h", 1)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(batchOf(3, 10))
	zw.Close()
	got, _ := call(t, "POST", s.URL()+"/h/messages", rootToken(s), gz.Bytes(),
		map[string]string{"Content-Encoding": "gzip", "Content-Type": httpapi.BatchContentType})
	if got.Status != 201 {
		t.Fatalf("gzip batch: %+v", got)
	}
	resp, err := s.Client.Read(context.Background(), "h", 0, 1, 10, 0)
	if err != nil || len(resp.Events) != 3 || string(resp.Events[0].Body) != strings.Repeat("x", 10) {
		t.Fatalf("read back %d events, err %v", len(resp.Events), err)
	}
}

func TestRevocation(t *testing.T) {
	for _, b := range moattest.Backends {
		t.Run(b.Name, func(t *testing.T) { runRevocation(t, moattest.Options{External: b.External}) })
	}
}

func runRevocation(t *testing.T, o moattest.Options) {
	s := moattest.Start(t, o)
	ctx := context.Background()
	mustHub(t, s, "h", 2)
	send, err := s.Client.PutRule(ctx, "", "devices", []string{"Send"})
	if err != nil {
		t.Fatal(err)
	}
	pubTok := sign(s, "/h/publishers/dev1", "devices", send.PrimaryKey, time.Hour)
	hubTok := sign(s, "/h", "devices", send.PrimaryKey, time.Hour)
	status := func(path, tok string) result {
		r, _ := call(t, "POST", s.URL()+path, tok, []byte("x"), nil)
		return r
	}
	if r := status("/h/publishers/dev1/messages", pubTok); r.Status != 201 {
		t.Fatalf("before revoke: %+v", r)
	}
	if r, _ := call(t, "PUT", s.URL()+"/h/revokedpublishers/dev1", rootToken(s), nil, nil); r.Status != 201 {
		t.Fatalf("revoke: %+v", r)
	}
	if r, _ := call(t, "PUT", s.URL()+"/h/revokedpublishers/DEV1", rootToken(s), nil, nil); r != (result{409, "already_revoked"}) {
		t.Fatalf("revoke twice: %+v", r)
	}
	revoked := result{401, "publisher_revoked"}
	for _, c := range []struct{ path, tok string }{
		{"/h/publishers/dev1/messages", pubTok},
		{"/h/publishers/dev1/messages", hubTok},       // a hub-wide token cannot bypass it
		{"/h/publishers/Dev1/messages", hubTok},       // nor a change of case
		{"/h/publishers/dev1/messages", rootToken(s)}, // nor the root key
	} {
		if r := status(c.path, c.tok); r != revoked {
			t.Errorf("revoked send %s: %+v", c.path, r)
		}
	}
	// Refused before its body is even read: a malformed batch still gets 401.
	if r, _ := call(t, "POST", s.URL()+"/h/publishers/dev1/messages", pubTok, []byte("{not json"),
		map[string]string{"Content-Type": httpapi.BatchContentType}); r != revoked {
		t.Errorf("revoked publisher with a malformed body: %+v", r)
	}
	if r := status("/h/publishers/dev2/messages", hubTok); r.Status != 201 {
		t.Errorf("other publisher refused: %+v", r)
	}
	list, err := s.Client.ListRevoked(ctx, "h")
	if err != nil || len(list) != 1 || list[0].Name != "dev1" {
		t.Fatalf("list: %+v %v", list, err)
	}

	// Revocations survive a restart.
	s = s.Restart(t)
	if r := status("/h/publishers/dev1/messages", pubTok); r != revoked {
		t.Fatalf("after restart: %+v", r)
	}
	if r, _ := call(t, "DELETE", s.URL()+"/h/revokedpublishers/dev1", rootToken(s), nil, nil); r.Status != 200 {
		t.Fatalf("restore: %+v", r)
	}
	if r, _ := call(t, "DELETE", s.URL()+"/h/revokedpublishers/dev1", rootToken(s), nil, nil); r != (result{404, "not_revoked"}) {
		t.Fatalf("restore twice: %+v", r)
	}
	if r := status("/h/publishers/dev1/messages", pubTok); r.Status != 201 {
		t.Fatalf("after restore: %+v", r)
	}
}

func TestRegenerateKeyInvalidatesOldTokensAtOnce(t *testing.T) {
	for _, b := range moattest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			runRegenerateKeyInvalidatesOldTokensAtOnce(t, moattest.Options{External: b.External})
		})
	}
}

func runRegenerateKeyInvalidatesOldTokensAtOnce(t *testing.T, o moattest.Options) {
	s := moattest.Start(t, o)
	ctx := context.Background()
	mustHub(t, s, "h", 1)
	r, err := s.Client.PutRule(ctx, "h", "sender", []string{"Send"})
	if err != nil {
		t.Fatal(err)
	}
	oldPrimary := sign(s, "/h", "sender", r.PrimaryKey, time.Hour)
	secondary := sign(s, "/h", "sender", r.SecondaryKey, time.Hour)
	for _, tok := range []string{oldPrimary, secondary} { // warm the verification cache
		if got, _ := call(t, "POST", s.URL()+"/h/messages", tok, []byte("x"), nil); got.Status != 201 {
			t.Fatalf("before regenerate: %+v", got)
		}
	}
	r2, err := s.Client.RegenerateKey(ctx, "h", "sender", hub.PrimaryKey)
	if err != nil {
		t.Fatal(err)
	}
	if r2.PrimaryKey == r.PrimaryKey || r2.SecondaryKey != r.SecondaryKey {
		t.Fatal("regenerate PrimaryKey changed the wrong key")
	}
	if got, _ := call(t, "POST", s.URL()+"/h/messages", oldPrimary, []byte("x"), nil); got != (result{401, "bad_signature"}) {
		t.Fatalf("old primary after regenerate: %+v", got)
	}
	if got, _ := call(t, "POST", s.URL()+"/h/messages", secondary, []byte("x"), nil); got.Status != 201 {
		t.Fatalf("secondary after regenerating primary: %+v", got)
	}
	if got, _ := call(t, "POST", s.URL()+"/h/messages", sign(s, "/h", "sender", r2.PrimaryKey, time.Hour), []byte("x"), nil); got.Status != 201 {
		t.Fatalf("new primary: %+v", got)
	}
	// Deleting the rule kills its tokens too.
	if err := s.Client.DeleteRule(ctx, "h", "sender"); err != nil {
		t.Fatal(err)
	}
	if got, _ := call(t, "POST", s.URL()+"/h/messages", secondary, []byte("x"), nil); got != (result{401, "bad_signature"}) {
		t.Fatalf("token of a deleted rule: %+v", got)
	}
}

func TestHubAndRuleAdmin(t *testing.T) {
	for _, b := range moattest.Backends {
		t.Run(b.Name, func(t *testing.T) { runHubAndRuleAdmin(t, moattest.Options{External: b.External}) })
	}
}

func runHubAndRuleAdmin(t *testing.T, o moattest.Options) {
	s := moattest.Start(t, o)
	ctx := context.Background()
	c := s.Client
	tok := rootToken(s)
	if r, _ := call(t, "PUT", s.URL()+"/api/v1/hubs/Orders", tok, []byte(`{"partitions":2,"retentionHours":48}`), nil); r.Status != 201 {
		t.Fatalf("create: %+v", r)
	}
	if r, _ := call(t, "PUT", s.URL()+"/api/v1/hubs/orders", tok, []byte(`{"partitions":4,"retentionHours":48}`), nil); r.Status != 200 {
		t.Fatalf("update: %+v", r)
	}
	if r, _ := call(t, "PUT", s.URL()+"/api/v1/hubs/orders", tok, []byte(`{"partitions":1}`), nil); r != (result{409, "partition_decrease"}) {
		t.Fatalf("shrink: %+v", r)
	}
	// An update that omits a field keeps its current value.
	if r, _ := call(t, "PUT", s.URL()+"/api/v1/hubs/orders", tok, []byte(`{}`), nil); r.Status != 200 {
		t.Fatalf("empty update: %+v", r)
	}
	h, err := c.GetHub(ctx, "ORDERS")
	if err != nil || h.Name != "orders" || h.Partitions != 4 || h.RetentionHours != 48 {
		t.Fatalf("get: %+v %v", h, err)
	}
	hs, err := c.ListHubs(ctx)
	if err != nil || len(hs) != 1 {
		t.Fatalf("list: %+v %v", hs, err)
	}
	// Rules: create, list, keys (with connection strings), last-Manage protection.
	r, err := c.PutRule(ctx, "orders", "listener", []string{"Listen", "listen"})
	if err != nil || !cmp.Equal(r.Rights, []string{"Listen"}) || r.PrimaryKey == "" || r.PrimaryKey == r.SecondaryKey {
		t.Fatalf("put rule: %+v %v", r, err)
	}
	if !strings.Contains(r.PrimaryConnectionString, "EntityPath=orders") {
		t.Errorf("hub rule connection string lacks EntityPath: %s", r.PrimaryConnectionString)
	}
	rules, err := c.ListRules(ctx, "orders")
	if err != nil || len(rules) != 1 || rules[0].PrimaryKey != "" {
		t.Fatalf("list rules must not show keys: %+v %v", rules, err)
	}
	if err := c.DeleteRule(ctx, "", "RootManageSharedAccessKey"); client.ReasonOf(err) != "last_manage_rule" {
		t.Fatalf("deleting the last Manage rule: %v", err)
	}
	if _, err := c.PutRule(ctx, "", "RootManageSharedAccessKey", []string{"Send"}); client.ReasonOf(err) != "last_manage_rule" {
		t.Fatalf("demoting the last Manage rule: %v", err)
	}
	if _, err := c.PutRule(ctx, "nohub", "x", []string{"Send"}); client.ReasonOf(err) != "hub_not_found" {
		t.Fatalf("rule on a missing hub: %v", err)
	}
	// Deleting the hub removes its events' stream, rules and revocations.
	if err := c.Revoke(ctx, "orders", "d1"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteHub(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetHub(ctx, "orders"); client.ReasonOf(err) != "hub_not_found" {
		t.Fatalf("get deleted hub: %v", err)
	}
	mustHub(t, s, "orders", 1)
	if rules, _ := c.ListRules(ctx, "orders"); len(rules) != 0 {
		t.Fatalf("rules survived hub deletion: %+v", rules)
	}
	if list, _ := c.ListRevoked(ctx, "orders"); len(list) != 0 {
		t.Fatalf("revocations survived hub deletion: %+v", list)
	}
	if resp, err := c.Read(ctx, "orders", 0, 1, 10, 0); err != nil || len(resp.Events) != 0 {
		t.Fatalf("events survived hub deletion: %v %v", resp, err)
	}
}

func TestCheckpoints(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	ctx := context.Background()
	mustHub(t, s, "h", 2)
	if _, err := s.Client.GetCheckpoint(ctx, "h", "cg", 1); client.ReasonOf(err) != "checkpoint_not_found" {
		t.Fatalf("missing checkpoint: %v", err)
	}
	if _, err := s.Client.PutCheckpoint(ctx, "h", "CG", 1, 42); err != nil {
		t.Fatal(err)
	}
	cp, err := s.Client.GetCheckpoint(ctx, "h", "cg", 1)
	if err != nil || cp.Sequence != 42 || cp.ConsumerGroup != "cg" {
		t.Fatalf("checkpoint: %+v %v", cp, err)
	}
}

func TestLongPollWakesOnSend(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	ctx := context.Background()
	mustHub(t, s, "h", 1)
	var wg sync.WaitGroup
	var resp httpapi.ReadResponse
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, readErr = s.Client.Read(ctx, "h", 0, 1, 10, time.Minute)
	}()
	if err := s.Client.Send(ctx, client.Target{Hub: "h"}, client.Event{Body: []byte("wake")}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if readErr != nil || len(resp.Events) != 1 || string(resp.Events[0].Body) != "wake" {
		t.Fatalf("long poll: %+v %v", resp, readErr)
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	mustHub(t, s, "h", 1)
	call(t, "POST", s.URL()+"/h/messages", "SharedAccessSignature nonsense", []byte("x"), nil)
	call(t, "POST", s.URL()+"/h/messages", rootToken(s), []byte("hello"), nil)
	if r, _ := call(t, "GET", s.URL()+"/healthz", "", nil, nil); r.Status != 200 {
		t.Fatalf("healthz: %+v", r)
	}
	r, body := call(t, "GET", s.URL()+"/metrics", "", nil, nil)
	if r.Status != 200 {
		t.Fatalf("metrics: %+v", r)
	}
	for _, want := range []string{
		`moat_hub_events_in_total{hub="h"} 1`,
		`moat_hub_bytes_in_total{hub="h"} 5`,
		`moat_hub_auth_failures_total{reason="malformed_token"} 1`,
		`moat_hub_log_append_seconds_count 1`,
		`moat_http_request_duration_seconds_count{code="201",route="POST /{hub}/messages"} 1`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if bytes.Contains(body, []byte(s.Root.SharedAccessKey)) {
		t.Fatal("metrics expose the root key")
	}
	var health map[string]string
	_, hb := call(t, "GET", s.URL()+"/healthz", "", nil, nil)
	if json.Unmarshal(hb, &health) != nil || health["status"] != "ok" {
		t.Fatalf("healthz body %s", hb)
	}
}

// TestEventLargerThanTheLogTakes: with the request limit raised above what
// the log stores in one message, an oversized event is 413 event_too_large
// (not a retryable 503), and nothing is stored.
func TestEventLargerThanTheLogTakes(t *testing.T) {
	s := moattest.Start(t, moattest.Options{Config: func(c *config.Server) { c.MaxBody = 16 << 20 }})
	mustHub(t, s, "h", 1)
	got, _ := call(t, "POST", s.URL()+"/h/messages", rootToken(s), bytes.Repeat([]byte("a"), 9<<20), nil)
	if got != (result{413, "event_too_large"}) {
		t.Fatalf("9 MiB event: %+v", got)
	}
	if resp, err := s.Client.Read(context.Background(), "h", 0, 1, 10, 0); err != nil || len(resp.Events) != 0 {
		t.Fatalf("after refusal: %d events, %v", len(resp.Events), err)
	}
}
