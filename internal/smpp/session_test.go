package smpp_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smpp/smpptest"
)

func submit(to string) *pdu.SubmitSM {
	return &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{
		Source:  pdu.Address{TON: 5, NPI: 0, Addr: "Herald"},
		Dest:    pdu.Address{TON: 1, NPI: 1, Addr: to},
		Message: []byte("hello"),
	}}
}

func TestSubmitOverLoopback(t *testing.T) {
	t.Parallel()
	smsc := smpptest.NewSMSC()
	srv := smpptest.NewServer(smsc)
	defer srv.Close()
	s, err := srv.Bind(t.Context(), smpp.Config{Window: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Role() != pdu.Transceiver || s.SystemID() != "smpptest" {
		t.Fatalf("bound as %s to %q", s.Role(), s.SystemID())
	}
	const n = 200
	var wg sync.WaitGroup
	ids := make(chan string, n)
	for range n {
		wg.Go(func() {
			r, err := s.Send(t.Context(), submit("447700900001"))
			if err != nil || r.Error() != nil {
				t.Errorf("send: %v %v", err, r.Error())
				return
			}
			ids <- r.Body.(*pdu.SubmitSMResp).MessageID
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("duplicate message id %s", id)
		}
		seen[id] = true
	}
	if len(seen) != n || len(smsc.Submitted()) != n {
		t.Fatalf("got %d ids, smsc saw %d, want %d", len(seen), len(smsc.Submitted()), n)
	}
	if err := s.Unbind(t.Context()); err != nil {
		t.Fatalf("unbind: %v", err)
	}
	if !errors.Is(s.Err(), smpp.ErrUnbound) {
		t.Fatalf("after unbind Err = %v", s.Err())
	}
}

// TestWindowBackPressure shows that a full window makes senders wait, not
// fail, and that a sender whose context ends while waiting gets its
// context's error and nothing is sent.
func TestWindowBackPressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		held := make(chan *smpp.Request, 10)
		srvConn, cliConn := net.Pipe()
		srv := &smpp.Server{Handler: smpp.HandlerFunc(func(r *smpp.Request) { held <- r })}
		srv.ServeConn(srvConn)
		defer srv.Close()
		s, err := smpp.BindConn(t.Context(), cliConn, pdu.Bind{SystemID: "a"}, smpp.Config{Window: 2, ResponseTimeout: time.Hour, EnquireLinkInterval: time.Hour}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var completed atomic.Int32
		for range 2 {
			if err := s.Go(t.Context(), submit("1"), func(smpp.Response) { completed.Add(1) }); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if len(held) != 2 {
			t.Fatalf("server holds %d requests, want 2", len(held))
		}
		// The window is full: a third sender waits until its context ends.
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		start := time.Now()
		err = s.Go(ctx, submit("2"), func(smpp.Response) { t.Error("done called for a request that was not sent") })
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Minute {
			t.Fatalf("Go on full window: %v after %v", err, time.Since(start))
		}
		// A sender that waits gets its slot once a response frees one.
		got := make(chan smpp.Response, 1)
		go func() {
			r, err := s.Send(t.Context(), submit("3"))
			if err != nil {
				t.Error(err)
			}
			got <- r
		}()
		synctest.Wait()
		if len(held) != 2 {
			t.Fatalf("third request went out with a full window")
		}
		(<-held).Respond(pdu.StatusOK, &pdu.SubmitSMResp{MessageID: "x"})
		synctest.Wait()
		if len(held) != 2 {
			t.Fatalf("server holds %d requests after one answer, want 2", len(held))
		}
		(<-held).Respond(pdu.StatusOK, nil)
		(<-held).Respond(pdu.StatusOK, &pdu.SubmitSMResp{MessageID: "y"})
		if r := <-got; r.Error() != nil || r.Body.(*pdu.SubmitSMResp).MessageID != "y" {
			t.Fatalf("third request: %+v", r)
		}
		synctest.Wait()
		if completed.Load() != 2 {
			t.Fatalf("completed %d, want 2", completed.Load())
		}
	})
}
