package routing

import (
	"fmt"

	"github.com/herald-sms/herald/internal/herald"
	"sync"
	"sync/atomic"
	"time"
)

// HealthOptions configure Health. Zero fields take the defaults.
type HealthOptions struct {
	// Window is the sliding window over which receipts are counted.
	// Default 5m.
	Window time.Duration
	// MinReceipts is how many final receipts the window needs before a
	// carrier can be judged. Default 50.
	MinReceipts int
	// MinDeliveryRate is the DELIVRD share of final receipts below which
	// a carrier is demoted. Default 0.5; negative disables demotion.
	MinDeliveryRate float64
	// Probation is how long a demoted carrier takes no new traffic;
	// afterwards it is judged afresh. Default 2m.
	Probation time.Duration
	// MaxReceiptLatency, when positive, demotes a carrier when more than
	// half of the timed receipts in the window came later than this
	// after their submit. Zero: latency is not judged.
	MaxReceiptLatency time.Duration
}

func (o HealthOptions) withDefaults() HealthOptions {
	if o.Window <= 0 {
		o.Window = 5 * time.Minute
	}
	if o.MinReceipts <= 0 {
		o.MinReceipts = 50
	}
	if o.MinDeliveryRate == 0 {
		o.MinDeliveryRate = 0.5
	}
	if o.Probation <= 0 {
		o.Probation = 2 * time.Minute
	}
	return o
}

// slots is how many time slices the window is cut into.
const slots = 10

// Health tracks each carrier's delivery rate from its receipts over a
// sliding window, and demotes a carrier whose rate falls below the
// minimum. It is safe for concurrent use.
type Health struct {
	o        HealthOptions
	mu       sync.Mutex
	carriers map[string]*carrierHealth // mu guards carriers and their contents
}

// slot counts the receipts of one slice of the window.
type slot struct {
	start       time.Time
	ok, all     int
	timed, slow int           // receipts with a known latency, and those over the maximum
	latency     time.Duration // sum of the known latencies
}

type carrierHealth struct {
	slot       [slots]slot
	demoted    time.Time // until
	demotedWhy string
	demotions  int
}

// NewHealth returns a tracker.
func NewHealth(o HealthOptions) *Health {
	return &Health{o: o.withDefaults(), carriers: map[string]*carrierHealth{}}
}

func (h *Health) get(carrier string) *carrierHealth {
	c := h.carriers[carrier]
	if c == nil {
		c = &carrierHealth{}
		h.carriers[carrier] = c
	}
	return c
}

// Receipt records a final receipt of carrier at now: delivered or not,
// and its latency since the submit (0: unknown). Receipts that arrive
// while the carrier is demoted are of traffic sent before; they do not
// count.
func (h *Health) Receipt(carrier string, delivered bool, latency time.Duration, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.get(carrier)
	if now.Before(c.demoted) {
		return
	}
	width := h.o.Window / slots
	start := now.Truncate(width)
	s := &c.slot[(start.UnixNano()/int64(width))%slots]
	if !s.start.Equal(start) {
		*s = slot{start: start}
	}
	s.all++
	if delivered {
		s.ok++
	}
	if latency > 0 {
		s.timed++
		s.latency += latency
		if h.o.MaxReceiptLatency > 0 && latency > h.o.MaxReceiptLatency {
			s.slow++
		}
	}
	w := c.sum(now, h.o.Window)
	switch {
	case h.o.MinDeliveryRate > 0 && w.all >= h.o.MinReceipts && float64(w.ok) < h.o.MinDeliveryRate*float64(w.all):
		c.demotedWhy = fmt.Sprintf("demoted: %d of the last %d receipts DELIVRD (%.0f%%, minimum %.0f%%)", w.ok, w.all,
			100*float64(w.ok)/float64(w.all), 100*h.o.MinDeliveryRate)
	case h.o.MaxReceiptLatency > 0 && w.timed >= h.o.MinReceipts && 2*w.slow > w.timed:
		c.demotedWhy = fmt.Sprintf("demoted: %d of the last %d receipts came later than %v (mean %v)", w.slow, w.timed,
			h.o.MaxReceiptLatency, (w.latency / time.Duration(w.timed)).Round(time.Millisecond))
	default:
		return
	}
	c.demoted = now.Add(h.o.Probation)
	c.demotions++
	c.slot = [slots]slot{} // judged afresh after the probation
}

// sum adds up the slots within the window.
func (c *carrierHealth) sum(now time.Time, window time.Duration) slot {
	var w slot
	for _, s := range c.slot {
		if !s.start.IsZero() && now.Sub(s.start) < window {
			w.ok += s.ok
			w.all += s.all
			w.timed += s.timed
			w.slow += s.slow
			w.latency += s.latency
		}
	}
	return w
}

// Demoted reports whether carrier is demoted at now, and why.
func (h *Health) Demoted(carrier string, now time.Time) (bool, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.carriers[carrier]
	if c == nil || !now.Before(c.demoted) {
		return false, ""
	}
	return true, c.demotedWhy
}

// CarrierHealth is a snapshot of one carrier's health.
type CarrierHealth struct {
	Receipts     int     `json:"receipts"`      // final receipts in the window
	DeliveryRate float64 `json:"delivery_rate"` // DELIVRD share, 0 when no receipt
	// ReceiptLatencyMS is the mean time from submit to receipt of the
	// window's timed receipts, in milliseconds; 0 when none.
	ReceiptLatencyMS float64 `json:"receipt_latency_ms"`
	Demoted          bool    `json:"demoted"`
	Demotions        int     `json:"demotions"`
}

// Snapshot returns carrier's health at now.
func (h *Health) Snapshot(carrier string, now time.Time) CarrierHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.get(carrier)
	w := c.sum(now, h.o.Window)
	st := CarrierHealth{Receipts: w.all, Demoted: now.Before(c.demoted), Demotions: c.demotions}
	if w.all > 0 {
		st.DeliveryRate = float64(w.ok) / float64(w.all)
	}
	if w.timed > 0 {
		st.ReceiptLatencyMS = float64(w.latency/time.Duration(w.timed)) / float64(time.Millisecond)
	}
	return st
}

// Router is a table and a health tracker together: what the dispatcher
// asks. The table can be replaced while it runs (a configuration
// reload).
type Router struct {
	table  atomic.Pointer[Table]
	health *Health // nil: no health-based demotion
}

// NewRouter returns a router over table and health (which may be nil).
func NewRouter(table *Table, health *Health) *Router {
	r := &Router{health: health}
	r.table.Store(table)
	return r
}

// SetTable replaces the table; decisions made from now on use it.
func (r *Router) SetTable(t *Table) { r.table.Store(t) }

// Route decides m's carrier; fallback is the carrier chosen at intake,
// avail reports whether a carrier's link may take m, and if not why
// ("down (no bind up)"). Demoted carriers are left out too.
func (r *Router) Route(m *herald.Message, fallback string, avail func(string) (bool, string)) Decision {
	now := time.Now()
	return r.table.Load().Choose(m, fallback, func(c string) (bool, string) {
		if ok, why := avail(c); !ok {
			return false, why
		}
		if r.health != nil {
			if d, why := r.health.Demoted(c, now); d {
				return false, why
			}
		}
		return true, ""
	})
}

// Primary is Table.Primary of the current table.
func (r *Router) Primary(m *herald.Message, fallback string) string {
	return r.table.Load().Primary(m, fallback)
}

// Demoted reports whether a carrier is demoted now.
func (r *Router) Demoted(carrier string) bool {
	if r.health == nil {
		return false
	}
	d, _ := r.health.Demoted(carrier, time.Now())
	return d
}
