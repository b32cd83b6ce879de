package sim

import (
	"container/heap"
	"sync"
	"time"
)

// queue holds the devices by the time they next act. Workers push a device
// back after each step; the dispatcher pops them when due. A device is in
// the queue at most once, so only one worker at a time acts for it.
type queue struct {
	mu    sync.Mutex
	items timeHeap
	wake  chan struct{} // a push made an earlier item the first
}

type slot struct {
	at time.Time
	d  *simDevice
}

type timeHeap []slot

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(slot)) }
func (h *timeHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}

func newQueue() *queue { return &queue{wake: make(chan struct{}, 1)} }

func (q *queue) push(at time.Time, d *simDevice) {
	q.mu.Lock()
	heap.Push(&q.items, slot{at, d})
	first := q.items[0].d == d
	q.mu.Unlock()
	if first {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// peek returns the first item, if any.
func (q *queue) peek() (slot, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return slot{}, false
	}
	return q.items[0], true
}

// popDue removes and returns the first item if it is due at now.
func (q *queue) popDue(now time.Time) (slot, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 || q.items[0].at.After(now) {
		return slot{}, false
	}
	return heap.Pop(&q.items).(slot), true
}

// dispatch hands due devices to work until stop closes, then closes work.
// It records how late each device is handed out through lag.
func (q *queue) dispatch(clock Clock, stop <-chan struct{}, work chan<- *simDevice, lag func(time.Duration)) {
	defer close(work)
	for {
		first, ok := q.peek()
		var timer <-chan time.Time
		if ok {
			now := clock.Now()
			if s, due := q.popDue(now); due {
				lag(now.Sub(s.at))
				select {
				case work <- s.d:
				case <-stop:
					return
				}
				continue
			}
			timer = clock.After(first.at.Sub(now))
		}
		select {
		case <-timer:
		case <-q.wake:
		case <-stop:
			return
		}
	}
}
