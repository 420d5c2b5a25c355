package smpp_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smpp/smpptest"
)

// BenchmarkSessionSubmit measures pipelined submit_sm throughput of one
// bind over loopback TCP against an in-process SMSC that answers at once.
func BenchmarkSessionSubmit(b *testing.B) {
	for _, window := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) {
			srv := smpptest.NewServer(smpp.HandlerFunc(func(r *smpp.Request) {
				r.Respond(pdu.StatusOK, &pdu.SubmitSMResp{MessageID: "1"})
			}))
			defer srv.Close()
			s, err := srv.Bind(b.Context(), smpp.Config{Window: window}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			msg := submit("447700900123")
			var wg sync.WaitGroup
			wg.Add(b.N)
			done := func(r smpp.Response) {
				if r.Error() != nil {
					b.Error(r.Error())
				}
				wg.Done()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := s.Go(b.Context(), msg, done); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submits/s")
		})
	}
}
