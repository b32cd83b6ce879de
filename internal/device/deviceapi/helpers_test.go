package deviceapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/sas"
)

// result is a response's status and machine-readable reason (as
// moattest.Result, local so table literals may stay unkeyed).
type result struct {
	Status int
	Reason string
}

// call sends a raw request with token ("" = none) and returns its status,
// reason and body.
func call(t *testing.T, s *moattest.Server, method, path, token string, body []byte) (result, []byte) {
	t.Helper()
	r, data := moattest.Call(t, method, s.URL()+path, token, body, nil)
	return result(r), data
}

// messageOf returns the message of an error body.
func messageOf(t *testing.T, body []byte) string {
	t.Helper()
	var b apierr.Body
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return b.Error.Message
}

// token signs a token for path with the server's root key (Manage).
func token(s *moattest.Server, path string) string {
	return sas.Sign("sb://"+s.Root.Namespace()+path, s.Root.SharedAccessKeyName, s.Root.SharedAccessKey, time.Now().Add(time.Hour))
}

func mustHub(t *testing.T, s *moattest.Server, name string) {
	t.Helper()
	if _, err := s.Client.PutHub(context.Background(), name, hub.HubSpec{Partitions: 2}); err != nil {
		t.Fatalf("create hub %s: %v", name, err)
	}
}

func mustPut(t *testing.T, s *moattest.Server, id string, spec device.Spec) device.Device {
	t.Helper()
	d, err := s.Client.PutDevice(context.Background(), id, device.Device{Spec: spec})
	if err != nil {
		t.Fatalf("put device %s: %v", id, err)
	}
	return d
}

// sendAs sends one event as publisher pub of hubName with the root key and
// returns the API's reason ("" on success).
func sendAs(t *testing.T, s *moattest.Server, hubName, pub string) string {
	t.Helper()
	err := s.Client.Send(context.Background(), client.Target{Hub: hubName, Publisher: pub}, client.Event{Body: []byte("x")})
	if err != nil && client.ReasonOf(err) == "" {
		t.Fatalf("send as %s/%s: %v", hubName, pub, err)
	}
	return client.ReasonOf(err)
}

// jsonl encodes devices one per line.
func jsonl(t *testing.T, ds ...device.Device) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, d := range ds {
		if err := enc.Encode(d); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}
