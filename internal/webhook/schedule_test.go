package webhook

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestHostSlow(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	tests := []struct {
		name     string
		inFlight int
		latency  time.Duration // of the last completion, at t0
		at       time.Duration // from t0
		slow     bool
	}{
		{name: "idle, quick", latency: 5 * ms, at: time.Hour},
		{name: "busy, quick, recent", inFlight: 8, latency: 5 * ms, at: 1900 * ms},
		{name: "busy, nothing completes for 2 s", inFlight: 8, latency: 5 * ms, at: 2*time.Second + ms, slow: true},
		{name: "slow answer just now", inFlight: 8, latency: 3 * time.Second, at: 0},
		{name: "slow answer, 1 s of silence", inFlight: 8, latency: 3 * time.Second, at: time.Second + ms, slow: true},
		{name: "slow answer, idle, 1 s later", latency: 3 * time.Second, at: time.Second + ms, slow: true},
		{name: "slow answer, idle, just after", latency: 3 * time.Second, at: 900 * ms},
	}
	for _, tt := range tests {
		h := &host{inFlight: tt.inFlight, latency: tt.latency, progress: t0}
		if got := h.slow(t0.Add(tt.at)); got != tt.slow {
			t.Errorf("%s: slow = %v, want %v", tt.name, got, tt.slow)
		}
	}
}

func TestTimerDueOverdue(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, tt := range []struct {
		d    timerDue
		want bool
	}{
		{timerDue{}, false},
		{timerDue{poll: now.Add(time.Second)}, false},
		{timerDue{poll: now.Add(-pauseTolerance + time.Millisecond)}, false},
		{timerDue{poll: now.Add(-pauseTolerance - time.Millisecond)}, true},
		{timerDue{poll: now.Add(time.Hour), slow: now.Add(-3 * time.Second)}, true},
	} {
		if got := tt.d.overdue(now); got != tt.want {
			t.Errorf("%+v overdue = %v, want %v", tt.d, got, tt.want)
		}
	}
}

// TestWorkerPauseIsNotSlowness: when the worker's own process was paused
// (simulated by a clock jump while requests are held), the requests that
// were in flight come back with a long latency. That must not make a
// healthy host count as slow: nothing is deferred to its lease.
func TestWorkerPauseIsNotSlowness(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	release := make(chan struct{})
	arrived := make(chan struct{}, 16)
	var once sync.Once
	rc := newReceiver(t, testSecret, clock, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	})
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	st := newFakeStore()
	for i := range 12 {
		st.add(delivery("d"+strconv.Itoa(i), rc.URL, clock.Now()))
	}
	o := testOptions(clock)
	o.Concurrency, o.PerHost = 16, 4
	startWorker(t, st, o)
	for range 4 { // four in flight, eight waiting for the host
		<-arrived
	}
	clock.Advance(5 * time.Second)
	once.Do(func() { close(release) })
	for i := range 12 {
		st.waitState(t, "d"+strconv.Itoa(i), "delivered")
	}
}
