package smscsim

import (
	"errors"
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/dlr"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smstext"
)

// Network errors the receipts report, as GSM MAP error codes in
// network_error_code (network type 3) and in the err: field.
const (
	netErrNone              = 0  // DELIVRD
	netErrUnknownSubscriber = 1  // UNDELIV
	netErrAbsentSubscriber  = 27 // EXPIRED
)

// receipt is one delivery receipt from its creation (at submit) until the
// ESME acknowledges it.
type receipt struct {
	sim    *Simulator
	id     uint64        // the message id, as a number
	acct   *account      // the system_id that submitted the message
	origin *smpp.Session // the bind the message came on

	submitted time.Time
	done      time.Time // set when the receipt first falls due
	state     dlr.State
	netErr    uint16
	src, dst  pdu.Address // of the deliver_sm: the submit's destination and source
	text      string      // start of the message for the text: field
}

// fire implements event: the receipt is due (first time or a retry).
func (r *receipt) fire(now time.Time) {
	if r.done.IsZero() {
		r.done = now
	}
	r.acct.route(r)
}

// newReceipt creates the receipt of message seq when registered_delivery
// asks for one, counting it; it returns nil when none is wanted or the
// pending bound is reached.
func (sim *Simulator) newReceipt(seq, id uint64, s *smpp.Session, m *message, now time.Time) *receipt {
	state, netErr := sim.drawState(seq)
	switch m.registeredDelivery & 0x03 {
	case pdu.RegisteredDeliveryNone:
		return nil
	case pdu.RegisteredDeliveryFailure:
		if state == dlr.StateDelivered {
			return nil
		}
	}
	if sim.stats.receiptsPending.Add(1) > int64(sim.opts.MaxPendingReceipts) {
		sim.stats.receiptsPending.Add(-1)
		sim.stats.receiptsDropped.Add(1)
		return nil
	}
	sim.stats.receiptsQueued.Add(1)
	return &receipt{
		sim:       sim,
		id:        id,
		acct:      sim.accountOf(s),
		origin:    s,
		submitted: now,
		state:     state,
		netErr:    netErr,
		src:       m.dst,
		dst:       m.src,
		text:      receiptText(m),
	}
}

// drawState draws the final state of message seq.
func (sim *Simulator) drawState(seq uint64) (dlr.State, uint16) {
	undeliv := sim.undelivFraction()
	if undeliv == 0 && sim.opts.Expired == 0 {
		return dlr.StateDelivered, netErrNone
	}
	u := unit(sim.draw(seq, saltState))
	switch {
	case u < undeliv:
		return dlr.StateUndeliverable, netErrUnknownSubscriber
	case u < undeliv+sim.opts.Expired:
		return dlr.StateExpired, netErrAbsentSubscriber
	}
	return dlr.StateDelivered, netErrNone
}

// receiptText returns the first 20 characters of the message for the
// receipt's text: field, or "" when its coding is not text.
func receiptText(m *message) string {
	b := m.payload
	udhi := m.esmClass&pdu.ESMClassUDHI != 0
	if !udhi && len(b) > 0 && sameAsASCII(b[:min(len(b), 20)], m.dataCoding) {
		return string(b[:min(len(b), 20)])
	}
	// 20 characters take at most 40 octets in UCS-2 (80 with surrogate
	// pairs, which are rare enough to be cut) and 40 in GSM-7 escapes.
	limit := 40
	if udhi && len(b) > 0 {
		limit += 1 + int(b[0])
	}
	if len(b) > limit {
		b = b[:limit]
	}
	d, err := smstext.Decode(b, m.dataCoding, udhi, smstext.DecodeOptions{})
	if err != nil || d.Encoding == smstext.Binary {
		return ""
	}
	t := d.Text
	n := 0
	for i := range t {
		if n == 20 {
			return t[:i]
		}
		n++
	}
	return t
}

// sameAsASCII reports whether b decodes in data coding dc to the same
// ASCII text, which spares the common case a decoder. In the GSM 7-bit
// default alphabet that holds for letters, digits, space and most
// punctuation, but not for '$', '@', '[' to '`' and '{' to DEL.
func sameAsASCII(b []byte, dc uint8) bool {
	switch dc {
	case 0x00:
		for _, c := range b {
			if c < 0x20 || c == '$' || c == '@' || (c >= '[' && c <= '`') || c >= '{' {
				return false
			}
		}
		return true
	case 0x01, 0x03:
		for _, c := range b {
			if c < 0x20 || c > 0x7E {
				return false
			}
		}
		return true
	}
	return false
}

// errText is the err: field of a receipt.
func errText(netErr uint16) string {
	switch netErr {
	case netErrNone:
		return "000"
	case netErrUnknownSubscriber:
		return "001"
	case netErrAbsentSubscriber:
		return "027"
	}
	return "999"
}

// receiptPDU builds the deliver_sm of r: Appendix B text, esm_class
// 0x04, and the receipted_message_id, message_state and
// network_error_code TLVs.
func (sim *Simulator) receiptPDU(r *receipt) *pdu.DeliverSM {
	var idBuf [20]byte
	id := appendID(idBuf[:0], sim.opts.ReceiptIDFormat, r.id)
	rc := dlr.Receipt{
		ID:         string(id),
		Submitted:  1,
		SubmitDate: r.submitted,
		DoneDate:   r.done,
		State:      r.state,
		Err:        errText(r.netErr),
		Text:       r.text,
	}
	if r.state == dlr.StateDelivered {
		rc.Delivered = 1
	}
	// One buffer holds the text and the three TLV values, and one
	// allocation the PDU and its TLV list.
	buf := dlr.AppendFormat(make([]byte, 0, 128+2*len(id)+len(r.text)), &rc)
	n := len(buf)
	buf = append(append(buf, id...), 0)
	buf = append(buf, r.state.MessageState())
	buf = dlr.AppendNetworkError(buf, dlr.NetworkError{Type: dlr.NetworkGSM, Code: r.netErr})
	idEnd := n + len(id) + 1
	p := &receiptMsg{}
	p.tlvs = [3]pdu.TLV{
		{Tag: pdu.TagReceiptedMessageID, Value: buf[n:idEnd:idEnd]},
		{Tag: pdu.TagMessageState, Value: buf[idEnd : idEnd+1 : idEnd+1]},
		{Tag: pdu.TagNetworkErrorCode, Value: buf[idEnd+1:]},
	}
	p.DeliverSM = pdu.DeliverSM{ShortMessage: pdu.ShortMessage{
		Source:   r.src,
		Dest:     r.dst,
		ESMClass: pdu.ESMClassDeliveryReceipt,
		Message:  buf[:n:n],
		TLVs:     p.tlvs[:],
	}}
	return &p.DeliverSM
}

// receiptMsg is a receipt deliver_sm with room for its TLV list.
type receiptMsg struct {
	pdu.DeliverSM
	tlvs [3]pdu.TLV
}

// sendReceipt sends r on s without waiting for the answer. It returns an
// error, and r was not sent, when s or the simulator has ended.
func (sim *Simulator) sendReceipt(s *smpp.Session, r *receipt) error {
	err := s.Go(sim.ctx, sim.receiptPDU(r), r.answered)
	if err != nil {
		return err
	}
	sim.stats.receiptsSent.Add(1)
	return nil
}

// answered handles the outcome of a receipt's deliver_sm. It runs on the
// session's reader goroutine (or the goroutine ending the session) and
// does not block.
func (r *receipt) answered(resp smpp.Response) {
	sim := r.sim
	if resp.Error() == nil {
		sim.stats.receiptsAcked.Add(1)
		sim.stats.receiptsPending.Add(-1)
		return
	}
	sim.stats.receiptsFailed.Add(1)
	sim.stats.receiptsRetried.Add(1)
	if errors.Is(resp.Err, smpp.ErrNotSent) {
		// Never reached the ESME: another bind may take it now.
		r.acct.route(r)
		return
	}
	sim.sched.at(time.Now().Add(sim.opts.RetryDelay), r)
}
