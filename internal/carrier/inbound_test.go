package carrier

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smscsim"
	"github.com/herald-sms/herald/internal/store"
)

// moSink records inbound deliver_sm; fail makes the next calls fail, gate
// (when set) holds them until it is closed.
type moSink struct {
	mu   sync.Mutex
	got  [][]byte
	fail error
	gate chan struct{}
}

func (s *moSink) ApplyReceipts(context.Context, []store.Receipt) error { return nil }

func (s *moSink) ReceiveMO(_ context.Context, carrier string, ds []*pdu.DeliverSM) error {
	s.mu.Lock()
	gate, fail := s.gate, s.fail
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if fail != nil {
		return fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range ds {
		s.got = append(s.got, d.Message)
	}
	return nil
}

// TestInboundAckedWhenDurable: an inbound deliver_sm is answered only
// after the sink stored it; a sink failure asks the SMSC to retry
// (ESME_RX_T_APPN) and the link keeps working.
func TestInboundAckedWhenDurable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	sim, err := smscsim.New(smscsim.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sink := &moSink{gate: make(chan struct{})}
	l := New(Config{Name: "sim", Addr: sim.Addr(), SystemID: "herald", Password: "x", MinBackoff: 10 * time.Millisecond}, sink, nil)
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		sim.Shutdown(sctx)
	}()
	for deadline := time.Now().Add(10 * time.Second); l.Stats().Bound == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("link did not bind")
		}
	}
	injected := make(chan error, 1)
	go func() {
		_, err := sim.Inject(ctx, smscsim.MO{From: "+447911123456", To: "12345", Text: "STOP"})
		injected <- err
	}()
	select {
	case err := <-injected:
		t.Fatalf("the deliver_sm was answered (%v) before the sink stored it", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(sink.gate)
	if err := <-injected; err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	sink.gate, sink.fail = nil, errors.New("disk full")
	sink.mu.Unlock()
	_, err = sim.Inject(ctx, smscsim.MO{From: "+447911123456", To: "12345", Text: "again"})
	if st, ok := errors.AsType[pdu.Status](err); !ok || st != pdu.StatusXTAppn {
		t.Fatalf("with a failing store: %v; want ESME_RX_T_APPN", err)
	}
	sink.mu.Lock()
	sink.fail = nil
	sink.mu.Unlock()
	if _, err := sim.Inject(ctx, smscsim.MO{From: "+447911123456", To: "12345", Text: "again"}); err != nil {
		t.Fatalf("after the store recovered: %v", err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.got) != 2 || string(sink.got[0]) != "STOP" || string(sink.got[1]) != "again" || l.Stats().Inbound != 3 {
		t.Fatalf("stored %q, counted %d", sink.got, l.Stats().Inbound)
	}
}
