package smscsim

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// rateCap answers submits beyond a rate with ESME_RTHROTTLED, like a
// carrier that enforces its contracted TPS: a token bucket of rate
// tokens per second holding at most a tenth of a second's worth (at
// least one).
type rateCap struct {
	on     atomic.Bool // a cap is set: the only field read without mu
	mu     sync.Mutex
	rate   float64   // mu guards all: submits per second, 0 no cap
	tokens float64   // available now
	last   time.Time // when tokens was computed
}

// allow takes a token at now and reports whether there was one.
func (c *rateCap) allow(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rate <= 0 {
		return true
	}
	burst := max(1, c.rate/10)
	if c.last.IsZero() {
		c.tokens = burst
	} else if dt := now.Sub(c.last).Seconds(); dt > 0 {
		c.tokens = min(burst, c.tokens+dt*c.rate)
	}
	c.last = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

func (c *rateCap) set(rate float64) {
	c.mu.Lock()
	c.rate = max(rate, 0)
	c.tokens = min(c.tokens, max(1, c.rate/10))
	c.on.Store(c.rate > 0)
	c.mu.Unlock()
}

// SetMaxRate changes Options.MaxRate while the simulator runs: submits
// beyond rate per second are answered ESME_RTHROTTLED; 0 removes the cap.
func (sim *Simulator) SetMaxRate(rate float64) { sim.rate.set(rate) }

// SetUndeliv changes Options.Undeliv while the simulator runs (for
// receipts of messages accepted from now on); f is clamped so that
// Undeliv+Expired stays at most 1.
func (sim *Simulator) SetUndeliv(f float64) {
	f = min(max(f, 0), 1-sim.opts.Expired)
	sim.undeliv.Store(math.Float64bits(f))
}

func (sim *Simulator) undelivFraction() float64 { return math.Float64frombits(sim.undeliv.Load()) }

// atomicFloat is kept as bits in an atomic.Uint64.
type atomicFloat = atomic.Uint64
