package webhook

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// fakeStore is an in-process Store with the semantics of the real one:
// a claim takes due pending deliveries in next_at order and pushes them a
// lease away; RecordAttempts applies outcomes (delivered, failed,
// disabled, or the next attempt time).
type fakeStore struct {
	mu          sync.Mutex
	recs        map[string]*fakeRec // mu guards every field below
	due         dueHeap
	changed     chan struct{} // closed and replaced on every change
	claims      []int         // the limit of every claim
	batches     []int         // the size of every successful RecordAttempts
	failRecords int           // fail this many RecordAttempts calls
	disabled    map[string]bool
	delivered   int
}

type fakeRec struct {
	d        herald.Delivery
	version  int // bumped whenever NextAt changes: older heap entries are stale
	attempts []store.Attempt
}

type dueEntry struct {
	at      time.Time
	id      string
	version int
}

type dueHeap []dueEntry

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].id < h[j].id
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(dueEntry)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newFakeStore() *fakeStore {
	return &fakeStore{recs: map[string]*fakeRec{}, changed: make(chan struct{}), disabled: map[string]bool{}}
}

// add stores a pending delivery.
func (s *fakeStore) add(ds ...herald.Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range ds {
		d.State = "pending"
		r := &fakeRec{d: d}
		s.recs[d.ID] = r
		heap.Push(&s.due, dueEntry{d.NextAt, d.ID, 0})
	}
	s.notifyLocked()
}

func (s *fakeStore) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *fakeStore) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*herald.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims = append(s.claims, limit)
	var out []*herald.Delivery
	for len(out) < limit && len(s.due) > 0 && !s.due[0].at.After(now) {
		e := heap.Pop(&s.due).(dueEntry)
		r := s.recs[e.id]
		if r.version != e.version || r.d.State != "pending" {
			continue
		}
		r.version++
		r.d.NextAt = now.Add(lease)
		heap.Push(&s.due, dueEntry{r.d.NextAt, r.d.ID, r.version})
		d := r.d
		out = append(out, &d)
	}
	s.notifyLocked()
	return out, nil
}

func (s *fakeStore) RecordAttempts(ctx context.Context, as []store.Attempt) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failRecords > 0 {
		s.failRecords--
		s.notifyLocked()
		return errors.New("fake store: disk on fire")
	}
	s.batches = append(s.batches, len(as))
	for _, a := range as {
		r := s.recs[a.DeliveryID]
		if r == nil {
			continue
		}
		r.attempts = append(r.attempts, a)
		r.d.Attempts++
		r.d.LastStatus, r.d.LastError = a.HTTPStatus, a.Error
		r.version++
		switch {
		case a.Done:
			r.d.State, r.d.DeliveredAt = "delivered", a.At
			s.delivered++
		case a.GiveUp && a.DisableEndpoint:
			r.d.State = "disabled"
			s.disabled[r.d.EndpointID] = true
		case a.GiveUp:
			r.d.State = "failed"
		default:
			r.d.NextAt = a.NextAt
			heap.Push(&s.due, dueEntry{a.NextAt, r.d.ID, r.version})
		}
	}
	s.notifyLocked()
	return nil
}

// get returns a copy of a delivery and its attempts.
func (s *fakeStore) get(id string) (herald.Delivery, []store.Attempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recs[id]
	return r.d, append([]store.Attempt(nil), r.attempts...)
}

// recorded counts the recorded attempts.
func (s *fakeStore) recorded() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.recs {
		n += len(r.attempts)
	}
	return n
}

// waitFor blocks until cond, evaluated under the store's lock, holds. The
// deadline only turns a hang into a failure.
func (s *fakeStore) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitState waits until the delivery is in state.
func (s *fakeStore) waitState(t testing.TB, id, state string) herald.Delivery {
	t.Helper()
	s.waitFor(t, id+" "+state, func() bool { return s.recs[id].d.State == state })
	d, _ := s.get(id)
	return d
}

// waitAttempts waits until the delivery has n recorded attempts.
func (s *fakeStore) waitAttempts(t testing.TB, id string, n int) []store.Attempt {
	t.Helper()
	s.waitFor(t, fmt.Sprintf("%d attempts of %s", n, id), func() bool { return len(s.recs[id].attempts) >= n })
	_, as := s.get(id)
	return as
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// received is one request as a receiver saw it.
type received struct {
	path   string
	header http.Header
	body   []byte
	err    error // of Verify
}

// receiver is an httptest server that verifies every request's signature
// (with the test's clock) and answers with respond.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received // mu guards reqs
}

func newReceiver(t testing.TB, secret string, clock *fakeClock, respond func(w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		now := time.Now()
		if clock != nil {
			now = clock.Now()
		}
		rec := received{path: r.URL.Path, header: r.Header.Clone(), body: body, err: Verify(secret, r.Header, body, now, 0)}
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, rec)
		rc.mu.Unlock()
		if respond != nil {
			respond(w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

// startWorker runs a worker until the test ends, or until the returned
// stop is called, and checks that Run returns cleanly.
func startWorker(t testing.TB, st Store, o Options, setup ...func(*Worker)) (*Worker, func()) {
	t.Helper()
	w, err := NewWorker(st, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range setup {
		f(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
		})
	}
	t.Cleanup(stop)
	return w, stop
}

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// delivery returns a pending delivery due at now.
func delivery(id, url string, now time.Time) herald.Delivery {
	return herald.Delivery{
		ID: id, AccountID: "acc_1", EventID: "evt_" + id, EndpointID: "ep_1",
		URL: url, Secret: testSecret,
		Payload:   []byte(`{"id":"evt_` + id + `","type":"message.delivered"}`),
		NextAt:    now,
		CreatedAt: now,
	}
}
