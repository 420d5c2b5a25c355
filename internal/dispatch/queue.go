package dispatch

import (
	"container/heap"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-sms/herald/internal/carrier"
	"github.com/herald-sms/herald/internal/herald"
)

// lane holds one link's due parts in priority order (and, within a
// priority, in turns between accounts), and the budget of parts it may
// have in flight.
type lane struct {
	link   Link
	mu     sync.Mutex
	queues [herald.Lanes]fairQueue // mu guards queues and free
	free   int                     // in-flight budget left
	// markTime is a moving average of how long marking a batch as
	// sending takes (mu guards it).
	markTime time.Duration
	cancel   context.CancelFunc // mu guards cancel: aborts the batch being submitted
	down     atomic.Bool        // no bind up for DownAfter
	wake     chan struct{}
}

func (l *lane) setAbort(cancel context.CancelFunc) {
	l.mu.Lock()
	l.cancel = cancel
	l.mu.Unlock()
}

// abort cancels the submits of the batch being submitted.
func (l *lane) abort() {
	l.mu.Lock()
	if l.cancel != nil {
		l.cancel()
	}
	l.mu.Unlock()
}

// drain takes every queued part, most urgent first.
func (l *lane) drain() []*job {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*job
	for i := range l.queues {
		for j := l.queues[i].pop(); j != nil; j = l.queues[i].pop() {
			out = append(out, j)
		}
	}
	return out
}

// marked records how long marking a batch took.
func (l *lane) marked(d time.Duration) {
	l.mu.Lock()
	l.markTime += (d - l.markTime) / 4
	l.mu.Unlock()
}

func newLane(l Link, inflight int) *lane {
	return &lane{link: l, free: inflight, wake: make(chan struct{}, 1)}
}

func (l *lane) push(j *job) {
	l.mu.Lock()
	l.queues[j.m.Type.Lane()].push(j)
	l.mu.Unlock()
	l.signal()
}

// pushFront puts parts back at the head of their queues, in the order
// given: the first of js is the next to go.
func (l *lane) pushFront(js []*job) {
	l.mu.Lock()
	for i := len(js) - 1; i >= 0; i-- {
		l.queues[js[i].m.Type.Lane()].pushFront(js[i])
	}
	l.mu.Unlock()
	l.signal()
}

// depth returns the parts waiting in each priority class.
func (l *lane) depth() [herald.Lanes]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d [herald.Lanes]int
	for i := range l.queues {
		d[i] = l.queues[i].len()
	}
	return d
}

func (l *lane) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// release returns n parts of in-flight budget.
func (l *lane) release(n int) {
	l.mu.Lock()
	l.free += n
	l.mu.Unlock()
	l.signal()
}

// maxBatch caps the parts marked sending in one commit.
const maxBatch = 512

// batchSizer is implemented by links that know how many parts they can
// take in a short time (carrier.Link: about 25 ms at its current rate).
type batchSizer interface{ BatchSize() int }

// batchTime is the time a batch's size is meant to cover: when marking a
// batch as sending takes longer, batches grow in proportion so that the
// link's rate is still reached.
const batchTime = 25 * time.Millisecond

// take waits for due parts and budget and returns up to maxBatch of them
// (fewer when the link says so), most urgent class first; nil when ctx
// ends.
func (l *lane) take(ctx context.Context) []*job {
	for {
		batch := maxBatch
		l.mu.Lock()
		if b, ok := l.link.(batchSizer); ok {
			n := float64(max(b.BatchSize(), 1))
			if l.markTime > batchTime {
				n *= float64(l.markTime) / float64(batchTime)
			}
			batch = min(int(n), maxBatch)
		}
		n := min(l.free, batch)
		var out []*job
		for i := range l.queues {
			for n > 0 {
				j := l.queues[i].pop()
				if j == nil {
					break
				}
				out = append(out, j)
				n--
			}
		}
		l.free -= len(out)
		l.mu.Unlock()
		if len(out) > 0 {
			return out
		}
		select {
		case <-l.wake:
		case <-ctx.Done():
			return nil
		}
	}
}

// scheduler holds parts waiting for a time: send_at or a retry.
type scheduler struct {
	mu   sync.Mutex
	h    timeHeap // mu guards h
	wake chan struct{}
}

func (s *scheduler) init() { s.wake = make(chan struct{}, 1) }

func (s *scheduler) add(at time.Time, j *job) {
	s.mu.Lock()
	first := len(s.h) == 0 || at.Before(s.h[0].at)
	heap.Push(&s.h, timed{at: at, j: j})
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// due pops every job due at now and says how long until the next one.
func (s *scheduler) due(now time.Time) ([]*job, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*job
	for len(s.h) > 0 && !s.h[0].at.After(now) {
		out = append(out, heap.Pop(&s.h).(timed).j)
	}
	wait := time.Hour
	if len(s.h) > 0 {
		wait = s.h[0].at.Sub(now)
	}
	return out, wait
}

type timed struct {
	at time.Time
	j  *job
}

type timeHeap []timed

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(timed)) }
func (h *timeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = timed{}
	*h = old[:len(old)-1]
	return x
}

// outcome is a submit's result waiting to be recorded.
type outcome struct {
	j   *job
	ln  *lane
	res carrier.Result
}

// outcomes is an unbounded queue: session goroutines push without
// blocking, the recorder takes everything at once.
type outcomes struct {
	mu   sync.Mutex
	q    []outcome // mu guards q
	wake chan struct{}
}

func (o *outcomes) init() { o.wake = make(chan struct{}, 1) }

func (o *outcomes) push(x outcome) {
	o.mu.Lock()
	o.q = append(o.q, x)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// wait returns the queued outcomes once there are some; ok is false when
// ctx ended.
func (o *outcomes) wait(ctx context.Context) ([]outcome, bool) {
	for {
		if b := o.drain(); len(b) > 0 {
			return b, true
		}
		select {
		case <-o.wake:
		case <-ctx.Done():
			return nil, false
		}
	}
}

func (o *outcomes) drain() []outcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.q
	o.q = nil
	return b
}
