package smppserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smstext"
	"github.com/herald-sms/herald/internal/store"
)

// fakeStore is an in-memory Store.
type fakeStore struct {
	mu       sync.Mutex
	users    map[string]*herald.SMPPUser
	messages map[string]*herald.Message
	outbox   []*herald.ClientMessage
	seq      int64
}

func newFakeStore() *fakeStore {
	return &fakeStore{users: map[string]*herald.SMPPUser{}, messages: map[string]*herald.Message{}}
}

func (f *fakeStore) SMPPUserBySystemID(_ context.Context, id string) (*herald.SMPPUser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.users[id]; u != nil {
		cp := *u
		return &cp, nil
	}
	return nil, &herald.Error{Kind: herald.KindNotFound, Code: "not_found", Err: store.ErrNotFound}
}

func (f *fakeStore) Message(_ context.Context, acc, id string, _ bool) (*herald.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.messages[id]; m != nil && m.AccountID == acc {
		cp := *m
		return &cp, nil
	}
	return nil, &herald.Error{Kind: herald.KindNotFound, Code: "not_found", Err: store.ErrNotFound}
}

func (f *fakeStore) add(m *herald.ClientMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	m.Seq = f.seq
	f.outbox = append(f.outbox, m)
}

func (f *fakeStore) ClientMessages(_ context.Context, acc string, after int64, limit int) ([]*herald.ClientMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*herald.ClientMessage
	for _, m := range f.outbox {
		if m.AccountID == acc && m.Seq > after && len(out) < limit {
			out = append(out, m)
		}
	}
	return out, nil
}

func (f *fakeStore) AckClientMessages(_ context.Context, acc string, seqs []int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outbox = slices.DeleteFunc(f.outbox, func(m *herald.ClientMessage) bool {
		return m.AccountID == acc && slices.Contains(seqs, m.Seq)
	})
	return nil
}

func (f *fakeStore) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.outbox)
}

// fakeIntake accepts every request whose To is valid E.164 and records
// the messages in the fake store.
type fakeIntake struct {
	st    *fakeStore
	mu    sync.Mutex
	reqs  []intake.Request
	calls int
	fail  error
	// entered, when set, is told of each call, which then waits for gate.
	entered chan struct{}
	gate    chan struct{}
}

func (f *fakeIntake) Submit(_ context.Context, acc string, reqs []intake.Request, _ intake.Idempotency, _ bool) ([]intake.Result, error) {
	if f.entered != nil {
		f.entered <- struct{}{}
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return nil, f.fail
	}
	out := make([]intake.Result, len(reqs))
	for i, r := range reqs {
		f.reqs = append(f.reqs, r)
		if !strings.HasPrefix(r.To, "+") {
			out[i].Err = herald.FieldError("to", "invalid_phone_number", "bad")
			continue
		}
		m := &herald.Message{ID: fmt.Sprintf("msg_%d", len(f.reqs)), AccountID: acc, To: r.To, From: r.From, Body: r.Body,
			Status: herald.StatusQueued}
		f.st.mu.Lock()
		f.st.messages[m.ID] = m
		f.st.mu.Unlock()
		out[i].Message = m
	}
	return out, nil
}

func (f *fakeIntake) Cancel(_ context.Context, acc, id string) (*herald.Message, error) {
	f.st.mu.Lock()
	defer f.st.mu.Unlock()
	m := f.st.messages[id]
	if m == nil || m.AccountID != acc {
		return nil, &herald.Error{Kind: herald.KindNotFound, Code: "not_found"}
	}
	if m.Status != herald.StatusQueued {
		return nil, &herald.Error{Kind: herald.KindConflict, Code: "not_cancelable"}
	}
	m.Status = herald.StatusCanceled
	return m, nil
}

func (f *fakeIntake) requests() []intake.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

type harness struct {
	st   *fakeStore
	in   *fakeIntake
	srv  *Server
	addr string
}

func start(t testing.TB, users ...*herald.SMPPUser) *harness {
	t.Helper()
	st := newFakeStore()
	for _, u := range users {
		st.users[u.SystemID] = u
	}
	in := &fakeIntake{st: st}
	srv, addr := serve(t, Options{Store: st, Intake: in, PollInterval: 20 * time.Millisecond, RetryDelay: 10 * time.Millisecond})
	return &harness{st: st, in: in, srv: srv, addr: addr}
}

// serve runs a server with o on a port of its own until the test ends.
func serve(t testing.TB, o Options) (*Server, string) {
	t.Helper()
	srv := New(o)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	return srv, l.Addr().String()
}

var testPassword = "s3cret99"

func user(systemID string) *herald.SMPPUser {
	return &herald.SMPPUser{ID: "smu_" + systemID, AccountID: "acc_1", SystemID: systemID,
		PasswordHash: herald.HashSMPPPassword(testPassword)}
}

func (h *harness) bind(t testing.TB, systemID, password string, role pdu.Role, hd smpp.Handler) (*smpp.Session, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	s, err := smpp.Dial(ctx, h.addr, pdu.Bind{Role: role, SystemID: systemID, Password: password}, smpp.Config{}, hd)
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

func TestBind(t *testing.T) {
	t.Parallel()
	limited := user("limited")
	limited.MaxBinds = 1
	walled := user("walled")
	walled.AllowedIPs = []string{"192.0.2.0/24"}
	h := start(t, user("acme"), limited, walled)
	cases := []struct {
		name, systemID, password string
		want                     pdu.Status
	}{
		{"good", "acme", testPassword, pdu.StatusOK},
		{"good again (cached)", "acme", testPassword, pdu.StatusOK},
		{"wrong password", "acme", "nope", pdu.StatusBindFail},
		{"unknown system_id", "nobody", testPassword, pdu.StatusBindFail},
		{"address not allowed", "walled", testPassword, pdu.StatusBindFail},
		{"first of one", "limited", testPassword, pdu.StatusOK},
		{"too many binds", "limited", testPassword, pdu.StatusBindFail},
	}
	for _, tc := range cases {
		_, err := h.bind(t, tc.systemID, tc.password, pdu.Transceiver, nil)
		var got pdu.Status
		if err != nil && !errors.As(err, &got) {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: status %v, want %v", tc.name, got, tc.want)
		}
	}
}

func submit(t *testing.T, s *smpp.Session, sm *pdu.SubmitSM) smpp.Response {
	t.Helper()
	r, err := s.Send(t.Context(), sm)
	if err != nil || r.Err != nil {
		t.Fatalf("submit: %v %v", err, r.Err)
	}
	return r
}

func TestSubmit(t *testing.T) {
	t.Parallel()
	h := start(t, user("acme"))
	s, err := h.bind(t, "acme", testPassword, pdu.Transmitter, nil)
	if err != nil {
		t.Fatal(err)
	}
	ucs2 := []byte{0x04, 0x1f, 0x04, 0x40, 0x04, 0x38} // "При"
	cases := []struct {
		name string
		sm   pdu.SubmitSM
		want pdu.Status
		body string
	}{
		{"gsm7", pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{TON: 5, Addr: "Herald"},
			Dest: pdu.Address{TON: 1, NPI: 1, Addr: "447700900123"}, Message: []byte("hello @ world"), RegisteredDelivery: 1}},
			pdu.StatusOK, "hello ¡ world"},
		{"ucs2", pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{Addr: "Herald"},
			Dest: pdu.Address{Addr: "+447700900123"}, DataCoding: 8, Message: ucs2}}, pdu.StatusOK, "При"},
		{"latin1", pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{Addr: "Herald"},
			Dest: pdu.Address{TON: 1, Addr: "447700900123"}, DataCoding: 3, Message: []byte{'c', 0xe9}}}, pdu.StatusOK, "cé"},
		{"bad number", pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{Addr: "Herald"},
			Dest: pdu.Address{Addr: "12"}, Message: []byte("x")}}, pdu.StatusInvDstAdr, ""},
		{"binary", pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{Addr: "Herald"},
			Dest: pdu.Address{TON: 1, Addr: "447700900123"}, DataCoding: 4, Message: []byte{1, 2}}}, pdu.StatusSubmitFail, ""},
		{"bad schedule", pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{Addr: "Herald"},
			Dest: pdu.Address{TON: 1, Addr: "447700900123"}, ScheduleDeliveryTime: "bad", Message: []byte("x")}}, pdu.StatusInvSched, ""},
	}
	for _, tc := range cases {
		r := submit(t, s, &tc.sm)
		if r.Status() != tc.want {
			t.Errorf("%s: status %v, want %v", tc.name, r.Status(), tc.want)
			continue
		}
		if tc.want != pdu.StatusOK {
			continue
		}
		id := r.Body.(*pdu.SubmitSMResp).MessageID
		reqs := h.in.requests()
		last := reqs[len(reqs)-1]
		if last.Body != tc.body || !strings.HasPrefix(last.To, "+") || last.SMPP == nil || last.SMPP.UserID != "smu_acme" ||
			last.SMPP.RegisteredDelivery != tc.sm.RegisteredDelivery || id != fmt.Sprintf("msg_%d", len(reqs)) {
			t.Errorf("%s: request %+v id %s", tc.name, last, id)
		}
	}
	// A receiver cannot submit.
	rx, err := h.bind(t, "acme", testPassword, pdu.Receiver, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := submit(t, rx, &cases[0].sm); r.Status() != pdu.StatusInvBndSts {
		t.Errorf("receiver submit: %v", r.Status())
	}
}

func TestSubmitStoreDown(t *testing.T) {
	t.Parallel()
	h := start(t, user("acme"))
	h.in.fail = &herald.Error{Kind: herald.KindTransient, Code: "store_unavailable"}
	s, err := h.bind(t, "acme", testPassword, pdu.Transmitter, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := submit(t, s, &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{Addr: "Herald"},
		Dest: pdu.Address{Addr: "+447700900123"}, Message: []byte("x")}})
	if r.Status() != pdu.StatusSysErr {
		t.Fatalf("status %v", r.Status())
	}
}

func TestErrorStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want pdu.Status
	}{
		{herald.FieldError("to", "invalid_phone_number", ""), pdu.StatusInvDstAdr},
		{herald.FieldError("from", "invalid_sender", ""), pdu.StatusInvSrcAdr},
		{herald.FieldError("body", "body_too_long", ""), pdu.StatusInvMsgLen},
		{herald.FieldError("body", "empty_body", ""), pdu.StatusInvMsgLen},
		{herald.FieldError("validity_period", "invalid_validity_period", ""), pdu.StatusInvExpiry},
		{herald.FieldError("send_at", "invalid_send_at", ""), pdu.StatusInvSched},
		{&herald.Error{Kind: herald.KindOptedOut, Code: "recipient_opted_out"}, pdu.StatusXRAppn},
		{&herald.Error{Kind: herald.KindRateLimited, Code: "rate_limited"}, pdu.StatusThrottled},
		{&herald.Error{Kind: herald.KindTransient, Code: "store_unavailable"}, pdu.StatusSysErr},
		{&herald.Error{Kind: herald.KindForbidden, Code: "sender_not_owned", Field: "from"}, pdu.StatusInvSrcAdr},
		{herald.FieldError("type", "invalid_type", ""), pdu.StatusSubmitFail},
		{errors.New("boom"), pdu.StatusSysErr},
	}
	for _, tc := range cases {
		if got := ErrorStatus(tc.err); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	u := user("slow")
	u.RateLimit = 2
	h := start(t, u)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h.srv.o.Now = func() time.Time { return now } // frozen: no refill
	s, err := h.bind(t, "slow", testPassword, pdu.Transmitter, nil)
	if err != nil {
		t.Fatal(err)
	}
	sm := &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{Addr: "Herald"},
		Dest: pdu.Address{Addr: "+447700900123"}, Message: []byte("x")}}
	var got []pdu.Status
	for range 3 {
		got = append(got, submit(t, s, sm).Status())
	}
	if fmt.Sprint(got) != fmt.Sprint([]pdu.Status{pdu.StatusOK, pdu.StatusOK, pdu.StatusThrottled}) {
		t.Fatalf("statuses %v", got)
	}
}

func TestLongMessageParts(t *testing.T) {
	t.Parallel()
	h := start(t, user("acme"))
	s, err := h.bind(t, "acme", testPassword, pdu.Transceiver, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("abcdefghij", 20) + " the end"
	segs, err := smstext.Split(text, smstext.Options{Ref: 7})
	if err != nil || len(segs) < 2 {
		t.Fatalf("split: %d %v", len(segs), err)
	}
	// Send the parts in reverse order, without waiting for responses.
	ch := make(chan smpp.Response, len(segs))
	for i := len(segs) - 1; i >= 0; i-- {
		sm := &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{Addr: "Herald"},
			Dest: pdu.Address{TON: 1, Addr: "447700900123"}, ESMClass: pdu.ESMClassUDHI, DataCoding: segs[i].DataCoding,
			Message: segs[i].ShortMessage, RegisteredDelivery: 1}}
		if err := s.Go(t.Context(), sm, func(r smpp.Response) { ch <- r }); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for range segs {
		r := <-ch
		if r.Err != nil || r.Status() != pdu.StatusOK {
			t.Fatalf("part: %v %v", r.Err, r.Status())
		}
		ids = append(ids, r.Body.(*pdu.SubmitSMResp).MessageID)
	}
	reqs := h.in.requests()
	if len(reqs) != 1 || reqs[0].Body != text {
		t.Fatalf("intake got %d requests: %+v", len(reqs), reqs)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("parts answered with ids %v", ids)
		}
	}
}

func TestQueryAndCancel(t *testing.T) {
	t.Parallel()
	h := start(t, user("acme"))
	s, err := h.bind(t, "acme", testPassword, pdu.Transceiver, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := submit(t, s, &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{Addr: "Herald"},
		Dest: pdu.Address{Addr: "+447700900123"}, Message: []byte("x")}})
	id := r.Body.(*pdu.SubmitSMResp).MessageID
	q, err := s.Send(t.Context(), &pdu.QuerySM{MessageID: id})
	if err != nil || q.Status() != pdu.StatusOK || q.Body.(*pdu.QuerySMResp).MessageState != 1 {
		t.Fatalf("query: %v %+v", err, q)
	}
	c, err := s.Send(t.Context(), &pdu.CancelSM{MessageID: id})
	if err != nil || c.Status() != pdu.StatusOK {
		t.Fatalf("cancel: %v %v", err, c.Status())
	}
	q, _ = s.Send(t.Context(), &pdu.QuerySM{MessageID: id})
	if q.Body.(*pdu.QuerySMResp).MessageState != 4 || q.Body.(*pdu.QuerySMResp).FinalDate != "" && false {
		t.Fatalf("query after cancel: %+v", q.Body)
	}
	if c, _ := s.Send(t.Context(), &pdu.CancelSM{MessageID: id}); c.Status() != pdu.StatusCancelFail {
		t.Fatalf("second cancel: %v", c.Status())
	}
	if q, _ := s.Send(t.Context(), &pdu.QuerySM{MessageID: "msg_nope"}); q.Status() != pdu.StatusInvMsgID {
		t.Fatalf("unknown id: %v", q.Status())
	}
}

// receiverLog records the deliver_sm a client receives and answers them
// with status, or not at all when status is 0xFFFFFFFF.
type receiverLog struct {
	mu     sync.Mutex
	got    []*pdu.DeliverSM
	status pdu.Status
	wake   chan struct{}
}

func (l *receiverLog) ServeSMPP(r *smpp.Request) {
	d, ok := r.Body.(*pdu.DeliverSM)
	if !ok {
		r.Respond(pdu.StatusInvCmdID, nil)
		return
	}
	l.mu.Lock()
	l.got = append(l.got, d)
	st := l.status
	l.mu.Unlock()
	r.Respond(st, nil)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *receiverLog) waitFor(t *testing.T, n int) []*pdu.DeliverSM {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		got := slices.Clone(l.got)
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-l.wake:
		case <-deadline:
			t.Fatalf("got %d deliver_sm, want %d", len(got), n)
		}
	}
}

func TestReceiptsDurableAndInOrder(t *testing.T) {
	t.Parallel()
	h := start(t, user("acme"))
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		h.st.add(&herald.ClientMessage{AccountID: "acc_1", Kind: herald.ClientReceipt, MessageID: fmt.Sprintf("msg_%d", i),
			Status: herald.StatusDelivered, From: "Herald", To: "+447700900123", Body: "hello", ErrorCode: "000",
			Parts: 1, Delivered: 1, SubmitAt: at, DoneAt: at.Add(time.Second)})
	}
	// A receiver that refuses: nothing is acknowledged.
	refuse := &receiverLog{status: pdu.StatusXTAppn, wake: make(chan struct{}, 1)}
	s1, err := h.bind(t, "acme", testPassword, pdu.Receiver, refuse)
	if err != nil {
		t.Fatal(err)
	}
	refuse.waitFor(t, 1)
	s1.Close()
	if n := h.st.pending(); n != 5 {
		t.Fatalf("%d rows left after refusals, want 5", n)
	}
	// A receiver that accepts gets every receipt, in order.
	ok := &receiverLog{wake: make(chan struct{}, 1)}
	if _, err := h.bind(t, "acme", testPassword, pdu.Transceiver, ok); err != nil {
		t.Fatal(err)
	}
	got := ok.waitFor(t, 5)
	for i, d := range got[:5] {
		id, _ := d.TLVs.CString(pdu.TagReceiptedMessageID)
		st, _ := d.TLVs.Uint8(pdu.TagMessageState)
		want := fmt.Sprintf("id:msg_%d sub:001 dlvrd:001 submit date:2611271200 done date:2611271200 stat:DELIVRD err:000 text:hello", i)
		if id != fmt.Sprintf("msg_%d", i) || st != 2 || string(d.Message) != want || d.ESMClass != pdu.ESMClassDeliveryReceipt ||
			d.Source.Addr != "447700900123" || d.Source.TON != 1 || d.Dest.Addr != "Herald" || d.Dest.TON != 5 {
			t.Fatalf("receipt %d: %q %q %d %+v", i, d.Message, id, st, d)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.st.pending() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d rows never acknowledged", h.st.pending())
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline, not timing
	}
}

// TestShutdownAnswersStoredSubmits: a shutdown waits for the submissions
// already handed to the intake and answers them before unbinding, so a
// client never loses the response of a stored message.
func TestShutdownAnswersStoredSubmits(t *testing.T) {
	t.Parallel()
	h := start(t, user("acme"))
	h.in.entered, h.in.gate = make(chan struct{}, 1), make(chan struct{})
	s, err := h.bind(t, "acme", testPassword, pdu.Transmitter, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := make(chan smpp.Response, 1)
	sm := &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{Addr: "Herald"},
		Dest: pdu.Address{Addr: "+447700900123"}, Message: []byte("x")}}
	if err := s.Go(t.Context(), sm, func(r smpp.Response) { resp <- r }); err != nil {
		t.Fatal(err)
	}
	<-h.in.entered // the submission is in the intake
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- h.srv.Shutdown(ctx)
	}()
	select {
	case <-stopped:
		t.Fatal("Shutdown returned while a submission was in the intake")
	case <-time.After(50 * time.Millisecond):
	}
	close(h.in.gate)
	r := <-resp
	if r.Err != nil || r.Status() != pdu.StatusOK {
		t.Fatalf("the stored message's response: %v %v", r.Err, r.Status())
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

func TestInboundRows(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body string
		dc   uint8
		want []byte
		tlv  bool
	}{
		{"STOP", 0, []byte("STOP"), false},
		{"€1", 0, []byte{0x1b, 0x65, '1'}, false},
		{"При", 8, []byte{0x04, 0x1f, 0x04, 0x40, 0x04, 0x38}, false},
		{strings.Repeat("a", 300), 0, []byte(strings.Repeat("a", 300)), true},
	}
	for _, tc := range cases {
		d := deliverSM(&herald.ClientMessage{Kind: herald.ClientInbound, From: "+447700900123", To: "Herald", Body: tc.body})
		got := d.Message
		if tc.tlv {
			got, _ = d.TLVs.Get(pdu.TagMessagePayload)
		}
		if d.DataCoding != tc.dc || string(got) != string(tc.want) || d.ESMClass != 0 || d.Source.Addr != "447700900123" || d.Dest.Addr != "Herald" {
			t.Errorf("%q: %+v", tc.body, d)
		}
	}
}
