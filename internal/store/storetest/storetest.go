// Package storetest is the conformance suite every store backend passes:
// the same tests run against SQLite and PostgreSQL.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// Run runs the suite. open returns a fresh, empty store; the suite closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"AccountsAndKeys", testAccountsAndKeys},
		{"CreateAndRead", testCreateAndRead},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"IdempotencyConflict", testIdempotencyConflict},
		{"Lifecycle", testLifecycle},
		{"MultipartStatus", testMultipartStatus},
		{"ReceiptBeforeResponse", testReceiptBeforeResponse},
		{"KeptReceiptsPurged", testKeptReceiptsPurged},
		{"MonotonicTransitions", testMonotonic},
		{"Cancel", testCancel},
		{"ExpireOverdue", testExpire},
		{"Webhooks", testWebhooks},
		{"ListPagination", testList},
		{"AccountIsolation", testIsolation},
		{"ConcurrentTransitions", testConcurrentTransitions},
		{"RoutedCarrier", testRoutedCarrier},
		{"Senders", testSenders},
		{"InboundParts", testInboundParts},
		{"ReceiveInbound", testReceiveInbound},
		{"OptOuts", testOptOuts},
		{"Conversation", testConversation},
	}
	tests = append(tests, verifyTests...)
	tests = append(tests, smppTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

var base = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func account(t *testing.T, s store.Store, name string) *herald.Account {
	t.Helper()
	a, err := s.EnsureAccount(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// newMessage builds a queued message with n parts.
func newMessage(acc *herald.Account, n int, at time.Time) *herald.Message {
	m := &herald.Message{
		ID: herald.NewID("msg", at.UnixMilli()), AccountID: acc.ID, To: "+447700900123", From: "Herald",
		Body: "hello", Type: herald.TypeTransactional, Status: herald.StatusQueued, Encoding: "gsm7",
		PartCount: n, CallbackURL: "http://127.0.0.1:9/cb", Reference: "ref-1", Metadata: []byte(`{"k":"v"}`),
		Carrier: "sim", CreatedAt: at, UpdatedAt: at,
	}
	for i := 1; i <= n; i++ {
		m.Parts = append(m.Parts, herald.Part{MessageID: m.ID, Seq: i, Status: herald.StatusQueued,
			ShortMessage: []byte(fmt.Sprintf("part %d", i)), DataCoding: 0})
	}
	return m
}

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
			t.Fatal(it.Err)
		}
	}
}

func apply(t *testing.T, s store.Store, ts ...store.Transition) []store.Applied {
	t.Helper()
	out, err := s.Apply(t.Context(), ts)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ref(m *herald.Message, seq int) store.PartRef { return store.PartRef{MessageID: m.ID, Seq: seq} }

func status(t *testing.T, s store.Store, m *herald.Message) *herald.Message {
	t.Helper()
	got, err := s.Message(t.Context(), m.AccountID, m.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func testAccountsAndKeys(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	again := account(t, s, "acme")
	if a.ID != again.ID || a.WebhookSecret == "" || a.WebhookSecret != again.WebhookSecret {
		t.Fatalf("EnsureAccount not stable: %+v %+v", a, again)
	}
	secret, k := herald.NewAPIKey(a.ID)
	if err := s.CreateAPIKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	got, err := s.APIKeyByPrefix(t.Context(), k.Prefix)
	if err != nil || got.AccountID != a.ID || !got.Matches(secret) {
		t.Fatalf("key lookup: %+v %v", got, err)
	}
	if _, err := s.APIKeyByPrefix(t.Context(), "hknope"); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("unknown prefix: %v", err)
	}
}

func testCreateAndRead(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	m := newMessage(a, 2, base)
	create(t, s, m)
	got := status(t, s, m)
	if got.Status != herald.StatusQueued || len(got.Parts) != 2 || string(got.Parts[1].ShortMessage) != "part 2" ||
		string(got.Metadata) != `{"k":"v"}` || !got.CreatedAt.Equal(base) || got.Reference != "ref-1" {
		t.Fatalf("read back %+v", got)
	}
	evs, err := s.Events(t.Context(), a.ID, m.ID)
	if err != nil || len(evs) != 1 || evs[0].Type != "message.queued" {
		t.Fatalf("events %+v %v", evs, err)
	}
	pending, err := s.Pending(t.Context())
	if err != nil || len(pending) != 1 || len(pending[0].Parts) != 2 {
		t.Fatalf("pending %v %v", pending, err)
	}
}

func testIdempotencyConcurrent(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	const n = 100
	var wg sync.WaitGroup
	results := make([]*store.NewMessage, n)
	for i := range n {
		wg.Go(func() {
			m := newMessage(a, 1, base.Add(time.Duration(i)*time.Millisecond))
			it := &store.NewMessage{Message: m, IdempotencyKey: "key-1", RequestHash: []byte("h")}
			if err := s.CreateMessages(context.Background(), []*store.NewMessage{it}); err != nil {
				t.Error(err)
			}
			results[i] = it
		})
	}
	wg.Wait()
	created, ids := 0, map[string]bool{}
	for _, it := range results {
		if it.Err != nil {
			t.Fatalf("item error %v", it.Err)
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
	list, _, err := s.ListMessages(t.Context(), a.ID, store.MessageFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("stored %d messages, want 1 (%v)", len(list), err)
	}
}

func testIdempotencyConflict(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	first := &store.NewMessage{Message: newMessage(a, 1, base), IdempotencyKey: "k", RequestHash: []byte("1")}
	second := &store.NewMessage{Message: newMessage(a, 1, base), IdempotencyKey: "k", RequestHash: []byte("2")}
	if err := s.CreateMessages(t.Context(), []*store.NewMessage{first, second}); err != nil {
		t.Fatal(err)
	}
	var he *herald.Error
	if first.Err != nil || !errors.As(second.Err, &he) || he.Code != "idempotency_key_reused" {
		t.Fatalf("first %v, second %v", first.Err, second.Err)
	}
	if _, err := s.Message(t.Context(), a.ID, second.Message.ID, false); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("the refused message was stored: %v", err)
	}
	// Another account may use the same key.
	b := account(t, s, "other")
	third := &store.NewMessage{Message: newMessage(b, 1, base), IdempotencyKey: "k", RequestHash: []byte("3")}
	if err := s.CreateMessages(t.Context(), []*store.NewMessage{third}); err != nil || third.Err != nil || third.Replayed {
		t.Fatalf("other account: %v %v %v", err, third.Err, third.Replayed)
	}
}

func testLifecycle(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	m := newMessage(a, 1, base)
	create(t, s, m)
	out := apply(t, s, store.Transition{PartRef: ref(m, 1), To: herald.StatusSending, At: base.Add(time.Millisecond), Carrier: "sim"})
	if !out[0].Changed || out[0].MessageStatus != herald.StatusSending {
		t.Fatalf("sending: %+v", out[0])
	}
	out = apply(t, s, store.Transition{PartRef: ref(m, 1), To: herald.StatusSent, At: base.Add(2 * time.Millisecond),
		Carrier: "sim", CarrierMessageID: "1A2B", CorrelationKeys: []string{"6699"}, CarrierCode: "ESME_ROK"})
	if !out[0].Changed || out[0].MessageStatus != herald.StatusSent {
		t.Fatalf("sent: %+v", out[0])
	}
	err := s.ApplyReceipts(t.Context(), []store.Receipt{{Carrier: "sim", CorrelationKeys: []string{"6699"},
		To: herald.StatusDelivered, At: base.Add(time.Second), CarrierCode: "DELIVRD", ReceiptStat: "DELIVRD", ReceiptErr: "000"}})
	if err != nil {
		t.Fatal(err)
	}
	got := status(t, s, m)
	p := got.Parts[0]
	if got.Status != herald.StatusDelivered || p.CarrierMessageID != "1A2B" || p.Attempts != 1 || p.ReceiptStat != "DELIVRD" ||
		!p.SubmittedAt.Equal(base.Add(2*time.Millisecond)) || !p.DoneAt.Equal(base.Add(time.Second)) {
		t.Fatalf("after receipt: %+v %+v", got, p)
	}
	evs, _ := s.Events(t.Context(), a.ID, m.ID)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if fmt.Sprint(types) != "[message.queued message.sending message.sent message.delivered]" {
		t.Fatalf("events %v", types)
	}
	// sent and delivered go to the callback URL; queued and sending do not.
	ds, err := s.Deliveries(t.Context(), a.ID, m.ID)
	if err != nil || len(ds) != 2 {
		t.Fatalf("deliveries %d %v", len(ds), err)
	}
	if len(mustPending(t, s)) != 0 {
		t.Fatal("a sent message is still pending")
	}
}

func mustPending(t *testing.T, s store.Store) []*herald.Message {
	t.Helper()
	p, err := s.Pending(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testMultipartStatus(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	m := newMessage(a, 2, base)
	create(t, s, m)
	at := base.Add(time.Millisecond)
	apply(t, s,
		store.Transition{PartRef: ref(m, 1), To: herald.StatusSending, At: at},
		store.Transition{PartRef: ref(m, 2), To: herald.StatusSending, At: at},
		store.Transition{PartRef: ref(m, 1), To: herald.StatusSent, At: at, Carrier: "sim", CarrierMessageID: "a", CorrelationKeys: []string{"a"}},
		store.Transition{PartRef: ref(m, 2), To: herald.StatusSent, At: at, Carrier: "sim", CarrierMessageID: "b", CorrelationKeys: []string{"b"}},
	)
	rc := func(key string, to herald.Status) {
		if err := s.ApplyReceipts(t.Context(), []store.Receipt{{Carrier: "sim", CorrelationKeys: []string{key}, To: to, At: at.Add(time.Second)}}); err != nil {
			t.Fatal(err)
		}
	}
	rc("a", herald.StatusDelivered)
	if got := status(t, s, m); got.Status != herald.StatusSent {
		t.Fatalf("one part delivered of two: %s", got.Status)
	}
	rc("b", herald.StatusUndelivered)
	if got := status(t, s, m); got.Status != herald.StatusUndelivered || got.Parts[0].Status != herald.StatusDelivered {
		t.Fatalf("delivered + undelivered: %s (%s)", got.Status, got.Parts[0].Status)
	}
}

func testReceiptBeforeResponse(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	m := newMessage(a, 1, base)
	create(t, s, m)
	apply(t, s, store.Transition{PartRef: ref(m, 1), To: herald.StatusSending, At: base})
	// The receipt overtakes the submit_sm_resp.
	if err := s.ApplyReceipts(t.Context(), []store.Receipt{{Carrier: "sim", CorrelationKeys: []string{"77"}, To: herald.StatusDelivered, At: base.Add(time.Second), ReceiptStat: "DELIVRD"}}); err != nil {
		t.Fatal(err)
	}
	if got := status(t, s, m); got.Status != herald.StatusSending {
		t.Fatalf("orphan receipt applied to nothing yet, status %s", got.Status)
	}
	apply(t, s, store.Transition{PartRef: ref(m, 1), To: herald.StatusSent, At: base.Add(2 * time.Second), Carrier: "sim", CarrierMessageID: "77", CorrelationKeys: []string{"77"}})
	if got := status(t, s, m); got.Status != herald.StatusDelivered || got.Parts[0].ReceiptStat != "DELIVRD" {
		t.Fatalf("kept receipt not applied: %s", got.Status)
	}
}

// testKeptReceiptsPurged: a receipt kept for a submit response that does
// not come within the receipt window is deleted by ExpireOverdue; one
// still inside the window is kept and applied.
func testKeptReceiptsPurged(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	old, recent := newMessage(a, 1, base), newMessage(a, 1, base)
	create(t, s, old, recent)
	apply(t, s, store.Transition{PartRef: ref(old, 1), To: herald.StatusSending, At: base},
		store.Transition{PartRef: ref(recent, 1), To: herald.StatusSending, At: base})
	keep := func(key string, at time.Time) {
		if err := s.ApplyReceipts(t.Context(), []store.Receipt{{Carrier: "sim", CorrelationKeys: []string{key},
			To: herald.StatusDelivered, At: at, ReceiptStat: "DELIVRD"}}); err != nil {
			t.Fatal(err)
		}
	}
	keep("501", base)
	keep("502", base.Add(2*time.Hour))
	// The receipt window (sentBefore) is one hour before base+2h: the
	// first kept receipt is older.
	if _, err := s.ExpireOverdue(t.Context(), base.Add(2*time.Hour), base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	at := base.Add(3 * time.Hour)
	apply(t, s, store.Transition{PartRef: ref(old, 1), To: herald.StatusSent, At: at, Carrier: "sim", CarrierMessageID: "501", CorrelationKeys: []string{"501"}},
		store.Transition{PartRef: ref(recent, 1), To: herald.StatusSent, At: at, Carrier: "sim", CarrierMessageID: "502", CorrelationKeys: []string{"502"}})
	if got := status(t, s, old); got.Status != herald.StatusSent {
		t.Errorf("a receipt kept past the receipt window was applied: %s", got.Status)
	}
	if got := status(t, s, recent); got.Status != herald.StatusDelivered {
		t.Errorf("a receipt kept within the receipt window was not applied: %s", got.Status)
	}
}

func testMonotonic(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	m := newMessage(a, 1, base)
	create(t, s, m)
	apply(t, s,
		store.Transition{PartRef: ref(m, 1), To: herald.StatusSending, At: base},
		store.Transition{PartRef: ref(m, 1), To: herald.StatusSent, At: base, Carrier: "sim", CorrelationKeys: []string{"9"}},
	)
	s.ApplyReceipts(t.Context(), []store.Receipt{{Carrier: "sim", CorrelationKeys: []string{"9"}, To: herald.StatusDelivered, At: base}})
	out := apply(t, s, store.Transition{PartRef: ref(m, 1), To: herald.StatusSending, At: base})
	if out[0].Changed {
		t.Fatal("delivered went back to sending")
	}
	s.ApplyReceipts(t.Context(), []store.Receipt{{Carrier: "sim", CorrelationKeys: []string{"9"}, To: herald.StatusUndelivered, At: base}})
	if got := status(t, s, m); got.Status != herald.StatusDelivered {
		t.Fatalf("a second receipt changed a final state: %s", got.Status)
	}
}

func testCancel(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	m := newMessage(a, 1, base)
	sent := newMessage(a, 1, base)
	create(t, s, m, sent)
	apply(t, s, store.Transition{PartRef: ref(sent, 1), To: herald.StatusSending, At: base})
	got, err := s.CancelMessage(t.Context(), a.ID, m.ID, base.Add(time.Second))
	if err != nil || got.Status != herald.StatusCanceled {
		t.Fatalf("cancel queued: %v %v", got, err)
	}
	var he *herald.Error
	if _, err := s.CancelMessage(t.Context(), a.ID, sent.ID, base); !errors.As(err, &he) || he.Code != "not_cancelable" {
		t.Fatalf("cancel sending: %v", err)
	}
	if _, err := s.CancelMessage(t.Context(), "acc_other", m.ID, base); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("cancel by another account: %v", err)
	}
}

func testExpire(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	old := newMessage(a, 1, base)
	old.ValidUntil = base.Add(time.Minute)
	fresh := newMessage(a, 1, base)
	fresh.ValidUntil = base.Add(time.Hour)
	sent := newMessage(a, 1, base)
	create(t, s, old, fresh, sent)
	apply(t, s,
		store.Transition{PartRef: ref(sent, 1), To: herald.StatusSending, At: base},
		store.Transition{PartRef: ref(sent, 1), To: herald.StatusSent, At: base, Carrier: "sim", CorrelationKeys: []string{"s"}},
	)
	n, err := s.ExpireOverdue(t.Context(), base.Add(2*time.Minute), base.Add(time.Second))
	if err != nil || n != 2 {
		t.Fatalf("expired %d parts (%v), want 2", n, err)
	}
	for m, want := range map[*herald.Message]herald.Status{old: herald.StatusExpired, fresh: herald.StatusQueued, sent: herald.StatusUnknown} {
		if got := status(t, s, m); got.Status != want {
			t.Errorf("%s: %s, want %s", m.ID, got.Status, want)
		}
	}
	// A late receipt still resolves unknown.
	s.ApplyReceipts(t.Context(), []store.Receipt{{Carrier: "sim", CorrelationKeys: []string{"s"}, To: herald.StatusDelivered, At: base.Add(time.Hour)}})
	if got := status(t, s, sent); got.Status != herald.StatusDelivered {
		t.Errorf("late receipt after unknown: %s", got.Status)
	}
}

func testWebhooks(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	ep := &herald.WebhookEndpoint{ID: herald.NewID("whk", base.UnixMilli()), AccountID: a.ID, URL: "http://127.0.0.1:9/hook",
		Secret: herald.NewWebhookSecret(), Events: []string{"message.delivered"}}
	if err := s.CreateEndpoint(t.Context(), ep); err != nil {
		t.Fatal(err)
	}
	eps, err := s.Endpoints(t.Context(), a.ID)
	if err != nil || len(eps) != 1 || eps[0].URL != ep.URL || len(eps[0].Events) != 1 {
		t.Fatalf("endpoints %+v %v", eps, err)
	}
	m := newMessage(a, 1, base)
	m.CallbackURL = ""
	create(t, s, m)
	apply(t, s,
		store.Transition{PartRef: ref(m, 1), To: herald.StatusSending, At: base},
		store.Transition{PartRef: ref(m, 1), To: herald.StatusSent, At: base, Carrier: "sim", CorrelationKeys: []string{"w"}},
	)
	s.ApplyReceipts(t.Context(), []store.Receipt{{Carrier: "sim", CorrelationKeys: []string{"w"}, To: herald.StatusDelivered, At: base}})
	ds, err := s.ClaimDeliveries(t.Context(), base.Add(time.Second), time.Minute, 10)
	if err != nil || len(ds) != 1 || ds[0].EndpointID != ep.ID || ds[0].Secret != ep.Secret || len(ds[0].Payload) == 0 {
		t.Fatalf("claimed %+v %v; want the delivered event only", ds, err)
	}
	if again, _ := s.ClaimDeliveries(t.Context(), base.Add(2*time.Second), time.Minute, 10); len(again) != 0 {
		t.Fatal("a leased delivery was claimed twice")
	}
	if err := s.RecordAttempts(t.Context(), []store.Attempt{{DeliveryID: ds[0].ID, At: base, HTTPStatus: 410, GiveUp: true, DisableEndpoint: true}}); err != nil {
		t.Fatal(err)
	}
	eps, _ = s.Endpoints(t.Context(), a.ID)
	if !eps[0].Disabled {
		t.Fatal("410 did not disable the endpoint")
	}
	list, err := s.Deliveries(t.Context(), a.ID, m.ID)
	if err != nil || len(list) != 1 || list[0].State != "failed" || list[0].LastStatus != 410 || list[0].Attempts != 1 {
		t.Fatalf("deliveries %+v %v", list, err)
	}
	if err := s.DeleteEndpoint(t.Context(), a.ID, ep.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEndpoint(t.Context(), a.ID, ep.ID); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("second delete: %v", err)
	}
}

func testList(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	var all []*herald.Message
	for i := range 25 {
		m := newMessage(a, 1, base.Add(time.Duration(i)*time.Second))
		if i%5 == 0 {
			m.Type = herald.TypeOTP
		}
		all = append(all, m)
	}
	create(t, s, all...)
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		page, next, err := s.ListMessages(t.Context(), a.ID, store.MessageFilter{Limit: 10, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for i, m := range page {
			if seen[m.ID] {
				t.Fatalf("%s listed twice", m.ID)
			}
			seen[m.ID] = true
			if i > 0 && page[i-1].ID < m.ID {
				t.Fatal("not newest first")
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 25 || pages != 3 {
		t.Fatalf("listed %d in %d pages", len(seen), pages)
	}
	otp, _, _ := s.ListMessages(t.Context(), a.ID, store.MessageFilter{Type: herald.TypeOTP})
	if len(otp) != 5 {
		t.Fatalf("otp filter: %d", len(otp))
	}
	window, _, _ := s.ListMessages(t.Context(), a.ID, store.MessageFilter{After: base.Add(10 * time.Second), Before: base.Add(20 * time.Second)})
	if len(window) != 10 {
		t.Fatalf("time filter: %d", len(window))
	}
}

func testIsolation(t *testing.T, s store.Store) {
	a, b := account(t, s, "a"), account(t, s, "b")
	m := newMessage(a, 1, base)
	create(t, s, m)
	if _, err := s.Message(t.Context(), b.ID, m.ID, true); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("account b read a's message: %v", err)
	}
	if _, err := s.Events(t.Context(), b.ID, m.ID); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("account b read a's events: %v", err)
	}
	if list, _, _ := s.ListMessages(t.Context(), b.ID, store.MessageFilter{}); len(list) != 0 {
		t.Fatal("account b lists a's messages")
	}
}

// testConcurrentTransitions applies changes to the parts of one message
// from many goroutines at once, so that several land in one commit
// group: none may be lost.
func testConcurrentTransitions(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	const parts = 20
	m := newMessage(a, parts, base)
	create(t, s, m)
	var wg sync.WaitGroup
	for i := 1; i <= parts; i++ {
		wg.Go(func() {
			out, err := s.Apply(context.Background(), []store.Transition{{PartRef: ref(m, i), To: herald.StatusSending, At: base}})
			if err != nil || !out[0].Changed {
				t.Errorf("part %d sending: %v %+v", i, err, out)
				return
			}
			out, err = s.Apply(context.Background(), []store.Transition{{PartRef: ref(m, i), To: herald.StatusSent, At: base,
				Carrier: "sim", CarrierMessageID: fmt.Sprint(i), CorrelationKeys: []string{fmt.Sprint(i)}}})
			if err != nil || !out[0].Changed {
				t.Errorf("part %d sent: %v %+v", i, err, out)
			}
		})
	}
	wg.Wait()
	got := status(t, s, m)
	if got.Status != herald.StatusSent {
		t.Fatalf("message %s, want sent", got.Status)
	}
	for _, p := range got.Parts {
		if p.Status != herald.StatusSent || p.Attempts != 1 || p.CarrierMessageID != fmt.Sprint(p.Seq) {
			t.Fatalf("part %+v", p)
		}
	}
	var rs []store.Receipt
	for i := 1; i <= parts; i++ {
		rs = append(rs, store.Receipt{Carrier: "sim", CorrelationKeys: []string{fmt.Sprint(i)}, To: herald.StatusDelivered, At: base})
	}
	for _, r := range rs {
		wg.Go(func() {
			if err := s.ApplyReceipts(context.Background(), []store.Receipt{r}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := status(t, s, m); got.Status != herald.StatusDelivered {
		t.Fatalf("after all receipts: %s", got.Status)
	}
}

// testRoutedCarrier: the carrier is decided at dispatch time; the
// message records the one named by its parts' move to sending.
func testRoutedCarrier(t *testing.T, s store.Store) {
	acc := account(t, s, "acme")
	m := newMessage(acc, 1, base)
	create(t, s, m)
	ref := store.PartRef{MessageID: m.ID, Seq: 1}
	apply(t, s, store.Transition{PartRef: ref, To: herald.StatusSending, At: base.Add(time.Second), Carrier: "failover-b",
		Detail: "route uk: failover to failover-b because sim is down"})
	got, err := s.Message(t.Context(), acc.ID, m.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Carrier != "failover-b" || got.Status != herald.StatusSending {
		t.Fatalf("after sending through failover-b: carrier %q status %s", got.Carrier, got.Status)
	}
	// Sent through the same carrier: the carrier stays.
	apply(t, s, store.Transition{PartRef: ref, To: herald.StatusSent, At: base.Add(2 * time.Second), Carrier: "failover-b",
		CarrierMessageID: "c1", CorrelationKeys: []string{"c1"}})
	if got, _ := s.Message(t.Context(), acc.ID, m.ID, false); got.Carrier != "failover-b" {
		t.Fatalf("after sent: carrier %q", got.Carrier)
	}
}
