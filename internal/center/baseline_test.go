package center_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/internal/store/sqlite"
)

// countingStore counts the baseline writes that reach the real store.
type countingStore struct {
	*sqlite.Store
	writes int
}

func (c *countingStore) RememberValues(ctx context.Context, v []store.BaselineValue) ([]bool, error) {
	c.writes++
	return c.Store.RememberValues(ctx, v)
}

// TestStoreBaselineRemembersInMemory: a value known to be stored costs no
// write; Forget and a full memory fall back to the store, which keeps the
// answers right.
func TestStoreBaselineRemembersInMemory(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "moat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.PutHub(ctx, store.Hub{Name: "h", Partitions: 1, RetentionHours: 24}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"d1", "d2"} {
		if _, err := st.PutDevice(ctx, store.Device{ID: id, Hub: "h", Status: store.DeviceEnabled, PrimaryKey: []byte("k"), SecondaryKey: []byte("k")}); err != nil {
			t.Fatal(err)
		}
	}
	cs := &countingStore{Store: st}
	b := center.NewStoreBaseline(cs, 3)
	remember := func(device, value string, wantNew bool, wantWrites int) {
		t.Helper()
		isNew, err := b.Remember(ctx, device, "new-port", value)
		if err != nil || isNew != wantNew || cs.writes != wantWrites {
			t.Fatalf("Remember(%s, %s) = %v, %v after %d writes; want %v after %d", device, value, isNew, err, cs.writes, wantNew, wantWrites)
		}
	}
	remember("d1", "tcp/22", true, 1)
	remember("d1", "tcp/22", false, 1) // from memory
	remember("d2", "tcp/22", true, 2)
	b.Forget("d1")
	remember("d1", "tcp/22", false, 3) // asked again: the store knows it
	remember("d1", "tcp/22", false, 3)
	remember("d1", "tcp/80", true, 4) // the memory holds 3 now
	// The next value finds the memory full: it is dropped, and the known
	// values are asked of the store again, still right.
	remember("d1", "tcp/443", true, 5)
	remember("d1", "tcp/22", false, 6)
	remember("d2", "tcp/22", false, 7)
	remember("d2", "tcp/22", false, 7)

	// A deleted device loses its stored baseline; once forgotten in
	// memory (the server forgets on every device change), its values are
	// new again.
	if err := st.DeleteDevice(ctx, "d2"); err != nil {
		t.Fatal(err)
	}
	b.Forget("d2")
	remember("d2", "tcp/22", true, 8)
}
