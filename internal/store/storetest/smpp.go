package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// smppTests are the conformance tests of store.SMPPUsers and
// store.ClientOutbox; Run runs them with the others.
var smppTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"SMPPUsers", testSMPPUsers},
	{"ClientReceipts", testClientReceipts},
	{"ClientOutboxOrder", testClientOutboxOrder},
	{"ClientInboundQueued", testClientInboundQueued},
}

// testClientInboundQueued: an inbound message for an account with SMPP
// users is queued for its receiver binds in the same commit; an account
// without SMPP users gets none.
func testClientInboundQueued(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := account(t, s, "acme"), account(t, s, "webonly")
	u := &herald.SMPPUser{ID: herald.NewID("smu", base.UnixMilli()), AccountID: a.ID, SystemID: "acme-in",
		PasswordHash: "h", CreatedAt: base}
	if err := s.CreateSMPPUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	in := func(acc *herald.Account, body string) *store.NewInbound {
		return &store.NewInbound{Message: &herald.InboundMessage{ID: herald.NewID("inb", base.UnixMilli()), AccountID: acc.ID,
			From: "+447700900123", To: "12345", Body: body, Encoding: "ucs2", Carrier: "sim", PartCount: 1, Received: 1,
			ReceivedAt: base}}
	}
	items := []*store.NewInbound{in(a, "yes, confirm 🙂"), in(b, "hello")}
	if err := s.ReceiveInbound(ctx, items); err != nil {
		t.Fatal(err)
	}
	rows, err := s.ClientMessages(ctx, a.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("account with an SMPP user has %d outbox rows, want 1", len(rows))
	}
	r := rows[0]
	if r.Kind != herald.ClientInbound || r.MessageID != items[0].Message.ID || r.From != "+447700900123" || r.To != "12345" ||
		r.Body != "yes, confirm 🙂" || r.AccountID != a.ID {
		t.Fatalf("outbox row %+v", r)
	}
	if rows, err := s.ClientMessages(ctx, b.ID, 0, 10); err != nil || len(rows) != 0 {
		t.Fatalf("account without SMPP users has %d outbox rows (%v), want 0", len(rows), err)
	}
}

func testSMPPUsers(t *testing.T, s store.Store) {
	a, b := account(t, s, "acme"), account(t, s, "other")
	u := &herald.SMPPUser{ID: herald.NewID("smu", base.UnixMilli()), AccountID: a.ID, SystemID: "acme1",
		PasswordHash: "h", MaxBinds: 3, RateLimit: 50, AllowedIPs: []string{"127.0.0.1", "10.0.0.0/8"}, CreatedAt: base}
	if err := s.CreateSMPPUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	dup := *u
	dup.ID, dup.AccountID = herald.NewID("smu", base.UnixMilli()), b.ID
	if err := s.CreateSMPPUser(t.Context(), &dup); errorCode(err) != "system_id_taken" {
		t.Fatalf("duplicate system_id: %v", err)
	}
	got, err := s.SMPPUserBySystemID(t.Context(), "acme1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || got.AccountID != a.ID || got.PasswordHash != "h" || got.MaxBinds != 3 || got.RateLimit != 50 ||
		fmt.Sprint(got.AllowedIPs) != "[127.0.0.1 10.0.0.0/8]" || !got.CreatedAt.Equal(base) {
		t.Fatalf("read back %+v", got)
	}
	if _, err := s.SMPPUserBySystemID(t.Context(), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown system_id: %v", err)
	}
	if us, err := s.SMPPUsers(t.Context(), b.ID); err != nil || len(us) != 0 {
		t.Fatalf("other account sees %d users (%v)", len(us), err)
	}
	if us, err := s.SMPPUsers(t.Context(), a.ID); err != nil || len(us) != 1 {
		t.Fatalf("account lists %d users (%v)", len(us), err)
	}
	if err := s.DeleteSMPPUser(t.Context(), b.ID, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete from another account: %v", err)
	}
	if err := s.DeleteSMPPUser(t.Context(), a.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SMPPUserBySystemID(t.Context(), "acme1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

// deliver takes a one-part message from queued to to.
func deliver(t *testing.T, s store.Store, m *herald.Message, to herald.Status, at time.Time) {
	t.Helper()
	apply(t, s, store.Transition{PartRef: ref(m, 1), To: herald.StatusSending, At: at, Carrier: "sim"})
	apply(t, s, store.Transition{PartRef: ref(m, 1), To: herald.StatusSent, At: at, Carrier: "sim", CarrierMessageID: "c-" + m.ID})
	apply(t, s, store.Transition{PartRef: ref(m, 1), To: to, At: at.Add(time.Second), Carrier: "sim", ReceiptStat: "X", ReceiptErr: "042"})
}

func testClientReceipts(t *testing.T, s store.Store) {
	a := account(t, s, "acme")
	cases := []struct {
		name   string
		src    *store.SMPPSource
		to     herald.Status
		expect []herald.Status
	}{
		{"api message", nil, herald.StatusDelivered, nil},
		{"no receipt asked", &store.SMPPSource{UserID: "u1"}, herald.StatusDelivered, nil},
		{"final receipt", &store.SMPPSource{UserID: "u1", RegisteredDelivery: 1}, herald.StatusDelivered, []herald.Status{herald.StatusDelivered}},
		{"failure only, delivered", &store.SMPPSource{UserID: "u1", RegisteredDelivery: 2}, herald.StatusDelivered, nil},
		{"failure only, undelivered", &store.SMPPSource{UserID: "u1", RegisteredDelivery: 2}, herald.StatusUndelivered, []herald.Status{herald.StatusUndelivered}},
		{"intermediate", &store.SMPPSource{UserID: "u1", RegisteredDelivery: 0x11}, herald.StatusDelivered, []herald.Status{herald.StatusSent, herald.StatusDelivered}},
	}
	var after int64
	for i, tc := range cases {
		m := newMessage(a, 1, base.Add(time.Duration(i)*time.Minute))
		if err := s.CreateMessages(t.Context(), []*store.NewMessage{{Message: m, SMPP: tc.src}}); err != nil {
			t.Fatal(err)
		}
		deliver(t, s, m, tc.to, base.Add(time.Duration(i)*time.Minute))
		rows, err := s.ClientMessages(t.Context(), a.ID, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []herald.Status
		for _, r := range rows {
			if r.MessageID != m.ID || r.Kind != herald.ClientReceipt || r.AccountID != a.ID || r.To != m.To || r.From != m.From ||
				r.Body != "hello" || r.Parts != 1 {
				t.Fatalf("%s: row %+v", tc.name, r)
			}
			if r.Status.Final() && (r.ErrorCode != "042" || !r.DoneAt.Equal(m.CreatedAt.Add(time.Second)) || !r.SubmitAt.Equal(m.CreatedAt)) {
				t.Fatalf("%s: final row %+v", tc.name, r)
			}
			if (r.Status == herald.StatusDelivered) != (r.Delivered == 1) {
				t.Fatalf("%s: delivered parts %d", tc.name, r.Delivered)
			}
			got = append(got, r.Status)
			after = r.Seq
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.expect) {
			t.Fatalf("%s: receipts %v, want %v", tc.name, got, tc.expect)
		}
	}
	// A canceled SMPP message gets its receipt too.
	m := newMessage(a, 1, base.Add(time.Hour))
	if err := s.CreateMessages(t.Context(), []*store.NewMessage{{Message: m, SMPP: &store.SMPPSource{UserID: "u1", RegisteredDelivery: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CancelMessage(t.Context(), a.ID, m.ID, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	rows, err := s.ClientMessages(t.Context(), a.ID, after, 100)
	if err != nil || len(rows) != 1 || rows[0].Status != herald.StatusCanceled {
		t.Fatalf("cancel receipt %v %v", rows, err)
	}
}

func testClientOutboxOrder(t *testing.T, s store.Store) {
	a, b := account(t, s, "acme"), account(t, s, "other")
	var ms []*herald.ClientMessage
	for i := range 5 {
		ms = append(ms, &herald.ClientMessage{AccountID: a.ID, Kind: herald.ClientInbound, MessageID: fmt.Sprintf("in%d", i),
			From: "+447700900123", To: "Herald", Body: fmt.Sprintf("text %d", i)})
	}
	ms = append(ms, &herald.ClientMessage{AccountID: b.ID, Kind: herald.ClientInbound, MessageID: "other"})
	if err := s.AddClientMessages(t.Context(), ms); err != nil {
		t.Fatal(err)
	}
	accs, err := s.ClientOutboxAccounts(t.Context())
	if err != nil || len(accs) != 2 {
		t.Fatalf("accounts %v %v", accs, err)
	}
	rows, err := s.ClientMessages(t.Context(), a.ID, 0, 3)
	if err != nil || len(rows) != 3 {
		t.Fatalf("first page %d %v", len(rows), err)
	}
	for i, r := range rows {
		if r.MessageID != fmt.Sprintf("in%d", i) || r.Seq != ms[i].Seq || r.Body != ms[i].Body || r.Kind != herald.ClientInbound {
			t.Fatalf("row %d: %+v", i, r)
		}
	}
	// Acknowledge the second row only: the first stays, in order.
	if err := s.AckClientMessages(t.Context(), a.ID, []int64{rows[1].Seq}); err != nil {
		t.Fatal(err)
	}
	// Another account cannot acknowledge a's rows.
	if err := s.AckClientMessages(t.Context(), b.ID, []int64{rows[0].Seq}); err != nil {
		t.Fatal(err)
	}
	rows, err = s.ClientMessages(t.Context(), a.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.MessageID)
	}
	if fmt.Sprint(ids) != "[in0 in2 in3 in4]" {
		t.Fatalf("after ack: %v", ids)
	}
	// Sequence numbers are never reused, even after the last row is deleted.
	last := rows[len(rows)-1].Seq
	if err := s.AckClientMessages(t.Context(), a.ID, []int64{last}); err != nil {
		t.Fatal(err)
	}
	n := &herald.ClientMessage{AccountID: a.ID, Kind: herald.ClientInbound, MessageID: "late"}
	if err := s.AddClientMessages(t.Context(), []*herald.ClientMessage{n}); err != nil {
		t.Fatal(err)
	}
	if n.Seq <= last {
		t.Fatalf("seq %d reused (last was %d)", n.Seq, last)
	}
}

func errorCode(err error) string {
	var he *herald.Error
	if errors.As(err, &he) {
		return he.Code
	}
	return ""
}
