package inbound

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smstext"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// clock is an injected clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// mo splits text as a handset would send it and returns the deliver_sm.
func mo(t *testing.T, text string, o smstext.Options) []*pdu.DeliverSM {
	t.Helper()
	segs, err := smstext.Split(text, o)
	if err != nil {
		t.Fatal(err)
	}
	var out []*pdu.DeliverSM
	for _, s := range segs {
		d := &pdu.DeliverSM{ShortMessage: pdu.ShortMessage{
			Source: pdu.Address{TON: 1, NPI: 1, Addr: "447700900123"}, Dest: pdu.Address{TON: 0, NPI: 1, Addr: "12345"},
			DataCoding: s.DataCoding}}
		if o.Concat == smstext.ConcatPayload {
			d.TLVs.Set(pdu.TagMessagePayload, s.ShortMessage)
		} else {
			d.Message = s.ShortMessage
		}
		if s.UDHI {
			d.ESMClass |= pdu.ESMClassUDHI
		}
		if s.SAR != nil {
			d.TLVs.SetUint16(pdu.TagSarMsgRefNum, s.SAR.Ref)
			d.TLVs.SetUint8(pdu.TagSarTotalSegments, s.SAR.Total)
			d.TLVs.SetUint8(pdu.TagSarSegmentSeqnum, s.SAR.Seq)
		}
		out = append(out, d)
	}
	return out
}

// newService returns a service whose stored replies are appended to sent.
func newService(f *fakeStore, c *clock, sent *[]*herald.Message) *Service {
	return New(Options{Store: f, Now: c.Now, Timeout: time.Minute,
		Prepare: func(_ context.Context, r Reply) (*herald.Message, error) {
			if !r.Compliance {
				return nil, errors.New("a keyword reply is a compliance message")
			}
			return &herald.Message{AccountID: r.AccountID, From: r.From, To: r.To, Body: r.Body}, nil
		},
		Accepted: func(ms []*herald.Message) { *sent = append(*sent, ms...) }})
}

// TestReassembly: three-part messages delivered in reverse order, each
// part on its own call (as from different binds), arrive as one message
// with exactly the original text, for every concatenation method and
// alphabet.
func TestReassembly(t *testing.T) {
	t.Parallel()
	gsm := "The quick brown fox jumps over the lazy dog; {braces} and [brackets] cost € 10 ^~\\| " +
		strings.Repeat("abcdefghij", 33)
	ucs := "Привет, мир! こんにちは 😀 " + strings.Repeat("ЖжЩщ", 40)
	turkish := strings.Repeat("Şişli'de çay içiyoruz ğ ı İ. ", 12)
	tests := []struct {
		name string
		text string
		o    smstext.Options
		enc  string
	}{
		{"gsm7 udh8", gsm, smstext.Options{Concat: smstext.ConcatUDH8, Ref: 200}, "gsm7"},
		{"gsm7 udh16", gsm, smstext.Options{Concat: smstext.ConcatUDH16, Ref: 54321}, "gsm7"},
		{"gsm7 sar", gsm, smstext.Options{Concat: smstext.ConcatSAR, Ref: 777}, "gsm7"},
		{"ucs2 udh8", ucs, smstext.Options{Concat: smstext.ConcatUDH8, Ref: 9}, "ucs2"},
		{"ucs2 udh16", ucs, smstext.Options{Concat: smstext.ConcatUDH16, Ref: 40000}, "ucs2"},
		{"ucs2 sar", ucs, smstext.Options{Concat: smstext.ConcatSAR, Ref: 1}, "ucs2"},
		{"gsm7 turkish shifts", turkish, smstext.Options{Concat: smstext.ConcatUDH8, Ref: 3,
			Languages: []smstext.Language{smstext.Turkish}}, "gsm7"},
		{"gsm7 payload single", "Hello over message_payload", smstext.Options{Concat: smstext.ConcatPayload}, "gsm7"},
		{"latin1", "Olá, señor", smstext.Options{Encoding: smstext.Latin1}, "latin1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, c, sent := newFakeStore(), &clock{t0}, []*herald.Message{}
			s := newService(f, c, &sent)
			ds := mo(t, tc.text, tc.o)
			if tc.o.Concat != smstext.ConcatPayload && tc.enc != "latin1" && len(ds) < 3 {
				t.Fatalf("%d parts; want at least 3", len(ds))
			}
			for i := len(ds) - 1; i >= 0; i-- {
				if err := s.Receive(t.Context(), "sim", ds[i:i+1]); err != nil {
					t.Fatal(err)
				}
				if got := len(f.messages()); (i > 0 && got != 0) || (i == 0 && got != 1) {
					t.Fatalf("after part %d: %d messages", i+1, got)
				}
			}
			m := f.messages()[0]
			if m.Body != tc.text || m.Encoding != tc.enc || m.Incomplete || m.Received != len(ds) || m.From != "+447700900123" {
				t.Fatalf("got %q (%s, incomplete %t, %d parts from %s)\nwant %q (%s)", m.Body, m.Encoding, m.Incomplete,
					m.Received, m.From, tc.text, tc.enc)
			}
		})
	}
}

// TestTimeoutIncomplete: a part that never comes; after the timeout (on
// the injected clock) the message is stored with what arrived.
func TestTimeoutIncomplete(t *testing.T) {
	t.Parallel()
	f, c, sent := newFakeStore(), &clock{t0}, []*herald.Message{}
	s := newService(f, c, &sent)
	ds := mo(t, strings.Repeat("0123456789", 40), smstext.Options{Ref: 5})
	if err := s.Receive(t.Context(), "sim", []*pdu.DeliverSM{ds[2], ds[0]}); err != nil {
		t.Fatal(err)
	}
	c.now = t0.Add(59 * time.Second)
	if n, err := s.Sweep(t.Context()); n != 0 || err != nil {
		t.Fatalf("swept %d before the timeout (%v)", n, err)
	}
	c.now = t0.Add(61 * time.Second)
	if n, err := s.Sweep(t.Context()); n != 1 || err != nil {
		t.Fatalf("swept %d after the timeout (%v)", n, err)
	}
	m := f.messages()[0]
	want := strings.Repeat("0123456789", 40)
	if !m.Incomplete || m.Received != 2 || m.PartCount != 3 || !strings.HasPrefix(m.Body, want[:153]) || !strings.HasSuffix(m.Body, want[306:]) {
		t.Fatalf("incomplete message %+v", m)
	}
	// The missing part arriving late starts afresh; it does not duplicate.
	if err := s.Receive(t.Context(), "sim", ds[1:2]); err != nil || len(f.messages()) != 1 {
		t.Fatalf("late part: %d messages %v", len(f.messages()), err)
	}
}

// TestKeywords: STOP opts out once and is confirmed once; START reverses
// it; HELP is answered; other text is only stored.
func TestKeywords(t *testing.T) {
	t.Parallel()
	f, c, sent := newFakeStore(), &clock{t0}, []*herald.Message{}
	f.senders["12345"] = &herald.Sender{AccountID: "acc_1", Address: "12345", Kind: herald.SenderShortCode}
	s := newService(f, c, &sent)
	say := func(text string) *herald.InboundMessage {
		t.Helper()
		if err := s.Receive(t.Context(), "sim", mo(t, text, smstext.Options{})); err != nil {
			t.Fatal(err)
		}
		ms := f.messages()
		return ms[len(ms)-1]
	}
	steps := []struct {
		text    string
		keyword string
		optOut  bool
		reply   string // prefix of the reply, "" for none
	}{
		{"  Stop!! ", "stop", true, "You have been unsubscribed"},
		{"STOP", "stop", true, ""}, // already out: no second confirmation
		{"opt   out.", "stop", true, ""},
		{"please stop texting", "", true, ""},
		{"help", "help", true, "Reply STOP"},
		{"Start", "start", false, "You have been resubscribed"},
		{"unstop", "start", false, ""},
		{"Hello there", "", false, ""},
	}
	for _, st := range steps {
		n := len(sent)
		m := say(st.text)
		if m.Keyword != st.keyword || m.AccountID != "acc_1" {
			t.Fatalf("%q: keyword %q account %q; want %q", st.text, m.Keyword, m.AccountID, st.keyword)
		}
		if got := f.optOut["acc_1|+447700900123|12345"]; got != st.optOut {
			t.Fatalf("%q: opted out %t, want %t", st.text, got, st.optOut)
		}
		switch {
		case st.reply == "" && len(sent) != n:
			t.Fatalf("%q: unexpected reply %q", st.text, sent[n].Body)
		case st.reply != "" && (len(sent) != n+1 || !strings.HasPrefix(sent[n].Body, st.reply) ||
			sent[n].From != "12345" || sent[n].To != "+447700900123"):
			t.Fatalf("%q: replies %+v; want one starting %q", st.text, sent[n:], st.reply)
		}
	}
}

func TestKeywordMatch(t *testing.T) {
	t.Parallel()
	kw := (&Keywords{Languages: map[string]KeywordSet{"es": {Stop: []string{"BAJA", "PARAR"}, StopReply: "Te has dado de baja."}}}).set("x", "es")
	tests := []struct {
		body string
		want Action
	}{
		{"STOP", ActionStop}, {"stop", ActionStop}, {"  sToP\n", ActionStop}, {"STOP.", ActionStop}, {"¡Stop!", ActionStop},
		{"STOPALL", ActionStop}, {"Unsubscribe", ActionStop}, {"cancel", ActionStop}, {"END", ActionStop}, {"quit", ActionStop},
		{"revoke", ActionStop}, {"optout", ActionStop}, {"Opt Out", ActionStop}, {"opt-out", ActionNone},
		{"baja", ActionStop}, {"Parar!", ActionStop},
		{"START", ActionStart}, {"unstop", ActionStart}, {"Yes", ActionStart},
		{"HELP", ActionHelp}, {"info?", ActionHelp},
		{"", ActionNone}, {"stop it", ActionNone}, {"STOPP", ActionNone}, {strings.Repeat("stop ", 30), ActionNone},
	}
	for _, tc := range tests {
		if got, _ := kw.Match(tc.body); got != tc.want {
			t.Errorf("Match(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
	if kw.Reply(ActionStop) != "Te has dado de baja." || !strings.HasPrefix(kw.Reply(ActionHelp), "Reply STOP") {
		t.Errorf("replies: %q %q", kw.Reply(ActionStop), kw.Reply(ActionHelp))
	}
}

// TestAccountScope: with account scope the opt-out has no sender.
func TestAccountScope(t *testing.T) {
	t.Parallel()
	f, c, sent := newFakeStore(), &clock{t0}, []*herald.Message{}
	f.scope = herald.ScopeAccount
	f.senders["12345"] = &herald.Sender{AccountID: "acc_1", Address: "12345"}
	s := newService(f, c, &sent)
	if err := s.Receive(t.Context(), "sim", mo(t, "QUIT", smstext.Options{})); err != nil {
		t.Fatal(err)
	}
	if !f.optOut["acc_1|+447700900123|"] {
		t.Fatalf("opt-outs %v; want an account-wide one", f.optOut)
	}
}

// TestStoreFailure: when the store cannot commit, Receive fails (the
// carrier is asked to retry) and nothing is replied.
func TestStoreFailure(t *testing.T) {
	t.Parallel()
	f, c, sent := newFakeStore(), &clock{t0}, []*herald.Message{}
	f.fail = errors.New("disk full")
	s := newService(f, c, &sent)
	if err := s.Receive(t.Context(), "sim", mo(t, "STOP", smstext.Options{})); err == nil {
		t.Fatal("Receive succeeded with a failing store")
	}
	if err := s.Receive(t.Context(), "sim", mo(t, strings.Repeat("x", 300), smstext.Options{})); err == nil {
		t.Fatal("Receive of parts succeeded with a failing store")
	}
}
