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
	at  time.Time // when it arrived
}

// receiptQueue collects receipts from every bind for the batcher.
//
// It also knows the correlation keys of submit responses whose outcome
// the dispatcher has not yet stored (unrecorded): a receipt for one of
// them is held back until it is (Result.Recorded), for at most maxHold.
// Carriers commonly send the receipt right after the response; without
// the hold it would often reach the store first, be kept there as an
// orphan and be applied by the response's write: six statements instead
// of none.
type receiptQueue struct {
	mu         sync.Mutex
	q          []pendingReceipt // mu guards q, unrecorded and held
	unrecorded map[string]int   // key → responses awaiting their record
	held       int              // receipts of q held for an unrecorded key
}

// maxHold bounds how long a receipt waits for its submit response's
// record; past it, it is stored anyway (and kept as an orphan if the
// response is still not recorded).
const maxHold = 2 * time.Second

// awaiting notes the keys of a response handed to the dispatcher.
func (q *receiptQueue) awaiting(keys []string) {
	q.mu.Lock()
	if q.unrecorded == nil {
		q.unrecorded = map[string]int{}
	}
	for _, k := range keys {
		q.unrecorded[k]++
	}
	q.mu.Unlock()
}

// recorded forgets keys whose response is stored and reports whether
// receipts are held (the batcher should look again).
func (q *receiptQueue) recorded(keys []string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, k := range keys {
		if n := q.unrecorded[k]; n > 1 {
			q.unrecorded[k] = n - 1
		} else {
			delete(q.unrecorded, k)
		}
	}
	return q.held > 0
}

// take moves the receipts ready to store into batch and returns it, with
// the time the oldest held receipt stops waiting (zero if none is held).
func (q *receiptQueue) take(batch []pendingReceipt, now time.Time) ([]pendingReceipt, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var until time.Time
	kept := q.q[:0]
	for _, p := range q.q {
		if q.waits(p, now) {
			kept = append(kept, p)
			if end := p.at.Add(maxHold); until.IsZero() || end.Before(until) {
				until = end
			}
			continue
		}
		batch = append(batch, p)
	}
	clear(q.q[len(kept):])
	q.q, q.held = kept, len(kept)
	return batch, until
}

// waits reports whether p is held for an unrecorded response.
func (q *receiptQueue) waits(p pendingReceipt, now time.Time) bool {
	if now.Sub(p.at) >= maxHold {
		return false
	}
	for _, k := range p.r.CorrelationKeys {
		if q.unrecorded[k] > 0 {
			return true
		}
	}
	return false
}

// recorded is Result.Recorded: the response with keys is stored.
func (l *Link) recorded(keys []string) {
	if l.receipts.recorded(keys) {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
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
	now := time.Now()
	l.receipts.mu.Lock()
	l.receipts.q = append(l.receipts.q, pendingReceipt{req: r, at: now, r: store.Receipt{
		Carrier: l.cfg.Name, CorrelationKeys: keys, To: to, At: now.UTC(),
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
	hold := time.NewTimer(time.Hour) // armed while receipts are held
	hold.Stop()
	defer hold.Stop()
	for {
		select {
		case <-l.wake:
		case <-hold.C:
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
		now := time.Now()
		var until time.Time
		batch, until = l.receipts.take(batch[:0], now)
		hold.Stop()
		if !until.IsZero() {
			hold.Reset(until.Sub(now))
		}
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
