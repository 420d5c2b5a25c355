package carrier_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/carrier"
	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smscsim"
	"github.com/herald-sms/herald/internal/store"
)

type discardReceipts struct{}

func (discardReceipts) ApplyReceipts(context.Context, []store.Receipt) error { return nil }

// startSim starts a simulated carrier on 127.0.0.1:0 (o.Addr is set),
// closed when the test ends.
func startSim(t *testing.T, o smscsim.Options) *smscsim.Simulator {
	t.Helper()
	o.Addr = "127.0.0.1:0"
	sim, err := smscsim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// TestRateAccuracy submits as fast as the link allows for 60 s against
// the simulator and compares the submits the simulator counted with the
// configured TPS: within ±2 %. It takes a minute of wall-clock time, so
// it runs only with HERALD_SLOW_TESTS=1 (.ci/run sets it); the limiter
// itself is tested in fake time by TestBucketRate.
func TestRateAccuracy(t *testing.T) {
	if os.Getenv("HERALD_SLOW_TESTS") == "" {
		t.Skip("a 60 s wall-clock run: set HERALD_SLOW_TESTS=1")
	}
	const tps, binds = 1000, 2
	dur := 60 * time.Second
	sim := startSim(t, smscsim.Options{})
	link := carrier.New(carrier.Config{Name: "sim", Addr: sim.Addr(), SystemID: "t", Binds: binds, Window: 100, TPS: tps,
		SourceTON: -1, SourceNPI: -1}, discardReceipts{}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { link.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	m := &herald.Message{ID: "msg_rate", To: "+447911123456", From: "Herald", Type: herald.TypeMarketing}
	p := &herald.Part{Seq: 1, ShortMessage: []byte("rate test")}
	// Warm up until the binds are up and the first submits answered.
	deadline := time.Now().Add(10 * time.Second)
	for link.Stats().Bound < binds && time.Now().Before(deadline) {
		link.Submit(ctx, m, p, func(carrier.Result) {})
	}
	// Submit continuously; the simulator counts what arrives.
	sctx, stop := context.WithCancel(ctx)
	var sub sync.WaitGroup
	sub.Go(func() {
		for sctx.Err() == nil {
			link.Submit(sctx, m, p, func(carrier.Result) {})
		}
	})
	time.Sleep(time.Second) // steady state
	n0, t0 := sim.Stats().Submits, time.Now()
	time.Sleep(dur)
	n1, t1 := sim.Stats().Submits, time.Now()
	stop()
	sub.Wait()
	got := float64(n1-n0) / t1.Sub(t0).Seconds()
	dev := (got - tps) / tps
	t.Logf("configured %d TPS over %d binds; the simulator counted %d submits in %v: %.2f/s (%+.2f%%)",
		tps, binds, n1-n0, t1.Sub(t0).Round(time.Millisecond), got, 100*dev)
	if dev < -0.02 || dev > 0.02 {
		t.Fatalf("rate %.2f/s, want %d ±2%%", got, tps)
	}
}

// TestReceiptLatency: OnReceipt is told each final receipt's outcome and
// the time since its submit was accepted.
func TestReceiptLatency(t *testing.T) {
	t.Parallel()
	sim := startSim(t, smscsim.Options{ReceiptDelay: smscsim.Fixed(200 * time.Millisecond), Undeliv: 1})
	type seen struct {
		to  herald.Status
		lat time.Duration
	}
	got := make(chan seen, 1)
	link := carrier.New(carrier.Config{Name: "sim", Addr: sim.Addr(), SystemID: "t", SourceTON: -1, SourceNPI: -1,
		OnReceipt: func(to herald.Status, lat time.Duration) { got <- seen{to, lat} }}, discardReceipts{}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { link.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	m := &herald.Message{ID: "msg_lat", To: "+447911123456", From: "Herald", Type: herald.TypeOTP}
	if err := link.Submit(ctx, m, &herald.Part{Seq: 1, ShortMessage: []byte("x")}, func(carrier.Result) {}); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s.to != herald.StatusUndelivered || s.lat < 200*time.Millisecond || s.lat > 5*time.Second {
			t.Fatalf("receipt %s after %v; want undelivered after about 200 ms", s.to, s.lat)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no receipt")
	}
}

// TestPartsOnOneBind: over three binds, every part of a message goes
// through the same bind, in order, while messages spread over the binds.
func TestPartsOnOneBind(t *testing.T) {
	t.Parallel()
	type sub struct {
		s   *smpp.Session
		seq byte
	}
	var mu sync.Mutex
	got := map[string][]sub{} // by destination
	sim := startSim(t, smscsim.Options{OnSubmit: func(s smscsim.Submitted) {
		mu.Lock()
		got[s.Dest.Addr] = append(got[s.Dest.Addr], sub{s.Session, s.Content[5]}) // UDH 05 00 03 ref total seq
		mu.Unlock()
	}})
	link := carrier.New(carrier.Config{Name: "sim", Addr: sim.Addr(), SystemID: "t", Binds: 3, Window: 10,
		SourceTON: -1, SourceNPI: -1}, discardReceipts{}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { link.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); link.Stats().Bound < 3; {
		if time.Now().After(deadline) {
			t.Fatal("not bound")
		}
		time.Sleep(10 * time.Millisecond) // polling for the binds
	}
	var done sync.WaitGroup
	for i := range 30 {
		m := &herald.Message{ID: fmt.Sprintf("msg_%d", i), To: fmt.Sprintf("+4479111%05d", i), From: "Herald"}
		for seq := byte(1); seq <= 3; seq++ {
			p := &herald.Part{Seq: int(seq), ESMClass: pdu.ESMClassUDHI,
				ShortMessage: []byte{5, 0, 3, byte(i), 3, seq, 'x'}}
			done.Add(1)
			if err := link.Submit(ctx, m, p, func(carrier.Result) { done.Done() }); err != nil {
				t.Fatal(err)
			}
		}
	}
	done.Wait()
	mu.Lock()
	defer mu.Unlock()
	binds := map[*smpp.Session]bool{}
	for dest, subs := range got {
		if len(subs) != 3 {
			t.Fatalf("%s: %d parts", dest, len(subs))
		}
		for k, s := range subs {
			if s.s != subs[0].s || s.seq != byte(k+1) {
				t.Fatalf("%s: parts %+v not all on one bind in order", dest, subs)
			}
		}
		binds[subs[0].s] = true
	}
	if len(binds) != 3 {
		t.Fatalf("30 messages used %d of 3 binds", len(binds))
	}
}
