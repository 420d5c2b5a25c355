// Package dispatch moves stored messages to carriers: priority lanes
// (otp before transactional before marketing), send_at scheduling, validity
// expiry, retries of temporary carrier refusals with backoff, the durable
// "sending" mark that bounds duplicates after a crash, and the recording
// of every submit's outcome in batches.
package dispatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-sms/herald/internal/carrier"
	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/routing"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/store"
)

// Link is what the dispatcher needs of a carrier link.
type Link interface {
	Name() string
	Run(ctx context.Context) error
	Submit(ctx context.Context, m *herald.Message, p *herald.Part, done func(carrier.Result)) error
}

// Store is what the dispatcher needs of the store.
type Store interface {
	Pending(ctx context.Context) ([]*herald.Message, error)
	Apply(ctx context.Context, ts []store.Transition) ([]store.Applied, error)
	ExpireOverdue(ctx context.Context, now, sentBefore time.Time) (int, error)
}

// Router decides where a message goes; routing.Router is the one Herald
// uses.
type Router interface {
	// Route decides m's carrier; fallback is the carrier chosen at
	// intake, avail reports whether a link may take m (and if not, why).
	Route(m *herald.Message, fallback string, avail func(string) (bool, string)) routing.Decision
	// Demoted reports whether a carrier takes no new traffic for its
	// health.
	Demoted(carrier string) bool
}

// Limits reserves submit times for parts; routing.Limits is the one
// Herald uses.
type Limits interface {
	Slot(m *herald.Message, now time.Time) time.Time
	Prune(now time.Time)
}

// upper is implemented by links that know whether a bind is up.
type upper interface{ Up() bool }

// rerouter is implemented by links whose carrier has "no route" codes.
type rerouter interface{ Reroutes(pdu.Status) bool }

// Options configure a Dispatcher.
type Options struct {
	Store Store
	Links []Link // the first is the default for messages whose carrier is gone
	// InFlight caps, per link, the parts marked sending whose outcome is
	// not recorded yet: the most that can be resent after a crash.
	// Default 2000.
	InFlight int
	// MaxAttempts bounds submits of a part refused with temporary errors.
	// Default 10.
	MaxAttempts int
	// RetryBase and RetryMax shape the retry backoff (doubling). Defaults
	// 1s and 5m.
	RetryBase, RetryMax time.Duration
	// ReceiptWindow: a sent part with no receipt after this becomes
	// unknown. Default 72h.
	ReceiptWindow time.Duration
	// SweepInterval is how often expiry and the receipt window are
	// checked. Default 30s.
	SweepInterval time.Duration
	// Router, when set, decides each message's carrier at dispatch time
	// (routing.Router: routes, weights, failover, health); without it a
	// message goes to the carrier chosen at intake.
	Router Router
	// DownAfter is how long a link may have no bind up before it counts
	// as down: its queued parts move to the next carrier of their route.
	// Default 3s. Used only with a Router.
	DownAfter time.Duration
	// Limits, when set, spaces parts by sender and account
	// (routing.Limits: e.g. one per second per US long code, an account's
	// quota per second and per day). A part ahead of its slot waits in
	// the scheduler for it.
	Limits Limits
	// Changed is called after commits that may have queued webhook
	// deliveries.
	Changed func()
	Logger  *slog.Logger

	// Cluster, when set, makes the dispatcher one node of a cluster
	// (docs/cluster.md): it sends only the messages this node owns (from
	// Accepted, and those it claims: due messages no node owns, for the
	// carriers of which it holds a bind), and gives back to the cluster
	// the queued messages of a carrier it has no bind to.
	Cluster Claimer
	// Claim is how many parts a node keeps queued at most before it
	// claims more. Default 2000.
	Claim int
	// Leader, when set, says whether this node runs the cluster-wide
	// sweeps (expiry, receipt window); without it every dispatcher does.
	Leader func() bool
}

// Claimer is the store's side of cluster dispatch (store.Cluster).
type Claimer interface {
	Node() string
	Claim(ctx context.Context, carriers []string, n int, now time.Time) ([]*herald.Message, error)
	Release(ctx context.Context, ids []string) (int, error)
	Work() <-chan struct{}
}

// Dispatcher owns the links' lifecycles and the flow of parts to them.
type Dispatcher struct {
	o     Options
	links map[string]*lane
	order []*lane
	sched scheduler
	out   outcomes

	ready atomic.Bool // recovery done; Accepted may enqueue directly
	mu    sync.Mutex
	early []*herald.Message // mu guards early: accepted before recovery finished

	stats Stats
	subs  atomic.Uint64 // numbers submits, so throttled parts go back in order
}

// Stats are the dispatcher's counters.
type Stats struct {
	Submitted, Sent, Failed, Retried, Resent, Expired, RecoveredSending atomic.Uint64
	// Throttled counts submits answered ESME_RTHROTTLED or ESME_RMSGQFUL:
	// put back at the front of their lane, never failed for it.
	Throttled atomic.Uint64
	// GivenBack counts messages handed back to the cluster because this
	// node had no bind to their carrier.
	GivenBack atomic.Uint64
}

// New returns a dispatcher; Run starts it.
func New(o Options) *Dispatcher {
	if o.InFlight <= 0 {
		o.InFlight = 2000
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Minute
	}
	if o.ReceiptWindow <= 0 {
		o.ReceiptWindow = 72 * time.Hour
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = 30 * time.Second
	}
	if o.Changed == nil {
		o.Changed = func() {}
	}
	if o.DownAfter <= 0 {
		o.DownAfter = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Claim <= 0 {
		o.Claim = 2000
	}
	d := &Dispatcher{o: o, links: map[string]*lane{}}
	for _, l := range o.Links {
		ln := newLane(l, o.InFlight)
		d.links[l.Name()] = ln
		d.order = append(d.order, ln)
	}
	d.sched.init()
	d.out.init()
	return d
}

// Stats returns the counters.
func (d *Dispatcher) Stats() *Stats { return &d.stats }

// job is one part on its way to a carrier.
type job struct {
	m       *herald.Message
	idx     int           // index into m.Parts
	from    herald.Status // the part's stored state when the job was made
	resent  bool          // this submit repeats one that may have reached the carrier
	detail  string        // the routing decision, recorded with the sending mark
	slot    time.Time     // the sender's slot this part waited for, zero if none
	avoid   []string      // carriers that said they have no route for it
	attempt int           // submits made so far, throttled ones not counted
	sub     uint64        // order of the last submit, across the dispatcher
}

func (j *job) ref() store.PartRef { return store.PartRef{MessageID: j.m.ID, Seq: j.m.Parts[j.idx].Seq} }

// Accepted hands newly stored messages to the dispatcher. In cluster
// mode it keeps those this node owns; the others are claimed by a node
// with a bind to their carrier.
func (d *Dispatcher) Accepted(ms []*herald.Message) {
	if d.o.Cluster != nil {
		mine := make([]*herald.Message, 0, len(ms))
		for _, m := range ms {
			if d.owned(m) {
				mine = append(mine, m)
			}
		}
		ms = mine
	}
	if !d.ready.Load() {
		d.mu.Lock()
		if !d.ready.Load() {
			d.early = append(d.early, ms...)
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
	}
	now := time.Now()
	for _, m := range ms {
		d.enqueue(m, now)
	}
}

// enqueue routes every part of a message to its lane or the scheduler.
func (d *Dispatcher) enqueue(m *herald.Message, now time.Time) {
	for i := range m.Parts {
		j := &job{m: m, idx: i, from: m.Parts[i].Status, attempt: m.Parts[i].Attempts}
		if !m.SendAt.IsZero() && m.SendAt.After(now) {
			d.sched.add(m.SendAt, j)
			continue
		}
		d.place(j)
	}
}

// place puts a due part on the lane of its carrier: the one the router
// chooses now, or the one chosen at intake.
func (d *Dispatcher) place(j *job) {
	if d.o.Router == nil {
		d.lane(j.m.Carrier).push(j)
		return
	}
	dec := d.o.Router.Route(j.m, j.m.Carrier, d.upFor(j))
	j.detail = dec.Detail
	d.lane(dec.Carrier).push(j)
}

// upFor says which carriers may take j: up, and not among those j must
// avoid.
func (d *Dispatcher) upFor(j *job) func(string) (bool, string) {
	return availFor(j.avoid, d.up)
}

func availFor(avoid []string, up func(string) bool) func(string) (bool, string) {
	return func(c string) (bool, string) {
		switch {
		case slices.Contains(avoid, c):
			return false, "has no route for it"
		case !up(c):
			return false, "down (no bind up)"
		}
		return true, ""
	}
}

// rerouted reports whether a part refused by ln with status can go to
// another carrier of its route; if so, ln is added to what it avoids.
func (d *Dispatcher) rerouted(ln *lane, j *job, status pdu.Status) bool {
	rr, ok := ln.link.(rerouter)
	if d.o.Router == nil || !ok || !rr.Reroutes(status) {
		return false
	}
	name := ln.link.Name()
	avoid := append(slices.Clip(j.avoid), name)
	avail := availFor(avoid, d.up)
	if dec := d.o.Router.Route(j.m, j.m.Carrier, avail); !first(avail(dec.Carrier)) {
		return false // nowhere else to go: the refusal stands
	}
	j.avoid = avoid
	return true
}

func (d *Dispatcher) lane(carrier string) *lane {
	if l := d.links[carrier]; l != nil {
		return l
	}
	return d.order[0]
}

// up reports whether a carrier's link is up: not down for DownAfter, or
// bound again since.
func (d *Dispatcher) up(carrier string) bool {
	ln := d.links[carrier]
	if ln == nil {
		return false
	}
	if !ln.down.Load() {
		return true
	}
	u, ok := ln.link.(upper)
	return ok && u.Up()
}

// Depth returns the parts waiting on a carrier's lane, by priority class
// (otp, transactional, marketing).
func (d *Dispatcher) Depth(carrier string) [herald.Lanes]int {
	if ln := d.links[carrier]; ln != nil {
		return ln.depth()
	}
	return [herald.Lanes]int{}
}

// Up reports whether a carrier's link counts as up for routing.
func (d *Dispatcher) Up(carrier string) bool { return d.up(carrier) }

// Run recovers unfinished work, runs the links and the dispatch loops
// until ctx ends, then shuts down in order: no new submits, links unbind
// after their outstanding submits are answered, every outcome is
// recorded. It returns ctx's error, or a recovery failure.
func (d *Dispatcher) Run(ctx context.Context) error {
	if len(d.order) == 0 {
		return errors.New("dispatch: no carrier links")
	}
	if err := d.recover(ctx); err != nil {
		return err
	}
	// Links and the outcome recorder outlive ctx: they stop after the
	// submitters, so that in-flight submits are answered and recorded.
	linkCtx, stopLinks := context.WithCancel(context.WithoutCancel(ctx))
	outCtx, stopOut := context.WithCancel(context.WithoutCancel(ctx))
	var links, work, rec sync.WaitGroup
	for _, ln := range d.order {
		links.Go(func() { ln.link.Run(linkCtx) })
	}
	rec.Go(func() { d.record(outCtx) })
	for _, ln := range d.order {
		work.Go(func() { d.pump(ctx, ln) })
	}
	work.Go(func() { d.schedule(ctx) })
	work.Go(func() { d.sweep(ctx) })
	if d.o.Cluster != nil {
		work.Go(func() { d.claim(ctx) })
	}
	if d.o.Router != nil || d.o.Cluster != nil {
		work.Go(func() { d.watch(ctx) })
	}
	<-ctx.Done()
	work.Wait()
	stopLinks()
	links.Wait()
	stopOut()
	rec.Wait()
	return ctx.Err()
}

// recover loads what was stored but not finished. Parts left "sending" by
// a crash may have reached the carrier: they are resent and counted
// (policy "resend", see docs/states.md).
func (d *Dispatcher) recover(ctx context.Context) error {
	ms, err := d.o.Store.Pending(ctx)
	if err != nil {
		return fmt.Errorf("dispatch: recover: %w", err)
	}
	now := time.Now().UTC()
	var ts []store.Transition
	for _, m := range ms {
		for i := range m.Parts {
			p := &m.Parts[i]
			if p.Status != herald.StatusSending {
				continue
			}
			ts = append(ts, store.Transition{PartRef: store.PartRef{MessageID: m.ID, Seq: p.Seq}, To: herald.StatusQueued,
				At: now, Carrier: m.Carrier, Resent: true,
				Detail: "Herald restarted while this part's submit was unanswered; it is sent again and may arrive twice"})
			p.Status = herald.StatusQueued
		}
	}
	if len(ts) > 0 {
		if _, err := d.o.Store.Apply(ctx, ts); err != nil {
			return fmt.Errorf("dispatch: recover sending parts: %w", err)
		}
		d.stats.RecoveredSending.Add(uint64(len(ts)))
		d.stats.Resent.Add(uint64(len(ts)))
		d.o.Logger.Warn("resending parts whose submit was unanswered at the last stop", "parts", len(ts))
	}
	recovered := make(map[string]bool, len(ms))
	for _, m := range ms {
		recovered[m.ID] = true
		d.enqueue(m, now)
	}
	d.mu.Lock()
	early := d.early
	d.early = nil
	d.ready.Store(true)
	d.mu.Unlock()
	for _, m := range early {
		// A message accepted while recovery ran may also have been read
		// back from the store: enqueue it once.
		if !recovered[m.ID] {
			d.enqueue(m, now)
		}
	}
	d.o.Logger.Info("dispatcher recovered", "messages", len(ms))
	return nil
}

// pump marks batches of due parts as sending (one commit per batch) and
// hands them to a submitter, most urgent lane first. Marking the next
// batch overlaps with submitting the last, so the link does not idle for
// a commit; the hand-over is unbuffered, so an urgent part waits behind
// at most two batches (the one being submitted and one marked).
func (d *Dispatcher) pump(ctx context.Context, ln *lane) {
	marked := make(chan []*job)
	var wg sync.WaitGroup
	wg.Go(func() { d.submitter(ctx, ln, marked) })
	defer wg.Wait()
	defer close(marked)
	for {
		jobs := ln.take(ctx)
		if jobs == nil {
			return
		}
		if ready := d.mark(ctx, ln, jobs); len(ready) > 0 {
			marked <- ready // the submitter drains until closed
		}
	}
}

// mark commits jobs as sending and returns those that were.
func (d *Dispatcher) mark(ctx context.Context, ln *lane, jobs []*job) []*job {
	now := time.Now().UTC()
	if d.o.Limits != nil {
		if jobs = d.space(ln, jobs, now); len(jobs) == 0 {
			return nil
		}
	}
	ts := make([]store.Transition, 0, 2*len(jobs))
	idx := make([]int, len(jobs)) // index of each job's sending transition, -1 if none
	for k, j := range jobs {
		ref := j.ref()
		if !j.m.ValidUntil.IsZero() && now.After(j.m.ValidUntil) {
			ts = append(ts, store.Transition{PartRef: ref, To: herald.StatusExpired, At: now, Carrier: ln.link.Name(),
				ErrorCode: "validity_expired", ErrorMessage: "the validity period passed before the message could be sent"})
			idx[k] = -1
			d.stats.Expired.Add(1)
			continue
		}
		if j.from == herald.StatusScheduled || j.from == herald.StatusAccepted {
			ts = append(ts, store.Transition{PartRef: ref, To: herald.StatusQueued, At: now, Carrier: ln.link.Name()})
		}
		idx[k] = len(ts)
		ts = append(ts, store.Transition{PartRef: ref, To: herald.StatusSending, At: now, Carrier: ln.link.Name(), Detail: j.detail})
	}
	applied, err := d.o.Store.Apply(ctx, ts)
	ln.marked(time.Since(now))
	if err != nil {
		// Nothing was marked: put the jobs back and try again shortly.
		d.o.Logger.Error("marking parts as sending failed", "carrier", ln.link.Name(), "parts", len(jobs), "err", err)
		ln.release(len(jobs))
		for _, j := range jobs {
			d.sched.add(now.Add(d.o.RetryBase), j)
		}
		return nil
	}
	ready := jobs[:0]
	for k, j := range jobs {
		if idx[k] < 0 || !applied[idx[k]].Changed {
			ln.release(1) // expired, canceled, or already handled
			continue
		}
		j.from = herald.StatusSending
		j.attempt++
		ready = append(ready, j)
	}
	return ready
}

// space keeps the jobs that may be sent now and sends the others to the
// scheduler until their slot.
func (d *Dispatcher) space(ln *lane, jobs []*job, now time.Time) []*job {
	keep := jobs[:0]
	for _, j := range jobs {
		if j.slot.IsZero() {
			j.slot = d.o.Limits.Slot(j.m, now)
		}
		if j.slot.After(now.Add(senderSlack)) {
			ln.release(1)
			d.sched.add(j.slot, j)
			continue
		}
		j.slot = time.Time{}
		keep = append(keep, j)
	}
	return keep
}

// senderSlack is how early a part may leave before its slot:
// the scheduler's and the batch's own delays.
const senderSlack = 5 * time.Millisecond

// submitter submits marked batches in order until marked is closed.
// When the link goes down, the batch's remaining parts are given back
// (not sent) and routed again.
func (d *Dispatcher) submitter(ctx context.Context, ln *lane, marked <-chan []*job) {
	for jobs := range marked {
		bctx, cancel := context.WithCancel(ctx)
		ln.setAbort(cancel)
		for _, j := range jobs {
			err := errLinkDown
			if !ln.down.Load() || !d.elsewhere(ln, j) {
				// Up, or down with nowhere else to go: submit, which
				// waits for a bind.
				err = d.submit(bctx, ln, j)
			}
			if err != nil {
				// Shutting down, or the link is down: the part never
				// left; record it as queued.
				d.out.push(outcome{j: j, ln: ln, res: carrier.Result{Err: fmt.Errorf("%w: %w", smpp.ErrNotSent, err)}})
			}
		}
		ln.setAbort(nil)
		cancel()
	}
}

var errLinkDown = errors.New("carrier down")

// elsewhere reports whether the router would now send j to another
// carrier than ln's.
func (d *Dispatcher) elsewhere(ln *lane, j *job) bool {
	return d.o.Router != nil && d.o.Router.Route(j.m, j.m.Carrier, d.upFor(j)).Carrier != ln.link.Name()
}

func first(ok bool, _ string) bool { return ok }

// watch marks links down when no bind has been up for DownAfter, and
// moves the queued parts of a link that goes down or is demoted to the
// other carriers of their routes. Parts queued afterwards are routed
// with the link's state in mind; when it comes back, new traffic returns.
func (d *Dispatcher) watch(ctx context.Context) {
	t := time.NewTicker(d.o.DownAfter / 4)
	defer t.Stop()
	since := make(map[*lane]time.Time)
	demoted := make(map[*lane]bool)
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		now := time.Now()
		for _, ln := range d.order {
			name := ln.link.Name()
			if u, ok := ln.link.(upper); ok {
				switch {
				case u.Up():
					delete(since, ln)
					if ln.down.Swap(false) {
						d.o.Logger.Info("carrier up again: new traffic returns", "carrier", name)
					}
				case since[ln].IsZero():
					since[ln] = now
				case !ln.down.Load() && now.Sub(since[ln]) >= d.o.DownAfter:
					ln.down.Store(true)
					n := d.evacuate(ln)
					d.o.Logger.Warn("carrier down: queued parts rerouted", "carrier", name, "parts", n)
				}
				if d.o.Cluster != nil && ln.down.Load() {
					d.giveBack(ctx, ln)
				}
			}
			if d.o.Router == nil {
				continue
			}
			dm := d.o.Router.Demoted(name)
			if dm && !demoted[ln] {
				n := d.evacuate(ln)
				d.o.Logger.Warn("carrier demoted: queued parts rerouted", "carrier", name, "parts", n)
			}
			demoted[ln] = dm
		}
	}
}

// evacuate routes again every part queued on ln, and gives back the
// parts of the batch being submitted there.
func (d *Dispatcher) evacuate(ln *lane) int {
	ln.abort()
	jobs := ln.drain()
	for _, j := range jobs {
		d.place(j)
	}
	return len(jobs)
}

func (d *Dispatcher) submit(ctx context.Context, ln *lane, j *job) error {
	j.sub = d.subs.Add(1)
	err := ln.link.Submit(ctx, j.m, &j.m.Parts[j.idx], func(r carrier.Result) {
		d.out.push(outcome{j: j, ln: ln, res: r})
	})
	if err == nil {
		d.stats.Submitted.Add(1)
	}
	return err
}

// schedule moves scheduled and retrying parts to their lanes when due.
func (d *Dispatcher) schedule(ctx context.Context) {
	for {
		due, wait := d.sched.due(time.Now())
		for _, j := range due {
			d.place(j)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-d.sched.wake:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// sweep expires overdue messages and closes the receipt window.
func (d *Dispatcher) sweep(ctx context.Context) {
	t := time.NewTicker(d.o.SweepInterval)
	defer t.Stop()
	for {
		now := time.Now().UTC()
		if d.o.Limits != nil {
			d.o.Limits.Prune(now)
		}
		for d.o.Leader == nil || d.o.Leader() {
			n, err := d.o.Store.ExpireOverdue(ctx, now, now.Add(-d.o.ReceiptWindow))
			if err != nil {
				d.o.Logger.Error("expiry sweep failed", "err", err)
				break
			}
			if n > 0 {
				d.o.Changed()
			}
			if n < 10000 {
				break
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// record applies submit outcomes in batches.
func (d *Dispatcher) record(ctx context.Context) {
	for {
		batch, ok := d.out.wait(ctx)
		if !ok {
			// Shutting down: record what is left.
			batch = d.out.drain()
			if len(batch) == 0 {
				return
			}
		}
		d.recordBatch(batch)
	}
}

func (d *Dispatcher) recordBatch(batch []outcome) {
	now := time.Now().UTC()
	ts := make([]store.Transition, len(batch))
	for i, o := range batch {
		ts[i] = d.transition(o, now)
	}
	// Outcomes must be recorded: a failed commit is retried until it
	// works, since the parts stay "sending" (and would be resent after a
	// restart) until then.
	var applied []store.Applied
	for attempt := 0; ; attempt++ {
		var err error
		applied, err = d.o.Store.Apply(context.Background(), ts)
		if err == nil {
			break
		}
		d.o.Logger.Error("recording submit outcomes failed; retrying", "outcomes", len(ts), "err", err)
		time.Sleep(min(time.Duration(attempt+1)*100*time.Millisecond, 5*time.Second))
	}
	for _, o := range batch {
		if o.res.Recorded != nil {
			o.res.Recorded() // its receipt may go to the store now
		}
	}
	// Throttled parts go back to the front of their lanes, in the order
	// they were first submitted, ahead of everything not yet taken.
	var front map[*lane][]*job
	for i, o := range batch {
		o.ln.release(1)
		if ts[i].To == herald.StatusQueued && applied[i].Changed {
			o.j.from = herald.StatusQueued
			o.j.resent = ts[i].Resent
			if o.res.Err == nil && carrier.IsThrottle(o.res.Status) {
				if front == nil {
					front = map[*lane][]*job{}
				}
				front[o.ln] = append(front[o.ln], o.j)
				continue
			}
			d.sched.add(ts[i].NextAttemptAt, o.j)
		}
	}
	for ln, js := range front {
		slices.SortFunc(js, func(a, b *job) int { return cmp.Compare(a.sub, b.sub) })
		ln.pushFront(js)
	}
	d.o.Changed()
}

// transition turns a submit outcome into the part's next state.
func (d *Dispatcher) transition(o outcome, now time.Time) store.Transition {
	t := store.Transition{PartRef: o.j.ref(), At: now, Carrier: o.ln.link.Name()}
	r := o.res
	switch {
	case r.Err != nil && carrier.IsNotSent(r.Err):
		o.j.attempt-- // it never left: not an attempt
		t.To, t.NextAttemptAt = herald.StatusQueued, now
		t.Detail = "not sent: " + r.Err.Error()
		d.stats.Retried.Add(1)
	case r.Err != nil:
		// The submit may have reached the carrier (no response in time, or
		// the link broke after writing it): resend, and count it.
		t.To, t.NextAttemptAt, t.Resent = herald.StatusQueued, now.Add(d.backoff(o.j.attempt)), true
		t.Detail = "no submit_sm_resp: " + r.Err.Error() + "; sent again, may arrive twice"
		d.stats.Resent.Add(1)
	case carrier.IsThrottle(r.Status):
		// The carrier asks us to slow down: the link has paused and
		// lowered its rate. The part goes back to the front of its lane;
		// this submit does not count against its attempts.
		o.j.attempt--
		t.To, t.NextAttemptAt, t.SubmitStatus, t.CarrierCode = herald.StatusQueued, now, uint32(r.Status), r.Status.String()
		t.Detail = "carrier throttling (" + r.Status.Text() + "): link paused, part kept at the front of its lane"
		d.stats.Throttled.Add(1)
	case r.Status != pdu.StatusOK && d.rerouted(o.ln, o.j, r.Status):
		// This carrier has no route for it: another carrier of its route
		// takes it. Not an attempt.
		o.j.attempt--
		t.To, t.NextAttemptAt, t.SubmitStatus, t.CarrierCode = herald.StatusQueued, now, uint32(r.Status), r.Status.String()
		t.Detail = fmt.Sprintf("carrier %s has no route for it (%s): routed again without %s", o.ln.link.Name(), r.Status.String(),
			strings.Join(o.j.avoid, ", "))
		d.stats.Retried.Add(1)
	case r.Status == pdu.StatusOK:
		t.To, t.CarrierMessageID, t.CorrelationKeys, t.CarrierCode = herald.StatusSent, r.CarrierMessageID, r.Keys, "ESME_ROK"
		d.stats.Sent.Add(1)
	case r.Status.Temporary() && o.j.attempt < d.o.MaxAttempts:
		t.To, t.NextAttemptAt, t.SubmitStatus, t.CarrierCode = herald.StatusQueued, now.Add(d.backoff(o.j.attempt)), uint32(r.Status), r.Status.String()
		t.Detail = "temporary refusal: " + r.Status.Text()
		d.stats.Retried.Add(1)
	default:
		t.To, t.SubmitStatus, t.CarrierCode = herald.StatusFailed, uint32(r.Status), r.Status.String()
		t.ErrorCode, t.ErrorMessage = "carrier_rejected", fmt.Sprintf("the carrier refused the message: %s (%s)", r.Status.String(), r.Status.Text())
		if r.Status.Temporary() {
			t.ErrorCode = "carrier_retries_exhausted"
			t.ErrorMessage = fmt.Sprintf("the carrier refused the message %d times: %s", o.j.attempt, r.Status.String())
		}
		d.stats.Failed.Add(1)
	}
	return t
}

func (d *Dispatcher) backoff(attempt int) time.Duration {
	b := d.o.RetryBase
	for i := 1; i < attempt && b < d.o.RetryMax; i++ {
		b *= 2
	}
	return min(b, d.o.RetryMax)
}
