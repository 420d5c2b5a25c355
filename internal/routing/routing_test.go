package routing

import (
	"strings"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

func testTable(t *testing.T) *Table {
	t.Helper()
	tb, err := NewTable([]Route{
		{Name: "world", Carriers: []Weighted{{Carrier: "global"}}},
		{Name: "uk", Prefixes: []string{"44"}, Carriers: []Weighted{{Carrier: "acme", Weight: 3}, {Carrier: "beta", Weight: 1}},
			Failover: []string{"global"}},
		{Name: "uk-mobile", Prefixes: []string{"447"}, Carriers: []Weighted{{Carrier: "acme"}}, Failover: []string{"beta", "global"}},
		{Name: "uk-otp", Prefixes: []string{"447"}, Types: []herald.MessageType{herald.TypeOTP}, Carriers: []Weighted{{Carrier: "fast"}}},
		{Name: "bank", Accounts: []string{"acc_bank"}, Senders: []SenderClass{ShortCode}, Carriers: []Weighted{{Carrier: "sc"}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tb := testTable(t)
	for _, tc := range []struct {
		to, from, acct string
		typ            herald.MessageType
		want           string
	}{
		{"+33612345678", "Herald", "a", herald.TypeMarketing, "world"},
		{"+442071234567", "Herald", "a", herald.TypeMarketing, "uk"},
		{"+447911123456", "Herald", "a", herald.TypeMarketing, "uk-mobile"}, // longest prefix wins
		{"+447911123456", "Herald", "a", herald.TypeOTP, "uk-otp"},          // same prefix, more criteria
		{"+33612345678", "12345", "acc_bank", herald.TypeOTP, "bank"},
		{"+33612345678", "+15551234567", "acc_bank", herald.TypeOTP, "world"}, // a long code: not the bank's short-code route
		{"+447911123456", "12345", "acc_bank", herald.TypeMarketing, "uk-mobile"},
	} {
		r, err := tb.Match(&herald.Message{To: tc.to, From: tc.from, AccountID: tc.acct, Type: tc.typ})
		if err != nil || r.Name != tc.want {
			t.Errorf("%s from %s (%s, %s): route %v %v, want %s", tc.to, tc.from, tc.acct, tc.typ, r, err, tc.want)
		}
	}
}

func TestClassOf(t *testing.T) {
	t.Parallel()
	for from, want := range map[string]SenderClass{"ACME": Alphanumeric, "+15551234567": LongCode, "447911123456": LongCode,
		"12345": ShortCode, "Bank-1": Alphanumeric} {
		if got := ClassOf(from); got != want {
			t.Errorf("ClassOf(%q) = %s, want %s", from, got, want)
		}
	}
}

func TestWeightsAndFailover(t *testing.T) {
	t.Parallel()
	tb := testTable(t)
	m := &herald.Message{To: "+442071234567", From: "Herald", Type: herald.TypeMarketing}
	up := map[string]bool{"acme": true, "beta": true, "global": true}
	usable := func(c string) (bool, string) { return up[c], "down" }
	counts := map[string]int{}
	for range 400 {
		counts[tb.Choose(m, "x", usable).Carrier]++
	}
	if counts["acme"] != 300 || counts["beta"] != 100 {
		t.Fatalf("weights 3:1 gave %v", counts)
	}
	up["acme"] = false
	d := tb.Choose(m, "x", usable)
	if d.Carrier != "beta" || !strings.Contains(d.Detail, "skipped acme down") {
		t.Fatalf("acme down: %+v", d)
	}
	up["beta"] = false
	d = tb.Choose(m, "x", usable)
	if d.Carrier != "global" || d.Detail != "route uk: failover to global because acme down, beta down" {
		t.Fatalf("acme and beta down: %+v", d)
	}
	up["global"] = false
	if d = tb.Choose(m, "x", usable); d.Carrier != "acme" || !strings.Contains(d.Detail, "waiting for acme") {
		t.Fatalf("all down: %+v", d)
	}
	// No route: the carrier chosen at intake.
	if d := tb.Choose(&herald.Message{To: "+33612345678", From: "+15551234567", AccountID: "acc_bank", Type: herald.TypeOTP}, "x", usable); d.Carrier != "global" {
		t.Fatalf("world route: %+v", d)
	}
	empty, _ := NewTable(nil, nil)
	if d := empty.Choose(m, "x", usable); d.Carrier != "x" || d.Route != "" || d.Detail != "" {
		t.Fatalf("no table: %+v", d)
	}
	uk, _ := NewTable([]Route{{Name: "uk", Prefixes: []string{"44"}, Carriers: []Weighted{{Carrier: "acme"}}}}, nil)
	if d := uk.Choose(&herald.Message{To: "+33612345678"}, "x", usable); d.Carrier != "x" || !strings.Contains(d.Detail, "no route matches") {
		t.Fatalf("no matching route: %+v", d)
	}
}

func TestNewTableErrors(t *testing.T) {
	t.Parallel()
	known := func(c string) bool { return c == "a" }
	for _, tc := range []struct {
		r    Route
		want string
	}{
		{Route{Name: "x"}, "no carriers"},
		{Route{Name: "x", Carriers: []Weighted{{Carrier: "b"}}}, `unknown carrier "b"`},
		{Route{Name: "x", Carriers: []Weighted{{Carrier: "a"}}, Failover: []string{"c"}}, `unknown carrier "c"`},
		{Route{Name: "x", Prefixes: []string{"+44"}, Carriers: []Weighted{{Carrier: "a"}}}, "not digits"},
		{Route{Name: "x", Senders: []SenderClass{"robot"}, Carriers: []Weighted{{Carrier: "a"}}}, "sender class"},
		{Route{Name: "x", Types: []herald.MessageType{"spam"}, Carriers: []Weighted{{Carrier: "a"}}}, "message type"},
	} {
		if _, err := NewTable([]Route{tc.r}, known); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.r, err, tc.want)
		}
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	h := NewHealth(HealthOptions{Window: time.Minute, MinReceipts: 20, MinDeliveryRate: 0.6, Probation: 30 * time.Second})
	now := time.Unix(1000, 0)
	for i := range 50 { // 90 % delivered
		h.Receipt("acme", i%10 != 0, 0, now)
	}
	if d, _ := h.Demoted("acme", now); d {
		t.Fatal("demoted at 90 % delivered")
	}
	// Receipts turn to UNDELIV: demoted once the window's share falls
	// under 60 %.
	var at time.Time
	for i := range 100 {
		now = now.Add(100 * time.Millisecond)
		h.Receipt("acme", false, 0, now)
		if d, _ := h.Demoted("acme", now); d {
			at = now
			t.Logf("demoted after %d UNDELIV receipts", i+1)
			break
		}
	}
	if at.IsZero() {
		t.Fatal("never demoted")
	}
	_, why := h.Demoted("acme", at)
	if !strings.Contains(why, "DELIVRD") {
		t.Fatalf("why: %q", why)
	}
	// Back after the probation, judged afresh.
	if d, _ := h.Demoted("acme", at.Add(30*time.Second)); d {
		t.Fatal("still demoted after the probation")
	}
	if st := h.Snapshot("acme", at.Add(30*time.Second)); st.Receipts != 0 || st.Demotions != 1 {
		t.Fatalf("snapshot after the probation: %+v", st)
	}
	// Old receipts leave the window.
	h.Receipt("beta", false, 0, now)
	if st := h.Snapshot("beta", now.Add(2*time.Minute)); st.Receipts != 0 {
		t.Fatalf("a receipt older than the window still counts: %+v", st)
	}
}

func TestSenderLimits(t *testing.T) {
	t.Parallel()
	s := NewSenderLimits([]SenderLimit{{Class: LongCode, Prefix: "1", TPS: 1}, {Class: ShortCode, TPS: 100}})
	now := time.Unix(0, 0)
	for i, want := range []time.Duration{0, time.Second, 2 * time.Second} {
		if got := s.Slot("+15551234567", now).Sub(now); got != want {
			t.Fatalf("part %d of a US long code: slot +%v, want +%v", i, got, want)
		}
	}
	// Another US long code has its own rate; a UK one and an alphanumeric
	// sender are not limited.
	for _, from := range []string{"+15559999999", "+447911123456", "ACME", "ACME"} {
		if got := s.Slot(from, now); !got.Equal(now) {
			t.Fatalf("%s: slot %v, want now", from, got.Sub(now))
		}
	}
	if got := s.Slot("12345", now).Sub(now); got != 0 {
		t.Fatalf("short code first part: %v", got)
	}
	if got := s.Slot("12345", now).Sub(now); got != 10*time.Millisecond {
		t.Fatalf("short code second part: %v", got)
	}
	// After a pause the sender starts again at once.
	later := now.Add(time.Minute)
	s.Prune(later)
	if got := s.Slot("+15551234567", later); !got.Equal(later) {
		t.Fatalf("after a pause: %v", got.Sub(later))
	}
}

func TestAccountLimits(t *testing.T) {
	t.Parallel()
	l := &Limits{Accounts: map[string]AccountLimit{"busy": {PerSecond: 10, PerDay: 25}}}
	now := time.Date(2026, 11, 27, 23, 59, 58, 0, time.UTC)
	m := &herald.Message{AccountID: "busy", From: "ACME"}
	var slots []time.Duration
	for range 27 {
		slots = append(slots, l.Slot(m, now).Sub(now))
	}
	// 10 a second: 0, 100 ms, …; 20 parts fall on the 27th, the rest
	// after midnight, where the day's count starts again.
	if slots[1] != 100*time.Millisecond || slots[19] != 1900*time.Millisecond {
		t.Fatalf("per-second spacing: %v", slots[:20])
	}
	if slots[20] != 2*time.Second || slots[24] != 2400*time.Millisecond {
		t.Fatalf("parts 21-25 cross midnight at the per-second rate: %v", slots[20:25])
	}
	other := &herald.Message{AccountID: "quiet", From: "ACME"}
	if got := l.Slot(other, now); !got.Equal(now) {
		t.Fatalf("an account without a quota waited %v", got.Sub(now))
	}
	// Default quota for accounts not listed.
	d := &Limits{Default: AccountLimit{PerDay: 2}}
	d.Slot(other, now)
	d.Slot(other, now)
	if got := d.Slot(other, now); !got.Equal(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("third part over a daily quota of 2: %v", got)
	}
}

func TestHealthLatency(t *testing.T) {
	t.Parallel()
	h := NewHealth(HealthOptions{Window: time.Minute, MinReceipts: 20, MaxReceiptLatency: 10 * time.Second, Probation: time.Minute})
	now := time.Unix(1000, 0)
	for i := range 40 { // fast, and some without a known latency
		lat := 2 * time.Second
		if i%4 == 0 {
			lat = 0
		}
		h.Receipt("acme", true, lat, now)
	}
	if d, _ := h.Demoted("acme", now); d {
		t.Fatal("demoted while fast")
	}
	if st := h.Snapshot("acme", now); st.ReceiptLatencyMS != 2000 || st.DeliveryRate != 1 {
		t.Fatalf("snapshot %+v", st)
	}
	// Receipts turn slow: demoted once more than half of the window's
	// timed receipts are over 10 s.
	n := 0
	for d := false; !d; d, _ = h.Demoted("acme", now) {
		h.Receipt("acme", true, 30*time.Second, now)
		if n++; n > 100 {
			t.Fatal("never demoted for latency")
		}
	}
	_, why := h.Demoted("acme", now)
	if n != 31 || !strings.Contains(why, "later than 10s") {
		t.Fatalf("demoted after %d slow receipts: %q", n, why)
	}
}

func TestMatchOperator(t *testing.T) {
	t.Parallel()
	tb, err := NewTable([]Route{
		{Name: "uk", Prefixes: []string{"44"}, Carriers: []Weighted{{Carrier: "acme"}}},
		{Name: "uk-vodafone", Prefixes: []string{"44"}, Operators: []string{"Vodafone"}, Carriers: []Weighted{{Carrier: "voda-direct"}}},
		{Name: "o2-anywhere", Operators: []string{"o2"}, Carriers: []Weighted{{Carrier: "o2-direct"}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	lookups := 0
	tb.LookupOperators(func(e164 string) string {
		lookups++
		return map[string]string{"+447500123456": "Vodafone", "+447700900123": "O2"}[e164]
	})
	for _, tc := range []struct{ to, want string }{
		{"+447500123456", "uk-vodafone"}, // same prefix, one criterion more
		{"+447911123456", "uk"},          // operator unknown: the routes that need one do not match
		{"+447700900123", "uk"},          // longest prefix first: "44" beats the operator route's none
	} {
		r, err := tb.Match(&herald.Message{To: tc.to, Type: herald.TypeTransactional})
		if err != nil || r.Name != tc.want {
			t.Errorf("%s: route %v %v, want %s", tc.to, r, err, tc.want)
		}
	}
	if r, err := tb.Match(&herald.Message{To: "+33612345678"}); err == nil {
		t.Errorf("+33612345678 (no operator known) matched %s", r.Name)
	}
	if lookups > 4 {
		t.Errorf("%d operator lookups for 4 matches; want at most one per match", lookups)
	}
	if _, err := NewTable([]Route{{Name: "x", Operators: []string{" "}, Carriers: []Weighted{{Carrier: "a"}}}}, nil); err == nil {
		t.Error("an empty operator name was accepted")
	}
}
