package smppserver

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/postgres"
	"github.com/herald-sms/herald/internal/store/postgres/pgtest"
)

// clusterNode is one Herald node of a two-node cluster test: its store
// on the shared schema, its SMPP server's address and the client
// receiver bound to that server.
type clusterNode struct {
	id   string
	st   *postgres.Store
	addr string
	rx   *smpp.Session
}

// outboxLog records, across the receivers of both nodes, which rows
// (by index) each receiver was delivered, in arrival order.
type outboxLog struct {
	mu   sync.Mutex
	got  [2][]int // mu guards got: per node, the row indexes delivered there
	wake chan struct{}
	// gate, when set, holds each deliver_sm unanswered until it is
	// closed.
	gate chan struct{}
}

// receiver is node i's client handler: it records the row, waits for
// the gate, and acknowledges.
func (l *outboxLog) receiver(i int) smpp.Handler {
	return smpp.HandlerFunc(func(r *smpp.Request) {
		d, ok := r.Body.(*pdu.DeliverSM)
		if !ok {
			r.Respond(pdu.StatusInvCmdID, nil)
			return
		}
		row, err := strconv.Atoi(strings.TrimPrefix(string(d.Message), "row "))
		if err != nil {
			r.Respond(pdu.StatusXTAppn, nil)
			return
		}
		l.mu.Lock()
		l.got[i] = append(l.got[i], row)
		l.mu.Unlock()
		select {
		case l.wake <- struct{}{}:
		default:
		}
		if l.gate != nil {
			<-l.gate
		}
		r.Respond(pdu.StatusOK, nil)
	})
}

func (l *outboxLog) snapshot() [2][]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return [2][]int{append([]int(nil), l.got[0]...), append([]int(nil), l.got[1]...)}
}

// startCluster opens nodes "a" and "b" on a fresh schema, each with an
// SMPP server (holding outbox leases when leases is set), creates an
// account with an SMPP user, and binds one receiver of that user to
// each server.
func startCluster(t *testing.T, leases bool, log *outboxLog) (nodes [2]*clusterNode, account string) {
	t.Helper()
	url := pgtest.URL(t)
	for i, id := range []string{"a", "b"} {
		st, err := postgres.Open(t.Context(), url, postgres.Options{Node: id})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		o := Options{Store: st, PollInterval: 10 * time.Millisecond, RetryDelay: 10 * time.Millisecond}
		if leases {
			o.Leases = st
		}
		_, addr := serve(t, o)
		nodes[i] = &clusterNode{id: id, st: st, addr: addr}
	}
	acc, err := nodes[0].st.EnsureAccount(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	u := &herald.SMPPUser{ID: herald.NewID("smu", time.Now().UnixMilli()), AccountID: acc.ID, SystemID: "acme",
		PasswordHash: herald.HashSMPPPassword(testPassword)}
	if err := nodes[0].st.CreateSMPPUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		rx, err := smpp.Dial(ctx, n.addr, pdu.Bind{Role: pdu.Receiver, SystemID: "acme", Password: testPassword},
			smpp.Config{}, log.receiver(i))
		cancel()
		if err != nil {
			t.Fatalf("bind to node %s: %v", n.id, err)
		}
		t.Cleanup(func() { rx.Close() })
		n.rx = rx
	}
	return nodes, acc.ID
}

// addRows queues rows [from, to) of the account, five to a commit,
// alternating between the nodes' stores, and records each row's seq.
func addRows(t *testing.T, nodes [2]*clusterNode, account string, from, to int, seqs map[int]int64) {
	t.Helper()
	const batch = 5
	for i := from; i < to; i += batch {
		var ms []*herald.ClientMessage
		for k := i; k < min(i+batch, to); k++ {
			ms = append(ms, &herald.ClientMessage{AccountID: account, Kind: herald.ClientInbound, MessageID: fmt.Sprintf("inb_%d", k),
				Status: herald.StatusReceived, From: "+447700900601", To: "+447700900602", Body: fmt.Sprintf("row %d", k)})
		}
		if err := nodes[(i/batch)%2].st.AddClientMessages(t.Context(), ms); err != nil {
			t.Fatalf("rows from %d: %v", i, err)
		}
		for k, m := range ms {
			seqs[i+k] = m.Seq
		}
	}
}

// waitDelivered waits until every row below n was delivered to one of
// the receivers and the account's outbox is empty (every row
// acknowledged), then returns the deliveries.
func waitDelivered(t *testing.T, nodes [2]*clusterNode, account string, log *outboxLog, n int) [2][]int {
	t.Helper()
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond) // re-reads the outbox; log.wake tells of deliveries
	defer tick.Stop()
	for {
		got := log.snapshot()
		seen := map[int]bool{}
		for _, rows := range got {
			for _, r := range rows {
				seen[r] = true
			}
		}
		if len(seen) == n {
			left, err := nodes[0].st.ClientMessages(t.Context(), account, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) == 0 {
				return got
			}
		}
		select {
		case <-log.wake:
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%d of %d rows delivered, node a's receiver got %d, node b's %d", len(seen), n, len(got[0]), len(got[1]))
		}
	}
}

// checkOrder fails unless each receiver got its rows in seq order.
func checkOrder(t *testing.T, nodes [2]*clusterNode, got [2][]int, seqs map[int]int64) {
	t.Helper()
	for i, rows := range got {
		for k := 1; k < len(rows); k++ {
			if seqs[rows[k]] <= seqs[rows[k-1]] {
				t.Fatalf("node %s's receiver got row %d (seq %d) after row %d (seq %d)",
					nodes[i].id, rows[k], seqs[rows[k]], rows[k-1], seqs[rows[k-1]])
			}
		}
	}
}

// copies counts the deliveries of each row across both receivers.
func copies(got [2][]int) map[int]int {
	n := map[int]int{}
	for _, rows := range got {
		for _, r := range rows {
			n[r]++
		}
	}
	return n
}

// outboxHolder waits until a node other than not holds the account's
// outbox lease and returns it.
func outboxHolder(t *testing.T, st store.Cluster, account, not string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ls, err := st.Leases(t.Context(), "outbox/")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if l.Name == "outbox/"+account && l.Node != not {
				return l.Node
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no node but %q took the lease outbox/%s: %+v", not, account, ls)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline, not timing
	}
}

// TestClusterOutboxOneNodeDelivers binds a receiver of one account to
// each of two nodes sharing a PostgreSQL store: the node holding the
// lease outbox/ACCOUNT delivers every row exactly once, in seq order;
// when its receiver unbinds it releases the lease, and the other node
// delivers the rows that come next, without waiting for the lease to
// expire.
func TestClusterOutboxOneNodeDelivers(t *testing.T) {
	t.Parallel()
	const first, then = 500, 100
	log := &outboxLog{wake: make(chan struct{}, 1)}
	nodes, account := startCluster(t, true, log)
	holder := outboxHolder(t, nodes[0].st, account, "")
	h := 0
	if holder == "b" {
		h = 1
	}
	other := 1 - h

	seqs := map[int]int64{}
	addRows(t, nodes, account, 0, first, seqs)
	got := waitDelivered(t, nodes, account, log, first)
	for r, c := range copies(got) {
		if c != 1 {
			t.Errorf("row %d (seq %d) delivered %d times", r, seqs[r], c)
		}
	}
	checkOrder(t, nodes, got, seqs)
	if len(got[other]) != 0 {
		t.Fatalf("node %s's receiver got %d rows while node %s held the lease", nodes[other].id, len(got[other]), holder)
	}
	t.Logf("%d rows, all acknowledged: node %s (lease holder) delivered %d, node %s %d",
		first, holder, len(got[h]), nodes[other].id, len(got[other]))

	// The holder's receiver leaves: the other node takes the lease at
	// once (it was released), well before it would have expired.
	unbound := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	err := nodes[h].rx.Unbind(ctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if next := outboxHolder(t, nodes[1].st, account, holder); next != nodes[other].id {
		t.Fatalf("lease held by %s after the unbind, want %s", next, nodes[other].id)
	}
	moved := time.Since(unbound)
	if moved >= outboxLeaseTTL/2 {
		t.Fatalf("the lease moved %v after the unbind: it was not released, it expired", moved)
	}
	addRows(t, nodes, account, first, first+then, seqs)
	all := waitDelivered(t, nodes, account, log, first+then)
	for r, c := range copies(all) {
		if c != 1 {
			t.Errorf("row %d (seq %d) delivered %d times", r, seqs[r], c)
		}
	}
	checkOrder(t, nodes, all, seqs)
	if n := len(all[h]) - len(got[h]); n != 0 {
		t.Fatalf("node %s's receiver got %d rows after it unbound", holder, n)
	}
	if n := len(all[other]); n != then {
		t.Fatalf("node %s's receiver got %d rows after the takeover, want %d", nodes[other].id, n, then)
	}
	t.Logf("node %s's receiver unbound: the lease moved to node %s in %v; %d more rows, %d delivered by node %s, %d by node %s",
		holder, nodes[other].id, moved.Round(time.Millisecond), then, len(all[other]), nodes[other].id, len(all[h])-len(got[h]), holder)
}

// TestClusterOutboxWithoutLeases is the control: without leases, both
// nodes deliver the account's rows to their receiver, so rows are
// delivered twice. Each receiver holds its first deliver_sm until both
// have one, so that neither node acknowledges the rows before the other
// read them.
func TestClusterOutboxWithoutLeases(t *testing.T) {
	t.Parallel()
	const rows = 500
	log := &outboxLog{wake: make(chan struct{}, 1), gate: make(chan struct{})}
	var open sync.Once
	nodes, account := startCluster(t, false, log)
	t.Cleanup(func() { open.Do(func() { close(log.gate) }) }) // before the receivers close
	seqs := map[int]int64{}
	addRows(t, nodes, account, 0, rows, seqs)
	deadline := time.After(30 * time.Second)
	for {
		got := log.snapshot()
		if len(got[0]) > 0 && len(got[1]) > 0 {
			break
		}
		select {
		case <-log.wake:
		case <-deadline:
			t.Fatalf("both receivers never got a row: %d and %d", len(got[0]), len(got[1]))
		}
	}
	open.Do(func() { close(log.gate) })
	got := waitDelivered(t, nodes, account, log, rows)
	checkOrder(t, nodes, got, seqs)
	twice := 0
	for _, c := range copies(got) {
		if c > 1 {
			twice++
		}
	}
	if twice == 0 {
		t.Fatal("no row delivered twice without leases: the test cannot tell")
	}
	t.Logf("without leases, %d rows: node a delivered %d, node b %d; %d rows delivered to both", rows, len(got[0]), len(got[1]), twice)
}
