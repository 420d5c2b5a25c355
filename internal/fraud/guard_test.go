package fraud

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// memStore keeps blocks and their events in memory.
type memStore struct {
	mu     sync.Mutex
	blocks map[string]*herald.FraudBlock // mu guards blocks and events
	events []string
}

func newMemStore() *memStore { return &memStore{blocks: map[string]*herald.FraudBlock{}} }

func (s *memStore) SaveFraudBlock(_ context.Context, b *herald.FraudBlock, event string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := *b
	s.blocks[b.ID] = &cp
	s.events = append(s.events, event+" "+b.Key)
	return nil
}

func (s *memStore) FraudBlocks(_ context.Context, accountID string, since time.Time) ([]*herald.FraudBlock, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*herald.FraudBlock
	for _, b := range s.blocks {
		if (accountID == "" || b.AccountID == accountID) && !b.CreatedAt.Before(since) {
			cp := *b
			out = append(out, &cp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

var t0 = time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)

func msg(acc, to string, typ herald.MessageType, verification bool) *herald.Message {
	m := &herald.Message{AccountID: acc, To: to, Type: typ}
	if verification {
		m.Reference = "ver_x"
	}
	return m
}

func code(err error) string {
	var e *herald.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestCountryPermissions(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy("GB")
	p.Countries = map[string]Mode{"MM": Allow, "FR": Monitor}
	p.Accounts = map[string]map[string]Mode{"acc_b": {"GB": Block, "AZ": Allow}}
	c := &clock{t0}
	g := New(p, newMemStore(), c.Now, nil)
	tests := []struct {
		acc, to, want string
	}{
		{"acc_a", "+447911123456", ""},                     // home
		{"acc_a", "+14155552671", ""},                      // not high risk
		{"acc_a", "+994501234567", CodeDestinationBlocked}, // AZ: high risk
		{"acc_a", "+959250123456", ""},                     // MM: allowed for every account
		{"acc_a", "+33612345678", ""},                      // FR: monitored
		{"acc_b", "+447911888888", CodeDestinationBlocked}, // the account blocks its home
		{"acc_b", "+994501234567", ""},                     // the account allows AZ
	}
	for _, tc := range tests {
		if got := code(g.Check(t.Context(), msg(tc.acc, tc.to, herald.TypeTransactional, false))); got != tc.want {
			t.Errorf("%s → %s: %q, want %q", tc.acc, tc.to, got, tc.want)
		}
	}
	if s := g.Stats(); s.Monitored != 1 || s.Refused != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestVelocityAndDailyCap(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy("GB")
	p.OTP = Velocity{Prefix: 5, Country: 8, Window: 10 * time.Minute}
	p.Other = Velocity{Account: 3, Window: time.Minute}
	p.DailyCap = 20
	c := &clock{t0}
	g := New(p, newMemStore(), c.Now, nil)
	ctx := t.Context()
	for i := range 5 {
		if err := g.Check(ctx, msg("a", fmt.Sprintf("+44791188880%d", i), herald.TypeOTP, false)); err != nil {
			t.Fatalf("otp %d: %v", i, err)
		}
	}
	err := g.Check(ctx, msg("a", "+447911888809", herald.TypeOTP, false))
	var he *herald.Error
	if !errors.As(err, &he) || he.Code != CodeRateLimited || he.RetryAfter <= 0 || he.RetryAfter > time.Minute {
		t.Fatalf("6th otp to the prefix: %v", err)
	}
	// Another prefix of the same country: the country limit (8) is next.
	for i := range 3 {
		if err := g.Check(ctx, msg("a", fmt.Sprintf("+44791187777%d", i), herald.TypeOTP, false)); err != nil {
			t.Fatalf("other prefix %d: %v", i, err)
		}
	}
	if code(g.Check(ctx, msg("a", "+447911866666", herald.TypeOTP, false))) != CodeRateLimited {
		t.Fatal("the country limit did not apply")
	}
	// Other types have their own limits; other accounts are not affected.
	for i := range 3 {
		if err := g.Check(ctx, msg("a", fmt.Sprintf("+44791185555%d", i), herald.TypeMarketing, false)); err != nil {
			t.Fatalf("marketing %d: %v", i, err)
		}
	}
	if code(g.Check(ctx, msg("a", "+447911666666", herald.TypeTransactional, false))) != CodeRateLimited {
		t.Fatal("the account limit of other types did not apply")
	}
	if err := g.Check(ctx, msg("b", "+447911123450", herald.TypeOTP, false)); err != nil {
		t.Fatalf("another account: %v", err)
	}
	// Windows pass; the daily cap (20) does not.
	n := 5 + 3 + 3
	for n < 20 {
		c.t = c.t.Add(time.Minute)
		if err := g.Check(ctx, msg("a", fmt.Sprintf("+4479115555%02d", n), herald.TypeTransactional, false)); err != nil {
			t.Fatalf("message %d: %v", n, err)
		}
		n++
	}
	c.t = c.t.Add(time.Minute)
	err = g.Check(ctx, msg("a", "+447911444444", herald.TypeTransactional, false))
	if !errors.As(err, &he) || he.Code != CodeDailyCapReached || he.RetryAfter <= 0 {
		t.Fatalf("over the daily cap: %v", err)
	}
	c.t = t0.Add(24 * time.Hour)
	if err := g.Check(ctx, msg("a", "+447911444444", herald.TypeTransactional, false)); err != nil {
		t.Fatalf("next day: %v", err)
	}
}

// event is one step of a traffic simulation.
type event struct {
	at      time.Time
	to      string
	approve bool // an approval of to (else a send)
	attack  bool
}

// legit returns a day part of legitimate verifications: rate per second
// on average, to random GB mobile numbers, 85% approved 10-60 s later;
// between burstFrom and burstTo the rate triples.
func legit(r *rand.Rand, from time.Time, d time.Duration, rate float64, burstFrom, burstTo time.Duration) []event {
	var evs []event
	for t := from; t.Before(from.Add(d)); {
		k := rate
		if off := t.Sub(from); off >= burstFrom && off < burstTo {
			k *= 3
		}
		t = t.Add(time.Duration(r.ExpFloat64() / k * float64(time.Second)))
		to := fmt.Sprintf("+447911%06d", r.IntN(1_000_000))
		evs = append(evs, event{at: t, to: to})
		if r.Float64() < 0.85 {
			evs = append(evs, event{at: t.Add(10*time.Second + time.Duration(r.IntN(50))*time.Second), to: to, approve: true})
		}
	}
	return evs
}

// attacked is the prefix of the pumping attack.
const attacked = "+44791142"

func run(t *testing.T, g *Guard, c *clock, evs []event) (attackSent, attackRefused, legitRefused, legitInPrefix int, firstRefusal time.Time, sentBefore int) {
	t.Helper()
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
	lastSweep := c.t
	for _, e := range evs {
		c.t = e.at
		if c.t.Sub(lastSweep) >= time.Minute {
			g.Sweep(t.Context())
			lastSweep = c.t
		}
		if e.approve {
			g.Approved("acc", e.to)
			continue
		}
		err := g.Check(t.Context(), msg("acc", e.to, herald.TypeOTP, true))
		switch {
		case err != nil && !e.attack && g.Prefix(e.to) == attacked:
			legitInPrefix++ // the price of a prefix block
		case err != nil && !e.attack:
			legitRefused++
			t.Logf("legit refused at %s: %s %v", e.at.Sub(t0), e.to, err)
		case err != nil:
			attackRefused++
			if firstRefusal.IsZero() {
				firstRefusal, sentBefore = e.at, attackSent
			}
		case e.attack:
			attackSent++
		}
	}
	return
}

// TestPumpingBlocked: an hour of legitimate verifications (0.5/s, 85%
// approved), and from minute 20 a pumping attack: sequential numbers in
// one prefix at ten times that rate, none approved. The attack is refused
// within 50 messages (the prefix velocity limit) and the prefix blocked
// within 60 s (the conversion rule, which waits 30 s for codes to be
// typed); no legitimate message elsewhere is refused. Blocks
// escalate: the attack resumes after each expiry and meets a longer block,
// then one that lasts until lifted by hand.
func TestPumpingBlocked(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	c := &clock{t0}
	g := New(DefaultPolicy("GB"), st, c.Now, nil)
	r := rand.New(rand.NewPCG(1, 2))
	const baseline = 0.5
	evs := legit(r, t0, time.Hour, baseline, -1, -1)
	start := t0.Add(20 * time.Minute)
	for i := range 7500 { // 5 per second for 25 minutes
		evs = append(evs, event{at: start.Add(time.Duration(i) * time.Second / (10 * baseline)), to: fmt.Sprintf("+44791142%04d", i), attack: true})
	}
	sent, refused, legitRefused, inPrefix, first, before := run(t, g, c, evs)
	t.Logf("attack: %d sent before the first refusal, %s after it started; %d sent, %d refused in all; legitimate refused: %d elsewhere, %d in the blocked prefix; events %v",
		before, first.Sub(start), sent, refused, legitRefused, inPrefix, st.events)
	if first.IsZero() || before > 50 || first.Sub(start) > 60*time.Second {
		t.Fatalf("blocked after %d messages and %s", before, first.Sub(start))
	}
	if legitRefused > 0 {
		t.Fatalf("%d legitimate verifications refused", legitRefused)
	}
	bs, _ := g.Blocks(t.Context(), "acc")
	if len(bs) == 0 || bs[0].Key != "+44791142" || bs[0].Level != 1 || !bs[0].Until.Equal(bs[0].CreatedAt.Add(15*time.Minute)) {
		t.Fatalf("blocks %+v", bs)
	}
	t.Logf("prefix blocked %s after the attack started (%s)", bs[0].CreatedAt.Sub(start), bs[0].Reason)
	if bs[0].CreatedAt.Sub(start) > 60*time.Second {
		t.Fatalf("blocked %s after the attack started", bs[0].CreatedAt.Sub(start))
	}
	// Escalation: each expiry lets the attack try again; the blocks
	// lengthen to 4 h, then last until lifted by hand.
	var levels []int
	for _, b := range bs {
		levels = append(levels, b.Level)
	}
	if len(bs) < 2 || bs[1].Level != 2 || !bs[1].Until.Equal(bs[1].CreatedAt.Add(4*time.Hour)) {
		t.Fatalf("levels %v", levels)
	}
	c.t = c.t.Add(5 * time.Hour)
	if err := g.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		g.Check(t.Context(), msg("acc", fmt.Sprintf("+44791142%04d", 5000+i), herald.TypeOTP, true))
		c.t = c.t.Add(time.Second)
	}
	bs, _ = g.Blocks(t.Context(), "acc")
	last := bs[len(bs)-1]
	if last.Level != 3 || !last.Until.IsZero() || !last.Active(c.t.Add(1000*time.Hour)) {
		t.Fatalf("third block %+v", last)
	}
	if code(g.Check(t.Context(), msg("acc", "+447911429999", herald.TypeOTP, true))) != CodeDestinationBlocked {
		t.Fatal("the manual block does not refuse")
	}
	// Lifting it by hand is an event too.
	if _, err := g.Unblock(t.Context(), "other", last.ID); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("another account lifts it: %v", err)
	}
	if _, err := g.Unblock(t.Context(), "acc", last.ID); err != nil {
		t.Fatal(err)
	}
	if err := g.Check(t.Context(), msg("acc", "+447911429999", herald.TypeOTP, true)); err != nil {
		t.Fatalf("after the unblock: %v", err)
	}
	want := []string{"fraud.blocked +44791142", "fraud.unblocked +44791142", "fraud.blocked +44791142", "fraud.unblocked +44791142", "fraud.blocked +44791142", "fraud.unblocked +44791142"}
	if fmt.Sprint(st.events) != fmt.Sprint(want) {
		t.Fatalf("events %v\n  want %v", st.events, want)
	}
	// A restarted guard knows the blocks.
	g2 := New(DefaultPolicy("GB"), st, c.Now, nil)
	if err := g2.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestLegitimateTrafficNotBlocked replays three hours of legitimate
// verifications with normal conversion, with a 20-minute burst at three
// times the rate: nothing is blocked or refused.
func TestLegitimateTrafficNotBlocked(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	c := &clock{t0}
	g := New(DefaultPolicy("GB"), st, c.Now, nil)
	r := rand.New(rand.NewPCG(3, 4))
	evs := legit(r, t0, 3*time.Hour, 0.5, time.Hour, time.Hour+20*time.Minute)
	_, _, refused, _, _, _ := run(t, g, c, evs)
	sends := 0
	for _, e := range evs {
		if !e.approve {
			sends++
		}
	}
	t.Logf("%d legitimate verifications replayed, %d refused, %d blocks", sends, refused, g.Stats().Blocks)
	if refused > 0 || g.Stats().Blocks > 0 || len(st.events) > 0 {
		t.Fatalf("refused %d, blocks %d, events %v", refused, g.Stats().Blocks, st.events)
	}
}

func TestMonitorModeReportsOnly(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	c := &clock{t0}
	p := DefaultPolicy("GB")
	p.Monitor = true
	g := New(p, st, c.Now, nil)
	for i := range 25 {
		c.t = c.t.Add(2 * time.Second)
		if err := g.Check(t.Context(), msg("acc", fmt.Sprintf("+44791142%04d", i), herald.TypeOTP, true)); err != nil {
			t.Fatalf("monitor mode refused: %v", err)
		}
	}
	bs, _ := g.Blocks(t.Context(), "acc")
	if len(bs) == 0 || !bs[0].Monitor || len(st.events) == 0 {
		t.Fatalf("no reported block: %+v %v", bs, st.events)
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	w := newWindow(10*time.Minute, 10)
	w.add(t0, 3)
	w.add(t0.Add(5*time.Minute), 2)
	if s := w.sum(t0.Add(9 * time.Minute)); s != 5 {
		t.Fatalf("sum %d", s)
	}
	if s := w.sum(t0.Add(10 * time.Minute)); s != 2 {
		t.Fatalf("after the first bucket left: %d", s)
	}
	if s := w.sum(t0.Add(time.Hour)); s != 0 {
		t.Fatalf("an hour later: %d", s)
	}
}

func TestConversionStats(t *testing.T) {
	t.Parallel()
	c := &clock{t0}
	g := New(DefaultPolicy("GB"), newMemStore(), c.Now, nil)
	for i := range 4 {
		to := fmt.Sprintf("+4479118888%02d", i)
		if err := g.Check(t.Context(), msg("acc", to, herald.TypeOTP, true)); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			g.Approved("acc", to)
		}
	}
	g.Check(t.Context(), msg("acc", "+33612345678", herald.TypeOTP, true))
	g.Check(t.Context(), msg("other", "+33612345678", herald.TypeOTP, true))
	g.Check(t.Context(), msg("acc", "+33612345679", herald.TypeTransactional, false)) // not a verification
	g.Approved("acc", "+33798765432")                                                 // a prefix with no sends: its country from the number
	w, countries, prefixes := g.ConversionStats("acc", 10)
	if w != 10*time.Minute || fmt.Sprint(countries) != "[{GB  4 2} {FR  1 1}]" || fmt.Sprint(prefixes) != "[{GB +44791188 4 2} {FR +3361234 1 0}]" {
		t.Fatalf("stats %s %v %v", w, countries, prefixes)
	}
}

// TestRefundVelocity: a refunded message frees its place in the velocity
// windows, also when the refund falls in a later bucket than the check,
// and refunds never make room that was not taken.
func TestRefundVelocity(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy("GB")
	p.OTP = Velocity{Prefix: 2, Window: 10 * time.Minute}
	c := &clock{t0}
	g := New(p, newMemStore(), c.Now, nil)
	ctx := t.Context()
	a, b := msg("a", "+447911888801", herald.TypeOTP, false), msg("a", "+447911888802", herald.TypeOTP, false)
	for _, m := range []*herald.Message{a, b} {
		if err := g.Check(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if code(g.Check(ctx, a)) != CodeRateLimited {
		t.Fatal("third message to the prefix let through")
	}
	c.t = c.t.Add(2 * time.Minute) // a later bucket of the window
	g.Refund([]*herald.Message{b})
	if err := g.Check(ctx, b); err != nil {
		t.Fatalf("after a refund: %v", err)
	}
	// Three refunds for two counted: the window holds none, not -1.
	g.Refund([]*herald.Message{a, b, b})
	for _, m := range []*herald.Message{a, b} {
		if err := g.Check(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if code(g.Check(ctx, a)) != CodeRateLimited {
		t.Fatal("refunds made more room than was taken")
	}
}
