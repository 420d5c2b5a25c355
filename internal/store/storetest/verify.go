package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// verifyTests are the verification tests, run by Run.
var verifyTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"VerifyApproveOnce", testVerifyApproveOnce},
	{"VerifyResendLimits", testVerifyResendLimits},
	{"VerifyFailuresAcrossVerifications", testVerifyFailures},
	{"VerifyDecoyAndIsolation", testVerifyDecoy},
	{"VerifyConcurrentChecks", testVerifyConcurrentChecks},
	{"VerifyFinishAndExpire", testVerifyFinish},
	{"VerifyStoresItsMessage", testVerifyMessage},
	{"FraudBlocks", testFraudBlocks},
}

var vlimits = herald.DefaultVerifyLimits

// hashOf is a stand-in for the service's HMAC: the code bound to the id.
func hashOf(code string) func(id string) []byte {
	return func(id string) []byte { return []byte(id + "|" + code) }
}

func matchOf(id, code string) func([]byte) bool {
	return func(h []byte) bool { return h != nil && bytes.Equal(h, []byte(id+"|"+code)) }
}

func startV(t *testing.T, s store.Store, acc, to, code string, at time.Time) (*herald.Verification, error) {
	t.Helper()
	v := &herald.Verification{ID: herald.NewID("ver", at.UnixMilli()), AccountID: acc, To: to, Channel: "sms", Locale: "en",
		CodeLength: len(code), TTL: 10 * time.Minute}
	return s.StartVerification(t.Context(), store.StartVerification{New: v, Hash: hashOf(code), Now: at, Limits: vlimits})
}

func check(t *testing.T, s store.Store, acc, id, code string, at time.Time) (store.CheckResult, error) {
	t.Helper()
	return s.CheckVerification(t.Context(), store.CheckVerification{AccountID: acc, ID: id, Match: matchOf(id, code), Now: at, Limits: vlimits})
}

func code(err error) string {
	var e *herald.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func testVerifyApproveOnce(t *testing.T, s store.Store) {
	acc := account(t, s, "verify-a")
	v, err := startV(t, s, acc.ID, "+447700900001", "123456", base)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != herald.VerificationPending || v.Sends != 1 || !v.ExpiresAt.Equal(base.Add(10*time.Minute)) {
		t.Fatalf("started %+v", v)
	}
	r, err := check(t, s, acc.ID, v.ID, "000000", base.Add(time.Second))
	if err != nil || r.Approved || !r.Evaluated || r.ChecksLeft != 4 || r.Verification.Status != herald.VerificationPending {
		t.Fatalf("wrong code: %+v %v", r, err)
	}
	r, err = check(t, s, acc.ID, v.ID, "123456", base.Add(2*time.Second))
	if err != nil || !r.Approved || r.Verification.Status != herald.VerificationApproved {
		t.Fatalf("right code: %+v %v", r, err)
	}
	r, err = check(t, s, acc.ID, v.ID, "123456", base.Add(3*time.Second))
	if code(err) != herald.CodeVerifyNotPending || r.Approved || r.Evaluated {
		t.Fatalf("second use: %+v %v", r, err)
	}
	got, err := s.Verification(t.Context(), acc.ID, v.ID)
	if err != nil || got.Status != herald.VerificationApproved || got.CodeHash != nil || got.Checks != 2 {
		t.Fatalf("read back %+v %v", got, err)
	}
}

func testVerifyResendLimits(t *testing.T, s store.Store) {
	acc := account(t, s, "verify-b")
	to := "+447700900002"
	v, err := startV(t, s, acc.ID, to, "111111", base)
	if err != nil {
		t.Fatal(err)
	}
	// A resend within the cooldown is refused with a Retry-After.
	_, err = startV(t, s, acc.ID, to, "222222", base.Add(10*time.Second))
	var he *herald.Error
	if !errors.As(err, &he) || he.Code != herald.CodeVerifyResendCooldown || he.RetryAfter != 20*time.Second {
		t.Fatalf("cooldown: %v", err)
	}
	// After it, the same verification gets a new code; the old one is void.
	v2, err := startV(t, s, acc.ID, to, "33333333", base.Add(30*time.Second))
	if err != nil || v2.ID != v.ID || v2.Sends != 2 || v2.CodeLength != 8 {
		t.Fatalf("resend: %+v %v", v2, err)
	}
	if r, _ := check(t, s, acc.ID, v.ID, "111111", base.Add(31*time.Second)); r.Approved {
		t.Fatal("the replaced code still works")
	}
	// Sends 3..5, then the window is full.
	at := base.Add(30 * time.Second)
	for i := 3; i <= 5; i++ {
		at = at.Add(30 * time.Second)
		if _, err := startV(t, s, acc.ID, to, "444444", at); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	_, err = startV(t, s, acc.ID, to, "555555", at.Add(30*time.Second))
	if !errors.As(err, &he) || he.Code != herald.CodeVerifyTooManySends || he.RetryAfter != base.Add(10*time.Minute).Sub(at.Add(30*time.Second)) {
		t.Fatalf("window: %v", err)
	}
	// Resend by id obeys the same limits; another number is not affected.
	_, err = s.StartVerification(t.Context(), store.StartVerification{New: &herald.Verification{AccountID: acc.ID},
		ResendID: v.ID, Hash: hashOf("666666"), Now: at.Add(time.Minute), Limits: vlimits})
	if code(err) != herald.CodeVerifyTooManySends {
		t.Fatalf("resend by id: %v", err)
	}
	if _, err := startV(t, s, acc.ID, "+447700900003", "777777", at); err != nil {
		t.Fatal(err)
	}
	// Ten minutes after the first send, a send is allowed again.
	if _, err := startV(t, s, acc.ID, to, "888888", base.Add(10*time.Minute+time.Second)); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func testVerifyFailures(t *testing.T, s store.Store) {
	acc := account(t, s, "verify-c")
	to := "+447700900004"
	l := vlimits
	at := base
	fails := 0
	// Wrong codes across many verifications: the count carries over.
	for fails < l.MaxFailures {
		at = at.Add(3 * time.Minute) // respects the cooldown and the window
		v, err := startV(t, s, acc.ID, to, "424242", at)
		if err != nil {
			t.Fatalf("start after %d failures: %v", fails, err)
		}
		for range l.MaxChecks {
			r, err := check(t, s, acc.ID, v.ID, "000000", at)
			if err != nil || !r.Evaluated {
				t.Fatalf("check %d: %+v %v", fails, r, err)
			}
			fails++
		}
	}
	at = at.Add(time.Hour)
	if _, err := startV(t, s, acc.ID, to, "424242", at); code(err) != herald.CodeVerifyLocked {
		t.Fatalf("start when locked: %v", err)
	}
	if _, err := startV(t, s, acc.ID, "+447700900005", "424242", at); err != nil {
		t.Fatalf("another number: %v", err)
	}
	other := account(t, s, "verify-c2")
	if n, err := s.ResetVerificationFailures(t.Context(), other.ID, to); err != nil || n != 0 {
		t.Fatalf("another account's reset: %d %v", n, err)
	}
	if n, err := s.ResetVerificationFailures(t.Context(), acc.ID, to); err != nil || n != l.MaxFailures {
		t.Fatalf("reset: %d %v", n, err)
	}
	if _, err := startV(t, s, acc.ID, to, "424242", at.Add(time.Hour)); err != nil {
		t.Fatalf("start after the reset: %v", err)
	}
}

func testVerifyDecoy(t *testing.T, s store.Store) {
	a := account(t, s, "verify-d1")
	b := account(t, s, "verify-d2")
	v, err := startV(t, s, a.ID, "+447700900006", "123456", base)
	if err != nil {
		t.Fatal(err)
	}
	// b checking a's verification, even with the right code, meets a decoy.
	for i := 1; i <= vlimits.MaxChecks+1; i++ {
		matched := false
		r, err := s.CheckVerification(t.Context(), store.CheckVerification{AccountID: b.ID, ID: v.ID, Now: base,
			Limits: vlimits, Match: func(h []byte) bool { matched = h != nil; return false }})
		if r.Verification != nil || r.Approved || r.Evaluated || matched {
			t.Fatalf("decoy check %d: %+v", i, r)
		}
		switch {
		case i <= vlimits.MaxChecks && (err != nil || r.ChecksLeft != vlimits.MaxChecks-i):
			t.Fatalf("decoy check %d: %+v %v", i, r, err)
		case i > vlimits.MaxChecks && code(err) != herald.CodeVerifyMaxAttempts:
			t.Fatalf("decoy check %d: %v", i, err)
		}
	}
	if _, err := s.Verification(t.Context(), b.ID, v.ID); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("another account reads it: %v", err)
	}
	if _, err := s.FinishVerification(t.Context(), b.ID, v.ID, herald.VerificationCanceled, base); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("another account cancels it: %v", err)
	}
	if r, err := check(t, s, a.ID, v.ID, "123456", base); err != nil || !r.Approved {
		t.Fatalf("owner: %+v %v", r, err)
	}
}

// testVerifyConcurrentChecks: many concurrent wrong checks of one
// verification evaluate exactly MaxChecks of them.
func testVerifyConcurrentChecks(t *testing.T, s store.Store) {
	acc := account(t, s, "verify-e")
	v, err := startV(t, s, acc.ID, "+447700900007", "123456", base)
	if err != nil {
		t.Fatal(err)
	}
	var evaluated atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			r, _ := check(t, s, acc.ID, v.ID, "000000", base)
			if r.Evaluated {
				evaluated.Add(1)
			}
		})
	}
	wg.Wait()
	if n := evaluated.Load(); n != int32(vlimits.MaxChecks) {
		t.Fatalf("%d checks evaluated, want %d", n, vlimits.MaxChecks)
	}
	got, _ := s.Verification(t.Context(), acc.ID, v.ID)
	if got.Status != herald.VerificationMaxAttemptsReached || got.Checks != vlimits.MaxChecks {
		t.Fatalf("after: %+v", got)
	}
}

func testVerifyFinish(t *testing.T, s store.Store) {
	acc := account(t, s, "verify-f")
	v, err := startV(t, s, acc.ID, "+447700900008", "123456", base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.FinishVerification(t.Context(), acc.ID, v.ID, herald.VerificationCanceled, base.Add(time.Second))
	if err != nil || c.Status != herald.VerificationCanceled {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	if _, err := s.FinishVerification(t.Context(), acc.ID, v.ID, herald.VerificationCanceled, base); code(err) != herald.CodeVerifyNotPending {
		t.Fatalf("cancel twice: %v", err)
	}
	if r, err := check(t, s, acc.ID, v.ID, "123456", base.Add(2*time.Second)); r.Approved || code(err) != herald.CodeVerifyNotPending {
		t.Fatalf("check canceled: %+v %v", r, err)
	}
	// A new verification for the number may start at once (after the cooldown of the number's window rules).
	w, err := startV(t, s, acc.ID, "+447700900008", "654321", base.Add(time.Minute))
	if err != nil || w.ID == v.ID {
		t.Fatalf("new after cancel: %+v %v", w, err)
	}
	// Past its TTL the code no longer works and the verification is expired.
	r, err := check(t, s, acc.ID, w.ID, "654321", base.Add(11*time.Minute+time.Second))
	if r.Approved || code(err) != herald.CodeVerifyNotPending {
		t.Fatalf("check expired: %+v %v", r, err)
	}
	got, _ := s.Verification(t.Context(), acc.ID, w.ID)
	if got.Status != herald.VerificationExpired || got.CodeHash != nil {
		t.Fatalf("expired: %+v", got)
	}
	if n, err := s.PurgeVerifications(t.Context(), base.Add(time.Hour)); err != nil || n == 0 {
		t.Fatalf("purge: %d %v", n, err)
	}
	if _, err := s.Verification(t.Context(), acc.ID, v.ID); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("purged verification still there: %v", err)
	}
}

func testFraudBlocks(t *testing.T, s store.Store) {
	a := account(t, s, "fraud-a")
	b := account(t, s, "fraud-b")
	ep := &herald.WebhookEndpoint{ID: herald.NewID("whk", base.UnixMilli()), AccountID: a.ID, URL: "http://127.0.0.1:9/f",
		Secret: "whsec_x", Events: []string{"fraud.*"}, CreatedAt: base}
	if err := s.CreateEndpoint(t.Context(), ep); err != nil {
		t.Fatal(err)
	}
	blk := &herald.FraudBlock{ID: herald.NewID("fbk", base.UnixMilli()), AccountID: a.ID, Scope: "prefix", Key: "+44791112",
		Country: "GB", Reason: "conversion 0% of 12", Level: 1, Until: base.Add(15 * time.Minute), Sent: 12, CreatedAt: base}
	if err := s.SaveFraudBlock(t.Context(), blk, herald.EventFraudBlocked, base); err != nil {
		t.Fatal(err)
	}
	ended := *blk
	ended.EndedAt, ended.EndedBy = base.Add(time.Minute), "manual"
	if err := s.SaveFraudBlock(t.Context(), &ended, herald.EventFraudUnblocked, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := s.FraudBlocks(t.Context(), a.ID, base.Add(-time.Hour))
	if err != nil || len(got) != 1 {
		t.Fatalf("blocks: %v %v", got, err)
	}
	if g := got[0]; g.Key != "+44791112" || g.Level != 1 || g.EndedBy != "manual" || !g.EndedAt.Equal(base.Add(time.Minute)) || !g.Until.Equal(blk.Until) {
		t.Fatalf("read back %+v", g)
	}
	if other, _ := s.FraudBlocks(t.Context(), b.ID, time.Time{}); len(other) != 0 {
		t.Fatalf("another account sees %v", other)
	}
	if all, _ := s.FraudBlocks(t.Context(), "", time.Time{}); len(all) != 1 {
		t.Fatalf("all accounts: %v", all)
	}
	ds, err := s.ClaimDeliveries(t.Context(), base.Add(time.Hour), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, d := range ds {
		if d.AccountID == a.ID {
			types[eventType(d.Payload)] = true
		}
	}
	if !types[herald.EventFraudBlocked] || !types[herald.EventFraudUnblocked] {
		t.Fatalf("webhook deliveries: %v", types)
	}
}

func eventType(payload []byte) string {
	var ev struct {
		Type string `json:"type"`
	}
	json.Unmarshal(payload, &ev)
	return ev.Type
}

// testVerifyMessage: the code's message is stored in the same commit as
// an allowed send, with the verification's id as its reference, and not
// at all when the send is refused.
func testVerifyMessage(t *testing.T, s store.Store) {
	acc := account(t, s, "verify-g")
	start := func(at time.Time) (*herald.Verification, *herald.Message, error) {
		m := newMessage(acc, 1, at)
		m.Type, m.To, m.Reference = herald.TypeOTP, "+447700900009", ""
		v := &herald.Verification{ID: herald.NewID("ver", at.UnixMilli()), AccountID: acc.ID, To: m.To, Channel: "sms",
			Locale: "en", CodeLength: 6, TTL: 10 * time.Minute}
		got, err := s.StartVerification(t.Context(), store.StartVerification{New: v, Hash: hashOf("123456"), Now: at,
			Limits: vlimits, Message: &store.NewMessage{Message: m}})
		return got, m, err
	}
	v, m, err := start(base)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Message(t.Context(), acc.ID, m.ID, true)
	if err != nil || got.Reference != v.ID || len(got.Parts) != 1 {
		t.Fatalf("message %+v %v", got, err)
	}
	_, m2, err := start(base.Add(time.Second)) // within the cooldown
	if code(err) != herald.CodeVerifyResendCooldown {
		t.Fatalf("resend: %v", err)
	}
	if _, err := s.Message(t.Context(), acc.ID, m2.ID, false); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("the refused send's message was stored: %v", err)
	}
	v3, m3, err := start(base.Add(time.Minute))
	if err != nil || v3.ID != v.ID {
		t.Fatalf("resend: %+v %v", v3, err)
	}
	if got, err := s.Message(t.Context(), acc.ID, m3.ID, false); err != nil || got.Reference != v.ID {
		t.Fatalf("resent message %+v %v", got, err)
	}
}
