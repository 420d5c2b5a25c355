package carrier

import (
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/store"
)

// TestReceiptHold: a receipt for a submit response that is not yet
// recorded waits until it is, or until maxHold has passed; receipts for
// other keys do not wait.
func TestReceiptHold(t *testing.T) {
	var q receiptQueue
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	add := func(at time.Time, keys ...string) {
		q.q = append(q.q, pendingReceipt{at: at, r: store.Receipt{CorrelationKeys: keys}})
	}
	keysOf := func(b []pendingReceipt) []string {
		var out []string
		for _, p := range b {
			out = append(out, p.r.CorrelationKeys[0])
		}
		return out
	}

	q.awaiting([]string{"a", "a2"})
	q.awaiting([]string{"b"})
	add(t0, "a")       // its response is not recorded yet
	add(t0, "x")       // unrelated
	add(t0, "zz", "b") // matches by its second key
	b, until := q.take(nil, t0.Add(time.Millisecond))
	if got := keysOf(b); len(got) != 1 || got[0] != "x" {
		t.Fatalf("took %v, want [x]", got)
	}
	if !until.Equal(t0.Add(maxHold)) || q.held != 2 {
		t.Fatalf("hold until %v with %d held, want %v and 2", until, q.held, t0.Add(maxHold))
	}

	if !q.recorded([]string{"a", "a2"}) {
		t.Fatal("recorded did not report held receipts")
	}
	b, until = q.take(nil, t0.Add(2*time.Millisecond))
	if got := keysOf(b); len(got) != 1 || got[0] != "a" {
		t.Fatalf("after the record, took %v, want [a]", got)
	}
	if until.IsZero() {
		t.Fatal("the receipt for b no longer held")
	}

	// b's response is never recorded: its receipt goes after maxHold.
	if b, _ := q.take(nil, t0.Add(maxHold-time.Millisecond)); len(b) != 0 {
		t.Fatalf("released before maxHold: %v", keysOf(b))
	}
	b, until = q.take(nil, t0.Add(maxHold))
	if got := keysOf(b); len(got) != 1 || got[0] != "zz" || !until.IsZero() || q.held != 0 {
		t.Fatalf("at maxHold took %v (hold until %v, %d held), want [zz] and nothing held", got, until, q.held)
	}

	// A key awaited twice (a carrier reusing an id) waits for both.
	q.awaiting([]string{"c"})
	q.awaiting([]string{"c"})
	q.recorded([]string{"c"})
	add(t0.Add(time.Hour), "c")
	if b, _ := q.take(nil, t0.Add(time.Hour)); len(b) != 0 {
		t.Fatal("released with one of two responses recorded")
	}
	if q.recorded([]string{"c"}); q.unrecorded["c"] != 0 {
		t.Fatalf("key c left after both records: %v", q.unrecorded)
	}
	if b, _ := q.take(nil, t0.Add(time.Hour)); len(b) != 1 {
		t.Fatal("not released once both were recorded")
	}
}
