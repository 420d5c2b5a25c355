package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/postgres"
	"github.com/herald-sms/herald/internal/store/postgres/pgtest"
)

func TestMigrationsAppliedOnceUnderConcurrentOpens(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ms, err := postgres.Migrations()
	if err != nil || len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("migrations %v, %v; want the first to be version 1", ms, err)
	}
	// Several nodes start at once on an empty database: each migration is
	// applied by exactly one of them.
	const nodes = 4
	applied := make([][]postgres.Migration, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { applied[i], errs[i] = postgres.Migrate(t.Context(), url) })
	}
	wg.Wait()
	count := map[int]int{}
	for i := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		for _, m := range applied[i] {
			count[m.Version]++
		}
	}
	for _, m := range ms {
		if count[m.Version] != 1 {
			t.Errorf("migration %s applied %d times", m, count[m.Version])
		}
	}
	again, err := postgres.Migrate(t.Context(), url)
	if err != nil || len(again) != 0 {
		t.Fatalf("second migrate applied %v, %v; want nothing", again, err)
	}
	conn := connect(t, url)
	var n, max int
	if err := conn.QueryRow(t.Context(), `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || max != ms[len(ms)-1].Version {
		t.Fatalf("schema_migrations has %d rows up to %d, want %d up to %d", n, max, len(ms), ms[len(ms)-1].Version)
	}

	// A database from a newer binary is refused, not used.
	if _, err := conn.Exec(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	if s, err := postgres.Open(t.Context(), url, postgres.Options{}); err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a newer database: err = %v, want a refusal", err)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// twoNodes opens two stores on one database, as two Herald nodes would.
func twoNodes(t *testing.T) [2]*postgres.Store {
	t.Helper()
	url := pgtest.URL(t)
	var nodes [2]*postgres.Store
	for i := range nodes {
		nodes[i] = open(t, url)
		t.Cleanup(func() { nodes[i].Close() })
	}
	return nodes
}

var base = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func newMessage(acc *herald.Account, at time.Time) *herald.Message {
	m := &herald.Message{ID: herald.NewID("msg", at.UnixMilli()), AccountID: acc.ID, To: "+447700900123", From: "Herald",
		Body: "hello", Type: herald.TypeTransactional, Status: herald.StatusQueued, Encoding: "gsm7", PartCount: 1,
		CallbackURL: "http://127.0.0.1:9/cb", Carrier: "sim", CreatedAt: at, UpdatedAt: at}
	m.Parts = []herald.Part{{MessageID: m.ID, Seq: 1, Status: herald.StatusQueued, ShortMessage: []byte("hello")}}
	return m
}

// TestTwoNodesIdempotency sends the same request with the same
// Idempotency-Key through two nodes at once: one message is created,
// every other request replays it.
func TestTwoNodesIdempotency(t *testing.T) {
	t.Parallel()
	nodes := twoNodes(t)
	acc, err := nodes[0].EnsureAccount(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := nodes[1].EnsureAccount(t.Context(), "acme"); err != nil || again.ID != acc.ID {
		t.Fatalf("the second node sees account %+v, %v; want %s", again, err, acc.ID)
	}
	const n = 60
	results := make([]*store.NewMessage, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			it := &store.NewMessage{Message: newMessage(acc, base.Add(time.Duration(i)*time.Millisecond)),
				IdempotencyKey: "same-key", RequestHash: []byte("h")}
			if err := nodes[i%2].CreateMessages(context.Background(), []*store.NewMessage{it}); err != nil {
				t.Error(err)
			}
			results[i] = it
		})
	}
	wg.Wait()
	created, ids := 0, map[string]bool{}
	for _, it := range results {
		if it == nil || it.Err != nil {
			t.Fatalf("item %+v", it)
		}
		if it.Replayed {
			ids[it.Existing.ID] = true
		} else {
			created++
			ids[it.Message.ID] = true
		}
	}
	if created != 1 || len(ids) != 1 {
		t.Fatalf("%d created, %d distinct ids; want exactly one message", created, len(ids))
	}
	for _, s := range nodes {
		if list, _, err := s.ListMessages(t.Context(), acc.ID, store.MessageFilter{}); err != nil || len(list) != 1 {
			t.Fatalf("stored %d messages, want 1 (%v)", len(list), err)
		}
	}
	// The same key with another request is refused on either node.
	other := &store.NewMessage{Message: newMessage(acc, base), IdempotencyKey: "same-key", RequestHash: []byte("other")}
	if err := nodes[1].CreateMessages(t.Context(), []*store.NewMessage{other}); err != nil || herald.ErrorKind(other.Err) != herald.KindConflict {
		t.Fatalf("reused key: %v, %v", err, other.Err)
	}
}

// TestTwoNodesClaimDeliveries has two nodes claim the same outbox from
// several workers each: every delivery is claimed once, none twice.
func TestTwoNodesClaimDeliveries(t *testing.T) {
	t.Parallel()
	nodes := twoNodes(t)
	acc, err := nodes[0].EnsureAccount(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	const msgs = 150
	var ms []*herald.Message
	var items []*store.NewMessage
	for i := range msgs {
		m := newMessage(acc, base.Add(time.Duration(i)*time.Millisecond))
		ms = append(ms, m)
		items = append(items, &store.NewMessage{Message: m})
	}
	if err := nodes[0].CreateMessages(t.Context(), items); err != nil {
		t.Fatal(err)
	}
	var ts []store.Transition
	for i, m := range ms {
		ref := store.PartRef{MessageID: m.ID, Seq: 1}
		ts = append(ts, store.Transition{PartRef: ref, To: herald.StatusSending, At: base},
			store.Transition{PartRef: ref, To: herald.StatusSent, At: base, Carrier: "sim", CorrelationKeys: []string{fmt.Sprint(i)}})
	}
	if _, err := nodes[1].Apply(t.Context(), ts); err != nil {
		t.Fatal(err)
	}
	// Each message's sent event went to its callback URL: msgs deliveries.
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for {
				ds, err := nodes[w%2].ClaimDeliveries(context.Background(), base.Add(time.Second), time.Hour, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					claimed[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != msgs {
		t.Fatalf("%d deliveries claimed, want %d", len(claimed), msgs)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Fatalf("delivery %s claimed %d times", id, n)
		}
	}
}

// TestTwoNodesReceiptRace records submit responses on one node while
// their receipts arrive on the other: whichever commits first, every
// receipt is applied (none is left kept for a part that is already
// known).
func TestTwoNodesReceiptRace(t *testing.T) {
	t.Parallel()
	nodes := twoNodes(t)
	acc, err := nodes[0].EnsureAccount(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	const msgs = 40
	var ms []*herald.Message
	var items []*store.NewMessage
	for i := range msgs {
		m := newMessage(acc, base.Add(time.Duration(i)*time.Millisecond))
		ms = append(ms, m)
		items = append(items, &store.NewMessage{Message: m})
	}
	if err := nodes[0].CreateMessages(t.Context(), items); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if _, err := nodes[0].Apply(t.Context(), []store.Transition{{PartRef: store.PartRef{MessageID: m.ID, Seq: 1}, To: herald.StatusSending, At: base}}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i, m := range ms {
		key := fmt.Sprint("k", i)
		wg.Go(func() {
			if _, err := nodes[0].Apply(context.Background(), []store.Transition{{PartRef: store.PartRef{MessageID: m.ID, Seq: 1},
				To: herald.StatusSent, At: base, Carrier: "sim", CarrierMessageID: key, CorrelationKeys: []string{key}}}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if err := nodes[1].ApplyReceipts(context.Background(), []store.Receipt{{Carrier: "sim", CorrelationKeys: []string{key},
				To: herald.StatusDelivered, At: base.Add(time.Second)}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, m := range ms {
		got, err := nodes[1].Message(t.Context(), acc.ID, m.ID, false)
		if err != nil || got.Status != herald.StatusDelivered {
			t.Fatalf("%s: %v %v; want delivered", m.ID, got.Status, err)
		}
	}
}

// TestDeleteEndpointWaitsForQueuedDeliveries: a node that has read an
// endpoint to queue deliveries to it (FOR SHARE, as a commit group does)
// and commits after another node's DeleteEndpoint began still has those
// deliveries disabled, not left pending for a deleted endpoint.
func TestDeleteEndpointWaitsForQueuedDeliveries(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	s := open(t, url)
	t.Cleanup(func() { s.Close() })
	acc, err := s.EnsureAccount(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	ep := &herald.WebhookEndpoint{ID: herald.NewID("whk", base.UnixMilli()), AccountID: acc.ID, URL: "http://127.0.0.1:9/hook",
		Secret: herald.NewWebhookSecret()}
	if err := s.CreateEndpoint(t.Context(), ep); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, url)
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	var id string
	if err := tx.QueryRow(t.Context(), `SELECT id FROM webhook_endpoints WHERE id = $1 AND NOT disabled FOR SHARE`, ep.ID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	deleted := make(chan error, 1)
	go func() { deleted <- s.DeleteEndpoint(context.Background(), acc.ID, ep.ID) }()
	// The delete waits for the reader's share lock; the reader's
	// delivery is committed first.
	// (Another connection: pg_stat_activity stays as it was within a
	// transaction.)
	// Blocked by this transaction (pg_blocking_pids), not by any other
	// test's on the same database.
	watch := connect(t, url)
	var pid int
	if err := tx.QueryRow(t.Context(), `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for waiting := 0; waiting == 0; {
		if err := watch.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE $1 = ANY(pg_blocking_pids(pid)) AND query LIKE 'DELETE FROM webhook_endpoints%'`, pid).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the endpoint's delete never waited for the transaction's share lock")
		}
	}
	if _, err := tx.Exec(t.Context(), `INSERT INTO deliveries (id, account_id, message_id, event_id, endpoint_id, url,
		secret, payload, next_at, created_at, state) VALUES ('dlv_x', $1, 'msg_x', 'evt_x', $2, $3, $4, '{}', 1, 1, 'pending')`,
		acc.ID, ep.ID, ep.URL, ep.Secret); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-deleted:
		t.Fatalf("DeleteEndpoint returned (%v) while a transaction held the endpoint", err)
	default:
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	var state string
	if err := conn.QueryRow(t.Context(), `SELECT state FROM deliveries WHERE id = 'dlv_x'`).Scan(&state); err != nil || state != "disabled" {
		t.Fatalf("delivery to the deleted endpoint: %q %v; want disabled", state, err)
	}
}

// TestFailingWriteFailsAlone: a write the database refuses (here a
// message id that exists) rolls back its commit group, whose other
// writes are then committed one by one: they succeed, it fails.
func TestFailingWriteFailsAlone(t *testing.T) {
	t.Parallel()
	s := open(t, pgtest.URL(t))
	t.Cleanup(func() { s.Close() })
	acc, err := s.EnsureAccount(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	dup := newMessage(acc, base)
	if err := s.CreateMessages(t.Context(), []*store.NewMessage{{Message: dup}}); err != nil {
		t.Fatal(err)
	}
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := newMessage(acc, base.Add(time.Duration(i+1)*time.Millisecond))
			if i%2 == 1 {
				c := *dup
				m = &c
			}
			errs[i] = s.CreateMessages(context.Background(), []*store.NewMessage{{Message: m}})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i%2 == 1) {
			t.Errorf("write %d (duplicate %v): %v", i, i%2 == 1, err)
		}
	}
	list, _, err := s.ListMessages(t.Context(), acc.ID, store.MessageFilter{Limit: 1000})
	if err != nil || len(list) != n/2+1 {
		t.Fatalf("stored %d messages (%v), want %d", len(list), err, n/2+1)
	}
}
