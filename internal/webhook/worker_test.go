package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// fixedJitter makes the backoff exact: 0.5 is the middle of ±20 %.
func fixedJitter(w *Worker) { w.jitter = func() float64 { return 0.5 } }

func testOptions(clock *fakeClock) Options {
	return Options{
		AllowLoopback: true,
		Now:           clock.Now,
		PollInterval:  time.Hour, // the tests drive the worker with Wake
		FlushInterval: time.Millisecond,
	}
}

func TestWorkerDelivers(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rc := newReceiver(t, testSecret, clock, nil)
	st := newFakeStore()
	d1 := delivery("d1", rc.URL+"/hooks/one?token=abc", clock.Now())
	d2 := delivery("d2", rc.URL+"/callback", clock.Now())
	d2.EndpointID = "" // a message's callback_url
	st.add(d1, d2)
	startWorker(t, st, testOptions(clock))

	for _, d := range []herald.Delivery{d1, d2} {
		got := st.waitState(t, d.ID, "delivered")
		if got.LastStatus != 200 || got.LastError != "" || !got.DeliveredAt.Equal(clock.Now()) {
			t.Errorf("%s: status %d, error %q, delivered at %v", d.ID, got.LastStatus, got.LastError, got.DeliveredAt)
		}
	}
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("receiver saw %d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if r.err != nil {
			t.Errorf("%s: Verify = %v", r.path, r.err)
		}
		id := r.header.Get(HeaderID)
		want := map[string]string{"/hooks/one": "evt_d1", "/callback": "evt_d2"}[r.path]
		if id != want {
			t.Errorf("%s: webhook-id %q, want %q (the event id)", r.path, id, want)
		}
		if ts := r.header.Get(HeaderTimestamp); ts != strconv.FormatInt(clock.Now().Unix(), 10) {
			t.Errorf("%s: webhook-timestamp %s", r.path, ts)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", r.path, ct)
		}
		if ua := r.header.Get("User-Agent"); ua != UserAgent {
			t.Errorf("%s: User-Agent %q", r.path, ua)
		}
		if !strings.HasPrefix(string(r.body), `{"id":"`+want+`"`) {
			t.Errorf("%s: body %s", r.path, r.body)
		}
	}
}

func TestWorkerRetriesThenSucceeds(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var calls atomic.Int64
	rc := newReceiver(t, testSecret, clock, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "database\nunavailable", http.StatusInternalServerError)
		}
	})
	st := newFakeStore()
	d := delivery("d1", rc.URL, clock.Now())
	st.add(d)
	w, _ := startWorker(t, st, testOptions(clock), fixedJitter)

	as := st.waitAttempts(t, d.ID, 1)
	first := as[0]
	if first.Done || first.GiveUp || first.HTTPStatus != 500 {
		t.Fatalf("first attempt = %+v", first)
	}
	if first.Error != "HTTP 500: database unavailable" {
		t.Errorf("first attempt error %q", first.Error)
	}
	if want := clock.Now().Add(5 * time.Second); !first.NextAt.Equal(want) {
		t.Errorf("NextAt = %v, want %v (first backoff step)", first.NextAt, want)
	}

	// Not due yet: a Wake does nothing.
	clock.Advance(4 * time.Second)
	w.Wake()
	clock.Advance(2 * time.Second)
	w.Wake()
	got := st.waitState(t, d.ID, "delivered")
	if got.Attempts != 2 {
		t.Errorf("attempts = %d, want 2", got.Attempts)
	}
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("receiver saw %d requests, want 2", len(reqs))
	}
	if reqs[0].header.Get(HeaderID) != reqs[1].header.Get(HeaderID) {
		t.Error("retries of one event carry different webhook-ids")
	}
	if reqs[0].header.Get(HeaderTimestamp) == reqs[1].header.Get(HeaderTimestamp) {
		t.Error("the retry kept the first attempt's timestamp")
	}
	for i, r := range reqs {
		if r.err != nil {
			t.Errorf("request %d: Verify = %v", i, r.err)
		}
	}
}

func TestWorkerGone(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rc := newReceiver(t, testSecret, clock, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusGone)
	})
	st := newFakeStore()
	ep := delivery("ep", rc.URL, clock.Now())
	cb := delivery("cb", rc.URL, clock.Now())
	cb.EndpointID = ""
	st.add(ep, cb)
	startWorker(t, st, testOptions(clock))

	st.waitState(t, ep.ID, "disabled")
	st.waitState(t, cb.ID, "failed")
	_, as := st.get(ep.ID)
	if a := as[0]; !a.GiveUp || !a.DisableEndpoint || a.HTTPStatus != 410 || a.Error != "HTTP 410" {
		t.Errorf("endpoint delivery attempt = %+v", a)
	}
	_, as = st.get(cb.ID)
	if a := as[0]; !a.GiveUp || a.DisableEndpoint {
		t.Errorf("callback delivery attempt = %+v, want a give-up that disables nothing", a)
	}
}

func TestWorkerRetryAfter(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	t0 := clock.Now()
	rc := newReceiver(t, testSecret, clock, func(w http.ResponseWriter, r *http.Request) {
		status, _ := strconv.Atoi(r.URL.Query().Get("status"))
		if v := r.URL.Query().Get("ra"); v != "" {
			w.Header().Set("Retry-After", v)
		}
		w.WriteHeader(status)
	})
	tests := []struct {
		status int
		ra     string
		want   time.Duration // from t0
	}{
		{429, "120", 120 * time.Second},
		{503, t0.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{429, "1", 5 * time.Second},     // sooner than the backoff: the backoff wins
		{503, "999999", 24 * time.Hour}, // capped
		{503, t0.Add(-time.Hour).Format(http.TimeFormat), 5 * time.Second},
		{429, "soon", 5 * time.Second}, // unreadable: ignored
		{500, "600", 5 * time.Second},  // only 429 and 503 carry it
		{502, "", 5 * time.Second},
	}
	st := newFakeStore()
	for i, tt := range tests {
		q := "?status=" + strconv.Itoa(tt.status) + "&ra=" + strings.ReplaceAll(tt.ra, " ", "+")
		st.add(delivery("d"+strconv.Itoa(i), rc.URL+q, t0))
	}
	startWorker(t, st, testOptions(clock), fixedJitter)
	for i, tt := range tests {
		a := st.waitAttempts(t, "d"+strconv.Itoa(i), 1)[0]
		if a.HTTPStatus != tt.status || a.Done || a.GiveUp {
			t.Errorf("%d %q: attempt %+v", tt.status, tt.ra, a)
		}
		if got := a.NextAt.Sub(t0); got != tt.want {
			t.Errorf("%d Retry-After %q: next attempt in %s, want %s", tt.status, tt.ra, got, tt.want)
		}
	}
}

func TestWorkerGivesUpAfterRetryPeriod(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rc := newReceiver(t, testSecret, clock, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "still broken", http.StatusBadGateway)
	})
	// A port nothing listens on: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String() + "/hook"
	ln.Close()

	st := newFakeStore()
	old := clock.Now().Add(-DefaultRetryPeriod)
	young := clock.Now().Add(-DefaultRetryPeriod + time.Second)
	for _, d := range []herald.Delivery{
		delivery("http-old", rc.URL, clock.Now()),
		delivery("http-young", rc.URL, clock.Now()),
		delivery("net-old", deadURL, clock.Now()),
	} {
		d.CreatedAt = young
		if strings.HasSuffix(d.ID, "-old") {
			d.CreatedAt = old
		}
		d.Attempts = 29
		st.add(d)
	}
	startWorker(t, st, testOptions(clock))

	got := st.waitState(t, "http-old", "failed")
	if got.LastStatus != 502 || !strings.Contains(got.LastError, "HTTP 502: still broken") || !strings.Contains(got.LastError, "giving up") {
		t.Errorf("http-old: status %d, error %q", got.LastStatus, got.LastError)
	}
	got = st.waitState(t, "net-old", "failed")
	if got.LastStatus != 0 || !strings.Contains(got.LastError, "refused") || !strings.Contains(got.LastError, "giving up") {
		t.Errorf("net-old: status %d, error %q", got.LastStatus, got.LastError)
	}
	if strings.Contains(got.LastError, "/hook") {
		t.Errorf("net-old: error names the URL: %q", got.LastError)
	}
	// One second younger: still retried, at the repeating last step.
	a := st.waitAttempts(t, "http-young", 1)[0]
	if a.GiveUp || a.NextAt.Sub(clock.Now()) < 2*time.Hour || a.NextAt.Sub(clock.Now()) > 4*time.Hour {
		t.Errorf("http-young: %+v, want a retry in 2.4-3.6 h", a)
	}
}

func TestWorkerRefusesLoopback(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rc := newReceiver(t, testSecret, clock, nil)
	_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
	st := newFakeStore()
	literal := delivery("literal", rc.URL, clock.Now())
	named := delivery("named", "http://hooks.internal.test:"+port+"/", clock.Now())
	st.add(literal, named)

	o := testOptions(clock)
	o.AllowLoopback = false
	// The default transport, but with a resolver that maps the name to
	// the receiver's loopback address (what a rebinding attacker does).
	o.Transport = newTransport(newGuard(false, func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}))
	startWorker(t, st, o, fixedJitter)

	// A literal loopback URL can never work: the delivery gives up.
	got := st.waitState(t, literal.ID, "failed")
	if got.LastStatus != 0 || !strings.Contains(got.LastError, "127.0.0.1 is a loopback address") {
		t.Errorf("literal: status %d, error %q", got.LastStatus, got.LastError)
	}
	// A name is refused at connect time and retried: DNS may change.
	a := st.waitAttempts(t, named.ID, 1)[0]
	if a.GiveUp || a.NextAt.IsZero() || !strings.Contains(a.Error, "hooks.internal.test: 127.0.0.1 is a loopback address") {
		t.Errorf("named: %+v", a)
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("the receiver saw %d requests", n)
	}
}

func TestWorkerDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var target atomic.Int64
	rc := newReceiver(t, testSecret, clock, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/target" {
			target.Add(1)
			return
		}
		http.Redirect(w, r, "/target", http.StatusTemporaryRedirect)
	})
	st := newFakeStore()
	st.add(delivery("d1", rc.URL+"/start", clock.Now()))
	startWorker(t, st, testOptions(clock))
	a := st.waitAttempts(t, "d1", 1)[0]
	if a.Done || a.HTTPStatus != 307 || !strings.Contains(a.Error, "redirects are not followed") || a.NextAt.IsZero() {
		t.Errorf("attempt = %+v", a)
	}
	if target.Load() != 0 {
		t.Error("the redirect was followed")
	}
}

func TestWorkerTimeout(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rc := newReceiver(t, testSecret, clock, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	})
	st := newFakeStore()
	st.add(delivery("d1", rc.URL, clock.Now()))
	o := testOptions(clock)
	o.Timeout = 50 * time.Millisecond
	startWorker(t, st, o)
	a := st.waitAttempts(t, "d1", 1)[0]
	if a.Done || a.HTTPStatus != 0 || a.Error != "timeout after 50ms" || a.NextAt.IsZero() {
		t.Errorf("attempt = %+v", a)
	}
}

// TestWorkerSlowHost: a host whose requests hang takes at most PerHost
// slots; deliveries to other hosts go through meanwhile, and the slow
// host's other deliveries are left to their lease, unattempted.
func TestWorkerSlowHost(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	release := make(chan struct{})
	var slowArrived atomic.Int64
	arrived := make(chan struct{}, 16)
	slow := newReceiver(t, testSecret, clock, func(w http.ResponseWriter, r *http.Request) {
		slowArrived.Add(1)
		arrived <- struct{}{}
		<-release
	})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	fast := newReceiver(t, testSecret, clock, nil)
	_, slowPort, _ := net.SplitHostPort(slow.Listener.Addr().String())
	_, fastPort, _ := net.SplitHostPort(fast.Listener.Addr().String())

	st := newFakeStore()
	t0 := clock.Now()
	var slowIDs []string
	for i := range 6 { // due first, so the first claim is all slow-host work
		d := delivery("slow"+strconv.Itoa(i), "http://slow.test:"+slowPort+"/", t0.Add(-time.Minute))
		st.add(d)
		slowIDs = append(slowIDs, d.ID)
	}
	for i := range 3 {
		st.add(delivery("fast"+strconv.Itoa(i), "http://fast.test:"+fastPort+"/", t0))
	}
	o := testOptions(clock)
	o.Concurrency, o.PerHost = 4, 2
	o.Transport = newTransport(newGuard(true, func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}))
	w, stop := startWorker(t, st, o)

	// The first claim: two slow requests start, two wait for the host.
	<-arrived
	<-arrived
	// Nothing completes at the slow host for more than 2×slowAfter: its
	// waiting deliveries are released and the fast host's are claimed.
	clock.Advance(2*slowAfter + time.Millisecond)
	w.Wake()
	for i := range 3 {
		st.waitState(t, "fast"+strconv.Itoa(i), "delivered")
	}
	if n := slowArrived.Load(); n != 2 {
		t.Fatalf("slow host received %d requests, want PerHost=2", n)
	}
	releaseOnce.Do(func() { close(release) })
	st.waitState(t, slowIDs[0], "delivered")
	st.waitState(t, slowIDs[1], "delivered")
	stop()
	// The others were never attempted; they are due again after the lease.
	for _, id := range slowIDs[2:] {
		d, as := st.get(id)
		if d.State != "pending" || len(as) != 0 || !d.NextAt.After(clock.Now()) {
			t.Errorf("%s: state %s, %d attempts, next %v", id, d.State, len(as), d.NextAt)
		}
	}
	// A worker started after the lease delivers them, each exactly once.
	clock.Advance(DefaultLease)
	startWorker(t, st, o)
	for _, id := range slowIDs {
		st.waitState(t, id, "delivered")
		if _, as := st.get(id); len(as) != 1 {
			t.Errorf("%s attempted %d times", id, len(as))
		}
	}
}

// TestWorkerHeldNotResent: a delivery claimed again while the worker is
// still sending it (its lease ran out under a clock step) is not sent a
// second time.
func TestWorkerHeldNotResent(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	release := make(chan struct{})
	arrived := make(chan struct{}, 4)
	rc := newReceiver(t, testSecret, clock, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	st := newFakeStore()
	st.add(delivery("d1", rc.URL, clock.Now()))
	w, _ := startWorker(t, st, testOptions(clock))
	<-arrived
	clock.Advance(2 * DefaultLease)
	reclaimed := clock.Now().Add(DefaultLease)
	w.Wake()
	st.waitFor(t, "the second claim to return d1", func() bool {
		return st.recs["d1"].d.NextAt.Equal(reclaimed)
	})
	once.Do(func() { close(release) })
	st.waitState(t, "d1", "delivered")
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("receiver saw %d requests, want 1", n)
	}
	if _, as := st.get("d1"); len(as) != 1 {
		t.Fatalf("%d attempts recorded", len(as))
	}
}

// TestWorkerLimits checks the concurrency bounds with hosts that hold
// every request until the test has seen how many are in flight.
func TestWorkerLimits(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var mu sync.Mutex
	inFlight := map[string]int{}
	maxInFlight := map[string]int{}
	total, maxTotal := 0, 0
	hold := make(chan struct{})
	arrived := make(chan struct{}, 64)
	rc := newReceiver(t, testSecret, clock, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight[r.Host]++
		total++
		maxInFlight[r.Host] = max(maxInFlight[r.Host], inFlight[r.Host])
		maxTotal = max(maxTotal, total)
		mu.Unlock()
		arrived <- struct{}{}
		<-hold
		mu.Lock()
		inFlight[r.Host]--
		total--
		mu.Unlock()
	})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(hold) }) })
	_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
	st := newFakeStore()
	const perHostDeliveries = 10
	for _, h := range []string{"a", "b", "c"} {
		for i := range perHostDeliveries { // ids interleave the hosts: 0a 0b 0c 1a …
			st.add(delivery(strconv.Itoa(i)+h, "http://"+h+".test:"+port+"/", clock.Now()))
		}
	}
	o := testOptions(clock)
	o.Concurrency, o.PerHost = 5, 2
	o.Transport = newTransport(newGuard(true, func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}))
	startWorker(t, st, o)
	for range 5 { // Concurrency requests arrive and are held
		<-arrived
	}
	once.Do(func() { close(hold) })
	st.waitFor(t, "all delivered", func() bool {
		for _, r := range st.recs {
			if r.d.State != "delivered" {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	if maxTotal > 5 {
		t.Errorf("%d requests in flight at once, Concurrency is 5", maxTotal)
	}
	for h, n := range maxInFlight {
		if n > 2 {
			t.Errorf("%d requests in flight to %s, PerHost is 2", n, h)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, n := range st.claims {
		if n > 5 || n < 1 {
			t.Errorf("a claim asked for %d deliveries, Concurrency is 5", n)
		}
	}
	for _, r := range st.recs {
		if len(r.attempts) != 1 {
			t.Errorf("%s attempted %d times", r.d.ID, len(r.attempts))
		}
	}
}

func TestWorkerWake(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rc := newReceiver(t, testSecret, clock, nil)
	st := newFakeStore()
	w, _ := startWorker(t, st, testOptions(clock))
	// The worker claimed once at start and now sleeps for an hour.
	st.waitFor(t, "the first claim", func() bool { return len(st.claims) > 0 })
	st.add(delivery("d1", rc.URL, clock.Now()))
	w.Wake()
	st.waitState(t, "d1", "delivered")
}

func TestWorkerBatchesRecords(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	arrived := make(chan struct{}, 35)
	rc := newReceiver(t, testSecret, clock, func(http.ResponseWriter, *http.Request) { arrived <- struct{}{} })
	st := newFakeStore()
	for i := range 35 {
		st.add(delivery(fmt.Sprintf("d%02d", i), rc.URL, clock.Now()))
	}
	o := testOptions(clock)
	o.FlushSize, o.FlushInterval = 10, time.Hour
	w, err := NewWorker(st, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()

	st.waitFor(t, "30 recorded", func() bool { return len(st.batches) == 3 })
	for range 35 {
		<-arrived
	}
	// The last five are recorded when the worker stops.
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if fmt.Sprint(st.batches) != "[10 10 10 5]" {
		t.Errorf("batches %v, want [10 10 10 5]", st.batches)
	}
}

func TestWorkerKeepsOutcomesWhenRecordingFails(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rc := newReceiver(t, testSecret, clock, nil)
	st := newFakeStore()
	st.failRecords = 3
	for i := range 20 {
		st.add(delivery(fmt.Sprintf("d%02d", i), rc.URL, clock.Now()))
	}
	startWorker(t, st, testOptions(clock))
	st.waitFor(t, "all delivered", func() bool {
		for _, r := range st.recs {
			if r.d.State != "delivered" {
				return false
			}
		}
		return true
	})
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.failRecords != 0 {
		t.Errorf("%d failures left", st.failRecords)
	}
	for _, r := range st.recs {
		if len(r.attempts) != 1 {
			t.Errorf("%s recorded %d times", r.d.ID, len(r.attempts))
		}
	}
	if len(rc.requests()) != 20 {
		t.Errorf("receiver saw %d requests, want 20", len(rc.requests()))
	}
}

func TestWorkerStopReportsUnrecorded(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	arrived := make(chan struct{}, 5)
	rc := newReceiver(t, testSecret, clock, func(http.ResponseWriter, *http.Request) { arrived <- struct{}{} })
	st := newFakeStore()
	st.failRecords = 1 << 30
	for i := range 5 {
		st.add(delivery(fmt.Sprintf("d%d", i), rc.URL, clock.Now()))
	}
	o := testOptions(clock)
	o.StopGrace = 20 * time.Millisecond
	w, err := NewWorker(st, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	for range 5 {
		<-arrived
	}
	st.waitFor(t, "a failed recording", func() bool { return st.failRecords < 1<<30 })
	cancel()
	err = <-errc
	if err == nil || !strings.Contains(err.Error(), "5 attempt outcomes not recorded") {
		t.Fatalf("Run = %v, want it to count 5 unrecorded outcomes", err)
	}
}

// TestWorkerStopWithStoreDown: with the store refusing every batch, the
// recorder's backlog fills (16 batches), it stops reading, the delivering
// goroutines block handing it outcomes, and no more work is taken. The
// stop must still end within its grace periods and count every outcome
// it could not record.
func TestWorkerStopWithStoreDown(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	const n = 40
	arrived := make(chan struct{}, n)
	rc := newReceiver(t, testSecret, clock, func(http.ResponseWriter, *http.Request) { arrived <- struct{}{} })
	st := newFakeStore()
	st.failRecords = 1 << 30
	for i := range n {
		st.add(delivery(fmt.Sprintf("d%02d", i), rc.URL, clock.Now()))
	}
	o := testOptions(clock)
	o.FlushSize = 1 // backlog full at 16
	o.StopGrace = 20 * time.Millisecond
	w, err := NewWorker(st, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	// 16 outcomes in the backlog, 1 in the channel, PerHost goroutines
	// waiting to hand theirs over: then the worker takes nothing more.
	for range 16 + 1 + DefaultPerHost {
		<-arrived
	}
	cancel()
	err = <-errc
	sent := len(rc.requests())
	if sent >= n {
		t.Errorf("all %d deliveries were sent while nothing could be recorded", sent)
	}
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf(" %d attempt outcomes not recorded", sent)) {
		t.Fatalf("Run = %v, want it to count the %d outcomes not recorded", err, sent)
	}
}

func TestWorkerStopCancelsHungRequests(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	arrived := make(chan struct{}, 1)
	rc := newReceiver(t, testSecret, clock, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	st := newFakeStore()
	st.add(delivery("d1", rc.URL, clock.Now()))
	o := testOptions(clock)
	o.StopGrace = 10 * time.Millisecond
	w, err := NewWorker(st, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	<-arrived
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	// Cancelled by the stop, not by the receiver: not an attempt. The
	// lease brings it back.
	if d, as := st.get("d1"); len(as) != 0 || d.State != "pending" {
		t.Errorf("state %s with %d attempts", d.State, len(as))
	}
}

func TestWorkerPermanentFailures(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	st := newFakeStore()
	badSecret := delivery("secret", "https://hooks.example.com/", clock.Now())
	badSecret.Secret = "whsec_???"
	badID := delivery("id", "https://hooks.example.com/", clock.Now())
	badID.EventID = "evt.1"
	badURL := delivery("url", "https://user:pw@hooks.example.com/", clock.Now())
	badScheme := delivery("scheme", "ftp://hooks.example.com/", clock.Now())
	st.add(badSecret, badID, badURL, badScheme)
	startWorker(t, st, testOptions(clock))
	for id, want := range map[string]string{
		"secret": "invalid signing secret",
		"id":     "invalid webhook-id",
		"url":    "userinfo",
		"scheme": "scheme must be http or https",
	} {
		d := st.waitState(t, id, "failed")
		if !strings.Contains(d.LastError, want) {
			t.Errorf("%s: error %q, want it to mention %q", id, d.LastError, want)
		}
		if strings.Contains(d.LastError, "pw@") {
			t.Errorf("%s: error %q names the URL's password", id, d.LastError)
		}
	}
}

func TestNewWorkerOptions(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	for _, tt := range []struct {
		o    Options
		want string
	}{
		{Options{Concurrency: -1}, "concurrency"},
		{Options{PerHost: -1}, "per host"},
		{Options{Timeout: -time.Second}, "timeout"},
		{Options{Timeout: time.Minute, Lease: time.Minute}, "lease"},
		{Options{Backoff: []time.Duration{time.Second, 0}}, "backoff[1]"},
		{Options{FlushSize: -1}, "flush size"},
	} {
		if _, err := NewWorker(st, tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewWorker(%+v) = %v, want an error about %s", tt.o, err, tt.want)
		}
	}
	if _, err := NewWorker(nil, Options{}); err == nil {
		t.Error("NewWorker(nil store) succeeded")
	}
	w, err := NewWorker(st, Options{Concurrency: 4, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if w.opts.PerHost != 4 || w.opts.Lease != 2*time.Minute || w.transport.MaxIdleConnsPerHost != 4 {
		t.Errorf("defaults: per host %d, lease %s, idle per host %d", w.opts.PerHost, w.opts.Lease, w.transport.MaxIdleConnsPerHost)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Run(cancelled) = %v", err)
	}
	if err := w.Run(ctx); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("second Run = %v", err)
	}
}

var _ Store = (store.Store)(nil) // the real store satisfies the worker's interface
