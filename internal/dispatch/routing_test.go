package dispatch_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/carrier"
	"github.com/herald-sms/herald/internal/dispatch"
	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/routing"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smscsim"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/sqlite"
)

// routeRig is a dispatcher over two carriers, "a" and "b", each its own
// simulator, and a routing table.
type routeRig struct {
	st     *sqlite.Store
	mu     sync.Mutex
	sims   map[string]*smscsim.Simulator // mu guards sims (restarts)
	addr   map[string]string
	disp   *dispatch.Dispatcher
	health *routing.Health
	acc    *herald.Account
}

func startSim(t *testing.T, addr string) *smscsim.Simulator {
	t.Helper()
	return startSimWith(t, smscsim.Options{Addr: addr})
}

func startSimWith(t *testing.T, o smscsim.Options) *smscsim.Simulator {
	t.Helper()
	sim, err := smscsim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return sim
}

func newRouteRig(t *testing.T, routes []routing.Route, ho routing.HealthOptions) *routeRig {
	t.Helper()
	return newRouteRigWith(t, routes, ho, nil)
}

// newRouteRigWith is newRouteRig with each carrier's simulator options
// and link configuration adjusted by configure.
func newRouteRigWith(t *testing.T, routes []routing.Route, ho routing.HealthOptions,
	configure func(name string, so *smscsim.Options, cc *carrier.Config)) *routeRig {
	t.Helper()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &routeRig{st: st, sims: map[string]*smscsim.Simulator{}, addr: map[string]string{}, health: routing.NewHealth(ho)}
	var links []dispatch.Link
	for _, name := range []string{"a", "b"} {
		so := smscsim.Options{Addr: "127.0.0.1:0"}
		cc := carrier.Config{Name: name, SystemID: "t", Window: 20, TPS: 200,
			SourceTON: -1, SourceNPI: -1, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
			ResponseTimeout: 2 * time.Second, EnquireLinkInterval: 500 * time.Millisecond,
			OnReceipt: func(to herald.Status, lat time.Duration) {
				r.health.Receipt(name, to == herald.StatusDelivered, lat, time.Now())
			}}
		if configure != nil {
			configure(name, &so, &cc)
		}
		sim := startSimWith(t, so)
		r.sims[name], r.addr[name] = sim, sim.Addr()
		cc.Addr = sim.Addr()
		links = append(links, carrier.New(cc, receipts{st, func() {}}, nil))
	}
	table, err := routing.NewTable(routes, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.disp = dispatch.New(dispatch.Options{Store: st, Links: links, RetryBase: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond,
		Router: routing.NewRouter(table, r.health), DownAfter: 500 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.disp.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		r.mu.Lock()
		for _, s := range r.sims {
			s.Close()
		}
		r.mu.Unlock()
		st.Close()
	})
	if r.acc, err = st.EnsureAccount(t.Context(), "t"); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *routeRig) sim(name string) *smscsim.Simulator {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sims[name]
}

func (r *routeRig) send(t *testing.T, n int, tag string) []*herald.Message {
	t.Helper()
	now := time.Now().UTC()
	var items []*store.NewMessage
	var ms []*herald.Message
	for i := range n {
		m := testMessage(r.acc.ID, fmt.Sprintf("+447911%s%03d", tag, i), herald.TypeTransactional, "a", now)
		items = append(items, &store.NewMessage{Message: m})
		ms = append(ms, m)
	}
	if err := r.st.CreateMessages(t.Context(), items); err != nil {
		t.Fatal(err)
	}
	r.disp.Accepted(ms)
	return ms
}

// eventually polls cond every 20 ms until it holds or 20 s pass.
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("after 20 s: not %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling for an outcome, not timing
	}
	return time.Since(start)
}

func (r *routeRig) statuses(t *testing.T, ms []*herald.Message) map[herald.Status]int {
	counts := map[herald.Status]int{}
	for _, m := range ms {
		got, err := r.st.Message(t.Context(), r.acc.ID, m.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		counts[got.Status]++
	}
	return counts
}

func (r *routeRig) details(t *testing.T, m *herald.Message) string {
	evs, err := r.st.Events(t.Context(), r.acc.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s[%s] %s", e.Type, e.Carrier, e.Detail))
	}
	return strings.Join(out, " | ")
}

// TestFailover: carrier a is taken down while messages flow; within
// seconds its traffic moves to b, the route's failover, with the reason
// in each message's history; when a comes back, new traffic returns.
func TestFailover(t *testing.T) {
	t.Parallel()
	r := newRouteRig(t, []routing.Route{{Name: "uk", Prefixes: []string{"44"},
		Carriers: []routing.Weighted{{Carrier: "a"}}, Failover: []string{"b"}}}, routing.HealthOptions{})
	eventually(t, "a bound", func() bool { return r.sim("a").Stats().Sessions == 1 })
	first := r.send(t, 300, "1") // 1.5 s at 200/s
	eventually(t, "100 submitted on a", func() bool { return r.sim("a").Stats().Submits >= 100 })
	if n := r.sim("b").Stats().Submits; n != 0 {
		t.Fatalf("b got %d submits while a was up", n)
	}
	r.mu.Lock()
	r.sims["a"].Close() // a goes down
	r.mu.Unlock()
	down := time.Now()
	took := eventually(t, "traffic on b", func() bool { return r.sim("b").Stats().Submits > 0 })
	t.Logf("a down: the first submit on b %v later", took.Round(time.Millisecond))
	if took > 10*time.Second { // 0.5 s DownAfter; the rest is -race on a loaded machine
		t.Fatalf("failover took %v", took)
	}
	eventually(t, "every message sent or delivered", func() bool {
		c := r.statuses(t, first)
		return c[herald.StatusSent]+c[herald.StatusDelivered] == len(first)
	})
	t.Logf("statuses %v; a %d submits, b %d submits, %v after a went down", r.statuses(t, first),
		r.sim("a").Stats().Submits, r.sim("b").Stats().Submits, time.Since(down).Round(time.Millisecond))
	last := first[len(first)-1]
	if h := r.details(t, last); !strings.Contains(h, "route uk: failover to b because a down") {
		t.Fatalf("the last message's history does not say why it went to b: %s", h)
	}
	if got, _ := r.st.Message(t.Context(), r.acc.ID, last.ID, false); got.Carrier != "b" {
		t.Fatalf("the message records carrier %q, want b (chosen at dispatch)", got.Carrier)
	}

	// a comes back on the same address: new traffic returns to it.
	r.mu.Lock()
	r.sims["a"] = startSim(t, r.addr["a"])
	r.mu.Unlock()
	took = eventually(t, "a up again", func() bool { return r.disp.Up("a") })
	t.Logf("a back: bound again %v later", took.Round(time.Millisecond))
	bBefore := r.sim("b").Stats().Submits
	second := r.send(t, 50, "2")
	eventually(t, "the new messages on a", func() bool { return r.sim("a").Stats().Submits >= 50 })
	if n := r.sim("b").Stats().Submits - bBefore; n != 0 {
		t.Fatalf("b got %d of the new messages after a came back", n)
	}
	if h := r.details(t, second[0]); !strings.Contains(h, "route uk: carrier a") {
		t.Fatalf("history after a came back: %s", h)
	}
}

// TestDemotedOnUndeliv: a's receipts turn to UNDELIV; once its delivery
// rate over the window falls under the minimum it is demoted and the
// traffic goes to b; after the probation a takes traffic again.
func TestDemotedOnUndeliv(t *testing.T) {
	t.Parallel()
	// a sends at 50/s, so that the 200 messages below take 4 s there:
	// its receipts reach the health record (after the submit responses
	// are stored, then the receipts) well before a has sent half of them,
	// even on a loaded machine.
	r := newRouteRigWith(t, []routing.Route{{Name: "uk", Carriers: []routing.Weighted{{Carrier: "a"}}, Failover: []string{"b"}}},
		routing.HealthOptions{Window: time.Minute, MinReceipts: 20, MinDeliveryRate: 0.5, Probation: 2 * time.Second},
		func(name string, _ *smscsim.Options, cc *carrier.Config) {
			if name == "a" {
				cc.TPS = 50
			}
		})
	eventually(t, "a bound", func() bool { return r.sim("a").Stats().Sessions == 1 })
	ok := r.send(t, 30, "1")
	eventually(t, "30 delivered", func() bool { return r.statuses(t, ok)[herald.StatusDelivered] == 30 })
	r.sim("a").SetUndeliv(1)
	bad := r.send(t, 200, "2")
	eventually(t, "traffic on b", func() bool { return r.sim("b").Stats().Submits > 0 })
	eventually(t, "all final", func() bool {
		c := r.statuses(t, bad)
		return c[herald.StatusDelivered]+c[herald.StatusUndelivered] == len(bad)
	})
	sa, sb := r.sim("a").Stats(), r.sim("b").Stats()
	t.Logf("after UNDELIV on a: a %d submits, b %d submits; statuses %v; a's health %+v", sa.Submits, sb.Submits,
		r.statuses(t, bad), r.health.Snapshot("a", time.Now()))
	if sb.Submits < 100 {
		t.Fatalf("only %d of 200 went to b after a's receipts turned UNDELIV", sb.Submits)
	}
	last := bad[len(bad)-1]
	if h := r.details(t, last); !strings.Contains(h, "failover to b because a demoted") {
		t.Fatalf("history does not say a was demoted: %s", h)
	}
	// Probation over: a takes traffic again.
	r.sim("a").SetUndeliv(0)
	eventually(t, "a no longer demoted", func() bool { d, _ := r.health.Demoted("a", time.Now()); return !d })
	before := r.sim("a").Stats().Submits
	r.send(t, 20, "3")
	eventually(t, "a takes traffic again", func() bool { return r.sim("a").Stats().Submits >= before+20 })
}

// TestDownWithoutFailover: when the only carrier of a route is down, its
// parts wait for it (no loop of marking and giving back) and go once it
// returns.
func TestDownWithoutFailover(t *testing.T) {
	t.Parallel()
	r := newRouteRig(t, []routing.Route{{Name: "only-a", Carriers: []routing.Weighted{{Carrier: "a"}}}}, routing.HealthOptions{})
	eventually(t, "a bound", func() bool { return r.sim("a").Stats().Sessions == 1 })
	r.mu.Lock()
	r.sims["a"].Close()
	r.mu.Unlock()
	eventually(t, "a down", func() bool { return !r.disp.Up("a") })
	ms := r.send(t, 100, "1")
	time.Sleep(2 * time.Second) // a stays down for a while: the test is what does not happen meanwhile
	if n := r.disp.Stats().Retried.Load(); n > 300 {
		t.Fatalf("%d parts given back while a was down: a loop", n)
	}
	r.mu.Lock()
	r.sims["a"] = startSim(t, r.addr["a"])
	r.mu.Unlock()
	eventually(t, "all delivered once a is back", func() bool {
		return r.statuses(t, ms)[herald.StatusDelivered] == len(ms)
	})
	if n := r.sim("b").Stats().Submits; n != 0 {
		t.Fatalf("b, on no route, got %d submits", n)
	}
	t.Logf("retried (given back) while down: %d", r.disp.Stats().Retried.Load())
}

// TestRerouteOnNoRoute: carrier a answers every submit with a vendor "no
// route" code listed in its RerouteOn: the parts go to b, the route's
// failover, instead of failing; with no other carrier the refusal
// stands.
func TestRerouteOnNoRoute(t *testing.T) {
	t.Parallel()
	noRoute := pdu.Status(0x400)
	configure := func(name string, so *smscsim.Options, cc *carrier.Config) {
		if name == "a" {
			so.Errors = []smscsim.ErrorRate{{Status: noRoute, Fraction: 1}}
			cc.RerouteOn = []pdu.Status{noRoute}
		}
	}
	r := newRouteRigWith(t, []routing.Route{
		{Name: "uk", Prefixes: []string{"447911"}, Carriers: []routing.Weighted{{Carrier: "a"}}, Failover: []string{"b"}},
		{Name: "fr", Prefixes: []string{"33"}, Carriers: []routing.Weighted{{Carrier: "a"}}},
	}, routing.HealthOptions{}, configure)
	eventually(t, "both bound", func() bool { return r.sim("a").Stats().Sessions == 1 && r.sim("b").Stats().Sessions == 1 })
	ms := r.send(t, 20, "1")
	eventually(t, "all delivered", func() bool { return r.statuses(t, ms)[herald.StatusDelivered] == len(ms) })
	if h := r.details(t, ms[0]); !strings.Contains(h, "carrier a has no route for it (") ||
		!strings.Contains(h, "route uk: failover to b because a has no route for it") {
		t.Fatalf("history: %s", h)
	}
	// The fr route has no other carrier: the refusal stands.
	now := time.Now().UTC()
	m := testMessage(r.acc.ID, "+33612345678", herald.TypeTransactional, "a", now)
	if err := r.st.CreateMessages(t.Context(), []*store.NewMessage{{Message: m}}); err != nil {
		t.Fatal(err)
	}
	r.disp.Accepted([]*herald.Message{m})
	eventually(t, "failed", func() bool { return r.statuses(t, []*herald.Message{m})[herald.StatusFailed] == 1 })
}
