package httpapi_test

import (
	"context"
	"encoding/json"
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
// result is a response's status and machine-readable reason (as
// moattest.Result, local so table literals may stay unkeyed).
type result struct {
	Status int
	Reason string
}

// call sends a raw request and returns its status, reason and body.
func call(t *testing.T, method, url, token string, body []byte, hdr map[string]string) (result, []byte) {
	t.Helper()
	r, data := moattest.Call(t, method, url, token, body, hdr)
	return result(r), data
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
