package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWriteTypedError(t *testing.T) {
	rec := httptest.NewRecorder()
	err := fmt.Errorf("send: %w", Unauthorized("publisher_revoked", "publisher %q is revoked", "dev1"))
	Write(rec, nil, err)
	if rec.Code != 401 {
		t.Fatalf("status %d", rec.Code)
	}
	var b Body
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if b.Error.Reason != "publisher_revoked" || b.Error.Status != 401 || !strings.Contains(b.Error.Message, "dev1") {
		t.Fatalf("body %+v", b)
	}
}

func TestWriteInternalHidesCause(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, nil, errors.New("db password is hunter2"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "hunter2") {
		t.Fatalf("status %d body %s", rec.Code, rec.Body.String())
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, nil, Unavailable(errors.New("x"), 1500*time.Millisecond, "log_unavailable", "try later"))
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("status %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}
