package dispatch

import (
	"context"
	"fmt"
	"testing"

	"github.com/herald-sms/herald/internal/carrier"
	"github.com/herald-sms/herald/internal/herald"
)

type nopLink struct{}

func (nopLink) Name() string                  { return "nop" }
func (nopLink) Run(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
func (nopLink) Submit(context.Context, *herald.Message, *herald.Part, func(carrier.Result)) error {
	return nil
}

func testJob(acct string, typ herald.MessageType, n int) *job {
	m := &herald.Message{ID: fmt.Sprintf("%s-%s-%d", acct, typ, n), AccountID: acct, Type: typ, Parts: []herald.Part{{Seq: 1}}}
	return &job{m: m}
}

// TestOTPFirst: with a large marketing backlog queued on the link, an OTP
// pushed after it is in the very next batch taken, at its head.
func TestOTPFirst(t *testing.T) {
	t.Parallel()
	ln := newLane(nopLink{}, 100)
	for i := range 100000 {
		ln.push(testJob("campaigner", herald.TypeMarketing, i))
	}
	ln.take(t.Context()) // a batch already in flight
	ln.push(testJob("bank", herald.TypeTransactional, 0))
	ln.push(testJob("bank", herald.TypeOTP, 0))
	ln.release(100)
	got := ln.take(t.Context())
	if got[0].m.Type != herald.TypeOTP || got[1].m.Type != herald.TypeTransactional || got[2].m.Type != herald.TypeMarketing {
		t.Fatalf("next batch starts %s, %s, %s; want otp, transactional, marketing", got[0].m.Type, got[1].m.Type, got[2].m.Type)
	}
}

// TestAccountFairness: within one class, accounts take turns: one
// account's campaign of 10,000 parts queued first does not starve
// another account's alerts queued after it.
func TestAccountFairness(t *testing.T) {
	t.Parallel()
	var f fairQueue
	for i := range 10000 {
		f.push(testJob("big", herald.TypeMarketing, i))
	}
	for i := range 10 {
		f.push(testJob("small", herald.TypeMarketing, i))
	}
	for i := range 5 {
		f.push(testJob("third", herald.TypeMarketing, i))
	}
	var order []string
	for range 40 {
		order = append(order, f.pop().m.AccountID)
	}
	small, third := 0, 0
	for i, a := range order {
		switch a {
		case "small":
			small++
		case "third":
			third++
		}
		// Within each round of three, every account with parts left goes once.
		if i < 15 && i%3 == 2 {
			seen := map[string]bool{order[i-2]: true, order[i-1]: true, order[i]: true}
			if len(seen) != 3 {
				t.Fatalf("round %d is %v", i/3, order[i-2:i+1])
			}
		}
	}
	if small != 10 || third != 5 {
		t.Fatalf("in the first 40 parts: small %d (want 10), third %d (want 5): %v", small, third, order)
	}
	// Each account's own parts keep their order.
	last := -1
	for f.len() > 0 {
		j := f.pop()
		var n int
		fmt.Sscanf(j.m.ID[len("big-marketing-"):], "%d", &n)
		if n <= last {
			t.Fatalf("big's parts out of order: %d after %d", n, last)
		}
		last = n
	}
}

// TestPushFront: parts put back after a throttle go first, in the order
// given, and their account gets the next turn.
func TestPushFront(t *testing.T) {
	t.Parallel()
	ln := newLane(nopLink{}, 10)
	for i := range 5 {
		ln.push(testJob("a", herald.TypeMarketing, i))
		ln.push(testJob("b", herald.TypeMarketing, i))
	}
	ln.pushFront([]*job{testJob("b", herald.TypeMarketing, 100), testJob("b", herald.TypeMarketing, 101)})
	got := ln.take(t.Context())
	var ids []string
	for _, j := range got[:4] {
		ids = append(ids, j.m.ID)
	}
	want := []string{"b-marketing-100", "a-marketing-0", "b-marketing-101", "a-marketing-1"}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("after pushFront: %v, want %v", ids, want)
	}
}

func TestDeque(t *testing.T) {
	t.Parallel()
	var d deque
	for i := range 100 {
		if i%3 == 0 {
			d.pushFront(testJob("x", herald.TypeOTP, -i))
		} else {
			d.pushBack(testJob("x", herald.TypeOTP, i))
		}
	}
	if d.len() != 100 {
		t.Fatalf("len %d", d.len())
	}
	first := d.popFront().m.ID
	if first != "x-otp--99" {
		t.Fatalf("first %s", first)
	}
	for d.len() > 0 {
		d.popFront()
	}
}
