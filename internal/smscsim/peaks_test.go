package smscsim

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPeakRate(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	type burst struct {
		at time.Duration // after the first burst's clock
		n  int
	}
	// every returns n bursts of one, interval apart, from start.
	every := func(start, interval time.Duration, n int) []burst {
		b := make([]burst, n)
		for i := range b {
			b[i] = burst{start + time.Duration(i)*interval, 1}
		}
		return b
	}
	tests := []struct {
		name   string
		bursts []burst
		want   uint64
	}{
		{"nothing", nil, 0},
		{"one", []burst{{0, 1}}, 1},
		{"500/s for 3 s", every(0, 2*ms, 1500), 500},
		{"2000/s for 1.5 s", every(0, 500*time.Microsecond, 3000), 2000},
		{"bursts 999 ms apart share a window", []burst{{0, 300}, {999 * ms, 300}}, 600},
		{"bursts 1 s apart do not", []burst{{0, 300}, {time.Second, 300}}, 300},
		{"the window slides", []burst{{0, 100}, {600 * ms, 100}, {1200 * ms, 100}, {1500 * ms, 50}}, 250},
		{"an idle gap empties the window", []burst{{0, 400}, {5 * time.Second, 100}, {5200 * ms, 200}}, 400},
		{"after a gap it counts anew", []burst{{0, 100}, {5 * time.Second, 200}, {5999 * ms, 200}}, 400},
		{"a gap shorter than the window", []burst{{0, 100}, {500 * ms, 200}, {1499 * ms, 200}}, 400},
		{"a clock read late counts in the newest bucket", []burst{{10 * ms, 5}, {5 * ms, 5}, {1009 * ms, 1}}, 11},
		// The precision: windows start on whole milliseconds after the
		// first event. Bursts 999.8 ms apart, in buckets 0 and 999, share
		// a window; bursts 999.5 ms apart, in buckets 0 and 1000, do not
		// (an exact sliding window would say 599).
		{"bucket precision, same window", []burst{{0, 1}, {100 * time.Microsecond, 299}, {999*ms + 900*time.Microsecond, 300}}, 600},
		{"bucket precision, next window", []burst{{0, 1}, {500 * time.Microsecond, 299}, {1000 * ms, 300}}, 300},
	}
	base := 90 * time.Second // any origin
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p peakRate
			for _, b := range tt.bursts {
				for range b.n {
					p.add(base + b.at)
				}
			}
			if got := p.peak(); got != tt.want {
				t.Fatalf("peak %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPeakRateReset(t *testing.T) {
	t.Parallel()
	var p peakRate
	t0 := 90 * time.Second
	for range 700 {
		p.add(t0)
	}
	p.reset()
	if got := p.peak(); got != 0 {
		t.Fatalf("peak %d after reset, want 0", got)
	}
	// Only what comes after the reset counts, though the 700 are less
	// than a second old.
	for i := range 200 {
		p.add(t0 + 100*time.Millisecond + time.Duration(i)*time.Millisecond)
	}
	if got := p.peak(); got != 200 {
		t.Fatalf("peak %d, want 200", got)
	}
}

// TestStoreMax raises one high-water mark from many goroutines: the
// largest value passed wins.
func TestStoreMax(t *testing.T) {
	t.Parallel()
	var v, counter atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				storeMax(&v, counter.Add(1))
			}
		})
	}
	wg.Wait()
	if got := v.Load(); got != 8000 {
		t.Fatalf("max %d, want 8000", got)
	}
}

// BenchmarkPeakRate is what the one-second peak adds to every submit:
// a monotonic clock read and peakRate.add, from one reader goroutine
// (serial) or from as many as GOMAXPROCS at once (parallel, the lock
// contended).
func BenchmarkPeakRate(b *testing.B) {
	epoch := time.Now()
	b.Run("serial", func(b *testing.B) {
		var p peakRate
		for b.Loop() {
			p.add(time.Since(epoch))
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var p peakRate
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				p.add(time.Since(epoch))
			}
		})
	})
}
