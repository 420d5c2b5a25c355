// Package cluster coordinates the Herald nodes that share one
// PostgreSQL database: each node's heartbeat, the carriers' bind slots
// (a lease per slot, so that the cluster never opens more binds than a
// carrier allows and each node's rate is its share of the carrier's),
// and the leader, which alone runs the cluster-wide chores: taking back
// the work of dead nodes, the expiry sweeps. docs/cluster.md describes
// the design and its guarantees.
package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-sms/herald/internal/store"
)

// Defaults of Options.
const (
	DefaultTTL   = 10 * time.Second
	DefaultRenew = 2 * time.Second
)

// LeaderLease is the name of the leader's lease.
const LeaderLease = "leader"

// SlotLease is the name of a carrier's bind slot lease.
func SlotLease(carrier string, slot int) string { return fmt.Sprintf("bind/%s/%d", carrier, slot) }

// Options configure a Manager.
type Options struct {
	Store store.Cluster
	// Carriers maps each carrier this node links to its bind count: the
	// most binds the whole cluster opens to it.
	Carriers map[string]int
	// TTL is how long a lease or a heartbeat lasts without renewal: a
	// node silent for TTL is dead, and its leases free. Default 10s.
	TTL time.Duration
	// Renew is how often heartbeats and leases are renewed and free slots
	// sought. Default 2s; at most TTL/3.
	Renew time.Duration
	// Addr and Version are announced with the heartbeat.
	Addr, Version string
	// Recovered is told how many parts of a dead node were queued again
	// (the leader's takeover), e.g. to count resends.
	Recovered func(node string, requeued, released int)
	Logger    *slog.Logger
}

// Manager is one node's part in the cluster. Run it; the carrier links
// use it as their carrier.Slots.
type Manager struct {
	o  Options
	mu sync.Mutex
	// mu guards slots and wants.
	slots map[string]*slot // by lease name: held or wanted
	wake  chan struct{}

	leader      atomic.Bool
	leaderUntil atomic.Int64 // unix ns until which the leader lease is surely this node's
	alive       atomic.Int32 // live nodes at the last look
}

// slot is one bind slot this node wants or holds.
type slot struct {
	name    string
	carrier string
	idx     int
	wanted  bool               // a link waits in Hold for it
	granted chan struct{}      // closed when acquired (replaced after a loss)
	ctx     context.Context    // while held
	cancel  context.CancelFunc // ends ctx: the link must give the slot up
	valid   time.Time          // local time until which the lease is surely ours
	held    bool
	closing bool // cancelled; the lease is released once the link unbound
}

// New returns a Manager; Run starts it.
func New(o Options) *Manager {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Renew <= 0 || o.Renew > o.TTL/3 {
		o.Renew = min(DefaultRenew, o.TTL/3)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Recovered == nil {
		o.Recovered = func(string, int, int) {}
	}
	m := &Manager{o: o, slots: map[string]*slot{}, wake: make(chan struct{}, 1)}
	m.alive.Store(1)
	return m
}

// Node is this node's id.
func (m *Manager) Node() string { return m.o.Store.Node() }

// TTL is the lease and heartbeat period.
func (m *Manager) TTL() time.Duration { return m.o.TTL }

// Leader reports whether this node is the leader now: it holds the
// leader lease and renewed it recently enough that no other node can
// have taken it.
func (m *Manager) Leader() bool {
	return m.leader.Load() && time.Now().UnixNano() < m.leaderUntil.Load()
}

// Dispatching reports whether this node holds a bind slot of carrier.
func (m *Manager) Dispatching(carrier string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.slots {
		if s.carrier == carrier && s.held && !s.closing {
			return true
		}
	}
	return false
}

// Hold implements carrier.Slots.
func (m *Manager) Hold(ctx context.Context, carrier string, idx int) (context.Context, func(), error) {
	name := SlotLease(carrier, idx)
	for {
		m.mu.Lock()
		s := m.slots[name]
		if s == nil {
			s = &slot{name: name, carrier: carrier, idx: idx, granted: make(chan struct{})}
			m.slots[name] = s
		}
		s.wanted = true
		if s.held && !s.closing {
			held := s.ctx
			m.mu.Unlock()
			return held, func() { m.released(s) }, nil
		}
		if s.held && s.closing {
			// Granted, then asked back before this link used it: give
			// it up now (nobody else will), then wait again.
			m.mu.Unlock()
			m.released(s)
			continue
		}
		granted := s.granted
		m.mu.Unlock()
		m.poke()
		select {
		case <-granted:
		case <-ctx.Done():
			m.mu.Lock()
			s.wanted = false
			m.mu.Unlock()
			return nil, nil, ctx.Err()
		}
	}
}

// released is called by a link once it has unbound a slot it gave up:
// only then is the lease freed for another node. That is so whether this
// Manager asked for the slot back or the link stopped by itself (Herald
// stops its links before the Manager): the lease is freed at once rather
// than left to expire, and the slot is no longer wanted until the link
// asks for it again, so that it is not taken again for a link that is
// gone. (ReleaseLease does nothing when another node took the lease.)
func (m *Manager) released(s *slot) {
	m.mu.Lock()
	s.held, s.closing, s.wanted = false, false, false
	s.granted = make(chan struct{})
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), m.o.TTL)
	defer cancel()
	if err := m.o.Store.ReleaseLease(ctx, s.name); err != nil {
		m.o.Logger.Warn("cluster: releasing a bind slot failed (it expires by itself)", "lease", s.name, "err", err)
	}
	m.poke()
}

func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run keeps this node's heartbeat, slots and leadership until ctx ends;
// then it gives up its leases.
func (m *Manager) Run(ctx context.Context) error {
	wctx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { m.watch(wctx) })
	defer func() {
		stopWatch()
		wg.Wait()
	}()
	t := time.NewTicker(m.o.Renew)
	defer t.Stop()
	for {
		m.tick(ctx)
		select {
		case <-t.C:
		case <-m.wake:
		case <-ctx.Done():
			m.stop()
			return ctx.Err()
		}
	}
}

// stop cancels every slot and frees the leases this node holds.
func (m *Manager) stop() {
	m.mu.Lock()
	var names []string
	for _, s := range m.slots {
		if s.held {
			s.cancel()
			s.closing = true
		}
	}
	m.mu.Unlock()
	if m.leader.Swap(false) {
		names = append(names, LeaderLease)
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.o.Renew)
	defer cancel()
	for _, n := range names {
		_ = m.o.Store.ReleaseLease(ctx, n)
	}
}

// watch gives up the slots whose lease may run out (expire) every
// quarter of Renew, on its own: a round of tick waits on the database,
// and a database cut off by the network may answer nothing until the
// round's deadline.
func (m *Manager) watch(ctx context.Context) {
	t := time.NewTicker(m.o.Renew / 4)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			m.expireWithin(time.Now(), m.o.TTL/4)
		case <-ctx.Done():
			return
		}
	}
}

// tick is one round: heartbeat, renewals, lost leases, new slots,
// leadership and the leader's chores. The round's lease work has TTL/2
// to finish, so that a database that does not answer cannot hold the
// next heartbeat back for long (the binds do not wait for it: watch);
// the leader's chores have TTL.
func (m *Manager) tick(ctx context.Context) {
	start := time.Now()
	st := m.o.Store
	rctx, cancel := context.WithTimeout(ctx, m.o.TTL/2)
	defer cancel()
	if err := st.Heartbeat(rctx, m.o.Addr, m.o.Version); err != nil {
		m.warn(ctx, "cluster: heartbeat failed", "err", err)
	}
	if n, err := st.LiveNodes(rctx, m.o.TTL); err == nil {
		m.alive.Store(int32(max(n, 1)))
	}
	m.renew(rctx, start)
	m.expire(time.Now())
	m.acquire(rctx)
	if !m.lead(rctx) {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, m.o.TTL)
	defer cancel()
	m.recoverDead(lctx)
}

// renew extends the leases this node holds; one it could not renew is
// lost (another node took it after it expired).
func (m *Manager) renew(ctx context.Context, start time.Time) {
	for _, s := range m.held() {
		ok, err := m.o.Store.AcquireLease(ctx, s.name, m.o.TTL)
		m.mu.Lock()
		switch {
		case err != nil:
			// Keep using it until its validity runs out (expire).
		case ok:
			s.valid = start.Add(m.o.TTL)
		case s.held && !s.closing:
			m.o.Logger.Warn("cluster: bind slot lost to another node", "lease", s.name)
			s.cancel()
			s.closing = false // another node holds the lease now
		}
		m.mu.Unlock()
	}
}

// expire gives up the slots whose lease may run out before the next
// renewal could reach the database: from then on another node may take
// them, so this node's bind must be closed first.
func (m *Manager) expire(now time.Time) { m.expireWithin(now, m.o.Renew+m.o.TTL/4) }

// expireWithin closes the binds of slots whose lease ends within margin.
// The watcher, which runs while a round may still be renewing, uses a
// narrower margin than the round itself: under load a renewal can take
// seconds, and closing a bind it was about to renew hands the slot
// around for nothing.
func (m *Manager) expireWithin(now time.Time, margin time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.slots {
		if s.held && !s.closing && now.After(s.valid.Add(-margin)) {
			m.o.Logger.Warn("cluster: bind slot not renewed in time: closing the bind", "lease", s.name)
			s.cancel()
		}
	}
}

// held returns the slots held now.
func (m *Manager) held() []*slot {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*slot
	for _, s := range m.slots {
		if s.held {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// acquire takes free slots up to this node's fair share of each
// carrier's binds (the binds divided by the live nodes, rounded up), and
// gives back one slot of a carrier of which it holds more than its share
// while a live node holds none.
func (m *Manager) acquire(ctx context.Context) {
	alive := int(m.alive.Load())
	for carrier, binds := range m.o.Carriers {
		leases, err := m.o.Store.Leases(ctx, "bind/"+carrier+"/")
		if err != nil {
			m.warn(ctx, "cluster: reading bind slots failed", "carrier", carrier, "err", err)
			continue
		}
		taken := map[string]string{}
		holders := map[string]int{}
		for _, l := range leases {
			taken[l.Name] = l.Node
			holders[l.Node]++
		}
		fair := (binds + alive - 1) / alive
		mine := m.mine(carrier)
		if len(mine) > fair && len(holders) < alive {
			m.giveBack(mine[len(mine)-1])
			continue
		}
		for idx := range binds {
			if len(mine) >= fair {
				break
			}
			name := SlotLease(carrier, idx)
			if _, busy := taken[name]; busy {
				continue
			}
			m.mu.Lock()
			s := m.slots[name]
			want := s != nil && s.wanted && !s.held
			m.mu.Unlock()
			if !want {
				continue
			}
			start := time.Now()
			ok, err := m.o.Store.AcquireLease(ctx, name, m.o.TTL)
			if err != nil || !ok {
				continue
			}
			m.grant(s, start)
			mine = append(mine, s)
		}
	}
}

// mine returns the slots of carrier this node holds (and is not giving
// up), in slot order.
func (m *Manager) mine(carrier string) []*slot {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*slot
	for _, s := range m.slots {
		if s.carrier == carrier && s.held && !s.closing {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *slot) int { return a.idx - b.idx })
	return out
}

func (m *Manager) grant(s *slot, start time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.held, s.closing, s.valid = true, false, start.Add(m.o.TTL)
	close(s.granted)
	m.o.Logger.Info("cluster: bind slot acquired", "lease", s.name)
}

// giveBack asks the link to close a slot's bind; the lease is freed once
// it has (released).
func (m *Manager) giveBack(s *slot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.held && !s.closing {
		m.o.Logger.Info("cluster: giving a bind slot to another node", "lease", s.name)
		s.closing = true
		s.cancel()
	}
}

// lead takes or keeps the leadership and reports whether this node is
// the leader.
func (m *Manager) lead(ctx context.Context) bool {
	start := time.Now()
	ok, err := m.o.Store.AcquireLease(ctx, LeaderLease, m.o.TTL)
	if err != nil {
		ok = false
	}
	if ok {
		// Leader() holds until the lease may run out (like a slot's
		// validity), not until the next tick.
		m.leaderUntil.Store(start.Add(m.o.TTL - m.o.Renew - m.o.TTL/4).UnixNano())
	}
	if m.leader.Swap(ok) != ok {
		m.o.Logger.Info("cluster: leadership changed", "leader", ok)
	}
	return ok
}

// recoverDead, the leader's chore, takes back the work of dead nodes.
func (m *Manager) recoverDead(ctx context.Context) {
	dead, err := m.o.Store.DeadNodes(ctx, m.o.TTL)
	if err != nil {
		m.warn(ctx, "cluster: listing dead nodes failed", "err", err)
		return
	}
	for _, n := range dead {
		if n == m.Node() {
			continue
		}
		requeued, released, err := m.o.Store.Recover(ctx, n)
		if err != nil {
			m.warn(ctx, "cluster: taking back a dead node's messages failed", "node", n, "err", err)
			continue
		}
		if requeued > 0 || released > 0 {
			m.o.Logger.Warn("cluster: dead node's messages given back to the cluster", "node", n,
				"parts_resent", requeued, "messages", released)
			m.o.Recovered(n, requeued, released)
		}
		if gone, err := m.o.Store.ForgetNode(ctx, n); err == nil && gone {
			m.o.Logger.Info("cluster: dead node forgotten", "node", n)
		}
	}
}

// warn logs a failure, unless it is only the shutdown cancelling ctx.
func (m *Manager) warn(ctx context.Context, msg string, args ...any) {
	if ctx.Err() == nil {
		m.o.Logger.Warn(msg, args...)
	}
}
