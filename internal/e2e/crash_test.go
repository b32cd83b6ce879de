package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/internal/hub"
)

// TestKill9LosesNoAcknowledgedEvent ingests from several clients, kills the
// server with SIGKILL while requests are in flight, restarts it on the same
// data directory, and checks that every event that received a 201 is
// readable exactly once. It repeats for several rounds on the same data.
func TestKill9LosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	const (
		rounds     = 3
		clients    = 4
		partitions = 4
		batch      = 20
		perRound   = 3000 // acknowledged events to wait for before the kill
	)
	data, addr := t.TempDir(), freePort(t)
	p := startServe(t, data, addr)
	if _, err := p.client(t).PutHub(context.Background(), "crash", hub.HubSpec{Partitions: partitions}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	for round := range rounds {
		c := p.client(t)
		ctx, stop := context.WithCancel(context.Background())
		var n atomic.Int64
		var wg sync.WaitGroup
		for w := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for seq := 0; ctx.Err() == nil; seq++ {
					evs := make([]client.Event, batch)
					for i := range evs {
						evs[i] = client.Event{Body: fmt.Appendf(nil, "r%d-c%d-%d-%d", round, w, seq, i)}
					}
					target := client.Target{Hub: "crash", Publisher: fmt.Sprintf("dev-%d", w)}
					if seq%2 == 1 {
						target = client.Target{Hub: "crash"} // round-robin partitions too
					}
					if err := c.Send(ctx, target, evs...); err != nil {
						continue // the server is gone or going; only 201s count
					}
					mu.Lock()
					for _, e := range evs {
						acked[string(e.Body)] = true
					}
					mu.Unlock()
					n.Add(batch)
				}
			}()
		}
		for n.Load() < perRound {
			time.Sleep(10 * time.Millisecond)
		}
		if err := p.cmd.Process.Kill(); err != nil { // SIGKILL mid-ingest
			t.Fatal(err)
		}
		_ = p.wait()
		stop()
		wg.Wait()

		p = startServe(t, data, addr)
		got := readAll(t, p.client(t), "crash", partitions)
		mu.Lock()
		missing := 0
		for body := range acked {
			if got[body] == 0 {
				missing++
			}
		}
		for body, k := range got {
			if k > 1 {
				t.Errorf("round %d: event %q stored %d times", round, body, k)
			}
		}
		t.Logf("round %d: %d acknowledged events so far, %d stored (unacknowledged in-flight ones may be stored too)", round, len(acked), len(got))
		if missing > 0 {
			t.Fatalf("round %d: %d of %d acknowledged events are missing after kill -9", round, missing, len(acked))
		}
		mu.Unlock()
	}
}
