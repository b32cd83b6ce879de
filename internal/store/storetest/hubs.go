package storetest

import (
	"slices"
	"testing"

	"github.com/moatsec/moat/internal/store"
)

func testPutHub(t *testing.T, s store.Store) {
	c := tick()
	if !putHub(t, s, hub("orders")) {
		t.Error("PutHub(new) created = false, want true")
	}
	c = c.stop()
	first := getHub(t, s, "orders")
	diff(t, "GetHub after create", hub("orders"), first)
	checkStamp(t, "CreatedAt", first.CreatedAt, c)
	if !first.UpdatedAt.Equal(first.CreatedAt) {
		t.Errorf("after create UpdatedAt = %v, want CreatedAt %v", first.UpdatedAt, first.CreatedAt)
	}

	changed := store.Hub{Name: "orders", Partitions: 32, RetentionHours: 168}
	c = tick()
	if putHub(t, s, changed) {
		t.Error("PutHub(existing) created = true, want false")
	}
	c = c.stop()
	second := getHub(t, s, "orders")
	diff(t, "GetHub after update", changed, second)
	if !second.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("update changed CreatedAt from %v to %v", first.CreatedAt, second.CreatedAt)
	}
	checkStamp(t, "UpdatedAt", second.UpdatedAt, c)
}

func testHubNotFound(t *testing.T, s store.Store) {
	putHub(t, s, hub("present"))
	_, err := s.GetHub(t.Context(), "absent")
	wantNotFound(t, "GetHub(absent)", err)
	wantNotFound(t, "DeleteHub(absent)", s.DeleteHub(t.Context(), "absent"))
	// Names are stored as given: the store does not fold case.
	_, err = s.GetHub(t.Context(), "PRESENT")
	wantNotFound(t, "GetHub(PRESENT)", err)
}

func testListHubs(t *testing.T, s store.Store) {
	diff(t, "ListHubs of an empty store", []store.Hub{}, listHubs(t, s))

	// Bytewise order, which a locale collation would not give ("a-b" < "ab"
	// < "a_b" in byte order; "Hub" and "hub" are distinct names).
	names := []string{"b", "a_b", "ab", "a.b", "a-b", "hub", "Hub", "a", "hub-10", "hub-9"}
	for _, n := range names {
		putHub(t, s, hub(n))
	}
	slices.Sort(names)
	var want []store.Hub
	for _, n := range names {
		want = append(want, hub(n))
	}
	diff(t, "ListHubs", want, listHubs(t, s))
}

func testDeleteHub(t *testing.T, s store.Store) {
	putHub(t, s, hub("doomed"))
	putHub(t, s, hub("kept"))
	if err := s.DeleteHub(t.Context(), "doomed"); err != nil {
		t.Fatalf("DeleteHub: %v", err)
	}
	_, err := s.GetHub(t.Context(), "doomed")
	wantNotFound(t, "GetHub after DeleteHub", err)
	wantNotFound(t, "second DeleteHub", s.DeleteHub(t.Context(), "doomed"))
	diff(t, "ListHubs after DeleteHub", []store.Hub{hub("kept")}, listHubs(t, s))

	// A hub created again under the same name is new.
	if !putHub(t, s, hub("doomed")) {
		t.Error("PutHub after DeleteHub: created = false, want true")
	}
}

func testDeleteHubCascades(t *testing.T, s store.Store) {
	for _, h := range []string{"doomed", "kept"} {
		putHub(t, s, hub(h))
		putRule(t, s, rule(h, "r1"))
		putRule(t, s, rule(h, "r2"))
		putCheckpoint(t, s, store.Checkpoint{Hub: h, ConsumerGroup: "g", Partition: 0, Sequence: 7})
		putCheckpoint(t, s, store.Checkpoint{Hub: h, ConsumerGroup: "g", Partition: 1, Sequence: 8})
	}
	// Namespace rules, one named like the doomed hub and one like its rule.
	putRule(t, s, rule("", "doomed"))
	putRule(t, s, rule("", "r1"))

	if err := s.DeleteHub(t.Context(), "doomed"); err != nil {
		t.Fatalf("DeleteHub: %v", err)
	}

	want := []store.Rule{rule("", "doomed"), rule("", "r1"), rule("kept", "r1"), rule("kept", "r2")}
	diff(t, "ListAllRules after DeleteHub", want, listAllRules(t, s))
	diff(t, "ListRules(doomed)", []store.Rule{}, listRules(t, s, "doomed"))
	_, err := s.GetRule(t.Context(), "doomed", "r1")
	wantNotFound(t, "GetRule of deleted hub", err)
	diff(t, "ListCheckpoints(doomed)", []store.Checkpoint{}, listCheckpoints(t, s, "doomed", "g"))
	_, err = s.GetCheckpoint(t.Context(), "doomed", "g", 0)
	wantNotFound(t, "GetCheckpoint of deleted hub", err)
	if got := listCheckpoints(t, s, "kept", "g"); len(got) != 2 {
		t.Errorf("ListCheckpoints(kept) = %d checkpoints, want 2", len(got))
	}

	// Recreating the hub does not bring anything back.
	putHub(t, s, hub("doomed"))
	diff(t, "ListRules of recreated hub", []store.Rule{}, listRules(t, s, "doomed"))
	diff(t, "ListCheckpoints of recreated hub", []store.Checkpoint{}, listCheckpoints(t, s, "doomed", "g"))
}
