package carrier

import (
	"context"
	"math"
	"sync"
	"time"
)

// Flow-control constants (see docs/routing.md, "Flow control").
const (
	// burstShare is the bucket's depth as a share of a second's rate: it
	// absorbs timer and scheduling jitter so the long-run rate holds,
	// while no second ever carries more than rate + burst submits.
	burstShare = 0.02
	// On a throttling episode the effective rate drops to the rate the
	// carrier accepted since the last episode when more than congested
	// of the answers were throttles (the carrier caps our rate), else it
	// is multiplied by decrease (refusals that look like noise).
	// increase is the additive recovery, as a share of the configured
	// rate per second.
	congested = 0.25
	decrease  = 0.95
	increase  = 0.05
	// episode is how long after a pause further throttles belong to the
	// same episode and lower the rate no further: answers to submits
	// written before the pause, and the noise of random refusals, would
	// otherwise drive the rate to its floor.
	episode = time.Second
	// minShare is the floor of the effective rate, as a share of the
	// configured rate.
	minShare = 0.02
)

// Default pauses after a throttle (ESME_RTHROTTLED, ESME_RMSGQFUL).
const (
	DefaultThrottlePause    = 100 * time.Millisecond
	DefaultMaxThrottlePause = 5 * time.Second
)

// bucket is a token bucket with AIMD adaptation: it admits at most rate
// submits per second with a burst of burstShare of a second's worth, and
// after a throttle it pauses and lowers its effective rate, then recovers
// gradually. Rate 0 is unlimited (a throttle still pauses it). A bucket
// is safe for concurrent use; waiters are admitted in no particular order,
// so a link keeps one submitter per bucket to keep its order.
type bucket struct {
	mu        sync.Mutex
	max       float64       // mu guards everything below: the configured rate, 0 unlimited
	rate      float64       // effective rate, ≤ max
	tokens    float64       // available now, ≤ burst
	last      time.Time     // when tokens was computed
	paused    time.Time     // no token before this
	hold      time.Time     // throttles before this are the same episode: no second decrease
	pause     time.Duration // the next pause
	okSince   bool          // a submit was accepted since the last pause ended
	minPause  time.Duration
	maxPause  time.Duration
	throttles uint64 // episodes of throttling
	// ok and refused count the answers since the last episode started.
	ok, refused float64
	since       time.Time // when the window of ok and refused started
	capped      float64   // the accepted rate measured in the last window, 0 unknown
	sent        float64   // the rate submits were answered at in the last window
}

func newBucket(rate float64, minPause, maxPause time.Duration) *bucket {
	if minPause <= 0 {
		minPause = DefaultThrottlePause
	}
	if maxPause < minPause {
		maxPause = max(DefaultMaxThrottlePause, minPause)
	}
	b := &bucket{minPause: minPause, maxPause: maxPause, pause: minPause}
	b.setRate(rate)
	return b
}

func (b *bucket) burst() float64 { return max(1, b.rate*burstShare) }

// setRate changes the configured rate; the effective rate follows at once.
func (b *bucket) setRate(rate float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.max, b.rate = max(rate, 0), max(rate, 0)
	b.tokens = min(b.tokens, b.burst())
	if b.last.IsZero() {
		b.tokens = b.burst()
	}
}

// setShare sets the rate of a cluster node's share of the carrier and
// empties the bucket: a node whose share changes starts its new rate
// without a burst, so that while one node's share passes to another the
// cluster's submits in any second stay within the carrier's rate (each
// node's rate plus the bursts they had before is at most the rate).
func (b *bucket) setShare(rate float64, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.max, b.rate = max(rate, 0), max(rate, 0)
	b.tokens, b.last = 0, now
}

// refillLocked brings tokens and the effective rate up to now.
func (b *bucket) refillLocked(now time.Time) {
	if b.last.IsZero() {
		b.last = now
	}
	dt := now.Sub(b.last).Seconds()
	if dt <= 0 {
		return
	}
	b.last = now
	if b.max > 0 && b.rate < b.max && now.After(b.paused) {
		b.rate = min(b.max, b.rate+b.max*increase*dt)
	}
	if b.rate > 0 {
		b.tokens = min(b.burst(), b.tokens+b.rate*dt)
	}
}

// take takes a token if one is available at now; otherwise it says how
// long to wait before asking again.
func (b *bucket) take(now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.paused) {
		return false, b.paused.Sub(now)
	}
	b.refillLocked(now)
	if b.max == 0 {
		return true, 0
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	need := (1 - b.tokens) / b.rate
	return false, max(time.Duration(need*float64(time.Second)), time.Microsecond)
}

// wait blocks until a token is taken or ctx ends.
func (b *bucket) wait(ctx context.Context) error {
	for {
		ok, d := b.take(time.Now())
		if ok {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// throttled records a throttle answer at now. The first of an episode
// pauses the bucket and lowers the effective rate (multiplicative
// decrease); later ones within the episode change nothing. The pause
// doubles while the carrier accepts nothing between episodes, and
// starts small again once it does. It reports whether this answer
// started an episode.
func (b *bucket) throttled(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.since.IsZero() {
		b.since = now
	}
	b.refused++
	if now.Before(b.hold) {
		return false
	}
	b.refillLocked(now)
	if b.max > 0 {
		// The window runs from the end of the last pause (or the first
		// answer) to now.
		from := b.since
		if b.paused.After(from) {
			from = b.paused
		}
		dt := now.Sub(from).Seconds()
		n := b.ok + b.refused
		accepted, sent := 0.0, 0.0
		if n >= 20 && dt >= 0.25 {
			accepted, sent = b.ok/dt, n/dt
		}
		// A carrier that caps our rate accepts the same rate whatever we
		// send: when two windows in a row saw the same accepted rate
		// although we sent at different rates, or many refusals, that
		// rate is the cap. (Refusals that do not depend on the rate
		// scale with what we send.)
		stable := accepted > 0 && b.capped > 0 && math.Abs(accepted-b.capped) < 0.05*b.capped &&
			math.Abs(sent-b.sent) > 0.04*b.sent
		switch {
		case accepted > 0 && (stable || b.refused/n > congested):
			b.rate = min(b.rate, accepted)
		default:
			b.rate *= decrease
		}
		b.capped, b.sent = accepted, sent
		b.rate = max(b.rate, b.max*minShare)
	}
	b.ok, b.refused, b.since = 0, 0, now
	switch {
	case b.throttles == 0 || b.okSince:
		b.pause = b.minPause
	default:
		b.pause = min(2*b.pause, b.maxPause)
	}
	b.tokens = 0
	b.paused = now.Add(b.pause)
	b.hold = b.paused.Add(episode)
	b.okSince = false
	b.throttles++
	return true
}

// accepted records an accepted submit at now.
func (b *bucket) accepted(now time.Time) {
	b.mu.Lock()
	if b.since.IsZero() {
		b.since = now
	}
	b.ok++
	if !b.okSince && !now.Before(b.paused) {
		b.okSince = true
	}
	b.mu.Unlock()
}

// FlowStats is a snapshot of a bucket's state.
type FlowStats struct {
	TPS          float64   // configured, 0 unlimited
	EffectiveTPS float64   // after adaptation to throttling
	PausedUntil  time.Time // zero when not paused
	Throttles    uint64    // throttling episodes
}

func (b *bucket) stats(now time.Time) FlowStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refillLocked(now)
	st := FlowStats{TPS: b.max, EffectiveTPS: b.rate, Throttles: b.throttles}
	if now.Before(b.paused) {
		st.PausedUntil = b.paused
	}
	return st
}
