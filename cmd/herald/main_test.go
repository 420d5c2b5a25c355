package main

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/dlr"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a
// running subcommand.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestMain() (*Main, *syncBuffer, *syncBuffer) {
	var stdout, stderr syncBuffer
	return &Main{Stdout: &stdout, Stderr: &stderr}, &stdout, &stderr
}

// TestSMSCSim runs the smsc-sim subcommand in process on port 0, binds
// to it, submits, gets the receipt and stops it.
func TestSMSCSim(t *testing.T) {
	t.Parallel()
	m, stdout, stderr := newTestMain()
	c := m.NewSMSCSim()
	err := c.ParseFlags([]string{
		"--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--quiet",
		"--system-id", "acme", "--password", "secret",
		"--id-format", "dec", "--receipt-id-format", "hex",
	})
	if err != nil {
		t.Fatalf("parse flags: %v\n%s", err, stderr)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := c.Open(ctx); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() {
		c.Wait(ctx)
		close(waited)
	}()

	receipts := make(chan *pdu.DeliverSM, 1)
	h := smpp.HandlerFunc(func(r *smpp.Request) {
		if d, ok := r.Body.(*pdu.DeliverSM); ok {
			receipts <- d
		}
		r.Respond(pdu.StatusOK, nil)
	})
	s, err := smpp.Dial(t.Context(), c.Sim.Addr(), pdu.Bind{Role: pdu.Transceiver, SystemID: "acme", Password: "secret"}, smpp.Config{}, h)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Send(t.Context(), &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{
		Source:             pdu.Address{TON: 5, Addr: "Herald"},
		Dest:               pdu.Address{TON: 1, NPI: 1, Addr: "447700900001"},
		RegisteredDelivery: pdu.RegisteredDeliveryFinal,
		Message:            []byte("hello"),
	}})
	if err != nil || r.Error() != nil {
		t.Fatalf("submit: %v %v", err, r.Error())
	}
	id := r.Body.(*pdu.SubmitSMResp).MessageID
	wait, stop := context.WithTimeout(t.Context(), 10*time.Second)
	defer stop()
	var d *pdu.DeliverSM
	select {
	case d = <-receipts:
	case <-wait.Done():
		t.Fatal("no receipt")
	}
	rc, err := dlr.Parse(d.Message)
	if err != nil || rc.State != dlr.StateDelivered {
		t.Fatalf("receipt %q: %v", d.Message, err)
	}
	// Decimal in submit_sm_resp, hex in the receipt: the same message.
	k1, _ := dlr.Keys(id, dlr.IDDecimal)
	k2, _ := dlr.Keys(rc.ID, dlr.IDHex)
	if strings.ContainsAny(id, "ABCDEF") || k1[0] != k2[0] {
		t.Fatalf("submit_sm_resp id %q and receipt id %q do not correlate", id, rc.ID)
	}

	cancel()
	<-waited
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	for _, want := range []string{
		"smsc-sim: smpp on 127.0.0.1:",
		"binds     1 accepted, 0 refused, at most 1 at once",
		"submits   1 (0 parts of concatenated messages, 1 messages)",
		"at most 1 in one second",
		"responses ESME_ROK=1",
		"receipts  1 queued, 1 sent, 1 acked, 0 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(stderr.String(), "secret") {
		t.Errorf("the password was logged:\n%s", stderr)
	}
}

func TestMainDispatch(t *testing.T) {
	t.Parallel()
	t.Run("version", func(t *testing.T) {
		m, stdout, _ := newTestMain()
		if err := m.Run(t.Context(), []string{"version"}); err != nil {
			t.Fatal(err)
		}
		if want := "herald dev " + runtime.Version(); !strings.HasPrefix(stdout.String(), want) {
			t.Fatalf("version printed %q, want %q...", stdout, want)
		}
	})
	for _, args := range [][]string{nil, {"help"}, {"launch-rockets"}, {"smsc-sim", "--undeliv", "lots"}, {"smsc-sim", "--receipt-delay", "5s-1s"}, {"version", "extra"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			m, _, stderr := newTestMain()
			err := m.Run(t.Context(), args)
			if !errors.Is(err, errUsage) || m.exitCode(err) != 2 {
				t.Fatalf("Run(%q) = %v, exit %d; want a usage error, exit 2", args, err, m.exitCode(err))
			}
			if !strings.Contains(stderr.String(), "Usage: herald") {
				t.Fatalf("no usage on stderr:\n%s", stderr)
			}
		})
	}
	t.Run("smsc-sim until the context ends", func(t *testing.T) {
		m, stdout, _ := newTestMain()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := m.Run(ctx, []string{"smsc-sim", "--listen", "127.0.0.1:0", "--http", "", "--quiet"}); err != nil {
			t.Fatal(err)
		}
		if out := stdout.String(); !strings.Contains(out, "submits   0") || strings.Contains(out, "http on") {
			t.Fatalf("stdout:\n%s", out)
		}
	})
	t.Run("smsc-sim with invalid options", func(t *testing.T) {
		m, _, _ := newTestMain()
		err := m.Run(t.Context(), []string{"smsc-sim", "--listen", "127.0.0.1:0", "--http", "", "--undeliv", "0.8", "--expired", "0.8"})
		if err == nil || m.exitCode(err) != 1 {
			t.Fatalf("Run = %v, want an error, exit 1", err)
		}
	})
}
