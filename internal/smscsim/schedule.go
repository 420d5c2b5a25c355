package smscsim

import (
	"container/heap"
	"context"
	"math"
	"sync"
	"time"
)

// event is work the scheduler does at its time: a delayed submit_sm_resp,
// a receipt falling due, a retry.
type event interface {
	fire(now time.Time)
}

// tickLen is the scheduler's resolution. Events never fire early; they
// fire up to one tick late (plus the time the goroutine takes to wake).
const tickLen = time.Millisecond

// scheduler is a calendar queue served by one goroutine: events are kept
// in buckets of one tick each, and a min-heap orders the ticks that have
// a bucket. Scheduling is a map lookup and an append under one mutex, and
// the goroutine takes whole buckets, so the cost per event does not grow
// with the number of events waiting. It replaces a timer per message.
type scheduler struct {
	base time.Time     // ticks count from here (monotonic)
	wake chan struct{} // capacity 1: an event earlier than wakeAt arrived

	mu      sync.Mutex
	buckets map[int64][]event // mu guards buckets, ticks, wakeAt
	ticks   tickHeap          // the keys of buckets, as a min-heap
	wakeAt  int64             // tick the goroutine will next look at; MaxInt64 when idle
}

func newScheduler(base time.Time) *scheduler {
	return &scheduler{
		base:    base,
		wake:    make(chan struct{}, 1),
		buckets: map[int64][]event{},
		wakeAt:  math.MaxInt64,
	}
}

// at schedules e to fire at due (rounded up to the next tick).
func (s *scheduler) at(due time.Time, e event) {
	d := due.Sub(s.base)
	t := int64((d + tickLen - 1) / tickLen)
	s.mu.Lock()
	b, ok := s.buckets[t]
	if !ok {
		heap.Push(&s.ticks, t)
	}
	s.buckets[t] = append(b, e)
	signal := t < s.wakeAt
	if signal {
		s.wakeAt = t
	}
	s.mu.Unlock()
	if signal {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// run fires events as they fall due until ctx ends. Events still waiting
// then are dropped.
func (s *scheduler) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var due []event
	for {
		now := time.Now()
		nowTick := int64(now.Sub(s.base) / tickLen)
		s.mu.Lock()
		for len(s.ticks) > 0 && s.ticks[0] <= nowTick {
			t := heap.Pop(&s.ticks).(int64)
			due = append(due, s.buckets[t]...)
			delete(s.buckets, t)
		}
		next := int64(math.MaxInt64)
		if len(s.ticks) > 0 {
			next = s.ticks[0]
		}
		s.wakeAt = next
		s.mu.Unlock()

		for i, e := range due {
			e.fire(now)
			due[i] = nil
		}
		due = due[:0]

		if next == math.MaxInt64 {
			select {
			case <-s.wake:
			case <-ctx.Done():
				return
			}
			continue
		}
		timer.Reset(time.Until(s.base.Add(time.Duration(next) * tickLen)))
		select {
		case <-timer.C:
		case <-s.wake:
			timer.Stop()
		case <-ctx.Done():
			timer.Stop()
			return
		}
	}
}

// tickHeap is a min-heap of ticks for container/heap.
type tickHeap []int64

func (h tickHeap) Len() int           { return len(h) }
func (h tickHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h tickHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *tickHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *tickHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
