package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

func testSenders(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := account(t, s, "acme"), account(t, s, "globex")
	sa := &herald.Sender{ID: herald.NewID("snd", base.UnixMilli()), AccountID: a.ID, Address: "+447700900001", Kind: herald.SenderNumber}
	if err := s.CreateSender(ctx, sa); err != nil {
		t.Fatal(err)
	}
	// An address belongs to one account.
	sb := &herald.Sender{ID: herald.NewID("snd", base.UnixMilli()), AccountID: b.ID, Address: "+447700900001", Kind: herald.SenderNumber}
	var he *herald.Error
	if err := s.CreateSender(ctx, sb); !asError(err, &he) || he.Code != "sender_taken" {
		t.Fatalf("second owner: %v; want sender_taken", err)
	}
	got, err := s.SenderByAddress(ctx, "+447700900001")
	if err != nil || got.AccountID != a.ID || got.Kind != herald.SenderNumber {
		t.Fatalf("by address: %+v %v", got, err)
	}
	if _, err := s.SenderByAddress(ctx, "+447700900002"); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("unknown address: %v", err)
	}
	if l, _ := s.Senders(ctx, b.ID); len(l) != 0 {
		t.Fatalf("globex sees %d senders", len(l))
	}
	if err := s.DeleteSender(ctx, b.ID, sa.ID); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("delete by another account: %v", err)
	}
	if err := s.DeleteSender(ctx, a.ID, sa.ID); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.Senders(ctx, a.ID); len(l) != 0 {
		t.Fatalf("%d senders after delete", len(l))
	}

	p, err := s.Policy(ctx, a.ID)
	if err != nil || p.AllowAnySender || p.OptOutScope != herald.ScopeSender || len(p.Exempt) != 0 {
		t.Fatalf("default policy %+v %v", p, err)
	}
	if err := s.SetPolicy(ctx, &herald.Policy{AccountID: a.ID, AllowAnySender: true, OptOutScope: herald.ScopeAccount,
		Exempt: []herald.MessageType{herald.TypeOTP}, UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	p, _ = s.Policy(ctx, a.ID)
	if !p.AllowAnySender || p.OptOutScope != herald.ScopeAccount || !p.Exempts(herald.TypeOTP) || p.Exempts(herald.TypeMarketing) {
		t.Fatalf("policy after set %+v", p)
	}
	led, err := s.ConsentLedger(ctx, a.ID, "", 10)
	if err != nil || len(led) != 1 || led[0].Action != herald.ConsentPolicy || led[0].Reason == "" {
		t.Fatalf("policy change not in the ledger: %+v %v", led, err)
	}
}

func asError(err error, he **herald.Error) bool {
	e, ok := err.(*herald.Error)
	if !ok {
		return false
	}
	*he = e
	return true
}

func inPart(seq, total int, data string) *store.InboundPart {
	return &store.InboundPart{Carrier: "sim", From: "+447700900123", To: "12345", Ref: 7, Total: total, Seq: seq,
		Data: []byte(data), ReceivedAt: base.Add(time.Duration(seq) * time.Second)}
}

func testInboundParts(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Reverse order, one part repeated: only the call adding the last
	// missing part completes the group, in seq order.
	for i, batch := range [][]*store.InboundPart{{inPart(3, 3, "c")}, {inPart(3, 3, "c"), inPart(2, 3, "b")}} {
		done, err := s.AddInboundParts(ctx, batch)
		if err != nil || len(done) != 0 {
			t.Fatalf("call %d: %d complete, %v", i, len(done), err)
		}
	}
	done, err := s.AddInboundParts(ctx, []*store.InboundPart{inPart(1, 3, "a"), inPart(1, 3, "a")})
	if err != nil || len(done) != 1 || len(done[0]) != 3 {
		t.Fatalf("completing call: %v %v", done, err)
	}
	var text string
	for _, p := range done[0] {
		text += string(p.Data)
	}
	if text != "abc" {
		t.Fatalf("parts in order %q, want abc", text)
	}
	if again, _ := s.AddInboundParts(ctx, []*store.InboundPart{inPart(2, 3, "b")}); len(again) != 0 {
		t.Fatal("a repeated part completed the group again")
	}
	// Another group with a part missing becomes stale after its first part.
	other := inPart(1, 2, "x")
	other.Ref = 8
	if _, err := s.AddInboundParts(ctx, []*store.InboundPart{other}); err != nil {
		t.Fatal(err)
	}
	stale, err := s.StaleInboundParts(ctx, base.Add(1500*time.Millisecond), 10)
	if err != nil {
		t.Fatal(err)
	}
	// Both groups have a part received at base+1s.
	if len(stale) != 2 {
		t.Fatalf("%d stale groups, want 2", len(stale))
	}
	if stale, _ := s.StaleInboundParts(ctx, base, 10); len(stale) != 0 {
		t.Fatalf("%d stale groups before any part arrived", len(stale))
	}
	if _, err := s.AddInboundParts(ctx, []*store.InboundPart{inPart(4, 3, "bad")}); herald.ErrorKind(err) != herald.KindInvalid {
		t.Fatalf("seq beyond total: %v", err)
	}
}

func testReceiveInbound(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := account(t, s, "acme")
	ep := &herald.WebhookEndpoint{ID: herald.NewID("whk", base.UnixMilli()), AccountID: a.ID, URL: "http://127.0.0.1:9/hook",
		Secret: herald.NewWebhookSecret(), Events: []string{"message.received"}}
	if err := s.CreateEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	parts := []*store.InboundPart{inPart(1, 2, "a"), inPart(2, 2, "b")}
	done, err := s.AddInboundParts(ctx, parts)
	if err != nil || len(done) != 1 {
		t.Fatalf("%v %v", done, err)
	}
	g := parts[0].Group()
	// Pending messages to the person: from the sender written to (stopped
	// by a sender-scope opt-out), and from another sender (not).
	pending, other := newMessage(a, 2, base), newMessage(a, 1, base)
	pending.From = "12345"
	create(t, s, pending, other)
	m := &herald.InboundMessage{ID: herald.NewID("msg", base.UnixMilli()), AccountID: a.ID, From: "+447700900123", To: "12345",
		Body: "STOP", Encoding: "gsm7", Carrier: "sim", PartCount: 2, Received: 2, Keyword: "stop", ReceivedAt: base}
	c := &herald.ConsentEntry{AccountID: a.ID, Number: m.From, Sender: m.To, Action: herald.ConsentOptOut, At: base,
		Source: "keyword", Keyword: "STOP", InboundID: m.ID}
	confirm := newMessage(a, 1, base)
	confirm.From, confirm.To, confirm.Body = "12345", m.From, "You have been unsubscribed."
	items := []*store.NewInbound{{Message: m, Group: &g, Consent: c, Reply: &store.NewMessage{Message: confirm}}}
	if err := s.ReceiveInbound(ctx, items); err != nil {
		t.Fatal(err)
	}
	if items[0].Skipped || !items[0].Changed || !items[0].Replied {
		t.Fatalf("first store: skipped %t changed %t replied %t", items[0].Skipped, items[0].Changed, items[0].Replied)
	}
	if got, err := s.Message(ctx, a.ID, confirm.ID, false); err != nil || got.Body != confirm.Body {
		t.Fatalf("the confirmation was not stored with the STOP: %v", err)
	}
	// The same group again (a second assembler) is skipped.
	dup := *m
	dup.ID = herald.NewID("msg", base.UnixMilli())
	again := []*store.NewInbound{{Message: &dup, Group: &g, Consent: c}}
	if err := s.ReceiveInbound(ctx, again); err != nil || !again[0].Skipped {
		t.Fatalf("second assembly: skipped %t %v", again[0].Skipped, err)
	}
	got, err := s.InboundMessage(ctx, a.ID, m.ID)
	if err != nil || got.Body != "STOP" || got.From != m.From || got.Keyword != "stop" || !got.ReceivedAt.Equal(base) {
		t.Fatalf("stored %+v %v", got, err)
	}
	if _, err := s.InboundMessage(ctx, account(t, s, "globex").ID, m.ID); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("another account reads it: %v", err)
	}
	if out, _ := s.OptedOut(ctx, a.ID, m.From, "12345"); !out {
		t.Fatal("STOP did not opt out in the same commit")
	}
	if out, _ := s.OptedOut(ctx, a.ID, m.From, "54321"); out {
		t.Fatal("a sender-scope opt-out covers another sender")
	}
	if got, _ := s.Message(ctx, a.ID, pending.ID, true); got.Status != herald.StatusRejected || got.ErrorCode != "recipient_opted_out" ||
		got.Parts[1].Status != herald.StatusRejected {
		t.Fatalf("pending message after STOP: %s %s", got.Status, got.ErrorCode)
	}
	if got, _ := s.Message(ctx, a.ID, other.ID, false); got.Status != herald.StatusQueued {
		t.Fatalf("message from another sender after STOP: %s", got.Status)
	}
	all, err := s.ClaimDeliveries(ctx, base.Add(time.Second), time.Minute, 10)
	var ds []*herald.Delivery // to the endpoint (the rejected message's event goes to its callback URL)
	for _, d := range all {
		if d.EndpointID == ep.ID {
			ds = append(ds, d)
		}
	}
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries %d %v; want one message.received", len(ds), err)
	}
	var ev struct {
		Type string
		Data herald.InboundView
	}
	if err := json.Unmarshal(ds[0].Payload, &ev); err != nil || ev.Type != "message.received" || ev.Data.Body != "STOP" ||
		ev.Data.Direction != herald.Inbound {
		t.Fatalf("payload %s %v", ds[0].Payload, err)
	}
	list, next, err := s.ListInbound(ctx, a.ID, store.InboundFilter{From: m.From})
	if err != nil || len(list) != 1 || next != "" {
		t.Fatalf("list %d %q %v", len(list), next, err)
	}
	// START removes it, once.
	in := &herald.ConsentEntry{AccountID: a.ID, Number: m.From, Sender: m.To, Action: herald.ConsentOptIn, At: base.Add(time.Second), Source: "keyword", Keyword: "START"}
	start := &herald.InboundMessage{ID: herald.NewID("msg", base.UnixMilli()), AccountID: a.ID, From: m.From, To: m.To, Body: "start",
		Encoding: "gsm7", Carrier: "sim", PartCount: 1, Received: 1, ReceivedAt: base.Add(time.Second)}
	its := []*store.NewInbound{{Message: start, Consent: in}}
	if err := s.ReceiveInbound(ctx, its); err != nil || !its[0].Changed {
		t.Fatalf("START: changed %t %v", its[0].Changed, err)
	}
	// A second START changes nothing: its reply is not created.
	again2 := *start
	again2.ID = herald.NewID("msg", base.UnixMilli())
	noReply := newMessage(a, 1, base)
	its = []*store.NewInbound{{Message: &again2, Consent: in, Reply: &store.NewMessage{Message: noReply}}}
	if err := s.ReceiveInbound(ctx, its); err != nil || its[0].Changed || its[0].Replied {
		t.Fatalf("second START: changed %t replied %t %v", its[0].Changed, its[0].Replied, err)
	}
	if _, err := s.Message(ctx, a.ID, noReply.ID, false); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("a reply to a START that changed nothing was stored: %v", err)
	}
	if out, _ := s.OptedOut(ctx, a.ID, m.From, "12345"); out {
		t.Fatal("still opted out after START")
	}
	led, _ := s.ConsentLedger(ctx, a.ID, m.From, 10)
	if len(led) != 2 || led[0].Action != herald.ConsentOptOut || led[0].InboundID != m.ID || led[0].Keyword != "STOP" ||
		led[1].Action != herald.ConsentOptIn {
		t.Fatalf("ledger %+v", led)
	}
}

func testOptOuts(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := account(t, s, "acme"), account(t, s, "globex")
	var os []*herald.OptOut
	for i := range 5 {
		os = append(os, &herald.OptOut{AccountID: a.ID, Number: fmt.Sprintf("+4477009000%02d", i), At: base, Source: "import"})
	}
	n, err := s.AddOptOuts(ctx, append(os, os[0]))
	if err != nil || n != 5 {
		t.Fatalf("added %d %v; want 5", n, err)
	}
	if out, _ := s.OptedOut(ctx, a.ID, os[1].Number, "anything"); !out {
		t.Fatal("account-wide opt-out does not cover every sender")
	}
	if out, _ := s.OptedOut(ctx, b.ID, os[1].Number, ""); out {
		t.Fatal("an opt-out leaks to another account")
	}
	var all []string
	for cursor := ""; ; {
		page, next, err := s.OptOuts(ctx, a.ID, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			all = append(all, o.Number)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 5 || !slices.IsSorted(all) {
		t.Fatalf("paged opt-outs %v", all)
	}
	rm := &herald.ConsentEntry{AccountID: a.ID, Number: os[0].Number, Source: "api", Reason: "customer asked by phone", At: base.Add(time.Minute)}
	if err := s.RemoveOptOut(ctx, rm); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveOptOut(ctx, rm); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("second removal: %v", err)
	}
	led, _ := s.ConsentLedger(ctx, a.ID, os[0].Number, 10)
	if len(led) != 2 || led[1].Action != herald.ConsentRemove || led[1].Reason != rm.Reason {
		t.Fatalf("ledger %+v", led)
	}
}

func testConversation(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := account(t, s, "acme")
	const person = "+447700900123"
	var want []string
	for i := range 3 {
		out := newMessage(a, 1, base.Add(time.Duration(2*i)*time.Second))
		out.To = person
		create(t, s, out)
		in := &herald.InboundMessage{ID: herald.NewID("msg", base.UnixMilli()), AccountID: a.ID, From: person, To: "12345",
			Body: fmt.Sprintf("reply %d", i), Encoding: "gsm7", Carrier: "sim", PartCount: 1, Received: 1,
			ReceivedAt: base.Add(time.Duration(2*i+1) * time.Second)}
		if err := s.ReceiveInbound(ctx, []*store.NewInbound{{Message: in}}); err != nil {
			t.Fatal(err)
		}
		want = append(want, out.ID, in.ID)
	}
	other := newMessage(a, 1, base)
	other.To = "+447700900999"
	create(t, s, other)
	var got []string
	for cursor := ""; ; {
		page, next, err := s.Conversation(ctx, a.ID, person, cursor, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page {
			if it.Outbound != nil {
				got = append(got, it.Outbound.ID)
			} else {
				got = append(got, it.Inbound.ID)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("conversation %v\nwant %v", got, want)
	}
	if page, _, _ := s.Conversation(ctx, account(t, s, "globex").ID, person, "", 10); len(page) != 0 {
		t.Fatal("another account sees the conversation")
	}
}
