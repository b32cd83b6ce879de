package moattest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/moatsec/moat/internal/apierr"
)

// Result is a response's status and machine-readable error reason ("" for
// a success).
type Result struct {
	Status int
	Reason string
}

// Call sends a raw request (token "" = no Authorization header) and returns
// its status, reason and body. An error answer must carry the API's JSON
// error body whose status matches the HTTP status.
func Call(t testing.TB, method, url, token string, body []byte, hdr map[string]string) (Result, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
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
	r := Result{Status: resp.StatusCode}
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
