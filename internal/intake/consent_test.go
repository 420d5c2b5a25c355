package intake

import (
	"context"
	"testing"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// memMessages accepts every message.
type memMessages struct {
	store.Messages
	n int
}

func (m *memMessages) CreateMessages(_ context.Context, items []*store.NewMessage) error {
	m.n += len(items)
	return nil
}

type fakeConsent struct {
	policy  herald.Policy
	senders map[string]string // address → account
	out     map[string]bool   // number|sender ("" = account-wide)
}

func (f *fakeConsent) Policy(context.Context, string) (*herald.Policy, error) {
	p := f.policy
	return &p, nil
}

func (f *fakeConsent) SenderByAddress(_ context.Context, a string) (*herald.Sender, error) {
	if acc, ok := f.senders[a]; ok {
		return &herald.Sender{AccountID: acc, Address: a}, nil
	}
	return nil, herald.Errorf(herald.KindNotFound, "not_found", "no sender")
}

func (f *fakeConsent) Senders(_ context.Context, account string) ([]*herald.Sender, error) {
	var out []*herald.Sender
	for a, acc := range f.senders {
		if acc == account {
			out = append(out, &herald.Sender{AccountID: acc, Address: a})
		}
	}
	return out, nil
}

func (f *fakeConsent) OptedOut(_ context.Context, _, number, sender string) (bool, error) {
	return f.out[number+"|"] || f.out[number+"|"+sender], nil
}

// TestConsent: sender ownership and opt-outs, per item of a batch.
func TestConsent(t *testing.T) {
	t.Parallel()
	const optedOut, other = "+447911123456", "+447911123457"
	tests := []struct {
		name    string
		account string // default acc_1
		policy  herald.Policy
		req     Request
		code    string
	}{
		{name: "default sender is everyone's", req: Request{To: other, Body: "hi"}},
		{name: "owned sender", req: Request{To: other, From: "12345", Body: "hi"}},
		{name: "sender of another account", req: Request{To: other, From: "54321", Body: "hi"}, code: "sender_not_owned"},
		{name: "unregistered sender", req: Request{To: other, From: "Shop", Body: "hi"}, code: "sender_not_owned"},
		{name: "any sender allowed", policy: herald.Policy{AllowAnySender: true}, req: Request{To: other, From: "Shop", Body: "hi"}},
		{name: "never another account's", policy: herald.Policy{AllowAnySender: true}, req: Request{To: other, From: "54321", Body: "hi"}, code: "sender_not_owned"},
		{name: "any sender while none registered", account: "acc_3", req: Request{To: other, From: "Shop", Body: "hi"}},
		{name: "but not another account's", account: "acc_3", req: Request{To: other, From: "12345", Body: "hi"}, code: "sender_not_owned"},
		{name: "opted out of this sender", req: Request{To: optedOut, From: "12345", Body: "hi"}, code: "recipient_opted_out"},
		{name: "opted out of the account", req: Request{To: "+447911000001", Body: "hi"}, code: "recipient_opted_out"},
		{name: "otp follows the rule", req: Request{To: optedOut, From: "12345", Body: "1234", Type: herald.TypeOTP}, code: "recipient_opted_out"},
		{name: "otp exempted", policy: herald.Policy{Exempt: []herald.MessageType{herald.TypeOTP}},
			req: Request{To: optedOut, From: "12345", Body: "1234", Type: herald.TypeOTP}},
		{name: "exemption is per type", policy: herald.Policy{Exempt: []herald.MessageType{herald.TypeOTP}},
			req: Request{To: optedOut, From: "12345", Body: "sale", Type: herald.TypeMarketing}, code: "recipient_opted_out"},
		{name: "compliance reply", req: Request{To: optedOut, From: "12345", Body: "You have been unsubscribed", Compliance: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testService()
			mem := &memMessages{}
			s.o.Store = mem
			s.o.Consent = &fakeConsent{policy: tc.policy, senders: map[string]string{"12345": "acc_1", "54321": "acc_2"},
				out: map[string]bool{optedOut + "|12345": true, "+447911000001|": true}}
			// The request under test sits between two good ones.
			good := Request{To: other, Body: "ok"}
			account := tc.account
			if account == "" {
				account = "acc_1"
			}
			res, err := s.Submit(t.Context(), account, []Request{good, tc.req, good}, Idempotency{}, true)
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Err != nil || res[2].Err != nil {
				t.Fatalf("neighbours refused: %v %v", res[0].Err, res[2].Err)
			}
			var code string
			if e, ok := res[1].Err.(*herald.Error); ok {
				code = e.Code
			} else if res[1].Err != nil {
				t.Fatalf("error %v", res[1].Err)
			}
			if code != tc.code {
				t.Fatalf("code %q, want %q", code, tc.code)
			}
			if want := 2 + map[bool]int{true: 1}[tc.code == ""]; mem.n != want {
				t.Fatalf("%d stored, want %d", mem.n, want)
			}
		})
	}
}

// TestConsentSenderPerMessage: a batch whose messages change sender is
// checked message by message (the sender's owner is looked up again when
// the sender changes, and reused while it does not).
func TestConsentSenderPerMessage(t *testing.T) {
	t.Parallel()
	s := testService()
	s.o.Store = &memMessages{}
	s.o.Consent = &fakeConsent{senders: map[string]string{"12345": "acc_1", "54321": "acc_2"}, out: map[string]bool{}}
	reqs := []Request{{From: "12345"}, {From: "12345"}, {From: "54321"}, {From: "12345"}, {From: "54321"}, {From: "54321"}}
	for i := range reqs {
		reqs[i].To, reqs[i].Body = "+447911123457", "hi"
	}
	res, err := s.Submit(t.Context(), "acc_1", reqs, Idempotency{}, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		e, _ := r.Err.(*herald.Error)
		refused := e != nil && e.Code == "sender_not_owned"
		if want := reqs[i].From == "54321"; refused != want || (!refused && r.Err != nil) {
			t.Errorf("message %d from %s: %v, want refused %v", i, reqs[i].From, r.Err, want)
		}
	}
}

// failingConsent cannot read the store once fail is set.
type failingConsent struct {
	fakeConsent
	fail bool
}

func (f *failingConsent) OptedOut(ctx context.Context, account, number, sender string) (bool, error) {
	if f.fail {
		return false, context.DeadlineExceeded
	}
	return f.fakeConsent.OptedOut(ctx, account, number, sender)
}

// TestConsentStoreUnavailable: a consent lookup that fails because the
// store cannot be read (a database cut off) fails the request as a
// whole, as a failed commit does (the API answers 503
// store_unavailable), not each item with an internal error; nothing is
// stored.
func TestConsentStoreUnavailable(t *testing.T) {
	t.Parallel()
	s := testService()
	mem := &memMessages{}
	s.o.Store = mem
	c := &failingConsent{fakeConsent: fakeConsent{senders: map[string]string{}, out: map[string]bool{}}}
	s.o.Consent = c
	reqs := []Request{{To: "+447911123457", Body: "one"}, {To: "+447911123458", Body: "two"}}
	for _, batch := range []bool{false, true} {
		c.fail = false
		if _, err := s.Submit(t.Context(), "acc_1", reqs[:1], Idempotency{}, batch); err != nil {
			t.Fatalf("batch %v: %v", batch, err)
		}
		c.fail = true
		res, err := s.Submit(t.Context(), "acc_1", reqs, Idempotency{}, batch)
		if err == nil {
			t.Fatalf("batch %v: results %+v, want the request to fail", batch, res)
		}
	}
	if mem.n != 2 {
		t.Errorf("%d messages stored, want the 2 submitted before the store failed", mem.n)
	}
}
