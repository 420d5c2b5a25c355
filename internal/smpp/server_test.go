package smpp_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smpp/smpptest"
)

// serverPeer serves one in-memory connection with srv and returns the
// client end as a raw peer.
func serverPeer(t *testing.T, srv *smpp.Server) *rawPeer {
	a, b := net.Pipe()
	srv.ServeConn(a)
	t.Cleanup(func() { b.Close() })
	return newRawPeer(t, b)
}

func bindRaw(t *testing.T, p *rawPeer, password string) pdu.Status {
	t.Helper()
	p.send(1, 0, &pdu.Bind{Role: pdu.Transceiver, SystemID: "acme", Password: password, InterfaceVersion: 0x34})
	h, b, ok := p.recv()
	if !ok || h.Command != pdu.BindTransceiverRespID || h.Seq != 1 {
		t.Fatalf("bind answered with %v %T (ok %v)", h, b, ok)
	}
	return h.Status
}

func TestServerRequestHandling(t *testing.T) {
	auth := func(_ context.Context, b *pdu.Bind, _ net.Addr) pdu.Status {
		if b.SystemID != "acme" {
			return pdu.StatusInvSysID
		}
		if b.Password != "pw" {
			return pdu.StatusInvPaswd
		}
		return pdu.StatusOK
	}
	newServer := func() *smpp.Server {
		return &smpp.Server{SystemID: "herald", Authenticate: auth, Handler: smpptest.NewSMSC()}
	}
	bodyOf := func(b pdu.Body, seq uint32) []byte {
		buf, err := pdu.Append(nil, seq, 0, b)
		if err != nil {
			t.Fatal(err)
		}
		return buf
	}
	tests := []struct {
		name       string
		bind       bool
		raw        []byte
		wantCmd    pdu.CommandID
		wantStatus pdu.Status
		wantSeq    uint32
		wantClosed bool // the server hangs up after answering
	}{
		{
			name: "submit before bind", raw: bodyOf(submit("1"), 7),
			wantCmd: pdu.SubmitSMRespID, wantStatus: pdu.StatusInvBndSts, wantSeq: 7,
		},
		{
			name: "enquire_link before bind", raw: bodyOf(&pdu.EnquireLink{}, 8),
			wantCmd: pdu.EnquireLinkRespID, wantStatus: pdu.StatusOK, wantSeq: 8,
		},
		{
			name: "unknown command", bind: true,
			raw:     []byte{0, 0, 0, 16, 0, 0, 0x0F, 0xFF, 0, 0, 0, 0, 0, 0, 0, 9},
			wantCmd: pdu.GenericNackID, wantStatus: pdu.StatusInvCmdID, wantSeq: 9,
		},
		{
			name: "truncated submit_sm body", bind: true,
			raw:     []byte{0, 0, 0, 20, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 10, 'a', 'b', 'c', 'd'},
			wantCmd: pdu.SubmitSMRespID, wantStatus: pdu.StatusInvCmdLen, wantSeq: 10,
		},
		{
			name: "bad TLV length", bind: true,
			raw: func() []byte {
				b := bodyOf(submit("1"), 11)
				b = append(b, 0x02, 0x04, 0x00, 0x09, 0x01) // user_message_reference claiming 9 octets
				binary.BigEndian.PutUint32(b, uint32(len(b)))
				return b
			}(),
			wantCmd: pdu.SubmitSMRespID, wantStatus: pdu.StatusInvParLen, wantSeq: 11,
		},
		{
			name: "command_length below header", bind: true,
			raw:     []byte{0, 0, 0, 8, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 12},
			wantCmd: pdu.GenericNackID, wantStatus: pdu.StatusInvCmdLen, wantSeq: 12, wantClosed: true,
		},
		{
			name: "command_length of 1 GiB", bind: true,
			raw:     []byte{0x40, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 13},
			wantCmd: pdu.GenericNackID, wantStatus: pdu.StatusInvCmdLen, wantSeq: 13, wantClosed: true,
		},
		{
			name: "second bind", bind: true, raw: bodyOf(&pdu.Bind{Role: pdu.Transmitter, SystemID: "acme", Password: "pw"}, 14),
			wantCmd: pdu.BindTransmitterRespID, wantStatus: pdu.StatusAlyBnd, wantSeq: 14,
		},
		{
			name: "submit after bind", bind: true, raw: bodyOf(submit("447700900123"), 15),
			wantCmd: pdu.SubmitSMRespID, wantStatus: pdu.StatusOK, wantSeq: 15,
		},
		{
			name: "unbind", bind: true, raw: bodyOf(&pdu.Unbind{}, 16),
			wantCmd: pdu.UnbindRespID, wantStatus: pdu.StatusOK, wantSeq: 16, wantClosed: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newServer()
				defer srv.Close()
				p := serverPeer(t, srv)
				if tc.bind {
					if st := bindRaw(t, p, "pw"); st != pdu.StatusOK {
						t.Fatalf("bind: %s", st)
					}
				}
				go p.write(tc.raw)
				h, _, ok := p.recv()
				if !ok {
					t.Fatal("no answer")
				}
				if h.Command != tc.wantCmd || h.Status != tc.wantStatus || h.Seq != tc.wantSeq {
					t.Fatalf("answer %s %s seq %d, want %s %s seq %d", h.Command, h.Status, h.Seq, tc.wantCmd, tc.wantStatus, tc.wantSeq)
				}
				if tc.wantClosed {
					if h, _, open := p.recv(); open {
						t.Fatalf("connection still open after the answer; got %s", h.Command)
					}
					return
				}
				// The session is still usable.
				go p.send(99, 0, &pdu.EnquireLink{})
				if h, _, ok := p.recv(); !ok || h.Command != pdu.EnquireLinkRespID || h.Seq != 99 {
					t.Fatalf("after the answer, enquire_link got %v (open %v)", h, ok)
				}
			})
		})
	}
}

func TestServerAuthentication(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &smpp.Server{
			Authenticate: func(_ context.Context, b *pdu.Bind, _ net.Addr) pdu.Status {
				if b.Password != "pw" {
					return pdu.StatusInvPaswd
				}
				return pdu.StatusOK
			},
			Handler: smpptest.NewSMSC(),
		}
		defer srv.Close()
		p := serverPeer(t, srv)
		if st := bindRaw(t, p, "wrong"); st != pdu.StatusInvPaswd {
			t.Fatalf("bind with a wrong password: %s", st)
		}
		// The connection stays open for another attempt.
		if st := bindRaw(t, p, "pw"); st != pdu.StatusOK {
			t.Fatalf("bind with the right password: %s", st)
		}
	})
}

func TestServerBindTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &smpp.Server{BindTimeout: 10 * time.Second}
		defer srv.Close()
		p := serverPeer(t, srv)
		start := time.Now()
		if _, _, ok := p.recv(); ok {
			t.Fatal("server sent a PDU to an unbound peer")
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Fatalf("unbound connection closed after %v, want 10s", d)
		}
	})
}

func TestInboundWindowThrottles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		held := make(chan *smpp.Request, 10)
		srv := &smpp.Server{
			Config:  smpp.Config{InboundWindow: 3},
			Handler: smpp.HandlerFunc(func(r *smpp.Request) { held <- r }),
		}
		defer srv.Close()
		p := serverPeer(t, srv)
		bindRaw(t, p, "")
		go func() {
			for i := range 5 {
				p.send(uint32(10+i), 0, submit("1"))
			}
		}()
		for _, seq := range []uint32{13, 14} {
			h, _, _ := p.recv()
			if h.Seq != seq || h.Status != pdu.StatusThrottled {
				t.Fatalf("got %s %s seq %d, want ESME_RTHROTTLED for seq %d", h.Command, h.Status, h.Seq, seq)
			}
		}
		(<-held).Respond(pdu.StatusOK, nil)
		if h, _, _ := p.recv(); h.Seq != 10 || h.Status != pdu.StatusOK {
			t.Fatalf("answer to seq 10: %v", h)
		}
		// A slot is free again.
		go p.send(20, 0, submit("1"))
		synctest.Wait()
		if len(held) != 3 {
			t.Fatalf("handler holds %d, want 3", len(held))
		}
		r := <-held
		if err := r.Respond(pdu.StatusOK, nil); err != nil {
			t.Fatal(err)
		}
		if err := r.Respond(pdu.StatusOK, nil); !errors.Is(err, smpp.ErrAnswered) {
			t.Fatalf("second Respond: %v", err)
		}
	})
}

func TestServerShutdownDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		held := make(chan *smpp.Request, 1)
		srv := &smpp.Server{Handler: smpp.HandlerFunc(func(r *smpp.Request) { held <- r })}
		a, b := net.Pipe()
		srv.ServeConn(a)
		cli, err := smpp.BindConn(t.Context(), b, pdu.Bind{SystemID: "x"}, smpp.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan smpp.Response, 1)
		if err := cli.Go(t.Context(), submit("1"), func(r smpp.Response) { got <- r }); err != nil {
			t.Fatal(err)
		}
		r := <-held
		// The server's own outbound window is empty, so Shutdown unbinds
		// at once; the client answers unbind and the link closes. The
		// client's outstanding submit is handed back as unacknowledged.
		if err := srv.Shutdown(t.Context()); err != nil {
			t.Fatalf("shutdown: %v", err)
		}
		if err := r.Respond(pdu.StatusOK, nil); !errors.Is(err, smpp.ErrClosed) {
			t.Fatalf("respond after shutdown: %v", err)
		}
		out := <-got
		if !errors.Is(out.Err, smpp.ErrUnacknowledged) || out.Request == nil {
			t.Fatalf("outstanding request after peer unbind: %+v", out)
		}
		if !errors.Is(cli.Err(), smpp.ErrUnbound) {
			t.Fatalf("client session ended with %v", cli.Err())
		}
	})
}
