package smppserver

import (
	"context"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// fakeLeases grants every outbox lease and reports, at each release,
// how many rows the outbox still held.
type fakeLeases struct {
	st       *fakeStore
	released chan int
}

func (l *fakeLeases) AcquireLease(context.Context, string, time.Duration) (bool, error) {
	return true, nil
}

func (l *fakeLeases) ReleaseLease(context.Context, string) error {
	l.released <- l.st.pending()
	return nil
}

// heldAckStore is a fakeStore whose first AckClientMessages waits for
// gate, having told entered.
type heldAckStore struct {
	*fakeStore
	once    sync.Once
	entered chan []int64
	gate    chan struct{}
}

func (s *heldAckStore) AckClientMessages(ctx context.Context, acc string, seqs []int64) error {
	s.once.Do(func() {
		s.entered <- seqs
		<-s.gate
	})
	return s.fakeStore.AckClientMessages(ctx, acc, seqs)
}

// TestOutboxLeaseReleasedAfterAcks: when the last receiver of an account
// unbinds, the node records what that receiver acknowledged before it
// releases the outbox lease, since the next holder reads the outbox from
// the start and would deliver those rows again.
func TestOutboxLeaseReleasedAfterAcks(t *testing.T) {
	t.Parallel()
	u := user("acme")
	fs := newFakeStore()
	fs.users[u.SystemID] = u
	st := &heldAckStore{fakeStore: fs, entered: make(chan []int64, 1), gate: make(chan struct{})}
	leases := &fakeLeases{st: fs, released: make(chan int, 4)}
	srv, addr := serve(t, Options{Store: st, Leases: leases, PollInterval: 10 * time.Millisecond, RetryDelay: 10 * time.Millisecond})
	for range 2 {
		fs.add(&herald.ClientMessage{AccountID: u.AccountID, Kind: herald.ClientInbound, MessageID: "inb",
			Status: herald.StatusReceived, From: "+447700900601", To: "+447700900602", Body: "hi"})
	}

	// The receiver answers the first row at once, the second when told.
	hold, answered := make(chan struct{}), make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(hold) }) })
	n := 0
	rx, err := smpp.Dial(t.Context(), addr, pdu.Bind{Role: pdu.Receiver, SystemID: u.SystemID, Password: testPassword},
		smpp.Config{}, smpp.HandlerFunc(func(r *smpp.Request) {
			if n++; n == 2 {
				<-hold
				defer close(answered)
			}
			r.Respond(pdu.StatusOK, nil)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rx.Close() })

	// The first row's acknowledgement is being recorded when the second
	// is answered and the receiver unbinds.
	if seqs := <-st.entered; len(seqs) != 1 || seqs[0] != 1 {
		t.Fatalf("first acknowledgements recorded %v, want [1]", seqs)
	}
	once.Do(func() { close(hold) })
	<-answered
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := rx.Unbind(ctx); err != nil {
		t.Fatal(err)
	}
	for srv.receiver(u.AccountID) != nil {
		if ctx.Err() != nil {
			t.Fatal("the server still has the receiver after it unbound")
		}
		time.Sleep(time.Millisecond) // polling a condition with a deadline, not timing
	}
	close(st.gate)
	select {
	case left := <-leases.released:
		if left != 0 {
			t.Fatalf("lease released with %d acknowledged rows still in the outbox", left)
		}
	case <-ctx.Done():
		t.Fatal("the lease was not released after the receiver unbound")
	}
}

// renewLog grants every outbox lease and remembers when it was last
// taken or renewed.
type renewLog struct {
	mu   sync.Mutex
	last time.Time // mu guards last
}

func (l *renewLog) AcquireLease(context.Context, string, time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = time.Now()
	return true, nil
}

func (l *renewLog) ReleaseLease(context.Context, string) error { return nil }

func (l *renewLog) age() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Since(l.last)
}

// TestOutboxLeaseRenewedWhileSending: a node renews the outbox lease
// while it delivers a backlog to a slow receiver, not only between
// batches of rows: were it let expire, another node with a receiver
// could take it and deliver the same rows meanwhile.
func TestOutboxLeaseRenewedWhileSending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := user("acme")
		fs := newFakeStore()
		fs.users[u.SystemID] = u
		for range 300 {
			fs.add(&herald.ClientMessage{AccountID: u.AccountID, Kind: herald.ClientInbound, MessageID: "inb",
				Status: herald.StatusReceived, From: "+447700900601", To: "+447700900602", Body: "hi"})
		}
		leases := &renewLog{}
		srv := New(Options{Store: fs, Leases: leases, Session: smpp.Config{Window: 8}})
		srvConn, cliConn := net.Pipe()
		srv.ServeConn(srvConn)
		// The receiver takes 80ms a row: 256 rows (one read of the
		// outbox) take 20s, twice the lease's life.
		var oldest time.Duration // the lease's age at the oldest deliver_sm
		rx, err := smpp.BindConn(t.Context(), cliConn, pdu.Bind{Role: pdu.Receiver, SystemID: u.SystemID, Password: testPassword},
			smpp.Config{}, smpp.HandlerFunc(func(r *smpp.Request) {
				oldest = max(oldest, leases.age())
				time.Sleep(80 * time.Millisecond)
				r.Respond(pdu.StatusOK, nil)
			}))
		if err != nil {
			t.Fatal(err)
		}
		for fs.pending() > 0 {
			time.Sleep(time.Second) // fake time: waits for the receiver to get through the rows
		}
		rx.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if oldest >= outboxLeaseTTL {
			t.Fatalf("a deliver_sm went out %v after the lease was last renewed; it lasts %v", oldest, outboxLeaseTTL)
		}
		t.Logf("the lease was at most %v old at a deliver_sm", oldest)
	})
}
