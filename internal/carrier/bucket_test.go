package carrier

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestBucketRate runs a submitter against the bucket for 60 s of fake
// time: the total is within ±2 % of the rate, and no window of one second
// holds more than rate + burst.
func TestBucketRate(t *testing.T) {
	t.Parallel()
	for _, rate := range []float64{1, 7, 100, 333, 1000, 5000} {
		synctest.Test(t, func(t *testing.T) {
			b := newBucket(rate, 0, 0)
			start := time.Now()
			var at []time.Duration
			for time.Since(start) < 60*time.Second {
				if err := b.wait(t.Context()); err != nil {
					t.Fatal(err)
				}
				at = append(at, time.Since(start))
			}
			// The last admission may fall after 60 s; count the first 60 s.
			n := 0
			for _, d := range at {
				if d < 60*time.Second {
					n++
				}
			}
			want := rate * 60
			if dev := (float64(n) - want) / want; dev < -0.02 || dev > 0.02 {
				t.Errorf("rate %v: %d submits in 60 s, want %v ±2%%", rate, n, want)
			}
			limit := int(rate + max(1, rate*burstShare))
			for i, j := 0, 0; i < len(at); i++ {
				for at[i]-at[j] >= time.Second {
					j++
				}
				if i-j+1 > limit {
					t.Fatalf("rate %v: %d submits within one second ending at %v, limit %d", rate, i-j+1, at[i], limit)
				}
			}
		})
	}
}

// TestBucketThrottle: a throttle pauses the bucket, lowers the effective
// rate once per episode, and the rate recovers to the configured one.
func TestBucketThrottle(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBucket(1000, 100*time.Millisecond, time.Second)
		now := time.Now()
		if !b.throttled(now) {
			t.Fatal("the first throttle did not start an episode")
		}
		// The answers to submits already in flight belong to the episode.
		for range 50 {
			if b.throttled(now.Add(10 * time.Millisecond)) {
				t.Fatal("a throttle within the episode started another")
			}
		}
		st := b.stats(now)
		if st.EffectiveTPS != 1000*decrease || st.Throttles != 1 || !st.PausedUntil.Equal(now.Add(100*time.Millisecond)) {
			t.Fatalf("after a throttle: %+v", st)
		}
		if ok, d := b.take(now.Add(50 * time.Millisecond)); ok || d != 50*time.Millisecond {
			t.Fatalf("take during the pause: %v %v", ok, d)
		}
		// Recovery: additive, 5 % of the configured rate per second.
		time.Sleep(1100 * time.Millisecond)
		if st := b.stats(time.Now()); st.EffectiveTPS != 1000 {
			t.Fatalf("not recovered after 1.1s: %+v", st)
		}
	})
}

// TestBucketPauseBackoff: the pause doubles while the carrier accepts
// nothing between episodes and starts small again once it does.
func TestBucketPauseBackoff(t *testing.T) {
	t.Parallel()
	b := newBucket(100, 100*time.Millisecond, 800*time.Millisecond)
	now := time.Unix(0, 0)
	var pauses []time.Duration
	for range 5 {
		b.throttled(now)
		st := b.stats(now)
		pauses = append(pauses, st.PausedUntil.Sub(now))
		now = b.hold
	}
	b.accepted(now)
	b.throttled(now)
	pauses = append(pauses, b.paused.Sub(now))
	want := []time.Duration{100, 200, 400, 800, 800, 100}
	for i := range want {
		if pauses[i] != want[i]*time.Millisecond {
			t.Fatalf("pauses %v, want %v ms", pauses, want)
		}
	}
}

// TestBucketRandomThrottles: refusals that do not depend on the rate (20 %
// of submits at random) do not drive the rate to its floor.
func TestBucketRandomThrottles(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBucket(500, 0, 0)
		r := rand.New(rand.NewPCG(1, 2))
		start := time.Now()
		n := 0
		for time.Since(start) < 30*time.Second {
			if err := b.wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			n++
			if r.Float64() < 0.2 {
				b.throttled(time.Now())
			} else {
				b.accepted(time.Now())
			}
		}
		t.Logf("%.0f/s under 20%% random throttling, configured 500/s", float64(n)/30)
		if got := float64(n) / 30; got < 0.7*500 {
			t.Fatalf("rate under 20%% random throttling %.0f/s, want at least 70%% of 500", got)
		}
	})
}

func TestBucketUnlimited(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBucket(0, 50*time.Millisecond, 0)
		for range 10000 {
			if ok, _ := b.take(time.Now()); !ok {
				t.Fatal("an unlimited bucket refused")
			}
		}
		b.throttled(time.Now())
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := b.wait(ctx); err != nil || time.Since(start) != 50*time.Millisecond {
			t.Fatalf("wait after a throttle: %v after %v", err, time.Since(start))
		}
	})
}

// TestBucketSettlesAtCap: a carrier that accepts 300/s and throttles the
// rest, against a bucket configured for 1000/s: within a few seconds the
// accepted rate is the cap and throttles are a small share.
func TestBucketSettlesAtCap(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBucket(1000, 20*time.Millisecond, 0)
		carrierCap := newBucket(300, 0, 0) // the carrier's own limit
		start := time.Now()
		var ok, refused int
		for time.Since(start) < 20*time.Second {
			if err := b.wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			measure := time.Since(start) >= 10*time.Second
			if okNow, _ := carrierCap.take(time.Now()); okNow {
				b.accepted(time.Now())
				if measure {
					ok++
				}
			} else {
				b.throttled(time.Now())
				if measure {
					refused++
				}
			}
		}
		rate := float64(ok) / 10
		share := float64(refused) / float64(ok+refused)
		t.Logf("accepted %.0f/s against a cap of 300/s, %.1f%% of submits throttled, effective %.0f/s", rate, 100*share, b.stats(time.Now()).EffectiveTPS)
		if rate < 0.95*300 || share > 0.15 {
			t.Fatalf("accepted %.0f/s with %.1f%% throttled; want about 300/s and few throttles", rate, 100*share)
		}
	})
}

// TestClusterRateLeavesRoomForBurst: a node's bucket rate plus its burst
// never exceeds its share of the carrier's TPS, so the nodes together
// never exceed the carrier's TPS in any second; from 50/s a node uses at
// least 85 % of its share. (Below 2/s a share cannot hold: the bucket
// admits at least one submit at once. docs/cluster.md says so.)
func TestClusterRateLeavesRoomForBurst(t *testing.T) {
	for _, share := range []float64{2, 10, 49, 50, 51, 125, 250, 500, 1000, 5000} {
		r := clusterRate(share)
		b := newBucket(r, 0, 0)
		if got := r + b.burst(); got > share+1e-9 {
			t.Errorf("share %g: rate %g + burst %g = %g, more than the share", share, r, b.burst(), got)
		}
		if share >= 50 && r < 0.85*share {
			t.Errorf("share %g: rate %g, less than 85 %% of it (the margin is 10 %%, the burst 2 %%)", share, r)
		}
	}
}

// TestShareHandOver: a 500 TPS carrier's two bind slots pass from one
// node (holding both) to two nodes (one each) while both send as fast
// as their buckets allow; no one-second window of their submits together
// holds more than 500.
func TestShareHandOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var mu sync.Mutex
		var at []time.Duration
		start := time.Now()
		run := func(b *bucket, ctx context.Context) {
			for b.wait(ctx) == nil {
				mu.Lock()
				at = append(at, time.Since(start))
				mu.Unlock()
			}
		}
		a, b := newBucket(0, 0, 0), newBucket(0, 0, 0)
		a.setShare(clusterRate(500), time.Now())
		time.Sleep(time.Second) // a idle: its bucket fills to its burst
		go run(a, ctx)
		time.Sleep(500 * time.Millisecond) // a sends alone for 0.5 s
		a.setShare(clusterRate(250), time.Now())
		b.setShare(clusterRate(250), time.Now())
		bctx, cancelB := context.WithCancel(ctx)
		go run(b, bctx)
		time.Sleep(1500 * time.Millisecond)
		// and back: b gives its slot to a (b stops sending first, as its
		// bind closes before the lease is released)
		cancelB()
		a.setShare(clusterRate(500), time.Now())
		time.Sleep(1500 * time.Millisecond)
		cancel()
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		slices.Sort(at)
		most, j := 0, 0
		for i := range at {
			for at[i]-at[j] >= time.Second {
				j++
			}
			most = max(most, i-j+1)
		}
		if most > 500 {
			t.Errorf("%d submits in one second across the hand-over; the carrier allows 500", most)
		}
		if most < 425 { // 500 less the 10 % margin and the burst, less a little
			t.Errorf("%d submits in the busiest second: the shares waste the carrier's rate", most)
		}
		t.Logf("%d submits, at most %d in one second", len(at), most)
	})
}
