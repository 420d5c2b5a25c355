package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/cluster"
	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smscsim"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/postgres"
	"github.com/herald-sms/herald/internal/store/postgres/pgtest"
	"github.com/herald-sms/herald/internal/webhook"
)

// clusterNodes runs Herald nodes as child processes on one PostgreSQL
// database.
type clusterNodes struct {
	t     *testing.T
	bin   string
	env   []string
	args  []string
	procs []*heraldProcess
	urls  []atomic.Pointer[string]
	// nodeArgs, when set, adds node i's own arguments after args (a
	// later flag wins: e.g. its own --store).
	nodeArgs func(i int) []string
}

func (c *clusterNodes) start(i int) {
	args := append(slices.Clone(c.args), "--node", fmt.Sprintf("node%d", i))
	if c.nodeArgs != nil {
		args = append(args, c.nodeArgs(i)...)
	}
	p := startHerald(c.t, c.bin, c.env, args...)
	c.procs[i] = p
	c.urls[i].Store(&p.url)
}

// cluster answers GET /v1/cluster on node i.
func (c *clusterNodes) cluster(i int, token string) (view struct {
	Leader string       `json:"leader"`
	Nodes  []store.Node `json:"nodes"`
}, err error) {
	req, _ := http.NewRequest("GET", *c.urls[i].Load()+"/v1/cluster", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return view, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return view, fmt.Errorf("GET /v1/cluster: %d %s", resp.StatusCode, b)
	}
	return view, json.NewDecoder(resp.Body).Decode(&view)
}

// clusterAccount opens the store at url (not as a node) and makes an
// account with an API key.
func clusterAccount(t *testing.T, url, name string) (*postgres.Store, *herald.Account, string) {
	t.Helper()
	st, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := st.EnsureAccount(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	key, k := herald.NewAPIKey(acc.ID)
	if err := st.CreateAPIKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	return st, acc, key
}

// slotHolders maps each bind slot lease to the node holding it.
func slotHolders(nodes []store.Node) map[string]string {
	out := map[string]string{}
	for _, n := range nodes {
		for _, l := range n.Leases {
			if strings.HasPrefix(l, "bind/") {
				out[l] = n.ID
			}
		}
	}
	return out
}

// TestClusterKillNode runs three nodes on one PostgreSQL database against
// one SMSC simulator that allows 2 binds, sends 50,000 messages spread
// over the nodes, kills a node that holds a bind with SIGKILL mid-run and
// restarts it, and checks the promises across the cluster: every
// accepted message reaches a final state, none is lost, the only
// duplicates at the carrier are resends Herald counted (the killed
// node's in-flight window), its bind is taken over by another node, and
// every message's final webhook is delivered.
func TestClusterKillNode(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: three Herald processes, 50,000 messages and a SIGKILL")
	}
	url := pgtest.URL(t)
	total, killAfter := 50000, 20000
	if n, err := strconv.Atoi(os.Getenv("HERALD_CLUSTER_TEST_MESSAGES")); err == nil && n > 0 {
		total, killAfter = n, n*2/5 // a shorter run while developing
	}
	const (
		batchSize = 100
		workers   = 6
		nodes     = 3
		admin     = "cluster-test-admin-token"
	)
	var mu sync.Mutex
	seen := map[string]int{} // destination → submits the simulator accepted
	sim, err := smscsim.New(smscsim.Options{Addr: "127.0.0.1:0", OnSubmit: func(s smscsim.Submitted) {
		mu.Lock()
		seen[s.Dest.Addr]++
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	// Every final status event goes to this receiver.
	var hookMu sync.Mutex
	hooks := map[string]int{} // message id → message.delivered deliveries
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev herald.EventView
		if err := json.NewDecoder(r.Body).Decode(&ev); err == nil && ev.Type == "message.delivered" {
			hookMu.Lock()
			hooks[ev.Data.ID]++
			hookMu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	st, acc, key := clusterAccount(t, url, "cluster")
	if err := st.CreateEndpoint(t.Context(), &herald.WebhookEndpoint{ID: herald.NewID("whe", time.Now().UnixMilli()),
		AccountID: acc.ID, URL: receiver.URL, Events: []string{"message.delivered"}, Secret: webhook.NewSecret(),
		CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	data := t.TempDir()
	keyFile := filepath.Join(data, "verify.key")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	bin, env := heraldBinary(t)
	c := &clusterNodes{t: t, bin: bin, env: append(env, "HERALD_ADMIN_TOKEN="+admin, "HERALD_VERIFY_KEY="+strings.Repeat("ab", 32)),
		args: []string{"--data", data, "--store", url, "--http", "127.0.0.1:0", "--simulator", "off",
			"--webhook-allow-loopback", "--carrier", "smpp://herald:pw@" + sim.Addr() + "?binds=2&window=100"},
		procs: make([]*heraldProcess, nodes), urls: make([]atomic.Pointer[string], nodes)}
	for i := range nodes {
		c.start(i)
	}
	defer func() {
		for _, p := range c.procs {
			p.cmd.Process.Signal(syscall.SIGKILL)
		}
	}()

	// Wait until the cluster holds both bind slots.
	deadline := time.Now().Add(60 * time.Second)
	var holders map[string]string
	for {
		v, err := c.cluster(0, admin)
		if err == nil {
			// Both slots held, by two nodes (the first node to start
			// takes both, then gives one to a node that has none).
			if holders = slotHolders(v.Nodes); len(holders) == 2 && len(slices.Compact(slices.Sorted(maps.Values(holders)))) == 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not take both bind slots: %v %v", holders, err)
		}
		time.Sleep(100 * time.Millisecond) // polling the cluster's state
	}
	t.Logf("bind slots at the start: %v", holders)
	victim := -1
	for i := range nodes {
		if slices.Contains(slices.Collect(maps.Values(holders)), fmt.Sprintf("node%d", i)) {
			victim = i
			break
		}
	}

	var accepted sync.Map // message id → destination
	var acceptedN atomic.Int64
	var nextBatch atomic.Int64
	killed := make(chan struct{})
	var killOnce sync.Once
	client := &http.Client{Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	post := func(b, node int) bool {
		ms, ok := postBatch(ctx, client, *c.urls[node].Load(), key, fmt.Sprintf("batch-%d", b), "+447911", b*batchSize, batchSize)
		if !ok {
			return false
		}
		n := 0
		for _, m := range ms {
			if _, dup := accepted.LoadOrStore(m.ID, m.To); !dup {
				n++
			}
		}
		if acceptedN.Add(int64(n)) >= int64(killAfter) {
			killOnce.Do(func() { close(killed) })
		}
		return true
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				b := int(nextBatch.Add(1) - 1)
				if b >= total/batchSize {
					return
				}
				// Batches go round the nodes; a failed one is retried on
				// the next node with the same Idempotency-Key.
				for try := 0; !post(b, (b+w+try)%nodes); try++ {
					if ctx.Err() != nil {
						t.Errorf("batch %d never accepted", b)
						return
					}
					time.Sleep(20 * time.Millisecond) // back off before the next node
				}
			}
		})
	}

	<-killed
	if err := c.procs[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.procs[victim].done
	killedAt := time.Now()
	killedName := fmt.Sprintf("node%d", victim)
	t.Logf("killed %s (holding a bind slot) with SIGKILL after %d messages accepted", killedName, acceptedN.Load())

	// Its slot is taken over by a live node within about 15 s.
	other := (victim + 1) % nodes
	for {
		v, err := c.cluster(other, admin)
		if err == nil {
			h := slotHolders(v.Nodes)
			if len(h) == 2 && !slices.Contains(slices.Collect(maps.Values(h)), killedName) {
				t.Logf("bind slots taken over %v after the kill: %v", time.Since(killedAt).Round(100*time.Millisecond), h)
				// A slot lease runs out TTL after its last renewal, and a
				// live node looks for free slots every Renew: one round,
				// and four more of slack for a machine this busy (three
				// processes, PostgreSQL and the load on two cores).
				if d, most := time.Since(killedAt), cluster.DefaultTTL+5*cluster.DefaultRenew; d > most {
					t.Errorf("takeover took %v, want at most %v", d, most)
				}
				break
			}
		}
		if time.Since(killedAt) > 60*time.Second {
			t.Fatalf("the killed node's bind slot was not taken over: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // polling the cluster's state
	}
	c.start(victim)
	wg.Wait()
	t.Logf("all %d accepted %v after the kill", acceptedN.Load(), time.Since(killedAt).Round(time.Second))
	if acceptedN.Load() != int64(total) {
		t.Fatalf("%d messages accepted, want %d", acceptedN.Load(), total)
	}

	// Wait until every message is final and its webhook delivered.
	st, err = postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lastLog := time.Now()
	for {
		pending := 0
		for _, s := range []herald.Status{herald.StatusAccepted, herald.StatusQueued, herald.StatusSending, herald.StatusSent, herald.StatusScheduled} {
			page, _, err := st.ListMessages(ctx, acc.ID, store.MessageFilter{Status: s, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			pending += len(page)
		}
		hookMu.Lock()
		hooked := len(hooks)
		hookMu.Unlock()
		if pending == 0 && hooked >= total {
			break
		}
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			t.Logf("waiting: ≥%d messages pending, %d of %d webhooks; simulator: %d submits", pending, hooked, total, sim.Stats().Submits)
		}
		if ctx.Err() != nil {
			for i, p := range c.procs {
				p.cmd.Process.Signal(syscall.SIGQUIT)
				<-p.done
				out := p.stderr.String()
				t.Logf("node%d stderr (last 20000 bytes):\n%s", i, out[max(0, len(out)-20000):])
			}
			t.Fatalf("%d messages still pending, %d of %d webhooks; simulator %+v", pending, hooked, total, sim.Stats())
		}
		time.Sleep(250 * time.Millisecond) // polling the store
	}
	for i, p := range c.procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("node%d exited with %v", i, err)
			}
		case <-time.After(time.Minute):
			p.cmd.Process.Signal(syscall.SIGQUIT)
			<-p.done
			out := p.stderr.String()
			t.Errorf("node%d did not stop within a minute of SIGTERM; stderr (last 30000 bytes):\n%s", i, out[max(0, len(out)-30000):])
		}
	}

	lost, notDelivered, resends := 0, 0, 0
	accepted.Range(func(id, _ any) bool {
		m, err := st.Message(t.Context(), acc.ID, id.(string), false)
		switch {
		case err != nil:
			lost++
		case m.Status != herald.StatusDelivered:
			notDelivered++
		default:
			resends += m.Resends
		}
		return true
	})
	mu.Lock()
	duplicates, distinct := 0, len(seen)
	for _, n := range seen {
		duplicates += n - 1
	}
	mu.Unlock()
	hookMu.Lock()
	hookDup := 0
	for _, n := range hooks {
		hookDup += n - 1
	}
	hooked := len(hooks)
	hookMu.Unlock()
	t.Logf("%d accepted over %d nodes, %d lost, %d not delivered; simulator: %d numbers, %d duplicate submits, %d binds accepted; Herald counted %d resends; webhooks: %d messages, %d repeated deliveries",
		total, nodes, lost, notDelivered, distinct, duplicates, sim.Stats().Binds, resends, hooked, hookDup)
	if lost != 0 || notDelivered != 0 {
		t.Errorf("%d accepted messages lost, %d not delivered", lost, notDelivered)
	}
	if distinct < total {
		t.Errorf("the simulator saw only %d of %d numbers", distinct, total)
	}
	if duplicates > resends {
		t.Errorf("%d duplicates reached the simulator but Herald counted only %d resends", duplicates, resends)
	}
	if resends > 2000 {
		t.Errorf("%d resends: more than the killed node's in-flight bound of 2,000", resends)
	}
	if hooked != total {
		t.Errorf("message.delivered webhooks for %d messages, want %d", hooked, total)
	}
}

// TestClusterCarrierLimits: three nodes send to a carrier that allows 2
// binds and 500 submits a second; the simulator's own counters show
// that the cluster as a whole never had more than 2 binds open, nor
// submitted more than 500 in any one-second window.
func TestClusterCarrierLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: three Herald processes and 6,000 messages at 500/s")
	}
	url := pgtest.URL(t)
	const (
		total     = 6000
		batchSize = 100
		nodes     = 3
		admin     = "cluster-test-admin-token"
	)
	sim, err := smscsim.New(smscsim.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	st, _, key := clusterAccount(t, url, "limits")
	st.Close()
	bin, env := heraldBinary(t)
	c := &clusterNodes{t: t, bin: bin, env: append(env, "HERALD_ADMIN_TOKEN="+admin, "HERALD_VERIFY_KEY="+strings.Repeat("cd", 32)),
		args: []string{"--data", t.TempDir(), "--store", url, "--http", "127.0.0.1:0", "--simulator", "off",
			"--carrier", "smpp://herald:pw@" + sim.Addr() + "?binds=2&window=50&tps=500"},
		procs: make([]*heraldProcess, nodes), urls: make([]atomic.Pointer[string], nodes)}
	for i := range nodes {
		c.start(i)
	}
	defer func() {
		for _, p := range c.procs {
			p.cmd.Process.Signal(syscall.SIGKILL)
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	for b := range total / batchSize {
		wg.Go(func() {
			if _, ok := postBatch(ctx, client, *c.urls[b%nodes].Load(), key, "", "+447700", b*batchSize, batchSize); !ok {
				t.Errorf("batch %d not accepted", b)
			}
		})
	}
	wg.Wait()
	start := time.Now()
	for sim.Stats().Submits < total {
		if ctx.Err() != nil {
			t.Fatalf("the simulator got %d of %d submits", sim.Stats().Submits, total)
		}
		time.Sleep(100 * time.Millisecond) // polling the simulator's counters
	}
	elapsed := time.Since(start)
	stats := sim.Stats()
	v, err := c.cluster(0, admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("simulator: %d submits, at most %d binds at once (%d binds in all), at most %d submits in one second; bind slots %v; the last %d submits took %v after the last batch was accepted",
		stats.Submits, stats.MaxSessions, stats.Binds, stats.MaxSubmitsPerSecond, slotHolders(v.Nodes), total, elapsed.Round(100*time.Millisecond))
	if stats.MaxSessions > 2 {
		t.Errorf("the simulator saw %d binds at once from the cluster; the carrier allows 2", stats.MaxSessions)
	}
	if stats.MaxSubmitsPerSecond > 500 {
		t.Errorf("the simulator saw %d submits in one second from the cluster; the carrier allows 500", stats.MaxSubmitsPerSecond)
	}
	if h := slotHolders(v.Nodes); len(slices.Compact(slices.Sorted(maps.Values(h)))) != 2 {
		t.Errorf("bind slots %v: want them on two nodes", h)
	}
}
