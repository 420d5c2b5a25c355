package smscsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/dlr"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smscsim"
	"github.com/herald-sms/herald/internal/smstext"
)

// start runs a simulator on loopback ports until the test ends.
func start(t *testing.T, opts smscsim.Options) *smscsim.Simulator {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	sim, err := smscsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// esme is a bound ESME that records the deliver_sm it receives.
type esme struct {
	*smpp.Session
	got chan *pdu.DeliverSM
}

// bind binds to sim as role with systemID. Every deliver_sm is recorded
// and answered with the status answer returns (ESME_ROK when nil).
func bind(t *testing.T, sim *smscsim.Simulator, role pdu.Role, systemID string, answer func(*pdu.DeliverSM) pdu.Status) *esme {
	t.Helper()
	e := &esme{got: make(chan *pdu.DeliverSM, 10000)}
	h := smpp.HandlerFunc(func(r *smpp.Request) {
		d, ok := r.Body.(*pdu.DeliverSM)
		if !ok {
			r.Respond(pdu.StatusInvCmdID, nil)
			return
		}
		st := pdu.StatusOK
		if answer != nil {
			st = answer(d)
		}
		e.got <- d
		r.Respond(st, nil)
	})
	s, err := smpp.Dial(t.Context(), sim.Addr(), pdu.Bind{Role: role, SystemID: systemID, Password: "pw"}, smpp.Config{Window: 100}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e.Session = s
	return e
}

// next waits for the next deliver_sm.
func (e *esme) next(t *testing.T) *pdu.DeliverSM {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	select {
	case d := <-e.got:
		return d
	case <-ctx.Done():
		t.Fatal("no deliver_sm arrived")
		return nil
	}
}

func submitSM(text string, regDelivery uint8) *pdu.SubmitSM {
	return &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{
		Source:             pdu.Address{TON: 5, Addr: "Herald"},
		Dest:               pdu.Address{TON: 1, NPI: 1, Addr: "447700900001"},
		RegisteredDelivery: regDelivery,
		Message:            []byte(text),
	}}
}

// submit sends m and returns the response's status and message id.
func submit(t *testing.T, s *smpp.Session, m *pdu.SubmitSM) (pdu.Status, string) {
	t.Helper()
	r, err := s.Send(t.Context(), m)
	if err != nil || r.Err != nil {
		t.Fatalf("submit: %v %v", err, r.Err)
	}
	if r.Status() != pdu.StatusOK {
		return r.Status(), ""
	}
	return r.Status(), r.Body.(*pdu.SubmitSMResp).MessageID
}

// receipt parses a receipt deliver_sm, TLVs applied, and checks its
// esm_class and that it carries the three TLVs.
func receipt(t *testing.T, d *pdu.DeliverSM) dlr.Receipt {
	t.Helper()
	if d.ESMClass != pdu.ESMClassDeliveryReceipt || !dlr.IsReceipt(d.ESMClass) {
		t.Fatalf("esm_class 0x%02X, want 0x04", d.ESMClass)
	}
	r, err := dlr.Parse(d.Message)
	if err != nil {
		t.Fatalf("parse %q: %v", d.Message, err)
	}
	var tl dlr.TLVs
	var ok bool
	if tl.ReceiptedMessageID, ok = d.TLVs.CString(pdu.TagReceiptedMessageID); !ok {
		t.Fatal("no receipted_message_id")
	}
	if tl.MessageState, tl.HasMessageState = d.TLVs.Uint8(pdu.TagMessageState); !tl.HasMessageState {
		t.Fatal("no message_state")
	}
	if tl.NetworkErrorCode, ok = d.TLVs.Get(pdu.TagNetworkErrorCode); !ok {
		t.Fatal("no network_error_code")
	}
	if err := r.ApplyTLVs(tl); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReceiptContent(t *testing.T) {
	t.Parallel()
	sim := start(t, smscsim.Options{FirstID: 0x1A2B})
	e := bind(t, sim, pdu.Transceiver, "acme", nil)
	st, id := submit(t, e.Session, submitSM("Your code is 123456, valid 5 minutes", pdu.RegisteredDeliveryFinal))
	if st != pdu.StatusOK || id != "1A2B" {
		t.Fatalf("submit_sm_resp %s %q, want ESME_ROK 1A2B", st, id)
	}
	d := e.next(t)
	r := receipt(t, d)
	if r.ID != "1A2B" || r.TextID != "1A2B" {
		t.Errorf("receipt ids %q (TLV) and %q (text), want 1A2B", r.ID, r.TextID)
	}
	if r.State != dlr.StateDelivered || r.Stat != "DELIVRD" || r.Err != "000" || r.Submitted != 1 || r.Delivered != 1 {
		t.Errorf("receipt %+v, want DELIVRD err 000 sub 1 dlvrd 1", r)
	}
	if r.SubmitDate.IsZero() || r.DoneDate.IsZero() {
		t.Errorf("dates %v %v, want both set", r.SubmitDate, r.DoneDate)
	}
	if r.Text != "Your code is 123456," {
		t.Errorf("text %q, want the first 20 characters", r.Text)
	}
	if r.NetworkError != (dlr.NetworkError{Type: dlr.NetworkGSM, Code: 0}) {
		t.Errorf("network error %v", r.NetworkError)
	}
	if d.Source.Addr != "447700900001" || d.Dest.Addr != "Herald" || d.Source.TON != 1 || d.Dest.TON != 5 {
		t.Errorf("receipt from %+v to %+v, want the submit's addresses swapped", d.Source, d.Dest)
	}
	st2 := sim.Stats()
	if st2.Submits != 1 || st2.Responses["ESME_ROK"] != 1 || st2.ReceiptsQueued != 1 || st2.ReceiptsSent != 1 {
		t.Errorf("stats %+v", st2)
	}
}

func TestIDFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id, receipt         smscsim.IDFormat
		wantResp, wantRecpt string
	}{
		{smscsim.IDDefault, smscsim.IDDefault, "1A2B", "1A2B"},
		{smscsim.IDHex, smscsim.IDDecimal, "1A2B", "6699"},
		{smscsim.IDDecimal, smscsim.IDDefault, "6699", "6699"},
		{smscsim.IDDecimal, smscsim.IDHex, "6699", "1A2B"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String()+"/"+tt.receipt.String(), func(t *testing.T) {
			t.Parallel()
			sim := start(t, smscsim.Options{FirstID: 0x1A2B, IDFormat: tt.id, ReceiptIDFormat: tt.receipt})
			e := bind(t, sim, pdu.Transceiver, "acme", nil)
			_, id := submit(t, e.Session, submitSM("hi", pdu.RegisteredDeliveryFinal))
			r := receipt(t, e.next(t))
			if id != tt.wantResp || r.ID != tt.wantRecpt || r.TextID != tt.wantRecpt {
				t.Fatalf("submit_sm_resp %q, receipt %q/%q; want %q, %q", id, r.ID, r.TextID, tt.wantResp, tt.wantRecpt)
			}
			// Whatever the formats, the two ids correlate when each side
			// is read in its declared format.
			formats := map[smscsim.IDFormat]dlr.IDFormat{smscsim.IDDefault: dlr.IDHex, smscsim.IDHex: dlr.IDHex, smscsim.IDDecimal: dlr.IDDecimal}
			rf := formats[tt.receipt]
			if tt.receipt == smscsim.IDDefault {
				rf = formats[tt.id]
			}
			k1, _ := dlr.Keys(id, formats[tt.id])
			k2, _ := dlr.Keys(r.ID, rf)
			if !slices.Equal(k1, k2) {
				t.Fatalf("keys %v and %v differ", k1, k2)
			}
		})
	}
	sim := start(t, smscsim.Options{FirstID: 41, IDFormat: smscsim.IDDecimal})
	e := bind(t, sim, pdu.Transmitter, "acme", nil)
	for want := 41; want < 44; want++ {
		if _, id := submit(t, e.Session, submitSM("x", 0)); id != fmt.Sprint(want) {
			t.Fatalf("id %q, want %d", id, want)
		}
	}
}

func TestErrorInjection(t *testing.T) {
	t.Parallel()
	t.Run("all", func(t *testing.T) {
		t.Parallel()
		sim := start(t, smscsim.Options{Errors: []smscsim.ErrorRate{{Status: pdu.StatusThrottled, Fraction: 1}}})
		e := bind(t, sim, pdu.Transceiver, "acme", nil)
		for range 20 {
			if st, _ := submit(t, e.Session, submitSM("x", pdu.RegisteredDeliveryFinal)); st != pdu.StatusThrottled {
				t.Fatalf("status %s, want ESME_RTHROTTLED", st)
			}
		}
		st := sim.Stats()
		if st.Responses["ESME_RTHROTTLED"] != 20 || st.Responses["ESME_ROK"] != 0 || st.ReceiptsQueued != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("seeded fractions", func(t *testing.T) {
		t.Parallel()
		opts := smscsim.Options{Seed: 42, Errors: []smscsim.ErrorRate{
			{Status: pdu.StatusThrottled, Fraction: 0.25},
			{Status: pdu.StatusMsgQFul, Fraction: 0.1},
			{Status: pdu.StatusInvDstAdr, Fraction: 0.05},
		}}
		run := func() ([]pdu.Status, smscsim.Stats) {
			sim := start(t, opts)
			e := bind(t, sim, pdu.Transmitter, "acme", nil)
			var got []pdu.Status
			for range 1000 {
				st, _ := submit(t, e.Session, submitSM("x", 0))
				got = append(got, st)
			}
			return got, sim.Stats()
		}
		a, stats := run()
		b, _ := run()
		if !slices.Equal(a, b) {
			t.Fatal("the same seed gave different statuses")
		}
		count := map[pdu.Status]uint64{}
		for _, st := range a {
			count[st]++
		}
		// Binomial(1000, p): the bands are over 4 standard deviations wide.
		for _, c := range []struct {
			st     pdu.Status
			lo, hi uint64
		}{{pdu.StatusThrottled, 195, 305}, {pdu.StatusMsgQFul, 60, 140}, {pdu.StatusInvDstAdr, 22, 78}, {pdu.StatusOK, 540, 660}} {
			if count[c.st] < c.lo || count[c.st] > c.hi {
				t.Errorf("%s: %d of 1000, want %d to %d", c.st, count[c.st], c.lo, c.hi)
			}
			if stats.Responses[c.st.String()] != count[c.st] {
				t.Errorf("stats count %d %s, the ESME saw %d", stats.Responses[c.st.String()], c.st, count[c.st])
			}
		}
	})
}

func TestReceiptStates(t *testing.T) {
	t.Parallel()
	t.Run("undeliv", func(t *testing.T) {
		t.Parallel()
		sim := start(t, smscsim.Options{Undeliv: 1})
		e := bind(t, sim, pdu.Transceiver, "acme", nil)
		_, id := submit(t, e.Session, submitSM("x", pdu.RegisteredDeliveryFailure))
		r := receipt(t, e.next(t))
		if r.ID != id || r.State != dlr.StateUndeliverable || r.Stat != "UNDELIV" || r.Err != "001" || r.Delivered != 0 ||
			r.NetworkError != (dlr.NetworkError{Type: dlr.NetworkGSM, Code: 1}) {
			t.Fatalf("receipt %+v, want UNDELIV err 001 gsm:1 for %s", r, id)
		}
	})
	t.Run("expired", func(t *testing.T) {
		t.Parallel()
		sim := start(t, smscsim.Options{Expired: 1})
		e := bind(t, sim, pdu.Transceiver, "acme", nil)
		submit(t, e.Session, submitSM("x", pdu.RegisteredDeliveryFinal))
		if r := receipt(t, e.next(t)); r.State != dlr.StateExpired || r.Stat != "EXPIRED" || r.Err != "027" {
			t.Fatalf("receipt %+v, want EXPIRED err 027", r)
		}
	})
	t.Run("failure only", func(t *testing.T) {
		t.Parallel()
		sim := start(t, smscsim.Options{})
		e := bind(t, sim, pdu.Transceiver, "acme", nil)
		// Delivered with registered_delivery 2: no receipt. Receipts of
		// one bind go out in order, so the first to arrive is the
		// second message's.
		submit(t, e.Session, submitSM("a", pdu.RegisteredDeliveryFailure))
		submit(t, e.Session, submitSM("b", pdu.RegisteredDeliveryNone))
		_, id := submit(t, e.Session, submitSM("c", pdu.RegisteredDeliveryFinal))
		if r := receipt(t, e.next(t)); r.ID != id || r.Text != "c" {
			t.Fatalf("first receipt is for %s %q, want %s", r.ID, r.Text, id)
		}
		if st := sim.Stats(); st.ReceiptsQueued != 1 {
			t.Fatalf("receipts queued %d, want 1", st.ReceiptsQueued)
		}
	})
	t.Run("seeded fractions", func(t *testing.T) {
		t.Parallel()
		sim := start(t, smscsim.Options{Seed: 7, Undeliv: 0.3, Expired: 0.1})
		e := bind(t, sim, pdu.Transceiver, "acme", nil)
		const n = 1000
		for range n {
			if err := e.Go(t.Context(), submitSM("x", pdu.RegisteredDeliveryFinal), func(smpp.Response) {}); err != nil {
				t.Fatal(err)
			}
		}
		count := map[dlr.State]int{}
		for range n {
			count[receipt(t, e.next(t)).State]++
		}
		if u, x, d := count[dlr.StateUndeliverable], count[dlr.StateExpired], count[dlr.StateDelivered]; u < 240 || u > 360 || x < 60 || x > 140 || d < 540 || d > 660 {
			t.Fatalf("UNDELIV %d EXPIRED %d DELIVRD %d of %d, want about 300, 100, 600", u, x, d, n)
		}
	})
}

func TestReceiptsWaitForReceiver(t *testing.T) {
	t.Parallel()
	// A short retry delay: smpp.BindConn marks the session bound only
	// after the reader has gone on to the next PDU, so a deliver_sm that
	// follows bind_resp at once is often refused with ESME_RINVBNDSTS
	// and sent again.
	sim := start(t, smscsim.Options{RetryDelay: time.Millisecond})
	tx := bind(t, sim, pdu.Transmitter, "acme", nil)
	var ids []string
	for range 3 {
		_, id := submit(t, tx.Session, submitSM("x", pdu.RegisteredDeliveryFinal))
		ids = append(ids, id)
	}
	if st := sim.Stats(); st.ReceiptsQueued != 3 || st.ReceiptsPending != 3 || st.ReceiptsSent != 0 {
		t.Fatalf("stats before any receiver: %+v", st)
	}
	// A receiver of another system_id gets none of them.
	other := bind(t, sim, pdu.Receiver, "other", nil)
	rx := bind(t, sim, pdu.Receiver, "acme", nil)
	var got []string
	for range 3 {
		got = append(got, receipt(t, rx.next(t)).ID)
	}
	slices.Sort(got)
	if !slices.Equal(got, ids) {
		t.Fatalf("receipts for %v, want %v", got, ids)
	}
	// Shutdown waits for the deliver_sm in flight to be answered.
	if err := sim.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(other.got) != 0 {
		t.Fatalf("system_id other got %d receipts", len(other.got))
	}
	st := sim.Stats()
	if st.ReceiptsAcked != 3 || st.ReceiptsPending != 0 || st.ReceiptsSent != 3+st.ReceiptsRetried || st.Sessions != 0 || st.Binds != 3 {
		t.Fatalf("stats after shutdown: %+v", st)
	}
}

func TestReceiptsDroppedBeyondBound(t *testing.T) {
	t.Parallel()
	sim := start(t, smscsim.Options{MaxPendingReceipts: 2})
	tx := bind(t, sim, pdu.Transmitter, "acme", nil)
	for range 3 {
		submit(t, tx.Session, submitSM("x", pdu.RegisteredDeliveryFinal))
	}
	if st := sim.Stats(); st.ReceiptsQueued != 2 || st.ReceiptsDropped != 1 || st.ReceiptsPending != 2 {
		t.Fatalf("stats %+v, want 2 queued, 1 dropped", st)
	}
}

func TestReceiptRetried(t *testing.T) {
	t.Parallel()
	sim := start(t, smscsim.Options{RetryDelay: time.Millisecond})
	first := true
	e := bind(t, sim, pdu.Transceiver, "acme", func(*pdu.DeliverSM) pdu.Status {
		if first { // the handler runs on one goroutine
			first = false
			return pdu.StatusXTAppn
		}
		return pdu.StatusOK
	})
	_, id := submit(t, e.Session, submitSM("x", pdu.RegisteredDeliveryFinal))
	a, b := receipt(t, e.next(t)), receipt(t, e.next(t))
	if a.ID != id || b.ID != id {
		t.Fatalf("receipts for %s and %s, want %s twice", a.ID, b.ID, id)
	}
	if err := sim.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := sim.Stats(); st.ReceiptsSent != 2 || st.ReceiptsFailed != 1 || st.ReceiptsRetried != 1 || st.ReceiptsAcked != 1 || st.ReceiptsPending != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConcatenatedPartsCounted(t *testing.T) {
	t.Parallel()
	sim := start(t, smscsim.Options{})
	e := bind(t, sim, pdu.Transmitter, "acme", nil)
	submit(t, e.Session, submitSM("single", 0))
	for _, text := range []string{strings.Repeat("a", 200), strings.Repeat("ж", 100)} {
		segs, err := smstext.Split(text, smstext.Options{Ref: 7})
		if err != nil {
			t.Fatal(err)
		}
		for _, seg := range segs {
			m := submitSM("", 0)
			m.Message, m.DataCoding, m.ESMClass = seg.ShortMessage, seg.DataCoding, pdu.ESMClassUDHI
			submit(t, e.Session, m)
		}
	}
	for seq := uint8(1); seq <= 3; seq++ {
		m := submitSM("part", 0)
		m.TLVs.SetUint16(pdu.TagSarMsgRefNum, 9)
		m.TLVs.SetUint8(pdu.TagSarTotalSegments, 3)
		m.TLVs.SetUint8(pdu.TagSarSegmentSeqnum, seq)
		submit(t, e.Session, m)
	}
	if st := sim.Stats(); st.Submits != 8 || st.SubmitParts != 7 || st.Messages != 4 {
		t.Fatalf("submits %d parts %d messages %d, want 8, 7, 4", st.Submits, st.SubmitParts, st.Messages)
	}
}

func TestBindAuthentication(t *testing.T) {
	t.Parallel()
	sim := start(t, smscsim.Options{SystemID: "acme", Password: "secret"})
	try := func(systemID, password string) error {
		s, err := smpp.Dial(t.Context(), sim.Addr(), pdu.Bind{Role: pdu.Transceiver, SystemID: systemID, Password: password}, smpp.Config{}, nil)
		if err == nil {
			s.Close()
		}
		return err
	}
	if err := try("acme", "wrong"); !errors.Is(err, pdu.StatusInvPaswd) {
		t.Errorf("wrong password: %v, want ESME_RINVPASWD", err)
	}
	if err := try("other", "secret"); !errors.Is(err, pdu.StatusInvSysID) {
		t.Errorf("wrong system_id: %v, want ESME_RINVSYSID", err)
	}
	if err := try("acme", "secret"); err != nil {
		t.Errorf("right credentials: %v", err)
	}
	if st := sim.Stats(); st.Binds != 1 || st.BindsRefused != 2 {
		t.Errorf("binds %d refused %d, want 1 and 2", st.Binds, st.BindsRefused)
	}
}

// postMO posts an MO to the simulator's HTTP API.
func postMO(t *testing.T, sim *smscsim.Simulator, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", "http://"+sim.HTTPAddr()+"/mo", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func TestMOOverHTTP(t *testing.T) {
	t.Parallel()
	sim := start(t, smscsim.Options{HTTPAddr: "127.0.0.1:0"})
	if code, out := postMO(t, sim, `{"from":"+447700900123","to":"12345","text":"STOP"}`); code != http.StatusConflict {
		t.Fatalf("no receiver: %d %v, want 409", code, out)
	}
	e := bind(t, sim, pdu.Transceiver, "acme", nil)

	tests := []struct {
		text   string
		coding byte
		parts  int
	}{
		{"STOP", 0x00, 1},
		{"Grüße, 5 € à la carte", 0x00, 1},
		{"Привет 👋", 0x08, 1},
		{strings.Repeat("long reply ", 20), 0x00, 2},
	}
	for _, tt := range tests {
		body, _ := json.Marshal(map[string]string{"from": "+447700900123", "to": "12345", "text": tt.text})
		code, out := postMO(t, sim, string(body))
		if code != http.StatusAccepted || out["system_id"] != "acme" || out["parts"] != float64(tt.parts) {
			t.Fatalf("post %q: %d %v", tt.text, code, out)
		}
		var text string
		for i := range tt.parts {
			d := e.next(t)
			if d.IsReceipt() || d.DataCoding != tt.coding || d.Source != (pdu.Address{TON: 1, NPI: 1, Addr: "447700900123"}) || d.Dest.Addr != "12345" {
				t.Fatalf("part %d of %q: %+v", i+1, tt.text, d)
			}
			dec, err := smstext.Decode(d.Message, d.DataCoding, d.UDHI(), smstext.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.parts > 1 && (dec.UDH == nil || dec.UDH.Concat == nil || int(dec.UDH.Concat.Seq) != i+1) {
				t.Fatalf("part %d of %q has no concatenation UDH", i+1, tt.text)
			}
			text += dec.Text
		}
		if text != tt.text {
			t.Fatalf("ESME got %q, want %q", text, tt.text)
		}
	}
	if code, _ := postMO(t, sim, `{"from":"1","to":"2","text":"x","system_id":"nobody"}`); code != http.StatusConflict {
		t.Fatalf("unknown system_id: %d, want 409", code)
	}
	if code, _ := postMO(t, sim, `{"from":"1","text":"x"}`); code != http.StatusBadRequest {
		t.Fatalf("missing to: %d, want 400", code)
	}
	if code, _ := postMO(t, sim, `{"from":"1","to":"2","txt":"x"}`); code != http.StatusBadRequest {
		t.Fatalf("unknown field: %d, want 400", code)
	}
	st := sim.Stats()
	if st.MOSent != 4 || st.MOParts != 5 || st.MOFailed != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStatsOverHTTP(t *testing.T) {
	t.Parallel()
	sim := start(t, smscsim.Options{HTTPAddr: "127.0.0.1:0", Errors: []smscsim.ErrorRate{{Status: pdu.StatusMsgQFul, Fraction: 1}}})
	e := bind(t, sim, pdu.Transmitter, "acme", nil)
	submit(t, e.Session, submitSM("x", 0))
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+sim.HTTPAddr()+"/stats", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	var st smscsim.Stats
	if err := json.Unmarshal(buf.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || st.Submits != 1 || st.Sessions != 1 || st.Responses["ESME_RMSGQFUL"] != 1 {
		t.Fatalf("GET /stats: %d %s", resp.StatusCode, buf.Bytes())
	}
	if !strings.Contains(buf.String(), `"receipts_pending"`) {
		t.Fatalf("stats keys are not snake_case: %s", buf.Bytes())
	}
}

func TestOptionParsing(t *testing.T) {
	t.Parallel()
	delays := []struct {
		in   string
		want smscsim.Delay
		ok   bool
	}{
		{"0", smscsim.Delay{}, true},
		{"250ms", smscsim.Fixed(250 * time.Millisecond), true},
		{"1s-5s", smscsim.Delay{Min: time.Second, Max: 5 * time.Second}, true},
		{"5s-1s", smscsim.Delay{}, false},
		{"-1s", smscsim.Delay{}, false},
		{"soon", smscsim.Delay{}, false},
	}
	for _, d := range delays {
		got, err := smscsim.ParseDelay(d.in)
		if (err == nil) != d.ok || got != d.want {
			t.Errorf("ParseDelay(%q) = %v, %v", d.in, got, err)
		}
	}
	rates := []struct {
		in   string
		want smscsim.ErrorRate
		ok   bool
	}{
		{"0x58:0.01", smscsim.ErrorRate{Status: pdu.StatusThrottled, Fraction: 0.01}, true},
		{"20:0.5", smscsim.ErrorRate{Status: pdu.StatusMsgQFul, Fraction: 0.5}, true},
		{"esme_rinvdstadr:1", smscsim.ErrorRate{Status: pdu.StatusInvDstAdr, Fraction: 1}, true},
		{"0x58", smscsim.ErrorRate{}, false},
		{"0:0.1", smscsim.ErrorRate{}, false},
		{"0x58:1.5", smscsim.ErrorRate{}, false},
		{"ESME_RNOPE:0.1", smscsim.ErrorRate{}, false},
	}
	for _, r := range rates {
		got, err := smscsim.ParseErrorRate(r.in)
		if (err == nil) != r.ok || got != r.want {
			t.Errorf("ParseErrorRate(%q) = %v, %v", r.in, got, err)
		}
	}
	if _, err := smscsim.New(smscsim.Options{Errors: []smscsim.ErrorRate{{Status: 0x58, Fraction: 0.6}, {Status: 0x14, Fraction: 0.6}}}); err == nil {
		t.Error("New accepted error fractions adding up to 1.2")
	}
	if _, err := smscsim.New(smscsim.Options{Undeliv: 0.7, Expired: 0.7}); err == nil {
		t.Error("New accepted undeliv+expired of 1.4")
	}
}
