package smpp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smpp/smpptest"
)

// blackHole plays an SMSC that accepts the bind, answers the first
// `answer` submits, then goes silent: it keeps reading but answers
// nothing, not even enquire_link. It reports each request it reads.
func blackHole(t *testing.T, conn net.Conn, answer int, seen chan<- pdu.CommandID) {
	p := newRawPeer(t, conn)
	for {
		h, b, ok := p.recv()
		if !ok {
			return
		}
		seen <- h.Command
		switch b.(type) {
		case *pdu.Bind:
			p.send(h.Seq, 0, &pdu.BindResp{Role: pdu.Transceiver, SystemID: "hole"})
		case *pdu.SubmitSM:
			if answer > 0 {
				answer--
				p.send(h.Seq, 0, &pdu.SubmitSMResp{MessageID: fmt.Sprint(h.Seq)})
			}
		}
	}
}

// TestDeadPeerReconnectHandsBack runs a client against a peer that stops
// answering. The session must declare the peer dead exactly when the
// enquire_link interval plus the response timeout has passed in silence,
// hand back every outstanding request, reconnect to a healthy SMSC, and a
// sender that resends whatever was handed back gets every message
// through: none lost, none dropped silently.
type outcome struct {
	attempts, notSent, unacked, timeouts, delivered int
	lastID                                          string
}

func TestDeadPeerReconnectHandsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			interval = 10 * time.Second
			timeout  = 30 * time.Second
			messages = 40
		)
		seen := make(chan pdu.CommandID, 1000)
		good := smpptest.NewSMSC()
		goodSrv := &smpp.Server{Handler: good}
		defer goodSrv.Close()
		dials := 0
		var downAt []time.Time
		var mu sync.Mutex
		c := &smpp.Client{
			Addr:   "smsc",
			Bind:   pdu.Bind{SystemID: "herald", Password: "pw"},
			Config: smpp.Config{Window: 10, EnquireLinkInterval: interval, ResponseTimeout: timeout},
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				a, b := net.Pipe()
				dials++
				if dials == 1 {
					go blackHole(t, b, 5, seen)
				} else {
					goodSrv.ServeConn(b)
				}
				return a, nil
			},
			MinBackoff: time.Second,
			MaxBackoff: 4 * time.Second,
			OnState: func(s *smpp.Session, err error) {
				if err != nil {
					mu.Lock()
					downAt = append(downAt, time.Now())
					mu.Unlock()
				}
			},
		}
		ctx, cancel := context.WithCancel(t.Context())
		runDone := make(chan error, 1)
		go func() { runDone <- c.Run(ctx) }()

		// The sender: one goroutine per message resends until the message
		// is acknowledged, and records every outcome it was handed.
		results := make([]outcome, messages)
		start := time.Now()
		var wg sync.WaitGroup
		for i := range messages {
			wg.Go(func() {
				o := &results[i]
				for o.delivered == 0 {
					o.attempts++
					r, err := c.Send(t.Context(), submit(fmt.Sprintf("4477009%05d", i)))
					switch {
					case err != nil:
						t.Errorf("message %d: Send: %v", i, err)
						return
					case errors.Is(r.Err, smpp.ErrResponseTimeout):
						o.timeouts++
					case errors.Is(r.Err, smpp.ErrNotSent):
						o.notSent++
					case errors.Is(r.Err, smpp.ErrUnacknowledged):
						o.unacked++
					case r.Err != nil:
						t.Errorf("message %d: %v", i, r.Err)
						return
					default:
						o.delivered++
						o.lastID = r.Body.(*pdu.SubmitSMResp).MessageID
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)

		// Detection: the black hole answered its last PDU at t=0 (the
		// first five submits), so the peer is dead after interval+timeout
		// of silence, give or take one timer tick (1s here).
		mu.Lock()
		if len(downAt) != 1 {
			t.Fatalf("link went down %d times, want 1", len(downAt))
		}
		dead := downAt[0].Sub(start)
		mu.Unlock()
		if dead < interval+timeout || dead > interval+timeout+time.Second {
			t.Errorf("dead peer detected after %v, want %v to %v", dead, interval+timeout, interval+timeout+time.Second)
		}
		if elapsed > dead+5*time.Second {
			t.Errorf("all messages through after %v; reconnect too slow (dead at %v)", elapsed, dead)
		}

		// Accounting: every message acknowledged exactly once by the good
		// SMSC or the black hole, and every failed attempt was reported.
		var timeouts, unacked, notSent, attempts int
		for i, o := range results {
			if o.delivered != 1 {
				t.Errorf("message %d delivered %d times", i, o.delivered)
			}
			timeouts += o.timeouts
			unacked += o.unacked
			notSent += o.notSent
			attempts += o.attempts
		}
		if attempts != messages+timeouts+unacked+notSent {
			t.Errorf("%d attempts but %d outcomes reported", attempts, messages+timeouts+unacked+notSent)
		}
		toHole := 0
		enquired := false
		for len(seen) > 0 {
			switch <-seen {
			case pdu.SubmitSMID:
				toHole++
			case pdu.EnquireLinkID:
				enquired = true
			}
		}
		if !enquired {
			t.Error("no enquire_link reached the silent peer")
		}
		// A request reported as not sent never reached a peer.
		if got := len(good.Submitted()); toHole+got > attempts-notSent {
			t.Errorf("attempts %d: %d reached the black hole, %d the good SMSC, yet %d were reported not sent", attempts, toHole, got, notSent)
		}
		// The good SMSC acknowledged each of the other messages once.
		dests := map[string]bool{}
		for _, m := range good.Submitted() {
			dests[m.Dest.Addr] = true
		}
		if len(good.Submitted()) != messages-5 || len(dests) != messages-5 {
			t.Errorf("good SMSC got %d submits for %d numbers, want %d", len(good.Submitted()), len(dests), messages-5)
		}
		if timeouts == 0 || unacked == 0 {
			t.Errorf("want both timeouts and link-loss hand-backs, got %d timeouts, %d unacknowledged", timeouts, unacked)
		}
		t.Logf("dead after %v, all through after %v: %d attempts, %d timeouts, %d handed back unacknowledged, %d not sent",
			dead, elapsed, attempts, timeouts, unacked, notSent)
		cancel()
		if err := <-runDone; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v", err)
		}
	})
}

// TestDeliverRightAfterBindResp: SMSCs flush queued receipts right after
// bind_resp. The session must already count as bound when it reads them.
func TestDeliverRightAfterBindResp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		peer := newRawPeer(t, b)
		go func() {
			h, _, ok := peer.recv()
			if !ok {
				return
			}
			// bind_resp and deliver_sm in one write, as a fast SMSC would.
			resp, _ := pdu.Append(nil, h.Seq, 0, &pdu.BindResp{Role: pdu.Transceiver, SystemID: "smsc"})
			dlv, _ := pdu.Append(nil, 1, 0, &pdu.DeliverSM{ShortMessage: pdu.ShortMessage{ESMClass: pdu.ESMClassDeliveryReceipt, Message: []byte("id:1 stat:DELIVRD")}})
			peer.write(append(resp, dlv...))
		}()
		got := make(chan *smpp.Request, 1)
		s, err := smpp.BindConn(t.Context(), a, pdu.Bind{SystemID: "x"}, smpp.Config{}, smpp.HandlerFunc(func(r *smpp.Request) {
			got <- r
			r.Respond(pdu.StatusOK, nil)
		}))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		h, _, ok := peer.recv()
		if !ok || h.Command != pdu.DeliverSMRespID || h.Status != pdu.StatusOK {
			t.Fatalf("deliver_sm right after bind_resp answered %v", h)
		}
		if len(got) != 1 {
			t.Fatal("handler not called")
		}
	})
}
