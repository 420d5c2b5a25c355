package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/carrier"
	"github.com/herald-sms/herald/internal/dispatch"
	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smscsim"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/sqlite"
)

// rig is a dispatcher over a real SQLite store and a real SMPP link to an
// in-process simulator.
type rig struct {
	st      *sqlite.Store
	sim     *smscsim.Simulator
	disp    *dispatch.Dispatcher
	link    *carrier.Link
	acc     *herald.Account
	changed chan struct{}
}

func newRig(t *testing.T, simOpts smscsim.Options) *rig {
	t.Helper()
	return newRigWith(t, simOpts, nil)
}

// newRigWith is newRig with the carrier link's configuration adjusted by
// configure.
func newRigWith(t *testing.T, simOpts smscsim.Options, configure func(*carrier.Config)) *rig {
	t.Helper()
	return newRigWithOptions(t, simOpts, configure, nil)
}

// newRigWithOptions is newRigWith with the dispatcher's options adjusted
// by options.
func newRigWithOptions(t *testing.T, simOpts smscsim.Options, configure func(*carrier.Config), options func(*dispatch.Options)) *rig {
	t.Helper()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	simOpts.Addr = "127.0.0.1:0"
	sim, err := smscsim.New(simOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := &rig{st: st, sim: sim, changed: make(chan struct{}, 1)}
	wake := func() {
		select {
		case r.changed <- struct{}{}:
		default:
		}
	}
	cfg := carrier.Config{Name: "sim", Addr: sim.Addr(), SystemID: "t", Window: 20, SourceTON: -1, SourceNPI: -1}
	if configure != nil {
		configure(&cfg)
	}
	link := carrier.New(cfg, receipts{st, wake}, nil)
	r.link = link
	do := dispatch.Options{Store: st, Links: []dispatch.Link{link}, RetryBase: 10 * time.Millisecond,
		RetryMax: 50 * time.Millisecond, Changed: wake}
	if options != nil {
		options(&do)
	}
	r.disp = dispatch.New(do)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.disp.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		sim.Close()
		st.Close()
	})
	if r.acc, err = st.EnsureAccount(t.Context(), "t"); err != nil {
		t.Fatal(err)
	}
	return r
}

type receipts struct {
	st   *sqlite.Store
	wake func()
}

func (r receipts) ApplyReceipts(ctx context.Context, rs []store.Receipt) error {
	err := r.st.ApplyReceipts(ctx, rs)
	r.wake()
	return err
}

// send stores n single-part messages and hands them to the dispatcher.
func (r *rig) send(t *testing.T, n int, typ herald.MessageType) []*herald.Message {
	t.Helper()
	now := time.Now().UTC()
	var items []*store.NewMessage
	var ms []*herald.Message
	for i := range n {
		m := testMessage(r.acc.ID, fmt.Sprintf("+447911%06d", i), typ, "sim", now)
		items = append(items, &store.NewMessage{Message: m})
		ms = append(ms, m)
	}
	if err := r.st.CreateMessages(t.Context(), items); err != nil {
		t.Fatal(err)
	}
	r.disp.Accepted(ms)
	return ms
}

// wait returns the messages' statuses once all are final.
func (r *rig) wait(t *testing.T, ms []*herald.Message) map[herald.Status]int {
	t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		counts := map[herald.Status]int{}
		final := true
		for _, m := range ms {
			got, err := r.st.Message(t.Context(), r.acc.ID, m.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			counts[got.Status]++
			final = final && got.Status.Final()
		}
		if final {
			return counts
		}
		select {
		case <-r.changed:
		case <-time.After(100 * time.Millisecond):
		case <-deadline.C:
			t.Fatalf("not final after 60s: %v", counts)
		}
	}
}

func TestTemporaryErrorsAreRetried(t *testing.T) {
	t.Parallel()
	r := newRig(t, smscsim.Options{Seed: 7, Errors: []smscsim.ErrorRate{{Status: pdu.StatusThrottled, Fraction: 0.3}, {Status: pdu.StatusMsgQFul, Fraction: 0.1}}})
	ms := r.send(t, 100, herald.TypeTransactional)
	counts := r.wait(t, ms)
	if counts[herald.StatusDelivered] != 100 {
		t.Fatalf("statuses %v, want all 100 delivered after retries", counts)
	}
	if r.disp.Stats().Throttled.Load() == 0 {
		t.Fatal("no throttling counted")
	}
	// The refusals are in the history with their SMPP names.
	retried := 0
	for _, m := range ms {
		got, _ := r.st.Message(t.Context(), r.acc.ID, m.ID, true)
		if got.Parts[0].Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Fatal("no part shows more than one attempt")
	}
}

func TestPermanentErrorsFail(t *testing.T) {
	t.Parallel()
	r := newRig(t, smscsim.Options{Errors: []smscsim.ErrorRate{{Status: pdu.StatusInvDstAdr, Fraction: 1}}})
	ms := r.send(t, 10, herald.TypeOTP)
	if counts := r.wait(t, ms); counts[herald.StatusFailed] != 10 {
		t.Fatalf("statuses %v, want 10 failed", counts)
	}
	got, _ := r.st.Message(t.Context(), r.acc.ID, ms[0].ID, true)
	if got.ErrorCode != "carrier_rejected" || got.Parts[0].Attempts != 1 || got.Parts[0].SubmitStatus != uint32(pdu.StatusInvDstAdr) {
		t.Fatalf("failed message %+v part %+v", got, got.Parts[0])
	}
}

func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	// ESME_RSYSERR is retried per part; throttling never exhausts them
	// (flow_test.go).
	r := newRig(t, smscsim.Options{Errors: []smscsim.ErrorRate{{Status: pdu.StatusSysErr, Fraction: 1}}})
	ms := r.send(t, 3, herald.TypeMarketing)
	if counts := r.wait(t, ms); counts[herald.StatusFailed] != 3 {
		t.Fatalf("statuses %v, want 3 failed", counts)
	}
	got, _ := r.st.Message(t.Context(), r.acc.ID, ms[0].ID, true)
	if got.ErrorCode != "carrier_retries_exhausted" || got.Parts[0].Attempts != 10 {
		t.Fatalf("message %s after %d attempts", got.ErrorCode, got.Parts[0].Attempts)
	}
}

func TestExpiredBeforeSending(t *testing.T) {
	t.Parallel()
	r := newRig(t, smscsim.Options{})
	now := time.Now().UTC()
	m := &herald.Message{ID: herald.NewID("msg", now.UnixMilli()), AccountID: r.acc.ID, To: "+447911123456", From: "Herald",
		Body: "x", Type: herald.TypeOTP, Status: herald.StatusQueued, Encoding: "gsm7", PartCount: 1, Carrier: "sim",
		ValidUntil: now.Add(-time.Second), CreatedAt: now, UpdatedAt: now,
		Parts: []herald.Part{{Seq: 1, Status: herald.StatusQueued, ShortMessage: []byte("x")}}}
	m.Parts[0].MessageID = m.ID
	if err := r.st.CreateMessages(t.Context(), []*store.NewMessage{{Message: m}}); err != nil {
		t.Fatal(err)
	}
	r.disp.Accepted([]*herald.Message{m})
	if counts := r.wait(t, []*herald.Message{m}); counts[herald.StatusExpired] != 1 {
		t.Fatalf("statuses %v, want expired", counts)
	}
	if st := r.sim.Stats(); st.Submits != 0 {
		t.Fatalf("an expired message was submitted")
	}
}

// testMessage returns a queued single-part message.
func testMessage(acct, to string, typ herald.MessageType, carrier string, now time.Time) *herald.Message {
	m := &herald.Message{ID: herald.NewID("msg", now.UnixMilli()), AccountID: acct, To: to, From: "Herald",
		Body: "x", Type: typ, Status: herald.StatusQueued, Encoding: "gsm7", PartCount: 1, Carrier: carrier,
		CreatedAt: now, UpdatedAt: now, Parts: []herald.Part{{Seq: 1, Status: herald.StatusQueued, ShortMessage: []byte("x")}}}
	m.Parts[0].MessageID = m.ID
	return m
}
