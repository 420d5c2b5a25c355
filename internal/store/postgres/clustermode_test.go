package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/postgres"
	"github.com/herald-sms/herald/internal/store/postgres/pgtest"
)

// The tests of cluster mode (store.Cluster): stores opened with a node
// id on one schema, as the nodes of a cluster open it.

// openNode opens the store of node on url (a plain store when node is
// ""), closed when the test ends.
func openNode(t *testing.T, url, node string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, postgres.Options{Node: node})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// clusterOf opens nodes "a" and "b" on a fresh schema, with an account.
func clusterOf(t *testing.T) (url string, a, b *postgres.Store, acc *herald.Account) {
	t.Helper()
	url = pgtest.URL(t)
	a, b = openNode(t, url, "a"), openNode(t, url, "b")
	acc, err := a.EnsureAccount(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return url, a, b, acc
}

func onlySim(carrier string) bool { return carrier == "sim" }

// msgAt is newMessage of type typ, created at.
func msgAt(acc *herald.Account, typ herald.MessageType, at time.Time) *herald.Message {
	m := newMessage(acc, at)
	m.Type = typ
	return m
}

// create stores ms through s, failing the test on any error.
func create(t *testing.T, s store.Store, ms ...*herald.Message) {
	t.Helper()
	items := make([]*store.NewMessage, len(ms))
	for i, m := range ms {
		items[i] = &store.NewMessage{Message: m}
	}
	if err := s.CreateMessages(t.Context(), items); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Err != nil {
			t.Fatalf("create %s: %v", it.Message.ID, it.Err)
		}
	}
}

// reread returns m as stored, with its parts.
func reread(t *testing.T, s store.Store, m *herald.Message) *herald.Message {
	t.Helper()
	got, err := s.Message(t.Context(), m.AccountID, m.ID, true)
	if err != nil {
		t.Fatalf("read %s: %v", m.ID, err)
	}
	return got
}

// move applies one transition of part 1 of m through s and returns
// whether it was applied.
func move(t *testing.T, s store.Store, m *herald.Message, to herald.Status) bool {
	t.Helper()
	out, err := s.Apply(t.Context(), []store.Transition{{PartRef: store.PartRef{MessageID: m.ID, Seq: 1}, To: to,
		At: time.Now().UTC(), Carrier: m.Carrier}})
	if err != nil {
		t.Fatalf("apply %s → %s: %v", m.ID, to, err)
	}
	return out[0].Changed
}

func idsOf(ms []*herald.Message) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestClusterOwnerAtCreation(t *testing.T) {
	t.Parallel()
	_, a, b, acc := clusterOf(t)
	a.SetDispatching(onlySim)
	now := time.Now().UTC()

	onA := msgAt(acc, herald.TypeTransactional, now)
	otherCarrier := msgAt(acc, herald.TypeTransactional, now)
	otherCarrier.Carrier = "other"
	soon := msgAt(acc, herald.TypeTransactional, now)
	soon.SendAt = now.Add(500 * time.Millisecond) // within claimAhead: held by a's scheduler
	later := msgAt(acc, herald.TypeTransactional, now)
	later.SendAt, later.Status, later.Parts[0].Status = now.Add(time.Hour), herald.StatusScheduled, herald.StatusScheduled
	create(t, a, onA, otherCarrier, soon, later)

	onB := msgAt(acc, herald.TypeTransactional, now)
	ephemeral := msgAt(acc, herald.TypeOTP, now)
	ephemeral.Ephemeral = true
	create(t, b, onB, ephemeral)

	b.SetDispatching(func(string) bool { return false })
	onBNotDispatching := msgAt(acc, herald.TypeTransactional, now)
	create(t, b, onBNotDispatching)

	for _, c := range []struct {
		what  string
		m     *herald.Message
		owner string
	}{
		{"created on a, which dispatches sim", onA, "a"},
		{"created on a for a carrier a does not dispatch", otherCarrier, ""},
		{"created on a, due within claimAhead", soon, "a"},
		{"created on a, due in an hour", later, ""},
		{"created on b, dispatching unset", onB, ""},
		{"created on b, dispatching nothing", onBNotDispatching, ""},
		{"ephemeral, created on b without dispatching", ephemeral, "b"},
	} {
		// Read through the other node: the owner is stored, not only
		// set on the caller's copy.
		if got := reread(t, a, c.m).Owner; got != c.owner {
			t.Errorf("%s: owner %q, want %q", c.what, got, c.owner)
		}
		if c.m.Owner != c.owner {
			t.Errorf("%s: the caller's copy has owner %q, want %q", c.what, c.m.Owner, c.owner)
		}
	}
	if !reread(t, b, ephemeral).Ephemeral {
		t.Error("the ephemeral flag was not stored")
	}
}

func TestClusterClaimOrder(t *testing.T) {
	t.Parallel()
	url, a, b, acc := clusterOf(t)
	plain := openNode(t, url, "") // a store outside the cluster: it owns nothing, even an ephemeral message
	now := time.Now().UTC()
	at := func(i int) time.Time { return now.Add(-time.Minute + time.Duration(i)*time.Millisecond) }

	m0 := msgAt(acc, herald.TypeMarketing, at(0))
	t1 := msgAt(acc, herald.TypeTransactional, at(1))
	o2 := msgAt(acc, herald.TypeOTP, at(2))
	m3 := msgAt(acc, herald.TypeMarketing, at(3))
	o4 := msgAt(acc, herald.TypeOTP, at(4))
	t5 := msgAt(acc, herald.TypeTransactional, at(5))
	o6 := msgAt(acc, herald.TypeOTP, at(6))
	other := msgAt(acc, herald.TypeOTP, at(7))
	other.Carrier = "other"
	scheduled := msgAt(acc, herald.TypeOTP, at(8))
	scheduled.SendAt = now.Add(time.Hour)
	scheduled.Status, scheduled.Parts[0].Status = herald.StatusScheduled, herald.StatusScheduled
	create(t, b, m0, t1, o2, m3, o4, t5, o6, other, scheduled)
	ephemeral := msgAt(acc, herald.TypeOTP, at(9))
	ephemeral.Ephemeral = true
	create(t, plain, ephemeral)
	if o := reread(t, a, ephemeral).Owner; o != "" {
		t.Fatalf("setup: the ephemeral message is owned by %q", o)
	}

	claim := func(s *postgres.Store, carriers []string, n int, now time.Time, want ...*herald.Message) {
		t.Helper()
		got, err := s.Claim(t.Context(), carriers, n, now)
		if err != nil {
			t.Fatal(err)
		}
		gotIDs, wantIDs := idsOf(got), idsOf(want)
		slices.Sort(gotIDs)
		slices.Sort(wantIDs)
		if !slices.Equal(gotIDs, wantIDs) {
			t.Fatalf("%s claimed %d of %v: %v, want %v", s.Node(), n, carriers, gotIDs, wantIDs)
		}
		for _, m := range got {
			if m.Owner != s.Node() || len(m.Parts) != 1 {
				t.Errorf("claimed %s: owner %q with %d parts, want %q with 1", m.ID, m.Owner, len(m.Parts), s.Node())
			}
			if o := reread(t, a, m).Owner; o != s.Node() {
				t.Errorf("claimed %s: stored owner %q, want %q", m.ID, o, s.Node())
			}
		}
	}
	// The most urgent type first, the oldest first within a type.
	claim(a, []string{"sim"}, 4, now, o2, o4, o6, t1)
	claim(b, []string{"sim"}, 2, now, t5, m0)
	claim(a, []string{"sim"}, 10, now, m3)
	// Left: another carrier's, an ephemeral one, a scheduled one.
	claim(a, []string{"sim"}, 10, now)
	claim(b, []string{"sim"}, 10, scheduled.SendAt.Add(-2*time.Second))
	claim(b, []string{"sim"}, 10, scheduled.SendAt.Add(-500*time.Millisecond), scheduled) // claimAhead is 1s
	claim(a, []string{"other"}, 10, now, other)
	claim(a, []string{"sim", "other"}, 10, now.Add(24*time.Hour))
	if o := reread(t, a, ephemeral).Owner; o != "" {
		t.Fatalf("the ephemeral message was claimed by %q", o)
	}
	// Nothing for a plain store, nor for no carrier.
	if got, err := plain.Claim(t.Context(), []string{"sim"}, 10, now); err != nil || len(got) != 0 {
		t.Fatalf("plain store claimed %v, %v", idsOf(got), err)
	}
}

func TestClusterClaimConcurrent(t *testing.T) {
	t.Parallel()
	_, a, b, acc := clusterOf(t)
	const total = 2000
	types := []herald.MessageType{herald.TypeOTP, herald.TypeTransactional, herald.TypeMarketing}
	start := time.Now().UTC().Add(-time.Hour)
	var all []*herald.Message
	for i := range total {
		all = append(all, msgAt(acc, types[i%3], start.Add(time.Duration(i)*time.Millisecond)))
	}
	for chunk := range slices.Chunk(all, 500) {
		create(t, b, chunk...) // b does not dispatch: all unowned
	}

	var mu sync.Mutex
	claimedBy := map[string][]string{} // message id → the nodes that claimed it
	var wg sync.WaitGroup
	for w := range 16 {
		s := []*postgres.Store{a, b}[w%2]
		wg.Go(func() {
			for {
				got, err := s.Claim(context.Background(), []string{"sim"}, 37, time.Now().UTC())
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					claimedBy[m.ID] = append(claimedBy[m.ID], s.Node())
					if m.Owner != s.Node() {
						t.Errorf("%s returned %s owned by %q", s.Node(), m.ID, m.Owner)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	perNode := map[string]int{}
	for id, nodes := range claimedBy {
		if len(nodes) != 1 {
			t.Errorf("%s claimed %d times: %v", id, len(nodes), nodes)
		}
		perNode[nodes[0]]++
	}
	if len(claimedBy) != total {
		t.Fatalf("%d messages claimed, want %d", len(claimedBy), total)
	}
	for _, m := range all {
		if got := reread(t, a, m).Owner; got != claimedBy[m.ID][0] {
			t.Fatalf("%s stored owner %q, claimed by %q", m.ID, got, claimedBy[m.ID][0])
		}
	}
	t.Logf("claimed: %v", perNode)
	if perNode["a"] == 0 || perNode["b"] == 0 {
		t.Errorf("claimed %v: both nodes should have claimed some (they claim side by side)", perNode)
	}
}

func TestClusterFencing(t *testing.T) {
	t.Parallel()
	_, a, b, acc := clusterOf(t)
	a.SetDispatching(onlySim)
	m := msgAt(acc, herald.TypeTransactional, time.Now().UTC())
	create(t, a, m)

	if move(t, b, m, herald.StatusSending) {
		t.Fatal("b marked a's message sending")
	}
	if got := reread(t, a, m); got.Parts[0].Status != herald.StatusQueued || got.Parts[0].Attempts != 0 {
		t.Fatalf("after b's fenced submit: part %s with %d attempts, want queued with none", got.Parts[0].Status, got.Parts[0].Attempts)
	}
	if !move(t, a, m, herald.StatusSending) {
		t.Fatal("a could not mark its message sending")
	}
	if got := reread(t, b, m); got.Parts[0].Status != herald.StatusSending || got.Status != herald.StatusSending {
		t.Fatalf("after a's submit: part %s, message %s; want sending", got.Parts[0].Status, got.Status)
	}
	// A retry (back to queued) is the owner's too; the answer to the
	// submit is not fenced (it reports what the carrier did).
	if move(t, b, m, herald.StatusQueued) {
		t.Fatal("b queued a's part for a retry")
	}
	if !move(t, a, m, herald.StatusQueued) {
		t.Fatal("a could not queue its part for a retry")
	}

	// a gives it back, b claims it: now a is the one fenced.
	if n, err := a.Release(t.Context(), []string{m.ID}); err != nil || n != 1 {
		t.Fatalf("release: %d, %v", n, err)
	}
	if got, err := b.Claim(t.Context(), []string{"sim"}, 10, time.Now().UTC()); err != nil || !slices.Equal(idsOf(got), []string{m.ID}) {
		t.Fatalf("b claimed %v, %v", idsOf(got), err)
	}
	if move(t, a, m, herald.StatusSending) {
		t.Fatal("a sent a message it gave back")
	}
	if !move(t, b, m, herald.StatusSending) {
		t.Fatal("b could not send the message it claimed")
	}
	if !move(t, a, m, herald.StatusSent) {
		t.Fatal("the submit response was fenced")
	}
	if got := reread(t, a, m); got.Parts[0].Status != herald.StatusSent || got.Parts[0].Attempts != 2 {
		t.Fatalf("part %s after %d attempts, want sent after 2", got.Parts[0].Status, got.Parts[0].Attempts)
	}
}

func TestClusterRelease(t *testing.T) {
	t.Parallel()
	_, a, b, acc := clusterOf(t)
	a.SetDispatching(onlySim)
	idle := msgAt(acc, herald.TypeTransactional, time.Now().UTC())
	busy := msgAt(acc, herald.TypeTransactional, time.Now().UTC())
	create(t, a, idle, busy)
	if !move(t, a, busy, herald.StatusSending) {
		t.Fatal("setup: not sending")
	}
	ids := []string{idle.ID, busy.ID}
	if n, err := b.Release(t.Context(), ids); err != nil || n != 0 {
		t.Fatalf("b released %d of a's messages (%v)", n, err)
	}
	if n, err := a.Release(t.Context(), ids); err != nil || n != 1 {
		t.Fatalf("a released %d (%v), want 1", n, err)
	}
	if o := reread(t, b, idle).Owner; o != "" {
		t.Errorf("released message owned by %q", o)
	}
	if o := reread(t, b, busy).Owner; o != "a" {
		t.Errorf("message with a part sending owned by %q, want a", o)
	}
	if got, err := b.Claim(t.Context(), []string{"sim"}, 10, time.Now().UTC()); err != nil || !slices.Equal(idsOf(got), []string{idle.ID}) {
		t.Fatalf("b claimed %v, %v; want the released message", idsOf(got), err)
	}
}

// TestClusterGiveBackRacesSend gives a message back while a
// transaction that marks its part sending (as Apply does: the message
// locked first) is open: the give-back waits for it and must then see
// the part sending. Release by its owner, or Recover by another node of
// an owner declared dead that still sends (a pause, a partition), must
// not leave a message unowned with a part in sending: nobody would ever
// queue it again.
func TestClusterGiveBackRacesSend(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		giveBack func(a, b *postgres.Store, id string) (int, error)
	}{
		{"release", func(a, _ *postgres.Store, id string) (int, error) {
			return a.Release(context.Background(), []string{id})
		}},
		{"recover", func(_, b *postgres.Store, _ string) (int, error) {
			_, released, err := b.Recover(context.Background(), "a")
			return released, err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			url, a, b, acc := clusterOf(t)
			a.SetDispatching(onlySim)
			m := msgAt(acc, herald.TypeTransactional, time.Now().UTC())
			create(t, a, m)

			tx := sendingTx(t, url, m)
			released := make(chan int, 1)
			go func() {
				n, err := c.giveBack(a, b, m.ID)
				if err != nil {
					t.Error(err)
				}
				released <- n
			}()
			tx.commitOnceBlocked(t)
			if n := <-released; n != 0 {
				t.Errorf("gave back %d messages; want none, a part is being sent", n)
			}
			if got := reread(t, b, m); got.Owner != "a" || got.Parts[0].Status != herald.StatusSending {
				t.Fatalf("message owned by %q with its part %s; want a's, sending", got.Owner, got.Parts[0].Status)
			}
		})
	}
}

// partTx is an open transaction holding a message's lock.
type partTx struct {
	pid    uint32
	commit func() error
	url    string
}

// sendingTx opens a transaction that marks m's part 1 sending as Apply
// does: the message row locked first, then the part and the message
// written; it is not committed yet.
func sendingTx(t *testing.T, url string, m *herald.Message) *partTx {
	t.Helper()
	conn := connect(t, url)
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	var pid uint32
	if err := tx.QueryRow(t.Context(), `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT id FROM messages WHERE id = $1 FOR UPDATE`,
		`UPDATE parts SET status = 'sending', attempts = attempts + 1 WHERE message_id = $1 AND seq = 1`,
		`UPDATE messages SET status = 'sending' WHERE id = $1`,
	} {
		if _, err := tx.Exec(t.Context(), q, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	return &partTx{pid: pid, commit: func() error { return tx.Commit(context.Background()) }, url: url}
}

// commitOnceBlocked waits until another session waits for the
// transaction's locks, then commits it.
func (p *partTx) commitOnceBlocked(t *testing.T) {
	t.Helper()
	watch := connect(t, p.url)
	deadline := time.Now().Add(10 * time.Second)
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	for range poll.C {
		var waiting int
		if err := watch.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE $1 = ANY(pg_blocking_pids(pid))`, p.pid).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing waited for the transaction's lock within 10s")
		}
	}
	if err := p.commit(); err != nil {
		t.Fatal(err)
	}
}

func TestClusterRecover(t *testing.T) {
	t.Parallel()
	_, a, b, acc := clusterOf(t)
	a.SetDispatching(onlySim)
	now := time.Now().UTC()
	sending := msgAt(acc, herald.TypeTransactional, now)
	queued := msgAt(acc, herald.TypeTransactional, now)
	ephemeral := msgAt(acc, herald.TypeOTP, now)
	ephemeral.Ephemeral = true
	create(t, a, sending, queued, ephemeral)
	if !move(t, a, sending, herald.StatusSending) {
		t.Fatal("setup: not sending")
	}

	requeued, released, err := b.Recover(t.Context(), "a")
	if err != nil {
		t.Fatal(err)
	}
	if requeued != 1 || released != 2 {
		t.Errorf("recover: %d parts requeued, %d messages given back; want 1 and 2", requeued, released)
	}
	got := reread(t, b, sending)
	if got.Parts[0].Status != herald.StatusQueued || got.Status != herald.StatusQueued || got.Resends != 1 || got.Owner != "" {
		t.Errorf("the message left sending: part %s, message %s, %d resends, owner %q; want queued, queued, 1, none",
			got.Parts[0].Status, got.Status, got.Resends, got.Owner)
	}
	evs, err := b.Events(t.Context(), acc.ID, sending.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(evs, func(e herald.Event) bool { return e.Type == "message.resent" }) {
		t.Errorf("no message.resent event in %v", evs)
	}
	if got := reread(t, b, queued); got.Owner != "" || got.Resends != 0 || got.Parts[0].Status != herald.StatusQueued {
		t.Errorf("the queued message: owner %q, %d resends, part %s; want unowned, 0, queued", got.Owner, got.Resends, got.Parts[0].Status)
	}
	got = reread(t, b, ephemeral)
	if got.Status != herald.StatusFailed || got.ErrorCode != "verification_code_lost" || got.Parts[0].Status != herald.StatusFailed {
		t.Errorf("the ephemeral message: %s (%s), part %s; want failed with verification_code_lost", got.Status, got.ErrorCode, got.Parts[0].Status)
	}
	claimed, err := b.Claim(t.Context(), []string{"sim"}, 10, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	ids, want := idsOf(claimed), []string{sending.ID, queued.ID}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("b claimed %v, want %v", ids, want)
	}
	if !move(t, b, sending, herald.StatusSending) {
		t.Fatal("b could not send the recovered message")
	}
	// Recovering again finds nothing of a's.
	if q, r, err := b.Recover(t.Context(), "a"); err != nil || q != 0 || r != 0 {
		t.Fatalf("second recover: %d, %d, %v", q, r, err)
	}
}

// TestClusterRecoverSelf: a node restarting takes back what it owned
// before, but not the messages accepted since it opened the store.
func TestClusterRecoverSelf(t *testing.T) {
	t.Parallel()
	url, before, b, acc := clusterOf(t)
	before.SetDispatching(onlySim)
	old := msgAt(acc, herald.TypeTransactional, time.Now().UTC())
	create(t, before, old)
	if !move(t, before, old, herald.StatusSending) {
		t.Fatal("setup: not sending")
	}
	before.Close()

	a := openNode(t, url, "a") // the same node, restarted
	a.SetDispatching(onlySim)
	live := msgAt(acc, herald.TypeTransactional, time.Now().UTC())
	create(t, a, live)
	if !move(t, a, live, herald.StatusSending) {
		t.Fatal("setup: the new message is not sending")
	}
	requeued, released, err := a.Recover(t.Context(), "a")
	if err != nil || requeued != 1 || released != 1 {
		t.Fatalf("recover: %d requeued, %d given back, %v; want 1, 1", requeued, released, err)
	}
	if got := reread(t, b, old); got.Owner != "" || got.Parts[0].Status != herald.StatusQueued || got.Resends != 1 {
		t.Errorf("the message of the previous run: owner %q, part %s, %d resends; want unowned, queued, 1", got.Owner, got.Parts[0].Status, got.Resends)
	}
	if got := reread(t, b, live); got.Owner != "a" || got.Parts[0].Status != herald.StatusSending || got.Resends != 0 {
		t.Errorf("the message of this run: owner %q, part %s, %d resends; want a, sending, 0", got.Owner, got.Parts[0].Status, got.Resends)
	}
}

func TestClusterLeases(t *testing.T) {
	t.Parallel()
	url, a, b, _ := clusterOf(t)
	ctx := t.Context()
	acquire := func(s *postgres.Store, name string, ttl time.Duration, want bool) {
		t.Helper()
		if got, err := s.AcquireLease(ctx, name, ttl); err != nil || got != want {
			t.Fatalf("%s acquires %s for %v: %v, %v; want %v", s.Node(), name, ttl, got, err, want)
		}
	}
	leases := func(prefix string, want ...string) []store.Lease {
		t.Helper()
		ls, err := b.Leases(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range ls {
			got = append(got, l.Name+"@"+l.Node)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("leases %q: %v, want %v", prefix, got, want)
		}
		return ls
	}

	acquire(a, "x", time.Minute, true)
	first := leases("x", "x@a")[0]
	acquire(b, "x", time.Minute, false)
	acquire(a, "x", time.Minute, true) // a renewal
	if renewed := leases("x", "x@a")[0]; !renewed.AcquiredAt.Equal(first.AcquiredAt) || !renewed.ExpiresAt.After(first.ExpiresAt) {
		t.Errorf("renewal: %+v after %+v; want the same acquired_at, a later expiry", renewed, first)
	}
	acquire(a, "x", 0, true) // expired at once
	leases("x")
	acquire(b, "x", time.Minute, true)
	acquire(a, "x", time.Minute, false)
	if err := a.ReleaseLease(ctx, "x"); err != nil { // not a's: no effect
		t.Fatal(err)
	}
	leases("x", "x@b")
	if err := b.ReleaseLease(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	leases("x")
	acquire(a, "x", time.Minute, true)

	acquire(a, "bind/sim/0", time.Minute, true)
	acquire(b, "bind/sim/1", 0, true)
	acquire(b, "bind/sim/10", time.Minute, true)
	acquire(a, "bind/other/0", time.Minute, true)
	acquire(b, "leader", time.Minute, true)
	leases("bind/sim/", "bind/sim/0@a", "bind/sim/10@b")
	leases("bind/", "bind/other/0@a", "bind/sim/0@a", "bind/sim/10@b")
	leases("", "bind/other/0@a", "bind/sim/0@a", "bind/sim/10@b", "leader@b", "x@a")

	plain := openNode(t, url, "")
	if ok, err := plain.AcquireLease(ctx, "y", time.Minute); err == nil || ok {
		t.Fatalf("a store without a node id acquired a lease: %v, %v", ok, err)
	}
}

func TestClusterNodes(t *testing.T) {
	t.Parallel()
	url, a, b, acc := clusterOf(t)
	ctx := t.Context()
	conn := connect(t, url)
	age := func(node string) {
		t.Helper()
		if _, err := conn.Exec(ctx, `UPDATE nodes SET heartbeat_at = heartbeat_at - interval '1 hour' WHERE id = $1`, node); err != nil {
			t.Fatal(err)
		}
	}
	a.SetDispatching(onlySim)
	m := msgAt(acc, herald.TypeTransactional, time.Now().UTC())
	create(t, a, m)
	if err := a.Heartbeat(ctx, "10.0.0.1:8080", "v1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Heartbeat(ctx, "10.0.0.2:8080", "v2"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct {
		s    *postgres.Store
		name string
		ttl  time.Duration
	}{{a, "bind/sim/0", time.Minute}, {a, "bind/sim/1", 0}, {b, "leader", time.Minute}} {
		if ok, err := l.s.AcquireLease(ctx, l.name, l.ttl); err != nil || !ok {
			t.Fatalf("lease %s: %v, %v", l.name, ok, err)
		}
	}

	nodes, err := b.Nodes(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a 10.0.0.1:8080 v1 alive=true leases=[bind/sim/0] owned=1", "b 10.0.0.2:8080 v2 alive=true leases=[leader] owned=0"}
	if got := describe(nodes); !slices.Equal(got, want) {
		t.Fatalf("nodes:\n%q\nwant\n%q", got, want)
	}
	if dead, err := a.DeadNodes(ctx, time.Minute); err != nil || len(dead) != 0 {
		t.Fatalf("dead nodes %v, %v; want none", dead, err)
	}

	age("b")
	if dead, err := a.DeadNodes(ctx, time.Minute); err != nil || !slices.Equal(dead, []string{"b"}) {
		t.Fatalf("dead nodes %v, %v; want b", dead, err)
	}
	if nodes, err := a.Nodes(ctx, time.Minute); err != nil || len(nodes) != 2 || !nodes[0].Alive || nodes[1].Alive {
		t.Fatalf("nodes %+v, %v; want a alive, b not", nodes, err)
	}
	if n, err := a.LiveNodes(ctx, time.Minute); err != nil || n != 1 {
		t.Fatalf("live nodes %d, %v; want 1 (a)", n, err)
	}
	if err := b.Heartbeat(ctx, "10.0.0.2:8080", "v2"); err != nil { // back
		t.Fatal(err)
	}
	if dead, err := a.DeadNodes(ctx, time.Minute); err != nil || len(dead) != 0 {
		t.Fatalf("dead nodes %v, %v after b's heartbeat; want none", dead, err)
	}
	age("a")
	age("b")
	if dead, err := a.DeadNodes(ctx, time.Minute); err != nil || !slices.Equal(dead, []string{"a", "b"}) {
		t.Fatalf("dead nodes %v, %v; want a and b", dead, err)
	}

	if gone, err := b.ForgetNode(ctx, "a"); err != nil || gone {
		t.Fatalf("forgetting a, which owns a message: %v, %v", gone, err)
	}
	if gone, err := a.ForgetNode(ctx, "b"); err != nil || !gone {
		t.Fatalf("forgetting b: %v, %v", gone, err)
	}
	if ls, err := a.Leases(ctx, ""); err != nil || len(ls) != 1 || ls[0].Name != "bind/sim/0" {
		t.Fatalf("leases after b was forgotten: %+v, %v; want only a's", ls, err)
	}
	if n, err := a.Release(ctx, []string{m.ID}); err != nil || n != 1 {
		t.Fatalf("release: %d, %v", n, err)
	}
	if gone, err := b.ForgetNode(ctx, "a"); err != nil || !gone {
		t.Fatalf("forgetting a, which owns nothing now: %v, %v", gone, err)
	}
	if nodes, err := a.Nodes(ctx, time.Minute); err != nil || len(nodes) != 0 {
		t.Fatalf("nodes %+v, %v; want none", nodes, err)
	}
	if ls, err := a.Leases(ctx, ""); err != nil || len(ls) != 0 {
		t.Fatalf("leases %+v, %v; want none", ls, err)
	}
}

func describe(nodes []store.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, fmt.Sprintf("%s %s %s alive=%v leases=%v owned=%d", n.ID, n.Addr, n.Version, n.Alive, n.Leases, n.Owned))
	}
	return out
}

// TestClusterWork: a message no node owns, created on a, wakes b.
func TestClusterWork(t *testing.T) {
	t.Parallel()
	_, a, b, acc := clusterOf(t)
	// The first signal says b listens (it comes once LISTEN is done);
	// from then on a notification is not missed. Other tests notify on
	// the same database, but in other schemas: those do not wake b.
	waitWork := func(what string) {
		t.Helper()
		select {
		case <-b.Work():
		case <-time.After(10 * time.Second):
			t.Fatalf("b's Work not signalled within 10s: %s", what)
		}
	}
	waitWork("listening")
	select {
	case <-b.Work():
	default:
	}
	create(t, a, msgAt(acc, herald.TypeTransactional, time.Now().UTC()))
	waitWork("after an unowned message was created on a")
}
