package webhook

import (
	"context"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// slowAfter is the unit of slowness: see host.slowAt.
const slowAfter = time.Second

// pauseTolerance is how late a timer of the loop may fire before the loop
// takes it that the process was paused (CPU starvation, a long GC, a
// stopped VM) and waits for the news of that pause to arrive before
// judging hosts.
const pauseTolerance = 250 * time.Millisecond

// hostIdle is how long an idle host's record (and its slowness) is kept.
const hostIdle = 5 * time.Minute

// maxFruitless bounds, between two polls, the successive full claims that
// yielded nothing to send (every delivery was for a slow host at its
// limit). Each such claim pushes those deliveries a lease away, so the
// next one reaches further down the due list.
const maxFruitless = 32

// task is one claimed delivery on its way through the worker. The
// scheduler owns it until it is sent on work, the delivering goroutine
// until it comes back on done.
type task struct {
	d       *herald.Delivery
	host    *host
	startBy time.Time     // last moment to start it with the lease still covering the request
	latency time.Duration // of the attempt; set by the delivering goroutine
}

// host is the scheduler's view of one destination host.
type host struct {
	key      string
	inFlight int
	queue    []*task       // claimed, waiting for one of the host's slots
	progress time.Time     // last completion, or when inFlight last left 0
	latency  time.Duration // of the last completed request
	used     time.Time     // last activity, for sweeping
}

// slowAt returns when h counts as slow if nothing to it completes
// before then, or the zero time when it cannot become slow (idle, and
// its last response was quick). A host is slow once nothing has completed
// for 2×slowAfter while requests were in flight, or once its last
// response took longer than slowAfter and nothing has completed for
// slowAfter since. Both ask for a stretch of silence after the first
// sign because a pause of the worker's own process (CPU starvation, a
// long GC) makes every host look slow at once: a healthy host answers
// again within milliseconds after such a pause, a dead one stays silent.
func (h *host) slowAt() time.Time {
	var at time.Time
	if h.latency > slowAfter {
		at = h.progress.Add(slowAfter)
	}
	if h.inFlight > 0 {
		if t := h.progress.Add(2 * slowAfter); at.IsZero() || t.Before(at) {
			at = t
		}
	}
	return at
}

// slow reports whether deliveries for h should not wait for its slots.
func (h *host) slow(now time.Time) bool {
	at := h.slowAt()
	return !at.IsZero() && now.After(at)
}

// scheduler is the state of Run's loop. Only that goroutine touches it.
//
// Budget: a claim asks for at most Concurrency minus the deliveries held
// (in flight plus waiting), so nothing is claimed that cannot be sent
// soon. A delivery for a host with a free slot (PerHost) starts at once;
// for a busy host that answers quickly it waits in the host's queue; for
// a busy host judged slow (host.slowAt) it is abandoned to its lease: it
// becomes due again after Lease, unattempted. When a host is judged
// slow its queue is abandoned too. From then on it holds at most PerHost
// of the Concurrency slots and none of the waiting room, and other hosts
// keep the rest; before, for at most two seconds, its queue may fill the
// waiting room.
//
// This is a heuristic because ClaimDeliveries cannot leave out the
// deliveries of busy hosts: a backlog for one host arrives first, and
// holding it all would starve the others, while deferring it all would
// stall a host that is merely busy.
type scheduler struct {
	w         *Worker
	work      chan<- *task
	hosts     map[string]*host
	waiting   map[*host]struct{} // hosts with a non-empty queue
	held      map[string]bool    // ids of the deliveries in flight or queued
	inFlight  int
	queued    int
	more      bool // the last claim was full: more is probably due
	fruitless int
	threshold int     // smallest budget worth a claim prompted by completions
	spare     []*task // finished tasks, for reuse
	// judgeFrom is the real time before which no host is judged slow:
	// just after a pause of the process, the news of the requests that
	// completed meanwhile is still arriving.
	judgeFrom time.Time
}

// slow reports whether h counts as slow now (see host.slowAt).
func (s *scheduler) slow(h *host, now time.Time) bool {
	return h.slow(now) && !time.Now().Before(s.judgeFrom)
}

func newScheduler(w *Worker, work chan<- *task) *scheduler {
	return &scheduler{
		w:         w,
		work:      work,
		hosts:     map[string]*host{},
		waiting:   map[*host]struct{}{},
		held:      map[string]bool{},
		threshold: max(1, w.opts.Concurrency/4),
	}
}

func (s *scheduler) budget() int { return s.w.opts.Concurrency - s.inFlight - s.queued }

// loop claims and dispatches until ctx ends; then it abandons the queued
// deliveries and returns, leaving the requests in flight to Run.
func (s *scheduler) loop(ctx context.Context, done <-chan *task) {
	o := &s.w.opts
	poll := time.NewTimer(0) // claim at once
	defer poll.Stop()
	slowCheck := time.NewTimer(time.Hour)
	slowCheck.Stop()
	defer slowCheck.Stop()
	// When the timers are due, in real time (not o.Now), to notice a pause.
	var due timerDue
	due.poll = time.Now()
	for {
		least := 0 // the budget that makes a claim worth it; 0: no claim
		polled := false
		select {
		case <-ctx.Done():
			s.abandonQueued()
			return
		case <-s.w.wake:
			s.fruitless = 0
			least = 1
		case <-poll.C:
			s.fruitless = 0
			s.sweep(o.Now())
			least = 1
			polled = true
		case t := <-done:
			s.finish(t, o.Now(), true)
		case <-slowCheck.C:
		}
		// Take every completion already waiting before judging hosts, so
		// that none is judged on stale news (after a pause of the process
		// they all arrive at once).
		for drained := false; !drained; {
			select {
			case t := <-done:
				s.finish(t, o.Now(), true)
			default:
				drained = true
			}
		}
		if s.more && least == 0 {
			least = s.threshold
		}
		realNow := time.Now()
		if due.overdue(realNow) {
			s.judgeFrom = realNow.Add(pauseTolerance)
		}
		if polled {
			poll.Reset(o.PollInterval)
			due.poll = realNow.Add(o.PollInterval)
		}
		if s.abandonSlow(o.Now()) > 0 && least == 0 {
			least = 1 // budget was freed
		}
		if least > 0 {
			s.claim(ctx, least)
		}
		next, ok := s.nextSlowCheck(o.Now())
		if wait := s.judgeFrom.Sub(time.Now()); wait > 0 && len(s.waiting) > 0 {
			next, ok = max(next, wait), true
		}
		due.slow = time.Time{}
		slowCheck.Stop()
		if ok {
			next = max(next, time.Millisecond)
			slowCheck.Reset(next)
			due.slow = time.Now().Add(next)
		}
	}
}

// timerDue holds when the loop's timers are due, in real time; zero when
// a timer is not armed.
type timerDue struct{ poll, slow time.Time }

// overdue reports whether a timer is more than pauseTolerance late at
// now: the loop did not run when it should have.
func (d timerDue) overdue(now time.Time) bool {
	late := func(t time.Time) bool { return !t.IsZero() && now.Sub(t) > pauseTolerance }
	return late(d.poll) || late(d.slow)
}

// claim asks the store for due deliveries if the budget is at least
// least, and again while claims come back full and the budget is at
// least the threshold.
func (s *scheduler) claim(ctx context.Context, least int) {
	o := &s.w.opts
	for n := s.budget(); n >= least && n > 0; n = s.budget() {
		now := o.Now()
		ds, err := s.w.store.ClaimDeliveries(ctx, now, o.Lease, n)
		if err != nil {
			if ctx.Err() == nil {
				s.w.log.Warn("claim webhook deliveries", "error", err)
			}
			s.more = false
			return
		}
		s.more = len(ds) >= n
		if s.place(ds, now) > 0 || len(ds) == 0 {
			s.fruitless = 0
		} else if s.fruitless++; s.fruitless >= maxFruitless {
			s.more = false // wait for the next poll or Wake
		}
		if !s.more {
			return
		}
		least = s.threshold
	}
}

// place starts, queues or abandons each claimed delivery and returns how
// many it started or queued.
func (s *scheduler) place(ds []*herald.Delivery, now time.Time) int {
	o := &s.w.opts
	placed := 0
	for _, d := range ds {
		if s.held[d.ID] {
			// Claimed again while this worker still holds it: its lease ran
			// out under a request longer than Lease or a clock step. The
			// attempt in flight will record the outcome.
			s.w.log.Debug("webhook delivery claimed again while held", "delivery_id", d.ID)
			continue
		}
		h := s.host(hostKey(d.URL), now)
		t := s.newTask(d, h, now.Add(o.Lease-o.Timeout))
		switch {
		case h.inFlight < o.PerHost:
			s.start(t, now)
		case !s.slow(h, now):
			h.queue = append(h.queue, t)
			s.queued++
			s.waiting[h] = struct{}{}
		default:
			s.abandon(t, "host is slow and busy")
			continue
		}
		s.held[d.ID] = true
		placed++
	}
	return placed
}

func (s *scheduler) host(key string, now time.Time) *host {
	h := s.hosts[key]
	if h == nil {
		h = &host{key: key, progress: now}
		s.hosts[key] = h
	}
	h.used = now
	return h
}

func (s *scheduler) newTask(d *herald.Delivery, h *host, startBy time.Time) *task {
	var t *task
	if n := len(s.spare); n > 0 {
		t, s.spare = s.spare[n-1], s.spare[:n-1]
	} else {
		t = new(task)
	}
	*t = task{d: d, host: h, startBy: startBy}
	return t
}

func (s *scheduler) release(t *task) {
	*t = task{}
	if len(s.spare) < s.w.opts.Concurrency {
		s.spare = append(s.spare, t)
	}
}

// start hands t to a delivering goroutine. The send never blocks: work
// holds Concurrency tasks and at most Concurrency are in flight.
func (s *scheduler) start(t *task, now time.Time) {
	h := t.host
	if h.inFlight == 0 {
		h.progress = now
	}
	h.inFlight++
	s.inFlight++
	s.work <- t
}

// finish takes back a task whose attempt is over and, when startNext,
// starts the next delivery waiting for its host.
func (s *scheduler) finish(t *task, now time.Time, startNext bool) {
	h := t.host
	h.inFlight--
	s.inFlight--
	h.latency = t.latency
	h.progress, h.used = now, now
	delete(s.held, t.d.ID)
	s.release(t)
	for startNext && len(h.queue) > 0 && h.inFlight < s.w.opts.PerHost {
		next := h.queue[0]
		h.queue[0] = nil
		h.queue = h.queue[1:]
		s.queued--
		if now.After(next.startBy) {
			s.abandon(next, "waited too long for a slot")
			continue
		}
		s.start(next, now)
	}
	if len(h.queue) == 0 {
		h.queue = nil
		delete(s.waiting, h)
	}
}

// abandonSlow abandons the queues of hosts that have become slow and
// returns how many deliveries it abandoned.
func (s *scheduler) abandonSlow(now time.Time) int {
	n := 0
	for h := range s.waiting {
		if s.slow(h, now) {
			n += len(h.queue)
			s.abandonQueue(h, "host is slow")
		}
	}
	return n
}

// nextSlowCheck returns how long until the first host with a queue could
// become slow.
func (s *scheduler) nextSlowCheck(now time.Time) (time.Duration, bool) {
	var next time.Time
	for h := range s.waiting {
		if at := h.slowAt(); !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	if next.IsZero() {
		return 0, false
	}
	return next.Sub(now), true
}

func (s *scheduler) abandonQueue(h *host, why string) {
	for _, t := range h.queue {
		s.abandon(t, why)
	}
	s.queued -= len(h.queue)
	h.queue = nil
	delete(s.waiting, h)
}

func (s *scheduler) abandonQueued() {
	for h := range s.waiting {
		s.abandonQueue(h, "worker stopping")
	}
}

// abandon gives a claimed, unattempted delivery back to its lease: it is
// due again once the lease runs out, with no attempt counted.
func (s *scheduler) abandon(t *task, why string) {
	s.w.log.Debug("webhook delivery deferred to its lease", "delivery_id", t.d.ID, "host", t.host.key, "reason", why)
	delete(s.held, t.d.ID)
	s.release(t)
}

// sweep forgets idle hosts.
func (s *scheduler) sweep(now time.Time) {
	for k, h := range s.hosts {
		if h.inFlight == 0 && len(h.queue) == 0 && now.Sub(h.used) > hostIdle {
			delete(s.hosts, k)
		}
	}
}

// hostKey returns the lower-cased host name of a URL, without parsing it
// fully: it only groups deliveries for the per-host limit (the URL is
// checked properly before the request).
func hostKey(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if strings.HasPrefix(rest, "[") {
		if i := strings.IndexByte(rest, ']'); i >= 0 {
			rest = rest[:i+1]
		}
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		rest = rest[:i]
	}
	return strings.ToLower(rest)
}
