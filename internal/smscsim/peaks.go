package smscsim

import (
	"sync"
	"sync/atomic"
	"time"
)

// The submit peak is counted in peakBuckets buckets of peakBucket each,
// which together make the one-second window.
const (
	peakBucket  = time.Millisecond
	peakBuckets = int64(time.Second / peakBucket)
)

// peakRate records the largest number of events (submits) within one
// second. It keeps a ring of 1,000 one-millisecond buckets and their
// running sum, the count of the window that ends with the newest bucket,
// so that each event costs O(1) under a short lock.
//
// Windows are aligned to whole milliseconds after the first event (since
// the start or the last reset). The peak is therefore the exact maximum
// over the windows [first+k ms, first+k ms+1 s); an arbitrary one-second
// window holds at most the peak plus the events of one millisecond
// bucket, since it spans at most 1,001 buckets. At 500 submits/s that is
// one submit or so.
type peakRate struct {
	mu      sync.Mutex
	started bool                // mu guards all: an event came since the start or reset
	base    time.Duration       // when bucket 0 starts: the first event's time
	cur     int64               // index of the newest bucket since base
	buckets [peakBuckets]uint32 // buckets[i%peakBuckets] counts bucket i, for i in cur-999..cur
	sum     uint64              // events in buckets cur-999..cur
	max     uint64              // the largest sum seen
}

// add counts an event at t, a monotonic time (elapsed since some fixed
// origin). A t before the newest bucket (a clock read by a goroutine that
// then lost the race for mu) counts in the newest bucket.
func (p *peakRate) add(t time.Duration) {
	p.mu.Lock()
	p.advanceLocked(t)
	p.buckets[p.cur%peakBuckets]++
	p.sum++
	if p.sum > p.max {
		p.max = p.sum
	}
	p.mu.Unlock()
}

// advanceLocked moves the window so that it ends with the bucket of t,
// emptying the buckets that leave it.
func (p *peakRate) advanceLocked(t time.Duration) {
	if !p.started {
		p.started, p.base, p.cur = true, t, 0
		return
	}
	i := int64((t - p.base) / peakBucket)
	if i <= p.cur {
		return
	}
	if i-p.cur >= peakBuckets {
		clear(p.buckets[:])
		p.sum = 0
	} else {
		for j := p.cur + 1; j <= i; j++ {
			b := &p.buckets[j%peakBuckets]
			p.sum -= uint64(*b)
			*b = 0
		}
	}
	p.cur = i
}

// peak returns the largest count of events within one second.
func (p *peakRate) peak() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max
}

// reset forgets every event: the next one starts a new window.
func (p *peakRate) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.buckets[:])
	p.started, p.base, p.cur, p.sum, p.max = false, 0, 0, 0, 0
}

// storeMax raises v to n if n is larger. Each caller passes the value
// its own Add returned, so the largest value the counter ever held wins
// however the calls interleave.
func storeMax(v *atomic.Int64, n int64) {
	for {
		old := v.Load()
		if n <= old || v.CompareAndSwap(old, n) {
			return
		}
	}
}

// ResetPeaks starts the peak counters of Stats afresh, so that a test can
// measure one phase (after its warm-up): MaxSessions drops to the binds
// up now and MaxSubmitsPerSecond to 0, counting only submits received
// from now on. The other counters are not reset. It is safe to call at
// any time: every bind up when it returns is counted in the new
// MaxSessions; a submit received while it runs may or may not be counted
// in the new MaxSubmitsPerSecond.
func (sim *Simulator) ResetPeaks() {
	sim.peak.reset()
	sim.stats.maxSessions.Store(0)
	storeMax(&sim.stats.maxSessions, sim.stats.sessions.Load())
}
