// Package fraud is Herald's fraud guard, consulted by the intake for every
// message before it is stored: per-account destination-country
// permissions (allow, block, monitor; high-risk countries blocked by
// default), velocity limits per destination prefix, country and account
// (separate for otp messages), per-account daily caps, and conversion
// tracking of verifications per prefix, which blocks a prefix
// automatically when its volume spikes while its conversion collapses
// (SMS pumping). Blocks escalate (15 min, 4 h, then until lifted by hand),
// are kept in the store, listed and lifted through the API, and each block
// and unblock is an event sent to webhooks (fraud.blocked,
// fraud.unblocked). See docs/verify.md.
package fraud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/nyaruka/phonenumbers"
)

// Store is what the guard keeps in the store.
type Store interface {
	SaveFraudBlock(ctx context.Context, b *herald.FraudBlock, event string, at time.Time) error
	FraudBlocks(ctx context.Context, accountID string, since time.Time) ([]*herald.FraudBlock, error)
}

// Refusal codes.
const (
	CodeDestinationBlocked = "destination_blocked"
	CodeRateLimited        = "rate_limited"
	CodeDailyCapReached    = "daily_cap_reached"
)

// Stats are the guard's counters.
type Stats struct {
	Refused, Monitored, Blocks int
	// Refunded counts messages let through and then not stored (Refund).
	Refunded int
}

// Guard is the fraud guard. Safe for concurrent use. Run owns its only
// goroutine (the sweep that ends expired blocks).
type Guard struct {
	p   Policy
	st  Store
	now func() time.Time
	log *slog.Logger

	mu       sync.Mutex
	vel      map[string]*window            // mu guards vel: velocity counters by key
	conv     map[string]*conversion        // mu guards conv: by account|prefix
	byCC     map[string]*conversion        // mu guards byCC: by account|country (reported, not blocked on)
	blocks   map[string]*herald.FraudBlock // mu guards blocks: latest block by account|prefix
	history  map[string][]time.Time        // mu guards history: automatic blocks of a prefix, for escalation
	day      map[string]int                // mu guards day: messages per account today
	dayStart time.Time                     // mu guards dayStart
	stats    Stats                         // mu guards stats
}

// conversion tracks a prefix's verifications.
type conversion struct {
	country        string
	sent, approved *window // the rule's window
	daily          *window // sends over a day, the usual volume
}

// New returns a guard; Load restores its blocks from the store.
func New(p Policy, st Store, now func() time.Time, log *slog.Logger) *Guard {
	p.defaults()
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Guard{p: p, st: st, now: now, log: log, vel: map[string]*window{}, conv: map[string]*conversion{}, byCC: map[string]*conversion{},
		blocks: map[string]*herald.FraudBlock{}, history: map[string][]time.Time{}, day: map[string]int{}}
}

// Load restores the blocks of the last day from the store (at start-up).
func (g *Guard) Load(ctx context.Context) error {
	now := g.now()
	bs, err := g.st.FraudBlocks(ctx, "", now.Add(-24*time.Hour))
	if err != nil {
		return fmt.Errorf("fraud: load blocks: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, b := range bs {
		k := b.AccountID + "|" + b.Key
		g.blocks[k] = b
		g.history[k] = append(g.history[k], b.CreatedAt)
	}
	return nil
}

// Prefix returns the prefix of an E.164 number: the number minus its last
// digits.
func (g *Guard) Prefix(to string) string {
	if len(to) <= g.p.PrefixDigits+2 {
		return to
	}
	return to[:len(to)-g.p.PrefixDigits]
}

func country(to string) string {
	n, err := phonenumbers.Parse(to, "")
	if err != nil {
		return ""
	}
	if r := phonenumbers.GetRegionCodeForNumber(n); r != "" {
		return r
	}
	return phonenumbers.GetRegionCodeForCountryCode(int(n.GetCountryCode()))
}

// isVerification reports whether m carries a Verify API code (an otp
// message whose reference is a verification id): only those count for
// conversion, since only they can be approved.
func isVerification(m *herald.Message) bool {
	return m.Type == herald.TypeOTP && strings.HasPrefix(m.Reference, "ver_")
}

// Check decides whether m may be stored and counts it. A refusal is a
// *herald.Error: destination_blocked (403), rate_limited or
// daily_cap_reached (429, with RetryAfter).
func (g *Guard) Check(ctx context.Context, m *herald.Message) error {
	now := g.now()
	cc := m.Country // found by the intake while validating the number
	if cc == "" {
		cc = country(m.To)
	}
	prefix := g.Prefix(m.To)
	key := m.AccountID + "|" + prefix
	g.mu.Lock()
	switch g.p.mode(m.AccountID, cc) {
	case Block:
		g.stats.Refused++
		g.mu.Unlock()
		return herald.Errorf(herald.KindForbidden, CodeDestinationBlocked, "messages to %s are blocked for this account; allow the country to send there", cc)
	case Monitor:
		g.stats.Monitored++
		g.log.Info("fraud: monitored destination", "account", m.AccountID, "country", cc, "prefix", prefix)
	}
	b := g.blocks[key]
	if b != nil && b.Active(now) && !b.Monitor {
		g.stats.Refused++
		g.mu.Unlock()
		return herald.Errorf(herald.KindForbidden, CodeDestinationBlocked, "the prefix %s is blocked by the fraud guard (%s)", prefix, b.Reason)
	}
	var ended *herald.FraudBlock // a block whose time is over: its end is recorded first
	if b != nil && b.EndedAt.IsZero() && !b.Active(now) {
		ended = g.endLocked(key, b)
	}
	// The conversion rule is judged on every verification, before the
	// velocity limits, so that a prefix held back by them is still blocked.
	var blk *herald.FraudBlock
	verification := isVerification(m)
	if verification {
		blk = g.judgeLocked(m.AccountID, key, cc, prefix, now)
	}
	var err error
	if blk == nil || blk.Monitor {
		err = g.countLocked(m, cc, prefix, now)
	}
	if err != nil {
		g.stats.Refused++
	} else if verification && (blk == nil || blk.Monitor) {
		g.sentLocked(key, m.AccountID, cc, now)
	}
	g.mu.Unlock()
	if ended != nil {
		if err := g.st.SaveFraudBlock(ctx, ended, herald.EventFraudUnblocked, ended.EndedAt); err != nil {
			g.log.Error("fraud: saving an unblock failed", "account", ended.AccountID, "prefix", ended.Key, "err", err)
		}
	}
	if blk == nil {
		return err
	}
	if err := g.st.SaveFraudBlock(ctx, blk, herald.EventFraudBlocked, now); err != nil {
		g.log.Error("fraud: saving a block failed", "account", blk.AccountID, "prefix", blk.Key, "err", err)
	}
	g.log.Warn("fraud: prefix blocked", "account", blk.AccountID, "prefix", blk.Key, "level", blk.Level, "monitor", blk.Monitor, "reason", blk.Reason)
	if blk.Monitor {
		return err
	}
	return herald.Errorf(herald.KindForbidden, CodeDestinationBlocked, "the prefix %s is blocked by the fraud guard (%s)", prefix, blk.Reason)
}

// countLocked applies the daily cap and the velocity limits, and counts m.
func (g *Guard) countLocked(m *herald.Message, cc, prefix string, now time.Time) error {
	today := now.UTC().Truncate(24 * time.Hour)
	if !today.Equal(g.dayStart) {
		clear(g.day)
		g.dayStart = today
	}
	if g.p.DailyCap > 0 && g.day[m.AccountID] >= g.p.DailyCap {
		return herald.RateLimited(CodeDailyCapReached, today.Add(24*time.Hour).Sub(now), "the account's cap of %d messages a day is reached", g.p.DailyCap)
	}
	v, class := g.p.Other, "other"
	if m.Type == herald.TypeOTP {
		v, class = g.p.OTP, "otp"
	}
	type limit struct {
		key, what string
		max       int
	}
	limits := []limit{
		{m.AccountID + "|" + class + "|p|" + prefix, "prefix " + prefix, v.Prefix},
		{m.AccountID + "|" + class + "|c|" + cc, "country " + cc, v.Country},
		{m.AccountID + "|" + class + "|a", "the account", v.Account},
	}
	for _, l := range limits {
		if l.max <= 0 {
			continue
		}
		w := g.vel[l.key]
		if w == nil {
			continue
		}
		if w.sum(now) >= l.max {
			return herald.RateLimited(CodeRateLimited, w.retryAfter(now), "too many %s messages to %s (at most %d per %s)", class, l.what, l.max, v.Window)
		}
	}
	for _, l := range limits {
		if l.max <= 0 {
			continue
		}
		w := g.vel[l.key]
		if w == nil {
			w = newWindow(v.Window, 10)
			g.vel[l.key] = w
		}
		w.add(now, 1)
	}
	g.day[m.AccountID]++
	return nil
}

// Refund takes back what Check counted for messages it let through that
// were not stored after all: an idempotent replay (the first request's
// message is returned instead), an item the store refused, a batch the
// store could not commit. Without it a client retrying a request would
// use its velocity and daily budget again. The counts are taken back in
// the current buckets of the windows (a refund follows its check by a
// commit's time); a count never goes below zero.
func (g *Guard) Refund(ms []*herald.Message) {
	if len(ms) == 0 {
		return
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range ms {
		cc := m.Country
		if cc == "" {
			cc = country(m.To)
		}
		prefix := g.Prefix(m.To)
		v, class := g.p.Other, "other"
		if m.Type == herald.TypeOTP {
			v, class = g.p.OTP, "otp"
		}
		for _, l := range []struct {
			key string
			max int
		}{
			{m.AccountID + "|" + class + "|p|" + prefix, v.Prefix},
			{m.AccountID + "|" + class + "|c|" + cc, v.Country},
			{m.AccountID + "|" + class + "|a", v.Account},
		} {
			if w := g.vel[l.key]; w != nil && l.max > 0 {
				w.undo(now)
			}
		}
		if g.day[m.AccountID] > 0 && now.UTC().Truncate(24*time.Hour).Equal(g.dayStart) {
			g.day[m.AccountID]--
		}
		g.stats.Refunded++
	}
}

// sentLocked counts a verification sent to a prefix and its country.
func (g *Guard) sentLocked(key, account, cc string, now time.Time) {
	for _, t := range []struct {
		m map[string]*conversion
		k string
	}{{g.conv, key}, {g.byCC, account + "|" + cc}} {
		c := t.m[t.k]
		if c == nil {
			r := g.p.Conversion
			c = &conversion{country: cc, sent: newWindow(r.Window, 40), approved: newWindow(r.Window, 40), daily: newWindow(24*time.Hour, 24)}
			t.m[t.k] = c
		}
		c.sent.add(now, 1)
		c.daily.add(now, 1)
	}
}

// judgeLocked applies the conversion rule to a prefix and returns a new
// block when it fires.
func (g *Guard) judgeLocked(account, key, cc, prefix string, now time.Time) *herald.FraudBlock {
	c := g.conv[key]
	if c == nil {
		return nil
	}
	r := g.p.Conversion
	sent, approved := c.sent.sumBefore(now, r.Grace), c.approved.sum(now)
	if sent < r.MinSent || float64(approved) >= r.MinRate*float64(sent) {
		return nil
	}
	// The usual volume of the prefix in one window, from the rest of the day.
	perDay := float64(24*time.Hour) / float64(r.Window)
	usual := float64(c.daily.sum(now)-c.sent.sum(now)) / (perDay - 1)
	if float64(sent) < r.Spike*usual {
		return nil
	}
	// Escalation: blocks of this prefix within the last day.
	var recent []time.Time
	for _, t := range g.history[key] {
		if now.Sub(t) < 24*time.Hour {
			recent = append(recent, t)
		}
	}
	level := len(recent) + 1
	b := &herald.FraudBlock{ID: herald.NewID("fbk", now.UnixMilli()), AccountID: account, Scope: "prefix", Key: prefix, Country: cc,
		Reason: fmt.Sprintf("%d verifications in %s, %d approved", sent, r.Window, approved), Level: level,
		Monitor: g.p.Monitor, Sent: sent, Approved: approved, CreatedAt: now}
	if level <= len(g.p.Escalation) {
		b.Until = now.Add(g.p.Escalation[level-1])
	}
	g.history[key] = append(recent, now)
	g.blocks[key] = b
	g.stats.Blocks++
	// Start the next window afresh, so that a block that ends is judged on
	// what follows it.
	c.sent, c.approved = newWindow(r.Window, 40), newWindow(r.Window, 40)
	return b
}

// Approved records an approved verification for to (the Verify service
// calls it).
func (g *Guard) Approved(accountID, to string) {
	now := g.now()
	byPrefix := accountID + "|" + g.Prefix(to)
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.conv[byPrefix]
	var cc string
	if c != nil {
		c.approved.add(now, 1)
		// The prefix's country, found when its first verification was
		// sent: the number need not be parsed again (about 40 µs, under
		// mu, for every approval).
		cc = c.country
	} else {
		g.mu.Unlock()
		cc = country(to)
		g.mu.Lock()
	}
	if c := g.byCC[accountID+"|"+cc]; c != nil {
		c.approved.add(now, 1)
	}
}

// ConversionStat is the verifications sent and approved to one country or
// prefix over the rule's window.
type ConversionStat struct {
	Country  string `json:"country"`
	Prefix   string `json:"prefix,omitempty"`
	Sent     int    `json:"sent"`
	Approved int    `json:"approved"`
}

// ConversionStats returns an account's conversion per country and per
// prefix (at most limit prefixes, the busiest first) over the window.
func (g *Guard) ConversionStats(accountID string, limit int) (window time.Duration, countries, prefixes []ConversionStat) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	collect := func(m map[string]*conversion, prefix bool) []ConversionStat {
		var out []ConversionStat
		for k, c := range m {
			acc, rest, _ := strings.Cut(k, "|")
			if acc != accountID {
				continue
			}
			x := ConversionStat{Country: c.country, Sent: c.sent.sum(now), Approved: c.approved.sum(now)}
			if prefix {
				x.Prefix = rest
			}
			if x.Sent > 0 || x.Approved > 0 {
				out = append(out, x)
			}
		}
		slices.SortFunc(out, func(a, b ConversionStat) int {
			if a.Sent != b.Sent {
				return b.Sent - a.Sent
			}
			return strings.Compare(a.Country+a.Prefix, b.Country+b.Prefix)
		})
		return out
	}
	countries, prefixes = collect(g.byCC, false), collect(g.conv, true)
	if len(prefixes) > limit {
		prefixes = prefixes[:limit]
	}
	return g.p.Conversion.Window, countries, prefixes
}

// ErrNoBlock is returned (as KindNotFound) for an unknown block id.
var ErrNoBlock = errors.New("fraud: no such block")

// Blocks returns the account's blocks of the last 7 days, oldest first.
func (g *Guard) Blocks(ctx context.Context, accountID string) ([]*herald.FraudBlock, error) {
	return g.st.FraudBlocks(ctx, accountID, g.now().Add(-7*24*time.Hour))
}

// Unblock lifts one of the account's blocks by hand.
func (g *Guard) Unblock(ctx context.Context, accountID, id string) (*herald.FraudBlock, error) {
	now := g.now()
	g.mu.Lock()
	var found *herald.FraudBlock
	var key string
	for k, b := range g.blocks {
		if b.ID == id && b.AccountID == accountID {
			found, key = b, k
		}
	}
	if found == nil || !found.Active(now) {
		g.mu.Unlock()
		if found == nil {
			return nil, &herald.Error{Kind: herald.KindNotFound, Code: "not_found", Message: "no active block with this id", Err: ErrNoBlock}
		}
		return nil, herald.Errorf(herald.KindConflict, "block_not_active", "the block has already ended")
	}
	b := *found
	b.EndedAt, b.EndedBy = now, "manual"
	g.blocks[key] = &b
	if c := g.conv[key]; c != nil {
		c.sent, c.approved = newWindow(g.p.Conversion.Window, 40), newWindow(g.p.Conversion.Window, 40)
	}
	g.mu.Unlock()
	if err := g.st.SaveFraudBlock(ctx, &b, herald.EventFraudUnblocked, now); err != nil {
		return nil, err
	}
	return &b, nil
}

// Sweep ends the blocks whose time is over (an unblock event each) and
// forgets idle counters.
func (g *Guard) Sweep(ctx context.Context) error {
	now := g.now()
	var ended []*herald.FraudBlock
	g.mu.Lock()
	for k, b := range g.blocks {
		if b.EndedAt.IsZero() && !b.Active(now) {
			ended = append(ended, g.endLocked(k, b))
		}
	}
	for k, w := range g.vel {
		if w.sum(now) == 0 {
			delete(g.vel, k)
		}
	}
	for _, m := range []map[string]*conversion{g.conv, g.byCC} {
		for k, c := range m {
			if c.daily.sum(now) == 0 {
				delete(m, k)
			}
		}
	}
	g.mu.Unlock()
	var errs []error
	for _, b := range ended {
		errs = append(errs, g.st.SaveFraudBlock(ctx, b, herald.EventFraudUnblocked, b.EndedAt))
	}
	return errors.Join(errs...)
}

// endLocked records that a block's time is over.
func (g *Guard) endLocked(key string, b *herald.FraudBlock) *herald.FraudBlock {
	e := *b
	e.EndedAt, e.EndedBy = b.Until, "expiry"
	g.blocks[key] = &e
	return &e
}

// Run sweeps every interval until ctx ends.
func (g *Guard) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := g.Sweep(ctx); err != nil && ctx.Err() == nil {
				g.log.Warn("fraud: sweep failed", "err", err)
			}
		}
	}
}

// Stats returns a copy of the counters.
func (g *Guard) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stats
}
