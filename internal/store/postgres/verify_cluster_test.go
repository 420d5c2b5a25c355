package postgres_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

var vlimits = herald.DefaultVerifyLimits

func hashOf(code string) func(id string) []byte {
	return func(id string) []byte { return []byte(id + "|" + code) }
}

func startOn(s store.Store, acc, to, code string, at time.Time) (*herald.Verification, error) {
	v := &herald.Verification{ID: herald.NewID("ver", at.UnixMilli()), AccountID: acc, To: to, Channel: "sms",
		Locale: "en", CodeLength: len(code), TTL: 10 * time.Minute}
	return s.StartVerification(context.Background(), store.StartVerification{New: v, Hash: hashOf(code), Now: at, Limits: vlimits})
}

// TestTwoNodesVerifyChecks sends 50 wrong checks of one verification
// through two nodes at once: exactly MaxChecks are evaluated, and the
// number's failures count each of them once.
func TestTwoNodesVerifyChecks(t *testing.T) {
	t.Parallel()
	nodes := twoNodes(t)
	acc, err := nodes[0].EnsureAccount(t.Context(), "verify-cluster")
	if err != nil {
		t.Fatal(err)
	}
	v, err := startOn(nodes[0], acc.ID, "+447700900501", "123456", base)
	if err != nil {
		t.Fatal(err)
	}
	var evaluated atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			r, _ := nodes[i%2].CheckVerification(context.Background(), store.CheckVerification{AccountID: acc.ID, ID: v.ID,
				Match: func(h []byte) bool { return h != nil && bytes.Equal(h, []byte(v.ID+"|000000")) },
				Now:   base.Add(time.Second), Limits: vlimits})
			if r.Evaluated {
				evaluated.Add(1)
			}
		})
	}
	wg.Wait()
	if n := evaluated.Load(); n != int32(vlimits.MaxChecks) {
		t.Fatalf("%d checks evaluated, want %d", n, vlimits.MaxChecks)
	}
	got, err := nodes[1].Verification(t.Context(), acc.ID, v.ID)
	if err != nil || got.Status != herald.VerificationMaxAttemptsReached || got.Checks != vlimits.MaxChecks {
		t.Fatalf("after: %+v %v", got, err)
	}
	if n, err := nodes[1].ResetVerificationFailures(t.Context(), acc.ID, v.To); err != nil || n != vlimits.MaxChecks {
		t.Fatalf("failures %d %v, want %d", n, err, vlimits.MaxChecks)
	}
}

// TestTwoNodesVerifyStarts starts verifications of one number through
// two nodes at once: one verification is created, and the sends stay
// within the limits (the other starts resend it, or are refused).
func TestTwoNodesVerifyStarts(t *testing.T) {
	t.Parallel()
	nodes := twoNodes(t)
	acc, err := nodes[0].EnsureAccount(t.Context(), "verify-cluster-starts")
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	results := make([]*herald.Verification, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], _ = startOn(nodes[i%2], acc.ID, "+447700900502", "123456", base)
		})
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, v := range results {
		if v != nil {
			ids[v.ID] = true
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d verifications started, want 1", len(ids))
	}
	for id := range ids {
		v, err := nodes[0].Verification(t.Context(), acc.ID, id)
		if err != nil || v.Sends < 1 || v.Sends > vlimits.MaxSends {
			t.Fatalf("verification %+v %v", v, err)
		}
	}
}

// TestTwoNodesClientOutboxOrder adds client outbox rows of one account
// through two nodes at once while a reader follows them by seq, as the
// SMPP server's pusher does: it must see every row (no row commits with
// a seq below one already read).
func TestTwoNodesClientOutboxOrder(t *testing.T) {
	t.Parallel()
	nodes := twoNodes(t)
	acc, err := nodes[0].EnsureAccount(t.Context(), "outbox-cluster")
	if err != nil {
		t.Fatal(err)
	}
	const per = 100
	var done atomic.Bool
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			for k := range per {
				m := &herald.ClientMessage{AccountID: acc.ID, Kind: herald.ClientInbound, MessageID: herald.NewID("inb", base.UnixMilli()),
					Status: herald.StatusReceived, From: "+447700900503", To: "+447700900504", Body: "x"}
				if err := nodes[i].AddClientMessages(context.Background(), []*herald.ClientMessage{m}); err != nil {
					t.Errorf("node %d row %d: %v", i, k, err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); done.Store(true) }()
	seen := 0
	var after int64
	for {
		last := done.Load()
		rows, err := nodes[0].ClientMessages(t.Context(), acc.ID, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			after = r.Seq
			seen++
		}
		if last && len(rows) == 0 {
			break
		}
	}
	if seen != 2*per {
		t.Fatalf("the reader saw %d rows of %d", seen, 2*per)
	}
}
