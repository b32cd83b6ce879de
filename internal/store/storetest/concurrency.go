package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/moatsec/moat/internal/store"
)

const (
	writers           = 8
	writesPerWriter   = 50
	checkpointsPerHub = 4
)

// testConcurrentWriters runs writers that each write their own hub, rules and
// checkpoints, update one shared hub and read, all at once. No write may fail
// (in particular with a "database is locked" error).
func testConcurrentWriters(t *testing.T, s store.Store) {
	ctx := t.Context()
	putHub(t, s, hub("shared"))
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			if err := writeConcurrently(ctx, s, w); err != nil {
				t.Errorf("writer %d: %v", w, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	if got, want := len(listHubs(t, s)), writers+1; got != want {
		t.Errorf("ListHubs = %d hubs, want %d", got, want)
	}
	if got, want := len(listAllRules(t, s)), 2*writers*writesPerWriter; got != want {
		t.Errorf("ListAllRules = %d rules, want %d", got, want)
	}
	for w := range writers {
		cps := listCheckpoints(t, s, fmt.Sprint("hub-", w), "g")
		if len(cps) != checkpointsPerHub {
			t.Fatalf("writer %d: %d checkpoints, want %d", w, len(cps), checkpointsPerHub)
		}
		for p, cp := range cps {
			// Partition p was last written with the largest i < writesPerWriter
			// such that i % checkpointsPerHub == p.
			last := writesPerWriter - 1
			last -= (last - p) % checkpointsPerHub
			if want := uint64(last); cp.Sequence != want {
				t.Errorf("writer %d partition %d: sequence %d, want %d", w, p, cp.Sequence, want)
			}
		}
	}
}

func writeConcurrently(ctx context.Context, s store.Store, w int) error {
	own := fmt.Sprint("hub-", w)
	for i := range writesPerWriter {
		if _, err := s.PutHub(ctx, store.Hub{Name: own, Partitions: checkpointsPerHub, RetentionHours: i}); err != nil {
			return err
		}
		if _, err := s.PutHub(ctx, store.Hub{Name: "shared", Partitions: 1 + w, RetentionHours: i}); err != nil {
			return err
		}
		if _, err := s.PutRule(ctx, rule(own, fmt.Sprint("rule-", i))); err != nil {
			return err
		}
		if _, err := s.PutRule(ctx, rule("", fmt.Sprintf("ns-%d-%d", w, i))); err != nil {
			return err
		}
		cp := store.Checkpoint{Hub: own, ConsumerGroup: "g", Partition: i % checkpointsPerHub, Sequence: uint64(i)}
		if err := s.PutCheckpoint(ctx, cp); err != nil {
			return err
		}
		if _, err := s.GetHub(ctx, "shared"); err != nil {
			return err
		}
		if i%10 == 0 {
			if _, err := s.ListAllRules(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// testConcurrentCreate puts the same new hub and rule from several
// goroutines at once: exactly one of them creates it.
func testConcurrentCreate(t *testing.T, s store.Store) {
	ctx := t.Context()
	for round := range 10 {
		name := fmt.Sprint("race-", round)
		var hubsCreated, rulesCreated atomic.Int32
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range writers {
			wg.Go(func() {
				<-start
				created, err := s.PutHub(ctx, hub(name))
				if err != nil {
					t.Errorf("PutHub: %v", err)
					return
				}
				if created {
					hubsCreated.Add(1)
				}
				created, err = s.PutRule(ctx, rule(name, "r"))
				if err != nil {
					t.Errorf("PutRule: %v", err)
					return
				}
				if created {
					rulesCreated.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := hubsCreated.Load(); n != 1 {
			t.Errorf("round %d: %d PutHub calls reported created, want 1", round, n)
		}
		if n := rulesCreated.Load(); n != 1 {
			t.Errorf("round %d: %d PutRule calls reported created, want 1", round, n)
		}
	}
}

// testConcurrentCreateDelete races writers of a hub and its rules and
// checkpoints against deleters of the hub. Operations on a hub that is gone
// may fail with store.ErrNotFound, nothing else; at the end, a deleted hub
// has left no rules or checkpoints behind.
func testConcurrentCreateDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	const name = "churn"
	ignoreNotFound := func(err error) error {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	var wg sync.WaitGroup
	for w := range writers / 2 {
		wg.Go(func() {
			for i := range writesPerWriter {
				if _, err := s.PutHub(ctx, hub(name)); err != nil {
					t.Errorf("PutHub: %v", err)
					return
				}
				if _, err := s.PutRule(ctx, rule(name, fmt.Sprint("r-", w))); ignoreNotFound(err) != nil {
					t.Errorf("PutRule: %v", err)
					return
				}
				cp := store.Checkpoint{Hub: name, ConsumerGroup: "g", Partition: w, Sequence: uint64(i)}
				if err := s.PutCheckpoint(ctx, cp); ignoreNotFound(err) != nil {
					t.Errorf("PutCheckpoint: %v", err)
					return
				}
			}
		})
		wg.Go(func() {
			for range writesPerWriter {
				if err := s.DeleteHub(ctx, name); ignoreNotFound(err) != nil {
					t.Errorf("DeleteHub: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()

	if _, err := s.GetHub(ctx, name); errors.Is(err, store.ErrNotFound) {
		diff(t, "rules left by the deleted hub", []store.Rule{}, listRules(t, s, name))
		diff(t, "checkpoints left by the deleted hub", []store.Checkpoint{}, listCheckpoints(t, s, name, "g"))
	} else if err != nil {
		t.Fatalf("GetHub: %v", err)
	}
	if err := s.DeleteHub(ctx, name); ignoreNotFound(err) != nil {
		t.Fatalf("DeleteHub: %v", err)
	}
	diff(t, "rules after the final DeleteHub", []store.Rule{}, listAllRules(t, s))
}
