package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/cluster"
	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/postgres"
	"github.com/herald-sms/herald/internal/store/postgres/pgtest"
)

// Managers over real PostgreSQL stores, one per node, with short
// leases: a node silent for ttl is dead.
const (
	ttl   = 1500 * time.Millisecond
	renew = 250 * time.Millisecond
	binds = 2 // of carrier "sim"
)

// binds counts the binds open across all nodes, and the most ever open
// at once.
type bindCount struct{ open, max atomic.Int32 }

func (b *bindCount) up() {
	n := b.open.Add(1)
	for m := b.max.Load(); n > m && !b.max.CompareAndSwap(m, n); m = b.max.Load() {
	}
}

func (b *bindCount) down() { b.open.Add(-1) }

// node is a Herald node: its store, its Manager, and a fake link per
// bind slot that "binds" while it holds the slot.
type node struct {
	id        string
	store     *postgres.Store
	m         *cluster.Manager
	bound     [binds]atomic.Bool // the link of slot i is bound
	stopLinks func()             // stops the links (not the Manager) and waits for them
	stop      func()             // stops the links and the Manager and waits for them
}

func openStore(t *testing.T, url, id string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, postgres.Options{Node: id})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// start runs node id's Manager and links until the test ends or stop.
func start(t *testing.T, url, id string, open *bindCount, o cluster.Options) *node {
	t.Helper()
	return startWrapped(t, url, id, open, o, nil)
}

// startWrapped is start with the Manager's store wrapped by wrap.
func startWrapped(t *testing.T, url, id string, open *bindCount, o cluster.Options, wrap func(store.Cluster) store.Cluster) *node {
	t.Helper()
	n := &node{id: id, store: openStore(t, url, id)}
	o.Store = n.store
	if wrap != nil {
		o.Store = wrap(n.store)
	}
	if o.TTL == 0 {
		o.TTL, o.Renew = ttl, renew
	}
	if open != nil {
		o.Carriers = map[string]int{"sim": binds}
	}
	n.m = cluster.New(o)
	// As in cmd/herald: the links stop first, then the Manager.
	ctx, cancel := context.WithCancel(context.Background())
	linkCtx, cancelLinks := context.WithCancel(ctx)
	var run, links sync.WaitGroup
	run.Go(func() {
		if err := n.m.Run(ctx); err != context.Canceled {
			t.Errorf("%s: Run returned %v", id, err)
		}
	})
	if open != nil {
		for i := range binds {
			links.Go(func() { n.link(linkCtx, i, open) })
		}
	}
	wait := func(what string, wg *sync.WaitGroup) {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s: %s not stopped 10s after the cancel: binds %d", id, what, n.holding())
		}
	}
	n.stopLinks = sync.OnceFunc(func() { cancelLinks(); wait("links", &links) })
	n.stop = sync.OnceFunc(func() {
		n.stopLinks()
		cancel()
		wait("Manager", &run)
	})
	t.Cleanup(n.stop) // before the store closes (cleanups run last first)
	return n
}

// link is what carrier.Link.runSlot does with a bind: bound while the
// slot is held, unbound before it gives the slot back.
func (n *node) link(ctx context.Context, i int, open *bindCount) {
	for ctx.Err() == nil {
		held, release, err := n.m.Hold(ctx, "sim", i)
		if err != nil {
			return
		}
		open.up()
		n.bound[i].Store(true)
		select { // as carrier.Link.runSlot: until the slot is asked back or the link stops
		case <-held.Done():
		case <-ctx.Done():
		}
		n.bound[i].Store(false)
		open.down()
		release()
	}
}

// holding is how many binds the node has open.
func (n *node) holding() int {
	c := 0
	for i := range binds {
		if n.bound[i].Load() {
			c++
		}
	}
	return c
}

func holdings(nodes ...*node) string {
	var s []string
	for _, n := range nodes {
		s = append(s, fmt.Sprintf("%s:%d", n.id, n.holding()))
	}
	return fmt.Sprint(s)
}

// waitFor polls cond until it holds, failing the test after 20s.
func waitFor(t *testing.T, what string, cond func() bool, state func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 20s: %s (now %s)", what, state())
		}
		<-tick.C
	}
}

// throughout checks cond at every poll until each of the nodes has
// heartbeated three more times: each has then run whole rounds that saw
// the others alive.
func throughout(t *testing.T, what string, cond func() bool, state func() string, nodes ...*node) {
	t.Helper()
	seen := map[string][]time.Time{}
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if !cond() {
			t.Fatalf("no longer %s: %s", what, state())
		}
		list, err := nodes[0].store.Nodes(t.Context(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for _, n := range nodes {
			for _, l := range list {
				if l.ID == n.id && !slices.Contains(seen[n.id], l.HeartbeatAt) {
					seen[n.id] = append(seen[n.id], l.HeartbeatAt)
				}
			}
			done = done && len(seen[n.id]) > 3
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the nodes did not heartbeat three times within 20s: %v", seen)
		}
		<-tick.C
	}
}

// slotHolders lists the unexpired bind slot leases as "slot@node".
func slotHolders(t *testing.T, s store.Cluster) []string {
	t.Helper()
	ls, err := s.Leases(t.Context(), "bind/sim/")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		out = append(out, l.Name+"@"+l.Node)
	}
	return out
}

// TestSlotsShared starts nodes one by one, then stops one: the cluster
// never has more than the carrier's 2 binds open, and each live node
// gets its fair share.
func TestSlotsShared(t *testing.T) {
	t.Parallel()
	open := &bindCount{}
	a, b, c, state := threeNodes(t, open, cluster.Options{})

	a.stop()
	if a.holding() != 0 || a.m.Dispatching("sim") {
		t.Fatalf("a stopped with binds open: %s", state())
	}
	waitFor(t, "a's slot goes to c", func() bool { return b.holding() == 1 && c.holding() == 1 }, state)
	throughout(t, "b and c with a slot each", func() bool { return b.holding() == 1 && c.holding() == 1 }, state, b, c)

	if m := open.max.Load(); m > binds {
		t.Fatalf("%d binds were open at once; the carrier allows %d", m, binds)
	}
}

// TestSlotFreedWhenLinkStops: a node's links stop before its Manager (as
// when Herald shuts down): the slot they gave up goes to another node
// at once, not when its lease expires, and the Manager does not take it
// again for a link that is gone.
func TestSlotFreedWhenLinkStops(t *testing.T) {
	t.Parallel()
	open := &bindCount{}
	long := cluster.Options{TTL: time.Minute, Renew: 100 * time.Millisecond} // the test ends long before a lease expires
	a, b, c, state := threeNodes(t, open, long)

	a.stopLinks()
	waitFor(t, "a's slot goes to c", func() bool { return b.holding() == 1 && c.holding() == 1 }, state)
	throughout(t, "a holds no slot", func() bool {
		return !a.m.Dispatching("sim") && len(slotHolders(t, a.store)) == 2 &&
			!slices.ContainsFunc(slotHolders(t, a.store), func(l string) bool { return strings.HasSuffix(l, "@a") })
	},
		state, a, b, c)
	if m := open.max.Load(); m > binds {
		t.Fatalf("%d binds were open at once; the carrier allows %d", m, binds)
	}
}

// threeNodes starts nodes a, b and c one by one, checking that a alone
// holds both slots, that a gives one to b, and that c gets none.
func threeNodes(t *testing.T, open *bindCount, o cluster.Options) (a, b, c *node, state func() string) {
	t.Helper()
	url := pgtest.URL(t)
	a = start(t, url, "a", open, o)
	var nodes []*node
	state = func() string { return holdings(nodes...) + fmt.Sprint(" leases ", slotHolders(t, a.store)) }
	nodes = append(nodes, a)
	waitFor(t, "a alone holds both slots", func() bool { return a.holding() == 2 && a.m.Dispatching("sim") }, state)

	b = start(t, url, "b", open, o)
	nodes = append(nodes, b)
	waitFor(t, "a gives one slot to b", func() bool { return a.holding() == 1 && b.holding() == 1 }, state)
	throughout(t, "one slot each", func() bool { return a.holding() == 1 && b.holding() == 1 }, state, a, b)
	if got := slotHolders(t, a.store); len(got) != 2 || strings.Split(got[0], "@")[1] == strings.Split(got[1], "@")[1] {
		t.Fatalf("slot leases %v; want one per node", got)
	}

	c = start(t, url, "c", open, o)
	nodes = append(nodes, c)
	waitFor(t, "c is alive", func() bool {
		list, err := a.store.Nodes(t.Context(), ttl)
		return err == nil && len(list) == 3 && list[2].Alive
	}, state)
	throughout(t, "two nodes with a slot each, c with none",
		func() bool {
			return a.holding() == 1 && b.holding() == 1 && c.holding() == 0 && !c.m.Dispatching("sim")
		},
		state, a, b, c)
	return a, b, c, state
}

// leaders samples the managers' Leader twice and counts those that
// said yes both times: a handover between two reads of one pass is then
// not mistaken for two leaders at once.
func leaders(ns []*node) (count int, who string) {
	first := make([]bool, len(ns))
	for i, n := range ns {
		first[i] = n.m.Leader()
	}
	for i, n := range ns {
		if first[i] && n.m.Leader() {
			count++
			who = n.id
		}
	}
	return count, who
}

// TestLeaderTakesOverDeadNode: one leader at a time, which takes back
// the messages of a node that stopped heartbeating; another takes over
// when it stops.
func TestLeaderTakesOverDeadNode(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)

	// Node "dead" owns a message with its part being sent, heartbeats
	// once and is never heard from again.
	dead := openStore(t, url, "dead")
	dead.SetDispatching(func(string) bool { return true })
	acc, err := dead.EnsureAccount(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	m := &herald.Message{ID: herald.NewID("msg", now.UnixMilli()), AccountID: acc.ID, To: "+447700900123", From: "Herald",
		Body: "hello", Type: herald.TypeTransactional, Status: herald.StatusQueued, Encoding: "gsm7", PartCount: 1,
		Carrier: "sim", CreatedAt: now, UpdatedAt: now}
	m.Parts = []herald.Part{{MessageID: m.ID, Seq: 1, Status: herald.StatusQueued, ShortMessage: []byte("hello")}}
	if err := dead.CreateMessages(t.Context(), []*store.NewMessage{{Message: m}}); err != nil {
		t.Fatal(err)
	}
	out, err := dead.Apply(t.Context(), []store.Transition{{PartRef: store.PartRef{MessageID: m.ID, Seq: 1},
		To: herald.StatusSending, At: now, Carrier: "sim"}})
	if err != nil || !out[0].Changed {
		t.Fatalf("setup: sending %v, %v", out, err)
	}
	if err := dead.Heartbeat(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	dead.Close()

	var mu sync.Mutex
	var recovered []string
	o := cluster.Options{Recovered: func(node string, requeued, released int) {
		mu.Lock()
		defer mu.Unlock()
		recovered = append(recovered, fmt.Sprintf("%s:%d:%d", node, requeued, released))
	}}
	ns := []*node{start(t, url, "a", nil, o), start(t, url, "b", nil, o), start(t, url, "c", nil, o)}

	// Watch the leaders until the end.
	var most atomic.Int32
	watchCtx, stopWatch := context.WithCancel(context.Background())
	var watch sync.WaitGroup
	watch.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			n, _ := leaders(ns)
			for m := most.Load(); int32(n) > m && !most.CompareAndSwap(m, int32(n)); m = most.Load() {
			}
			select {
			case <-tick.C:
			case <-watchCtx.Done():
				return
			}
		}
	})
	t.Cleanup(func() { stopWatch(); watch.Wait() })

	state := func() string {
		n, who := leaders(ns)
		ls, _ := ns[0].store.Leases(context.Background(), cluster.LeaderLease)
		return fmt.Sprintf("%d leaders (%s), leases %+v", n, who, ls)
	}
	oneLeader := func() bool {
		n, who := leaders(ns)
		if n != 1 {
			return false
		}
		ls, err := ns[0].store.Leases(t.Context(), cluster.LeaderLease)
		return err == nil && len(ls) == 1 && ls[0].Node == who
	}
	waitFor(t, "one leader, holding the leader lease", oneLeader, state)

	readM := func() *herald.Message {
		got, err := ns[0].store.Message(t.Context(), acc.ID, m.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	nodeIDs := func() []string {
		list, err := ns[0].store.Nodes(t.Context(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, n := range list {
			ids = append(ids, n.ID)
		}
		return ids
	}
	waitFor(t, "the leader takes back the dead node's message and forgets the node", func() bool {
		got := readM()
		return got.Owner == "" && got.Parts[0].Status == herald.StatusQueued && !slices.Contains(nodeIDs(), "dead")
	}, func() string {
		got := readM()
		return fmt.Sprintf("message owner %q, part %s; nodes %v", got.Owner, got.Parts[0].Status, nodeIDs())
	})
	if got := readM(); got.Resends != 1 {
		t.Errorf("the dead node's message has %d resends, want 1", got.Resends)
	}
	mu.Lock()
	if !slices.Equal(recovered, []string{"dead:1:1"}) {
		t.Errorf("Recovered told %v, want dead:1:1 once", recovered)
	}
	mu.Unlock()

	// The leader stops: another takes over, and forgets it once dead.
	_, first := leaders(ns)
	i := slices.IndexFunc(ns, func(n *node) bool { return n.id == first })
	ns[i].stop()
	if ns[i].m.Leader() {
		t.Fatal("a stopped manager says it leads")
	}
	rest := slices.Delete(slices.Clone(ns), i, i+1)
	waitFor(t, "another node leads", func() bool {
		n, who := leaders(rest)
		return n == 1 && who != first && oneLeader()
	}, state)
	waitFor(t, "the stopped leader is forgotten", func() bool { return !slices.Contains(nodeIDs(), first) },
		func() string { return fmt.Sprint(nodeIDs()) })

	stopWatch()
	watch.Wait()
	if n := most.Load(); n > 1 {
		t.Fatalf("%d managers led at once", n)
	}
}

// cutOff is a node's store that, while cut, answers nothing: each call
// waits until its context ends (a database behind a network partition).
type cutOff struct {
	store.Cluster
	cut atomic.Bool
}

// wait blocks while the store is cut, until ctx ends.
func (c *cutOff) wait(ctx context.Context) error {
	if !c.cut.Load() {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (c *cutOff) Heartbeat(ctx context.Context, addr, version string) error {
	if err := c.wait(ctx); err != nil {
		return err
	}
	return c.Cluster.Heartbeat(ctx, addr, version)
}

func (c *cutOff) LiveNodes(ctx context.Context, alive time.Duration) (int, error) {
	if err := c.wait(ctx); err != nil {
		return 0, err
	}
	return c.Cluster.LiveNodes(ctx, alive)
}

func (c *cutOff) DeadNodes(ctx context.Context, alive time.Duration) ([]string, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	return c.Cluster.DeadNodes(ctx, alive)
}

func (c *cutOff) AcquireLease(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	if err := c.wait(ctx); err != nil {
		return false, err
	}
	return c.Cluster.AcquireLease(ctx, name, ttl)
}

func (c *cutOff) ReleaseLease(ctx context.Context, name string) error {
	if err := c.wait(ctx); err != nil {
		return err
	}
	return c.Cluster.ReleaseLease(ctx, name)
}

func (c *cutOff) Leases(ctx context.Context, prefix string) ([]store.Lease, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	return c.Cluster.Leases(ctx, prefix)
}

// TestNodeCutOff: a node whose database stops answering (calls that
// never return until their context ends) closes its binds before its
// slot leases can expire, so that the cluster never has more binds open
// than the carrier allows while the other node takes its slot over; once
// the database answers again, it takes its share back.
func TestNodeCutOff(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	open := &bindCount{}
	var cut *cutOff
	a := startWrapped(t, url, "a", open, cluster.Options{}, func(s store.Cluster) store.Cluster {
		cut = &cutOff{Cluster: s}
		return cut
	})
	b := start(t, url, "b", open, cluster.Options{})
	state := func() string { return holdings(a, b) + fmt.Sprint(slotHolders(t, b.store)) }
	waitFor(t, "a slot each", func() bool { return a.holding() == 1 && b.holding() == 1 }, state)

	cut.cut.Store(true)
	waitFor(t, "a's slot goes to b", func() bool { return a.holding() == 0 && b.holding() == 2 }, state)
	if m := open.max.Load(); m > binds {
		t.Fatalf("%d binds were open at once; the carrier allows %d", m, binds)
	}
	cut.cut.Store(false)
	waitFor(t, "a slot each again", func() bool { return a.holding() == 1 && b.holding() == 1 }, state)
	if m := open.max.Load(); m > binds {
		t.Fatalf("%d binds were open at once; the carrier allows %d", m, binds)
	}
}
