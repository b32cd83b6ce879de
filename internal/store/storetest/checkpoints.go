package storetest

import (
	"math"
	"testing"

	"github.com/moatsec/moat/internal/store"
)

func testPutCheckpoint(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	cp := store.Checkpoint{Hub: "h", ConsumerGroup: "$default", Partition: 3, Sequence: 42, Metadata: `{"offset":"42"}`}
	c := tick()
	putCheckpoint(t, s, cp)
	c = c.stop()
	got := getCheckpoint(t, s, "h", "$default", 3)
	diff(t, "GetCheckpoint after create", cp, got)
	checkStamp(t, "UpdatedAt", got.UpdatedAt, c)

	cp.Sequence, cp.Metadata = 43, "ünïcødé ✓"
	c = tick()
	putCheckpoint(t, s, cp)
	c = c.stop()
	got = getCheckpoint(t, s, "h", "$default", 3)
	diff(t, "GetCheckpoint after replace", cp, got)
	checkStamp(t, "UpdatedAt", got.UpdatedAt, c)

	// A checkpoint may move backwards (a consumer rewinding) and clear its metadata.
	cp.Sequence, cp.Metadata = 0, ""
	putCheckpoint(t, s, cp)
	diff(t, "GetCheckpoint after rewind", cp, getCheckpoint(t, s, "h", "$default", 3))
}

func testCheckpointNotFound(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	putCheckpoint(t, s, store.Checkpoint{Hub: "h", ConsumerGroup: "g", Partition: 0, Sequence: 1})
	for _, k := range []struct {
		hub, group string
		partition  int
	}{
		{"h", "g", 1},
		{"h", "other", 0},
		{"nohub", "g", 0},
		{"h", "G", 0},
	} {
		_, err := s.GetCheckpoint(t.Context(), k.hub, k.group, k.partition)
		wantNotFound(t, "GetCheckpoint", err)
	}
}

func testCheckpointOnMissingHub(t *testing.T, s store.Store) {
	err := s.PutCheckpoint(t.Context(), store.Checkpoint{Hub: "nohub", ConsumerGroup: "g", Partition: 0, Sequence: 1})
	wantNotFound(t, "PutCheckpoint on a missing hub", err)
	putHub(t, s, hub("nohub"))
	diff(t, "ListCheckpoints once the hub exists", []store.Checkpoint{}, listCheckpoints(t, s, "nohub", "g"))
}

func testListCheckpoints(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	putHub(t, s, hub("other"))
	diff(t, "ListCheckpoints of a new group", []store.Checkpoint{}, listCheckpoints(t, s, "h", "g"))
	diff(t, "ListCheckpoints of a missing hub", []store.Checkpoint{}, listCheckpoints(t, s, "nohub", "g"))

	// Out of order, and 10 after 2 (numeric, not text, order).
	cp := func(h, g string, p int) store.Checkpoint {
		return store.Checkpoint{Hub: h, ConsumerGroup: g, Partition: p, Sequence: uint64(100 + p)}
	}
	for _, p := range []int{10, 2, 0, 3} {
		putCheckpoint(t, s, cp("h", "g", p))
	}
	putCheckpoint(t, s, cp("h", "g2", 1))
	putCheckpoint(t, s, cp("other", "g", 5))
	diff(t, "ListCheckpoints(h, g)",
		[]store.Checkpoint{cp("h", "g", 0), cp("h", "g", 2), cp("h", "g", 3), cp("h", "g", 10)},
		listCheckpoints(t, s, "h", "g"))
	diff(t, "ListCheckpoints(h, g2)", []store.Checkpoint{cp("h", "g2", 1)}, listCheckpoints(t, s, "h", "g2"))
}

func testCheckpointSequenceRange(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	for i, seq := range []uint64{0, 1, math.MaxInt32 + 1, math.MaxUint32 + 1, 1<<53 + 1, store.MaxSequence - 1, store.MaxSequence} {
		cp := store.Checkpoint{Hub: "h", ConsumerGroup: "g", Partition: i, Sequence: seq}
		putCheckpoint(t, s, cp)
		if got := getCheckpoint(t, s, "h", "g", i).Sequence; got != seq {
			t.Errorf("sequence %d stored as %d", seq, got)
		}
	}
	// Beyond the supported range: rejected, and the stored value is intact.
	for _, seq := range []uint64{store.MaxSequence + 1, math.MaxUint64} {
		err := s.PutCheckpoint(t.Context(), store.Checkpoint{Hub: "h", ConsumerGroup: "g", Partition: 0, Sequence: seq})
		if err == nil {
			t.Errorf("PutCheckpoint(sequence %d): err = nil, want out of range", seq)
		}
	}
	if got := getCheckpoint(t, s, "h", "g", 0).Sequence; got != 0 {
		t.Errorf("after rejected writes sequence = %d, want 0", got)
	}
}
