package carrier

import (
	"context"
	"sync"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// InboundSink stores mobile-originated messages (deliver_sm that are not
// receipts) durably. A Receipts sink that also implements InboundSink
// gets them; otherwise they are acknowledged and counted only.
type InboundSink interface {
	// ReceiveMO returns nil once every deliver_sm (each a whole message or
	// one part of one) is durable; an error asks the carrier to retry.
	ReceiveMO(ctx context.Context, carrier string, ds []*pdu.DeliverSM) error
}

// moQueue collects inbound deliver_sm from every bind for the batcher.
type moQueue struct {
	mu   sync.Mutex
	q    []*smpp.Request // mu guards q
	wake chan struct{}
}

// queueMO queues an inbound deliver_sm; it is acknowledged once stored.
func (l *Link) queueMO(r *smpp.Request) {
	l.inbound.Add(1)
	l.mo.mu.Lock()
	l.mo.q = append(l.mo.q, r)
	l.mo.mu.Unlock()
	select {
	case l.mo.wake <- struct{}{}:
	default:
	}
}

// storeMO stores queued inbound messages in batches and acknowledges each
// deliver_sm after its batch is durable; when the store fails the carrier
// is asked to retry (ESME_RX_T_APPN), so none is lost.
func (l *Link) storeMO(ctx context.Context) {
	var batch []*smpp.Request
	for {
		select {
		case <-l.mo.wake:
		case <-ctx.Done():
			l.mo.mu.Lock()
			rest := l.mo.q
			l.mo.q = nil
			l.mo.mu.Unlock()
			for _, r := range rest {
				r.Respond(pdu.StatusXTAppn, nil)
			}
			return
		}
		l.mo.mu.Lock()
		batch, l.mo.q = l.mo.q, batch[:0]
		l.mo.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		ds := make([]*pdu.DeliverSM, len(batch))
		for i, r := range batch {
			ds[i] = r.Body.(*pdu.DeliverSM)
		}
		status := pdu.StatusOK
		if err := l.moSink.ReceiveMO(ctx, l.cfg.Name, ds); err != nil {
			l.log.Error("storing inbound messages failed; asking the carrier to retry", "messages", len(ds), "err", err)
			status = pdu.StatusXTAppn
		}
		for i := range batch {
			batch[i].Respond(status, nil)
			batch[i] = nil
		}
	}
}
