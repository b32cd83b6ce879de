package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/sas"
)

// result is a response's status and machine-readable reason.
type result struct {
	Status int
	Reason string
}

// call sends a raw request and returns its status, reason and body.
func call(t *testing.T, method, url, token string, body []byte, hdr map[string]string) (result, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := result{Status: resp.StatusCode}
	if resp.StatusCode >= 400 {
		var b apierr.Body
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatalf("%s %s: %d with a non-JSON error body %q", method, url, resp.StatusCode, data)
		}
		if b.Error.Status != resp.StatusCode {
			t.Errorf("%s %s: body status %d != HTTP status %d", method, url, b.Error.Status, resp.StatusCode)
		}
		r.Reason = b.Error.Reason
	}
	return r, data
}

// sign makes a token for a path of the test server's namespace.
func sign(s *moattest.Server, path, keyName, key string, ttl time.Duration) string {
	return sas.Sign("sb://"+s.Root.Namespace()+path, keyName, key, time.Now().Add(ttl))
}

// rootToken is a namespace-wide Manage token.
func rootToken(s *moattest.Server) string {
	return sign(s, "/", s.Root.SharedAccessKeyName, s.Root.SharedAccessKey, time.Hour)
}

func mustHub(t *testing.T, s *moattest.Server, name string, partitions int) {
	t.Helper()
	if _, err := s.Client.PutHub(context.Background(), name, hub.HubSpec{Partitions: partitions}); err != nil {
		t.Fatalf("create hub %s: %v", name, err)
	}
}

func batchOf(n, size int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"Body":"` + strings.Repeat("x", size) + `"}`)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// reasonOf decodes the reason of an error response.
func reasonOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	if resp.StatusCode < 400 {
		return ""
	}
	var b apierr.Body
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatalf("non-JSON error body: %v", err)
	}
	return b.Error.Reason
}
