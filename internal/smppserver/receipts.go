package smppserver

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/dlr"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smstext"
)

// pusher sends one account's outbox rows, in order, over the account's
// oldest receiver bind, and deletes each row once the client answered its
// deliver_sm with status 0. A failed deliver_sm (a refusal, a timeout, a
// disconnect) makes it wait for its outstanding ones, then read the
// outbox again from the start: what was not acknowledged goes again, in
// order. A client may thus see a receipt twice (it was delivered, but the
// response did not reach Herald or was not yet recorded); never none.
type pusher struct {
	s       *Server
	account string
	wake    chan struct{}
	ctx     context.Context // ended by stop
	cancel  context.CancelFunc

	// leaseUntil is when the outbox lease must be renewed (zero: not
	// held); only run touches it.
	leaseUntil time.Time

	mu       sync.Mutex
	inflight int     // mu guards inflight, acked, failed, sent
	acked    []int64 // acknowledged, not yet deleted
	failed   bool    // a deliver_sm failed since the last rewind
	sent     map[int64]bool
}

func newPusher(s *Server, account string) *pusher {
	ctx, cancel := context.WithCancel(s.ctx)
	return &pusher{s: s, account: account, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel, sent: map[int64]bool{}}
}

func (p *pusher) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// stop ends the pusher; run records the acknowledgements it has.
func (p *pusher) stop() { p.cancel() }

// run is the pusher's goroutine.
func (p *pusher) run() {
	log := p.s.o.Logger.With("account", p.account)
	defer p.unlease()
	var after int64 // the last row sent since the last rewind
	poll := time.NewTicker(p.s.o.PollInterval)
	defer poll.Stop()
	wait := func(d time.Duration) bool {
		var t <-chan time.Time
		if d > 0 {
			tm := time.NewTimer(d)
			defer tm.Stop()
			t = tm.C
		}
		select {
		case <-p.ctx.Done():
			return false
		case <-p.wake:
		case <-poll.C:
		case <-t:
		}
		return true
	}
	for {
		p.ack(log)
		if p.ctx.Err() != nil {
			p.drain(log)
			return
		}
		p.mu.Lock()
		failed := p.failed
		p.mu.Unlock()
		if failed {
			// Let every outstanding deliver_sm finish, record what was
			// acknowledged, then start again from the oldest row left.
			p.drain(log)
			p.mu.Lock()
			p.failed = false
			p.mu.Unlock()
			after = 0
			if !wait(p.s.o.RetryDelay) {
				p.drain(log)
				return
			}
			continue
		}
		sess := p.s.receiver(p.account)
		if sess == nil {
			// Record what the last receiver acknowledged before giving
			// the lease up: the next holder reads from the start.
			p.drain(log)
			p.unlease()
			if !wait(0) {
				p.drain(log)
				return
			}
			continue
		}
		if fresh, ok := p.lease(log); !ok {
			if !wait(0) { // another node delivers this outbox now
				p.drain(log)
				return
			}
			continue
		} else if fresh {
			after = 0 // read again what the previous holder may have left unacknowledged
		}
		rows, err := p.s.o.Store.ClientMessages(p.ctx, p.account, after, 256)
		if err != nil {
			if p.ctx.Err() == nil {
				log.Warn("smpp client outbox read failed", "err", err)
			}
			if !wait(p.s.o.RetryDelay) {
				p.drain(log)
				return
			}
			continue
		}
		if len(rows) == 0 {
			if !wait(0) {
				p.drain(log)
				return
			}
			continue
		}
		for _, row := range rows {
			if p.s.o.Leases != nil && !time.Now().Before(p.leaseUntil) {
				break // renew the lease first: a slow receiver may take longer than it lasts
			}
			if !p.send(sess, row) {
				break
			}
			after = row.Seq
		}
	}
}

// lease takes or renews the account's outbox lease when the server has
// Leases; ok is false while another node holds it, fresh true when it
// was just taken.
func (p *pusher) lease(log interface {
	Warn(string, ...any)
}) (fresh, ok bool) {
	l := p.s.o.Leases
	if l == nil {
		return false, true
	}
	now := time.Now()
	if !p.leaseUntil.IsZero() && now.Before(p.leaseUntil) {
		return false, true
	}
	got, err := l.AcquireLease(p.ctx, "outbox/"+p.account, outboxLeaseTTL)
	if err != nil {
		if p.ctx.Err() == nil {
			log.Warn("smpp client outbox lease failed", "err", err)
		}
		got = false
	}
	if !got {
		p.leaseUntil = time.Time{}
		return false, false
	}
	fresh = p.leaseUntil.IsZero()
	p.leaseUntil = now.Add(outboxLeaseTTL / 3) // renewed well before it runs out
	return fresh, true
}

// unlease gives the outbox lease up (no receiver bind here any more), so
// that a node with one takes over at once.
func (p *pusher) unlease() {
	if p.s.o.Leases == nil || p.leaseUntil.IsZero() {
		return
	}
	p.leaseUntil = time.Time{}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), 5*time.Second)
	defer cancel()
	p.s.o.Leases.ReleaseLease(ctx, "outbox/"+p.account)
}

// send writes one deliver_sm (blocking while the bind's window is full).
func (p *pusher) send(sess *smpp.Session, row *herald.ClientMessage) bool {
	body := deliverSM(row)
	p.mu.Lock()
	p.inflight++
	if p.sent[row.Seq] {
		p.s.stats.ReceiptsResent.Add(1)
	}
	p.sent[row.Seq] = true
	p.mu.Unlock()
	seq := row.Seq
	err := sess.Go(p.ctx, body, func(r smpp.Response) {
		p.mu.Lock()
		p.inflight--
		if r.Err == nil && r.Status() == pdu.StatusOK {
			p.acked = append(p.acked, seq)
		} else {
			p.failed = true
		}
		p.mu.Unlock()
		p.signal()
	})
	if err != nil {
		p.mu.Lock()
		p.inflight--
		p.failed = true
		p.mu.Unlock()
		return false
	}
	return true
}

// drain waits for the outstanding deliver_sm, then records the
// acknowledgements.
func (p *pusher) drain(log interface {
	Warn(string, ...any)
}) {
	for {
		p.mu.Lock()
		n := p.inflight
		p.mu.Unlock()
		if n == 0 {
			break
		}
		// The session hands every outstanding request back when it ends,
		// and times them out otherwise: this wait is bounded.
		<-p.wake
	}
	p.ack(log)
}

// ack deletes the acknowledged rows. The rows stay in p.acked when the
// store fails, to be deleted with the next batch.
func (p *pusher) ack(log interface {
	Warn(string, ...any)
}) {
	p.mu.Lock()
	seqs := p.acked
	p.acked = nil
	p.mu.Unlock()
	if len(seqs) == 0 {
		return
	}
	if err := p.s.o.Store.AckClientMessages(context.WithoutCancel(p.ctx), p.account, seqs); err != nil {
		log.Warn("smpp client outbox: recording acknowledgements failed", "rows", len(seqs), "err", err)
		p.mu.Lock()
		p.acked = append(seqs, p.acked...)
		p.mu.Unlock()
		return
	}
	p.s.stats.ReceiptsSent.Add(uint64(len(seqs)))
	p.mu.Lock()
	for _, q := range seqs {
		delete(p.sent, q)
	}
	p.mu.Unlock()
}

// deliverSM builds the deliver_sm of an outbox row: for a receipt, the
// SMPP 3.4 Appendix B text plus the receipted_message_id and
// message_state TLVs, from the recipient to the message's sender.
func deliverSM(row *herald.ClientMessage) *pdu.DeliverSM {
	d := &pdu.DeliverSM{}
	d.Source = address(row.To)
	d.Dest = address(row.From)
	if row.Kind == herald.ClientInbound {
		d.Source, d.Dest = address(row.From), address(row.To)
		setText(d, row.Body)
		return d
	}
	state := MessageState(row.Status)
	d.ESMClass = pdu.ESMClassDeliveryReceipt
	if !row.Status.Final() {
		d.ESMClass = pdu.ESMClassIntermediate
	}
	delivered := 0
	if row.Status == herald.StatusDelivered {
		delivered = 1
	}
	errCode := row.ErrorCode
	if len(errCode) > 3 || strings.Trim(errCode, "0123456789") != "" {
		errCode = ""
	}
	rc := dlr.Receipt{ID: row.MessageID, Submitted: 1, Delivered: delivered, SubmitDate: row.SubmitAt,
		DoneDate: row.DoneAt, State: state, Err: errCode, Text: gsmSafe(row.Body)}
	d.Message = dlr.AppendFormat(nil, &rc)
	d.TLVs.SetCString(pdu.TagReceiptedMessageID, row.MessageID)
	d.TLVs.SetUint8(pdu.TagMessageState, state.MessageState())
	return d
}

// setText puts an inbound text in a deliver_sm: GSM 7-bit (unpacked,
// data_coding 0) when it can be, else UCS-2 (data_coding 8); in
// message_payload when it is longer than short_message allows.
func setText(d *pdu.DeliverSM, text string) {
	b, err := smstext.EncodeGSM7(text, smstext.Default, smstext.Default)
	if err != nil {
		d.DataCoding = 8
		b = utf16BE(text)
	}
	if len(b) > 254 {
		d.TLVs.Set(pdu.TagMessagePayload, b)
		return
	}
	d.Message = b
}

func utf16BE(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u>>8), byte(u))
	}
	return out
}

// address writes a Herald address as an SMPP one: E.164 as an
// international number, a short code as national, letters as
// alphanumeric.
func address(a string) pdu.Address {
	digits := strings.TrimPrefix(a, "+")
	if digits != "" && strings.Trim(digits, "0123456789") == "" {
		if strings.HasPrefix(a, "+") {
			return pdu.Address{TON: 1, NPI: 1, Addr: digits}
		}
		return pdu.Address{TON: 0, NPI: 1, Addr: digits}
	}
	return pdu.Address{TON: 5, NPI: 0, Addr: a}
}

// gsmSafe keeps the receipt's text: field to printable ASCII (the receipt
// is sent with data_coding 0).
func gsmSafe(s string) string {
	b := []byte(s)
	out := b[:0]
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			out = append(out, c)
		} else if c < 0x80 || c >= 0xc0 {
			out = append(out, '?')
		}
	}
	return string(out)
}
