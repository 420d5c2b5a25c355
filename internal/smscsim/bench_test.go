package smscsim_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smscsim"
)

// BenchmarkSimulatorSubmit measures submit_sm/s through real loopback
// binds (window 10 or 100 each): b.N submits spread over the binds with
// Session.Go, timed until every response has arrived. The ESME side runs
// in the same process, so the figure is for ESME and simulator together.
func BenchmarkSimulatorSubmit(b *testing.B) {
	for _, c := range []struct{ binds, window int }{{1, 10}, {1, 100}, {4, 10}, {4, 100}} {
		b.Run(fmt.Sprintf("binds=%d/window=%d", c.binds, c.window), func(b *testing.B) {
			benchSubmit(b, c.binds, c.window, pdu.RegisteredDeliveryNone)
		})
	}
}

// BenchmarkSimulatorSubmitReceipts is BenchmarkSimulatorSubmit with a
// receipt requested for every message, on transceiver binds, timed until
// every response has arrived and every receipt has been answered.
func BenchmarkSimulatorSubmitReceipts(b *testing.B) {
	benchSubmit(b, 4, 100, pdu.RegisteredDeliveryFinal)
}

func benchSubmit(b *testing.B, binds, window int, regDelivery uint8) {
	sim, err := smscsim.New(smscsim.Options{Addr: "127.0.0.1:0", SMPP: smpp.Config{InboundWindow: 1000}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := sim.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer sim.Close()

	var receipts sync.WaitGroup
	handler := smpp.HandlerFunc(func(r *smpp.Request) {
		r.Respond(pdu.StatusOK, nil)
		receipts.Done()
	})
	sessions := make([]*smpp.Session, binds)
	for i := range sessions {
		s, err := smpp.Dial(ctx, sim.Addr(), pdu.Bind{Role: pdu.Transceiver, SystemID: "bench"}, smpp.Config{Window: window}, handler)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		sessions[i] = s
	}
	m := &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{
		Source:             pdu.Address{TON: 5, Addr: "Herald"},
		Dest:               pdu.Address{TON: 1, NPI: 1, Addr: "447700900001"},
		RegisteredDelivery: regDelivery,
		Message:            []byte("Your verification code is 123456"),
	}}

	var failed atomic.Int64
	var wg sync.WaitGroup
	if regDelivery != 0 {
		receipts.Add(b.N)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	per := b.N / binds
	for i, s := range sessions {
		n := per
		if i == 0 {
			n += b.N % binds
		}
		wg.Add(n)
		go func() {
			for range n {
				err := s.Go(ctx, m, func(r smpp.Response) {
					if r.Error() != nil {
						failed.Add(1)
					}
					wg.Done()
				})
				if err != nil {
					failed.Add(1)
					wg.Done()
				}
			}
		}()
	}
	wg.Wait()
	receipts.Wait()
	b.StopTimer()
	cpu = processCPU() - cpu
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d submits failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submits/s")
	if cpu > 0 {
		// CPU time of ESME and simulator together: on a shared machine,
		// the figure that other processes' load does not change.
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/submit")
	}
	if st := sim.Stats(); st.ReceiptsRetried > 0 || st.WindowThrottled > 0 {
		// Either would make the figure measure something else.
		b.ReportMetric(float64(st.ReceiptsRetried), "receipt-retries")
		b.ReportMetric(float64(st.WindowThrottled), "window-throttled")
	}
}
