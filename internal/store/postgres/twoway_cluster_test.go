package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// TestTwoNodesSenderTaken registers one address from two accounts
// through two nodes at once: exactly one registration wins.
func TestTwoNodesSenderTaken(t *testing.T) {
	t.Parallel()
	nodes := twoNodes(t)
	var accs [2]*herald.Account
	for i, name := range []string{"acme", "globex"} {
		a, err := nodes[i].EnsureAccount(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		accs[i] = a
	}
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			snd := &herald.Sender{ID: herald.NewID("snd", base.UnixMilli()), AccountID: accs[i%2].ID,
				Address: "+447700900001", Kind: herald.SenderNumber}
			errs[i] = nodes[(i/2)%2].CreateSender(context.Background(), snd)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		var he *herald.Error
		switch {
		case err == nil:
			won++
		case asHeraldError(err, &he) && he.Code == "sender_taken":
		default:
			t.Fatalf("registration: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d registrations won, want 1", won)
	}
	owner, err := nodes[1].SenderByAddress(t.Context(), "+447700900001")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := range accs {
		l, err := nodes[i].Senders(t.Context(), accs[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		total += len(l)
		if len(l) == 1 && l[0].AccountID != owner.AccountID {
			t.Fatalf("listed by %s, owned by %s", l[0].AccountID, owner.AccountID)
		}
	}
	if total != 1 {
		t.Fatalf("%d senders listed, want 1", total)
	}
}

func asHeraldError(err error, he **herald.Error) bool {
	e, ok := err.(*herald.Error)
	if ok {
		*he = e
	}
	return ok
}

// TestTwoNodesInboundParts adds the parts of several concatenated
// messages through two nodes at once, each part from its own call (some
// twice): each group is completed by exactly one call, with all its
// parts; then both nodes store every group's message at once, and
// exactly one of each pair is stored.
func TestTwoNodesInboundParts(t *testing.T) {
	t.Parallel()
	nodes := twoNodes(t)
	acc, err := nodes[0].EnsureAccount(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	const groups, total = 8, 3
	var calls [][]*store.InboundPart
	for g := range groups {
		for seq := 1; seq <= total; seq++ {
			p := &store.InboundPart{Carrier: "sim", From: "+447700900123", To: "12345", Ref: g, Total: total, Seq: seq,
				Data: []byte{byte('a' + seq - 1)}, ReceivedAt: base}
			calls = append(calls, []*store.InboundPart{p})
			if seq == 2 {
				calls = append(calls, []*store.InboundPart{p}) // a part the carrier sent twice
			}
		}
	}
	var mu sync.Mutex
	completed := map[store.InboundGroup]int{}
	var done [][]*store.InboundPart
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			got, err := nodes[i%2].AddInboundParts(context.Background(), c)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, ps := range got {
				completed[ps[0].Group()]++
				done = append(done, ps)
			}
		})
	}
	wg.Wait()
	if len(completed) != groups {
		t.Fatalf("%d groups completed, want %d", len(completed), groups)
	}
	for g, n := range completed {
		if n != 1 {
			t.Fatalf("group %+v completed %d times", g, n)
		}
	}
	for _, ps := range done {
		if len(ps) != total || string(ps[0].Data)+string(ps[1].Data)+string(ps[2].Data) != "abc" {
			t.Fatalf("completed group %+v has %d parts", ps[0].Group(), len(ps))
		}
	}

	// Two assemblers store each group at once: one message each.
	var items [][2]*store.NewInbound
	for _, ps := range done {
		g := ps[0].Group()
		var pair [2]*store.NewInbound
		for i := range pair {
			m := &herald.InboundMessage{ID: herald.NewID("msg", base.UnixMilli()), AccountID: acc.ID, From: g.From,
				To: g.To, Body: "abc", Encoding: "gsm7", Carrier: "sim", PartCount: total, Received: total, ReceivedAt: base}
			pair[i] = &store.NewInbound{Message: m, Group: &g}
		}
		items = append(items, pair)
	}
	for _, pair := range items {
		for i, it := range pair {
			wg.Go(func() {
				if err := nodes[i].ReceiveInbound(context.Background(), []*store.NewInbound{it}); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	for _, pair := range items {
		if pair[0].Skipped == pair[1].Skipped {
			t.Fatalf("group %+v: skipped %t and %t; want exactly one stored", *pair[0].Group, pair[0].Skipped, pair[1].Skipped)
		}
	}
	list, _, err := nodes[0].ListInbound(t.Context(), acc.ID, store.InboundFilter{Limit: 100})
	if err != nil || len(list) != groups {
		t.Fatalf("%d inbound messages stored, want %d (%v)", len(list), groups, err)
	}
	if stale, err := nodes[1].StaleInboundParts(t.Context(), base.Add(time.Hour), 100); err != nil || len(stale) != 0 {
		t.Fatalf("%d groups left after storing every message (%v)", len(stale), err)
	}
}

// TestTwoNodesStop has the same person's STOP stored by two nodes at
// once, each with a confirmation: the opt-out is recorded once, confirmed
// once, and the pending message rejected once.
func TestTwoNodesStop(t *testing.T) {
	t.Parallel()
	nodes := twoNodes(t)
	acc, err := nodes[0].EnsureAccount(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	const person = "+447700900123"
	pending := newMessage(acc, base)
	pending.From, pending.To = "12345", person
	if err := nodes[0].CreateMessages(t.Context(), []*store.NewMessage{{Message: pending}}); err != nil {
		t.Fatal(err)
	}
	const n = 6
	items := make([]*store.NewInbound, n)
	var wg sync.WaitGroup
	for i := range n {
		m := &herald.InboundMessage{ID: herald.NewID("msg", base.UnixMilli()), AccountID: acc.ID, From: person, To: "12345",
			Body: "STOP", Encoding: "gsm7", Carrier: "sim", PartCount: 1, Received: 1, Keyword: "stop", ReceivedAt: base}
		reply := newMessage(acc, base)
		reply.From, reply.To, reply.Body = "12345", person, fmt.Sprintf("You have been unsubscribed (%d).", i)
		items[i] = &store.NewInbound{Message: m, Reply: &store.NewMessage{Message: reply},
			Consent: &herald.ConsentEntry{AccountID: acc.ID, Number: person, Sender: "12345", Action: herald.ConsentOptOut,
				At: base, Source: "keyword", Keyword: "STOP", InboundID: m.ID}}
		wg.Go(func() {
			if err := nodes[i%2].ReceiveInbound(context.Background(), []*store.NewInbound{items[i]}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	changed, replied := 0, 0
	for _, it := range items {
		if it.Changed {
			changed++
		}
		if it.Replied {
			replied++
		}
		if _, err := nodes[0].InboundMessage(t.Context(), acc.ID, it.Message.ID); err != nil {
			t.Fatalf("a STOP was not stored: %v", err)
		}
	}
	if changed != 1 || replied != 1 {
		t.Fatalf("%d STOPs changed the consent and %d were confirmed; want 1 and 1", changed, replied)
	}
	led, err := nodes[1].ConsentLedger(t.Context(), acc.ID, person, 100)
	if err != nil || len(led) != 1 || led[0].Action != herald.ConsentOptOut {
		t.Fatalf("ledger %+v %v; want one opt-out", led, err)
	}
	got, err := nodes[1].Message(t.Context(), acc.ID, pending.ID, false)
	if err != nil || got.Status != herald.StatusRejected || got.ErrorCode != "recipient_opted_out" {
		t.Fatalf("pending message %+v %v; want rejected", got, err)
	}
	evs, err := nodes[0].Events(t.Context(), acc.ID, pending.ID)
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, e := range evs {
		if e.Status == herald.StatusRejected {
			rejected++
		}
	}
	if rejected != 1 {
		t.Fatalf("%d rejected events, want 1", rejected)
	}
}
