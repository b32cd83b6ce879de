package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/store"
)

func testSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, _, err := s.GetSetting(ctx, "agent-config"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSetting absent: err = %v, want ErrNotFound", err)
	}
	before := time.Now().Add(-time.Second)
	v1 := []byte(`{"lowPriorityInterval":"10m","name":"é ünïcode"}`)
	if err := s.PutSetting(ctx, "agent-config", v1); err != nil {
		t.Fatalf("PutSetting: %v", err)
	}
	got, at, err := s.GetSetting(ctx, "agent-config")
	if err != nil || string(got) != string(v1) {
		t.Fatalf("GetSetting = %q, %v; want %q", got, err, v1)
	}
	if at.Before(before) || at.Location() != time.UTC {
		t.Errorf("updated at %v (want UTC, after %v)", at, before)
	}
	v2 := []byte(`{}`)
	if err := s.PutSetting(ctx, "agent-config", v2); err != nil {
		t.Fatalf("PutSetting replace: %v", err)
	}
	if got, _, _ := s.GetSetting(ctx, "agent-config"); string(got) != "{}" {
		t.Errorf("after replace: %q", got)
	}
	if err := s.PutSetting(ctx, "agent-config/device/d1", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSetting(ctx, "agent-config"); err != nil {
		t.Fatalf("DeleteSetting: %v", err)
	}
	if err := s.DeleteSetting(ctx, "agent-config"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteSetting twice: err = %v, want ErrNotFound", err)
	}
	if got, _, err := s.GetSetting(ctx, "agent-config/device/d1"); err != nil || string(got) != `{"a":1}` {
		t.Errorf("other key after delete: %q, %v", got, err)
	}
	for _, bad := range []string{"", strings.Repeat("k", 201)} {
		if err := s.PutSetting(ctx, bad, []byte("{}")); err == nil {
			t.Errorf("PutSetting(key of %d bytes) succeeded", len(bad))
		}
	}
}
