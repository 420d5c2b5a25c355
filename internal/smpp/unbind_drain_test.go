package smpp_test

import (
	"context"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// TestUnbindDrainStillServes: while a graceful Unbind waits for the
// outstanding requests, the session is still bound (SMPP 3.4 §2.3) and the
// SMSC may go on delivering; those deliver_sm must reach the handler, not
// be refused with ESME_RINVBNDSTS (which SMSCs treat as permanent, losing
// receipts). Found by the Net::SMPP interop work.
func TestUnbindDrainStillServes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := smpp.Config{ResponseTimeout: time.Hour, EnquireLinkInterval: time.Hour}
		held := make(chan *smpp.Request, 1)
		smscSide := make(chan *smpp.Session, 1)
		srv := &smpp.Server{
			Config:  cfg,
			Handler: smpp.HandlerFunc(func(r *smpp.Request) { held <- r }), // hold submit_sm
			OnBound: func(s *smpp.Session) { smscSide <- s },
		}
		srvConn, cliConn := net.Pipe()
		srv.ServeConn(srvConn)
		defer srv.Close()

		delivered := make(chan *pdu.DeliverSM, 1)
		cli, err := smpp.BindConn(t.Context(), cliConn, pdu.Bind{SystemID: "herald"}, cfg,
			smpp.HandlerFunc(func(r *smpp.Request) {
				delivered <- r.Body.(*pdu.DeliverSM)
				r.Respond(pdu.StatusOK, nil)
			}))
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		smsc := <-smscSide

		// One submit_sm outstanding, held by the SMSC.
		if err := cli.Go(t.Context(), &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Message: []byte("x")}}, func(smpp.Response) {}); err != nil {
			t.Fatal(err)
		}
		submit := <-held

		// A graceful unbind now waits for that submit_sm_resp.
		unbound := make(chan error, 1)
		go func() { unbound <- cli.Unbind(t.Context()) }()
		synctest.Wait()

		// Meanwhile the SMSC, still bound, sends a delivery receipt.
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		r, err := smsc.Send(ctx, &pdu.DeliverSM{ShortMessage: pdu.ShortMessage{
			ESMClass: pdu.ESMClassDeliveryReceipt, Message: []byte("id:1 stat:DELIVRD"),
		}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status() != pdu.StatusOK || len(delivered) != 1 {
			t.Errorf("deliver_sm sent while the ESME drains before unbind: answered %s, handler called %d times; want ESME_ROK from the handler",
				r.Status(), len(delivered))
		}

		submit.Respond(pdu.StatusOK, &pdu.SubmitSMResp{MessageID: "1"})
		if err := <-unbound; err != nil {
			t.Errorf("unbind: %v", err)
		}
	})
}
