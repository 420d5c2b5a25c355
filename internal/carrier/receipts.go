package carrier

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/dlr"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/store"
)

// pendingReceipt is a receipt waiting to be stored, with the deliver_sm
// to acknowledge once it is.
type pendingReceipt struct {
	r   store.Receipt
	req *smpp.Request
}

// receiptQueue collects receipts from every bind for the batcher.
type receiptQueue struct {
	mu sync.Mutex
	q  []pendingReceipt // mu guards q
}

// serve handles requests from the carrier: receipts are stored in
// batches and acknowledged after the commit; other deliver_sm (inbound
// messages) likewise go to the InboundSink when the sink is one, else
// they are acknowledged and counted.
func (l *Link) serve(r *smpp.Request) {
	switch b := r.Body.(type) {
	case *pdu.DeliverSM:
		if b.IsReceipt() {
			l.receipt(r, &b.ShortMessage)
			return
		}
		if l.moSink != nil {
			l.queueMO(r)
			return
		}
		l.inbound.Add(1)
		// Inbound (MO) handling arrives with two-way messaging; until then
		// it is counted and logged, never silently dropped.
		l.log.Warn("inbound message not handled yet", "from_prefix", prefix(b.Source.Addr))
		r.Respond(pdu.StatusOK, nil)
	case *pdu.DataSM:
		r.Respond(pdu.StatusOK, &pdu.DataSMResp{})
	default:
		r.Respond(pdu.StatusOK, nil)
	}
}

func prefix(addr string) string {
	if len(addr) > 5 {
		return addr[:5]
	}
	return addr
}

func (l *Link) receipt(r *smpp.Request, sm *pdu.ShortMessage) {
	rc, err := dlr.Parse(sm.Message)
	if err != nil && len(sm.Message) > 0 {
		rc = dlr.Receipt{}
	}
	t := dlr.TLVs{}
	t.ReceiptedMessageID, _ = sm.TLVs.CString(pdu.TagReceiptedMessageID)
	t.MessageState, t.HasMessageState = sm.TLVs.Uint8(pdu.TagMessageState)
	t.NetworkErrorCode, _ = sm.TLVs.Get(pdu.TagNetworkErrorCode)
	rc.ApplyTLVs(t)
	l.receiptsIn.Add(1)
	to, final := statusOf(rc.State)
	if rc.ID == "" || !final {
		// Nothing to correlate, or an intermediate notification (ENROUTE,
		// ACCEPTD): acknowledge; the final receipt decides.
		r.Respond(pdu.StatusOK, nil)
		return
	}
	format := l.cfg.ReceiptIDFormat
	if t.ReceiptedMessageID != "" {
		// By the specification receipted_message_id is the submit's id.
		format = l.cfg.SubmitIDFormat
	}
	keys, err := dlr.Keys(rc.ID, format)
	if err != nil || len(keys) == 0 {
		keys = []string{strings.TrimSpace(rc.ID)}
	}
	code := rc.Stat
	if code == "" {
		code = rc.State.String()
	}
	if rc.Err != "" {
		code += "/err:" + rc.Err
	}
	l.receipts.mu.Lock()
	l.receipts.q = append(l.receipts.q, pendingReceipt{req: r, r: store.Receipt{
		Carrier: l.cfg.Name, CorrelationKeys: keys, To: to, At: time.Now().UTC(),
		CarrierCode: code, ReceiptStat: rc.Stat, ReceiptErr: rc.Err,
	}})
	l.receipts.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// statusOf maps a receipt state to Herald's status; final is false for
// intermediate states.
func statusOf(s dlr.State) (herald.Status, bool) {
	switch s {
	case dlr.StateDelivered:
		return herald.StatusDelivered, true
	case dlr.StateExpired:
		return herald.StatusExpired, true
	case dlr.StateUndeliverable, dlr.StateRejected, dlr.StateDeleted, dlr.StateSkipped:
		return herald.StatusUndelivered, true
	case dlr.StateUnknown:
		return herald.StatusUnknown, true
	}
	return "", false
}

// storeReceipts stores queued receipts in batches and acknowledges each
// deliver_sm after its batch committed; when the store fails, the SMSC is
// asked to retry (ESME_RX_T_APPN) so no receipt is lost.
func (l *Link) storeReceipts(ctx context.Context) {
	var batch []pendingReceipt
	for {
		select {
		case <-l.wake:
		case <-ctx.Done():
			l.receipts.mu.Lock()
			rest := l.receipts.q
			l.receipts.q = nil
			l.receipts.mu.Unlock()
			for _, p := range rest {
				p.req.Respond(pdu.StatusXTAppn, nil)
			}
			return
		}
		l.receipts.mu.Lock()
		batch, l.receipts.q = l.receipts.q, batch[:0]
		l.receipts.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		rs := make([]store.Receipt, len(batch))
		for i, p := range batch {
			rs[i] = p.r
		}
		status := pdu.StatusOK
		if err := l.sink.ApplyReceipts(ctx, rs); err != nil {
			l.log.Error("storing receipts failed; asking the carrier to retry", "receipts", len(rs), "err", err)
			status = pdu.StatusXTAppn
		} else if l.cfg.OnReceipt != nil {
			// Health and latency count a receipt once it is stored: one
			// the carrier must send again is not counted twice.
			for _, r := range rs {
				l.cfg.OnReceipt(r.To, l.timed.take(r.CorrelationKeys, r.At))
			}
		}
		for i := range batch {
			batch[i].req.Respond(status, nil)
			batch[i] = pendingReceipt{}
		}
	}
}
