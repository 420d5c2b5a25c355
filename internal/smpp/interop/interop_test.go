package interop_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/dlr"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smpp/smpptest"
)

// The message both scripts and the Go side exchange.
var (
	esmeAddr  = pdu.Address{TON: 5, NPI: 0, Addr: "Herald"}
	phoneAddr = pdu.Address{TON: 1, NPI: 1, Addr: "447700900123"}
)

const (
	moText = "STOP"
	// perlText is what esme.pl submits by default.
	perlText = "hello from Net::SMPP"
)

// offer sends v on a buffered channel without blocking a session
// goroutine; a full channel means the test went wrong and is reported.
func offer[T any](t *testing.T, ch chan<- T, v T) {
	select {
	case ch <- v:
	default:
		t.Errorf("dropped %T: channel full", v)
	}
}

// receive waits for a value from ch until ctx ends.
func receive[T any](ctx context.Context, t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("no %s: %v", what, ctx.Err())
	}
	panic("unreachable")
}

// testContext is the deadline for the Go side of one test.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), scriptTimeout)
	t.Cleanup(cancel)
	return ctx
}

// smsc is Herald's SMPP server set up as an SMSC for esme.pl: it accepts
// system_id "perl" with password "secret", answers submit_sm with a message
// id, then sends a delivery receipt for it and an MO "STOP".
type smsc struct {
	addr      string
	binds     chan pdu.Bind       // every bind Authenticate saw
	bound     chan *smpp.Session  // sessions that bound
	submits   chan *pdu.SubmitSM  // submit_sm received
	delivered chan deliverOutcome // outcome of each deliver_sm sent back
}

type deliverOutcome struct {
	kind string // "receipt" or "mo"
	err  error  // transport error or failure status from the ESME
}

func startSMSC(t *testing.T) *smsc {
	m := &smsc{
		binds:     make(chan pdu.Bind, 4),
		bound:     make(chan *smpp.Session, 4),
		submits:   make(chan *pdu.SubmitSM, 4),
		delivered: make(chan deliverOutcome, 8),
	}
	// The deliver_sm goroutines are owned here: cancelled and waited for
	// when the test ends.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var ids atomic.Uint32
	srv := smpptest.NewUnstartedServer(smpp.HandlerFunc(func(r *smpp.Request) {
		sm, ok := r.Body.(*pdu.SubmitSM)
		if !ok {
			r.Respond(pdu.StatusInvCmdID, nil)
			return
		}
		id := fmt.Sprintf("%08X", 0x5EED0000+ids.Add(1))
		offer(t, m.submits, sm)
		if err := r.Respond(pdu.StatusOK, &pdu.SubmitSMResp{MessageID: id}); err != nil {
			t.Errorf("submit_sm_resp: %v", err)
			return
		}
		// Never block the reader: the deliver_sm go out from another
		// goroutine, after the submit_sm_resp queued above.
		wg.Go(func() { m.deliver(ctx, t, r.Session, sm, id) })
	}))
	srv.SMPP.SystemID = "herald"
	srv.SMPP.Authenticate = func(_ context.Context, b *pdu.Bind, _ net.Addr) pdu.Status {
		offer(t, m.binds, *b)
		switch {
		case b.SystemID != "perl":
			return pdu.StatusInvSysID
		case b.Password != "secret":
			return pdu.StatusInvPaswd
		}
		return pdu.StatusOK
	}
	srv.SMPP.OnBound = func(s *smpp.Session) { offer(t, m.bound, s) }
	srv.Start()
	t.Cleanup(func() {
		cancel()
		srv.Close()
		wg.Wait()
	})
	m.addr = srv.Addr
	return m
}

// deliver sends the receipt for id and then an MO on s, one after the other.
func (m *smsc) deliver(ctx context.Context, t *testing.T, s *smpp.Session, sm *pdu.SubmitSM, id string) {
	now := time.Now().UTC()
	receipt := &pdu.DeliverSM{ShortMessage: pdu.ShortMessage{
		Source:   sm.Dest,
		Dest:     sm.Source,
		ESMClass: pdu.ESMClassDeliveryReceipt,
		Message: dlr.Format(&dlr.Receipt{
			ID: id, Submitted: 1, Delivered: 1, SubmitDate: now, DoneDate: now,
			State: dlr.StateDelivered, Text: string(sm.Payload()),
		}),
	}}
	receipt.TLVs.SetCString(pdu.TagReceiptedMessageID, id)
	receipt.TLVs.SetUint8(pdu.TagMessageState, dlr.StateDelivered.MessageState())
	mo := &pdu.DeliverSM{ShortMessage: pdu.ShortMessage{Source: sm.Dest, Dest: sm.Source, Message: []byte(moText)}}
	for _, d := range []struct {
		kind string
		body *pdu.DeliverSM
	}{{"receipt", receipt}, {"mo", mo}} {
		r, err := s.Send(ctx, d.body)
		if err == nil {
			err = r.Error()
		}
		offer(t, m.delivered, deliverOutcome{d.kind, err})
		if err != nil {
			return
		}
	}
}

// TestServerWithNetSMPPESME runs Herald as the SMSC and Net::SMPP as the
// ESME (testdata/esme.pl).
func TestServerWithNetSMPPESME(t *testing.T) {
	requireNetSMPP(t)
	t.Parallel()

	t.Run("submit_receipt_mo", func(t *testing.T) {
		t.Parallel()
		perlESME(t, perlText)
	})

	// A message over 254 octets travels in the message_payload TLV.
	t.Run("message_payload", func(t *testing.T) {
		t.Parallel()
		perlESME(t, strings.Repeat("0123456789", 30), "--payload")
	})

	t.Run("wrong_password", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		m := startSMSC(t)
		host, port, _ := net.SplitHostPort(m.addr)
		perl := runScript(t, "esme.pl", "--expect-bind-fail", host, port, "perl", "wrong")

		ev := perl.expect("bind_failed")
		perl.check(ev, "status", strconv.Itoa(int(pdu.StatusInvPaswd)))
		perl.check(ev, "code", "ESME_RINVPASWD")
		perl.wait()
		if b := receive(ctx, t, m.binds, "bind"); b.Password != "wrong" {
			t.Errorf("Authenticate saw password %q", b.Password)
		}
		if len(m.bound) != 0 || len(m.submits) != 0 {
			t.Errorf("refused bind produced %d sessions and %d submits", len(m.bound), len(m.submits))
		}
	})
}

// perlESME runs esme.pl against startSMSC's server: bind, enquire_link,
// submit text, receive the receipt and the MO, unbind.
func perlESME(t *testing.T, text string, args ...string) {
	ctx := testContext(t)
	m := startSMSC(t)
	host, port, _ := net.SplitHostPort(m.addr)
	perl := runScript(t, "esme.pl", append(args, "--text="+text, host, port, "perl", "secret")...)

	b := perl.expect("bound")
	perl.check(b, "system_id", "herald")
	perl.check(b, "sc_interface_version", strconv.Itoa(pdu.InterfaceVersion34))
	perl.check(perl.expect("enquire_link_resp"), "status", "0")
	resp := perl.expect("submit_resp")
	perl.check(resp, "status", "0")
	id := perl.field(resp, "id")

	// What Net::SMPP encoded, as our decoder read it.
	bind := receive(ctx, t, m.binds, "bind")
	if bind.Role != pdu.Transceiver || bind.SystemID != "perl" || bind.Password != "secret" || bind.InterfaceVersion != pdu.InterfaceVersion34 {
		t.Errorf("bind = %+v", bind)
	}
	sess := receive(ctx, t, m.bound, "bound session")
	if sess.SystemID() != "perl" || sess.Role() != pdu.Transceiver {
		t.Errorf("bound %q as %s", sess.SystemID(), sess.Role())
	}
	sm := receive(ctx, t, m.submits, "submit_sm")
	if sm.Source != esmeAddr || sm.Dest != phoneAddr || string(sm.Payload()) != text ||
		sm.RegisteredDelivery != pdu.RegisteredDeliveryFinal || sm.ESMClass != 0 || sm.DataCoding != 0 {
		t.Errorf("submit_sm = %+v", sm.ShortMessage)
	}
	if len(text) > pdu.MaxShortMessage && (len(sm.Message) != 0 || len(sm.TLVs) != 1) {
		t.Errorf("long submit_sm has short_message %q and TLVs %v, want only message_payload", sm.Message, sm.TLVs)
	}

	// What we encoded, as Net::SMPP read it.
	rc := perl.expect("deliver")
	perl.check(rc, "esm_class", "4")
	perl.check(rc, "source", phoneAddr.Addr)
	perl.check(rc, "dest", esmeAddr.Addr)
	perl.check(rc, "receipted_message_id", id+"\x00")
	perl.check(rc, "message_state", "2")
	receiptText := perl.field(rc, "text")
	r, err := dlr.Parse([]byte(receiptText))
	if err != nil {
		t.Fatalf("receipt text %q: %v", receiptText, err)
	}
	if r.ID != id || r.State != dlr.StateDelivered || r.Submitted != 1 || r.Delivered != 1 || r.Err != "000" || r.Text != text[:min(20, len(text))] {
		t.Errorf("receipt %q read as %+v, want id %s DELIVRD", receiptText, r, id)
	}
	mo := perl.expect("deliver")
	perl.check(mo, "esm_class", "0")
	perl.check(mo, "text", moText)
	perl.expect("unbound")
	perl.wait()

	for range 2 {
		if o := receive(ctx, t, m.delivered, "deliver_sm_resp"); o.err != nil {
			t.Errorf("%s deliver_sm: %v", o.kind, o.err)
		}
	}
	// The unbind came from Net::SMPP; our session must have ended cleanly
	// because of it.
	receive(ctx, t, sess.Done(), "end of session")
	if !errors.Is(sess.Err(), smpp.ErrUnbound) {
		t.Errorf("session ended with %v, want %v", sess.Err(), smpp.ErrUnbound)
	}
	if st := sess.Stats(); st.Malformed != 0 || st.LateResponses != 0 || st.Throttled != 0 {
		t.Errorf("session stats %+v", st)
	}
}

// esme is the Go side of TestClientWithNetSMPPSMSC: a handler that hands
// every deliver_sm to the test and acknowledges it.
type esme struct {
	delivers chan *pdu.DeliverSM
}

func newESME() *esme { return &esme{delivers: make(chan *pdu.DeliverSM, 8)} }

func (e *esme) ServeSMPP(r *smpp.Request) {
	d, ok := r.Body.(*pdu.DeliverSM)
	if !ok {
		r.Respond(pdu.StatusInvCmdID, nil)
		return
	}
	select {
	case e.delivers <- d:
		r.Respond(pdu.StatusOK, &pdu.DeliverSMResp{})
	default:
		r.Respond(pdu.StatusXTAppn, nil)
	}
}

// startSMSCScript runs smsc.pl and returns it with the address it listens on.
func startSMSCScript(t *testing.T, args ...string) (*script, string) {
	t.Helper()
	perl := runScript(t, "smsc.pl", args...)
	port := perl.field(perl.expect("listening"), "port")
	return perl, net.JoinHostPort("127.0.0.1", port)
}

var heraldBind = pdu.Bind{Role: pdu.Transceiver, SystemID: "herald", Password: "secret", SystemType: "interop"}

// exchange submits one message on s to smsc.pl, checks the receipt and the
// MO that follow, and unbinds unless unbind is false (Client.Run unbinds
// itself).
func exchange(ctx context.Context, t *testing.T, perl *script, s *smpp.Session, e *esme, unbind bool) {
	t.Helper()
	if s.SystemID() != "NetSMPP" || s.Role() != pdu.Transceiver {
		t.Errorf("bound to %q as %s", s.SystemID(), s.Role())
	}
	b := perl.expect("bind")
	perl.check(b, "cmd", "bind_transceiver")
	perl.check(b, "system_id", heraldBind.SystemID)
	perl.check(b, "password", heraldBind.Password)
	perl.check(b, "system_type", heraldBind.SystemType)
	perl.check(b, "interface_version", strconv.Itoa(pdu.InterfaceVersion34))

	const text = "hello from Herald"
	resp, err := s.Send(ctx, &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{
		Source: esmeAddr, Dest: phoneAddr, RegisteredDelivery: pdu.RegisteredDeliveryFinal, Message: []byte(text),
	}})
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("submit_sm: %v", err)
	}
	id := resp.Body.(*pdu.SubmitSMResp).MessageID
	sub := perl.expect("submit")
	perl.check(sub, "id", id)
	perl.check(sub, "source", esmeAddr.Addr)
	perl.check(sub, "dest", phoneAddr.Addr)
	perl.check(sub, "registered_delivery", "1")
	perl.check(sub, "text", text)

	rc := receive(ctx, t, e.delivers, "receipt")
	if !rc.IsReceipt() || rc.Source != phoneAddr || rc.Dest != esmeAddr {
		t.Errorf("receipt deliver_sm = %+v", rc.ShortMessage)
	}
	r, err := dlr.Parse(rc.Payload())
	if err != nil {
		t.Fatalf("receipt text %q: %v", rc.Payload(), err)
	}
	var tlvs dlr.TLVs
	tlvs.ReceiptedMessageID, _ = rc.TLVs.CString(pdu.TagReceiptedMessageID)
	tlvs.MessageState, tlvs.HasMessageState = rc.TLVs.Uint8(pdu.TagMessageState)
	if err := r.ApplyTLVs(tlvs); err != nil {
		t.Errorf("receipt TLVs: %v", err)
	}
	if r.ID != id || r.TextID != id || r.State != dlr.StateDelivered || r.Stat != "DELIVRD" || r.Text != text {
		t.Errorf("receipt %q %+v read as %+v, want id %s DELIVRD", rc.Payload(), rc.TLVs, r, id)
	}
	mo := receive(ctx, t, e.delivers, "MO")
	if mo.IsReceipt() || string(mo.Payload()) != moText || mo.Source != phoneAddr || mo.Dest != esmeAddr {
		t.Errorf("MO deliver_sm = %+v", mo.ShortMessage)
	}
	for _, kind := range []string{"receipt", "mo"} {
		ev := perl.expect("deliver_resp")
		perl.check(ev, "kind", kind)
		perl.check(ev, "status", "0")
	}
	if unbind {
		if err := s.Unbind(ctx); err != nil {
			t.Errorf("unbind: %v", err)
		}
	}
}

// TestClientWithNetSMPPSMSC runs Herald as the ESME and Net::SMPP as the
// SMSC (testdata/smsc.pl).
func TestClientWithNetSMPPSMSC(t *testing.T) {
	requireNetSMPP(t)
	t.Parallel()

	t.Run("dial", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		perl, addr := startSMSCScript(t, "--password=secret")
		e := newESME()
		s, err := smpp.Dial(ctx, addr, heraldBind, smpp.Config{ResponseTimeout: scriptTimeout}, e)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		exchange(ctx, t, perl, s, e, true)
		perl.expect("unbind")
		perl.wait()
		if !errors.Is(s.Err(), smpp.ErrUnbound) {
			t.Errorf("session ended with %v, want %v", s.Err(), smpp.ErrUnbound)
		}
		if st := s.Stats(); st.Malformed != 0 || st.LateResponses != 0 || st.Timeouts != 0 {
			t.Errorf("session stats %+v", st)
		}
	})

	t.Run("client_run", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		perl, addr := startSMSCScript(t, "--password=secret")
		e := newESME()
		c := &smpp.Client{
			Addr: addr, Bind: heraldBind, Config: smpp.Config{ResponseTimeout: scriptTimeout}, Handler: e,
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		}
		runCtx, stop := context.WithCancel(ctx)
		runDone := make(chan struct{})
		var runErr error
		go func() {
			defer close(runDone)
			runErr = c.Run(runCtx)
		}()
		t.Cleanup(func() { stop(); <-runDone })

		s, err := c.Session(ctx)
		if err != nil {
			t.Fatal(err)
		}
		exchange(ctx, t, perl, s, e, false)
		// Stopping Run unbinds gracefully.
		stop()
		receive(ctx, t, runDone, "end of Client.Run")
		if !errors.Is(runErr, context.Canceled) {
			t.Errorf("Run returned %v, want %v", runErr, context.Canceled)
		}
		perl.expect("unbind")
		perl.wait()
		if !errors.Is(s.Err(), smpp.ErrUnbound) {
			t.Errorf("session ended with %v, want %v", s.Err(), smpp.ErrUnbound)
		}
	})

	// Net::SMPP answers our keep-alive.
	t.Run("enquire_link", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		perl, addr := startSMSCScript(t)
		s, err := smpp.Dial(ctx, addr, heraldBind, smpp.Config{ResponseTimeout: scriptTimeout, EnquireLinkInterval: 10 * time.Millisecond}, newESME())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		perl.expect("bind")
		for range 2 {
			perl.expect("enquire_link")
		}
		if err := s.Unbind(ctx); err != nil {
			t.Errorf("unbind: %v", err)
		}
		// More enquire_link may have crossed the unbind.
		for ev := perl.next("unbind"); ev.Name != "unbind"; ev = perl.next("unbind") {
			if ev.Name != "enquire_link" {
				t.Fatalf("smsc.pl: got %q, want enquire_link or unbind", ev.Line)
			}
		}
		perl.wait()
		// An enquire_link queued after the unbind goes unanswered, so
		// count only what must have been answered.
		if st := s.Stats(); st.ResponsesReceived < 4 || st.Timeouts != 0 || st.Malformed != 0 {
			t.Errorf("session stats %+v, want bind, 2 enquire_link and unbind answered", st)
		}
	})

	t.Run("wrong_password", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		perl, addr := startSMSCScript(t, "--password=secret")
		bind := heraldBind
		bind.Password = "wrong"
		s, err := smpp.Dial(ctx, addr, bind, smpp.Config{ResponseTimeout: scriptTimeout}, newESME())
		if err == nil {
			s.Close()
			t.Fatal("bind with a wrong password succeeded")
		}
		if !errors.Is(err, pdu.StatusInvPaswd) {
			t.Errorf("Dial: %v, want %v", err, pdu.StatusInvPaswd)
		}
		perl.check(perl.expect("bind"), "password", "wrong")
		perl.check(perl.expect("bind_refused"), "status", strconv.Itoa(int(pdu.StatusInvPaswd)))
		perl.expect("closed")
		perl.wait()
	})
}
