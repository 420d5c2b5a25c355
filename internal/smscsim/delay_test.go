package smscsim_test

import (
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/dlr"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smscsim"
)

// pipeBind starts sim with no listener and binds an ESME to it over
// net.Pipe, so that the whole exchange runs in a synctest bubble.
func pipeBind(t *testing.T, opts smscsim.Options, h smpp.Handler) (*smscsim.Simulator, *smpp.Session) {
	t.Helper()
	sim, err := smscsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return sim, pipeSession(t, sim, pdu.Transceiver, h)
}

// pipeSession binds another ESME to a running sim over net.Pipe as role,
// system_id "acme".
func pipeSession(t *testing.T, sim *smscsim.Simulator, role pdu.Role, h smpp.Handler) *smpp.Session {
	t.Helper()
	srvConn, cliConn := net.Pipe()
	if err := sim.ServeConn(srvConn); err != nil {
		t.Fatal(err)
	}
	cfg := smpp.Config{Window: 100, ResponseTimeout: time.Hour, EnquireLinkInterval: time.Hour}
	s, err := smpp.BindConn(t.Context(), cliConn, pdu.Bind{Role: role, SystemID: "acme"}, cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type arrival struct {
			id string
			at time.Duration
		}
		receipts := make(chan arrival, 100)
		start := time.Now()
		sim, s := pipeBind(t, smscsim.Options{
			Seed:          1,
			ResponseDelay: smscsim.Fixed(200 * time.Millisecond),
			ReceiptDelay:  smscsim.Delay{Min: time.Second, Max: 5 * time.Second},
			SMPP:          smpp.Config{ResponseTimeout: time.Hour, EnquireLinkInterval: time.Hour},
		}, smpp.HandlerFunc(func(r *smpp.Request) {
			d := r.Body.(*pdu.DeliverSM)
			rc, _ := dlr.Parse(d.Message)
			receipts <- arrival{rc.ID, time.Since(start)}
			r.Respond(pdu.StatusOK, nil)
		}))
		defer sim.Close()
		defer s.Close()

		const n = 50
		resps := make(chan time.Duration, n)
		for range n {
			err := s.Go(t.Context(), submitSM("x", pdu.RegisteredDeliveryFinal), func(r smpp.Response) {
				if r.Error() != nil {
					t.Error(r.Error())
				}
				resps <- time.Since(start)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		for range n {
			// Never early, at most one scheduler tick late.
			if at := <-resps; at < 200*time.Millisecond || at > 201*time.Millisecond {
				t.Fatalf("submit_sm_resp after %v, want 200ms", at)
			}
		}
		var first, last time.Duration = time.Hour, 0
		for range n {
			a := <-receipts
			if a.at < 1200*time.Millisecond || a.at > 5201*time.Millisecond {
				t.Fatalf("receipt %s after %v, want 1.2s to 5.2s", a.id, a.at)
			}
			first, last = min(first, a.at), max(last, a.at)
		}
		if last-first < 2*time.Second {
			t.Fatalf("receipts all came between %v and %v: the delays were not drawn from the range", first, last)
		}
	})
}

func TestRetryDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		arrivals := make(chan time.Duration, 10)
		start := time.Now()
		refusals := 2
		sim, s := pipeBind(t, smscsim.Options{RetryDelay: 3 * time.Second}, smpp.HandlerFunc(func(r *smpp.Request) {
			arrivals <- time.Since(start)
			if refusals > 0 {
				refusals--
				r.Respond(pdu.StatusThrottled, nil)
				return
			}
			r.Respond(pdu.StatusOK, nil)
		}))
		defer sim.Close()
		defer s.Close()
		if _, err := s.Send(t.Context(), submitSM("x", pdu.RegisteredDeliveryFinal)); err != nil {
			t.Fatal(err)
		}
		for i, want := range []time.Duration{0, 3 * time.Second, 6 * time.Second} {
			if at := <-arrivals; at < want || at > want+2*time.Millisecond {
				t.Fatalf("attempt %d after %v, want %v", i+1, at, want)
			}
		}
		synctest.Wait()
		if st := sim.Stats(); st.ReceiptsSent != 3 || st.ReceiptsFailed != 2 || st.ReceiptsRetried != 2 || st.ReceiptsAcked != 1 || st.ReceiptsPending != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}
