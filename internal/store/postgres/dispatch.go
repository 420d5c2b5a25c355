package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// Pending implements store.Dispatch. In cluster mode a node's
// dispatcher gets its work by Claim: Pending gives the cluster back what
// this node owned when it stopped (Recover) and returns nothing.
func (s *Store) Pending(ctx context.Context) ([]*herald.Message, error) {
	if s.cl.node != "" {
		if _, _, err := s.Recover(ctx, s.cl.node); err != nil {
			return nil, err
		}
		return nil, nil
	}
	ids, err := strs(s.pool.Query(ctx, `SELECT id FROM messages
		WHERE status IN ('accepted', 'scheduled', 'queued', 'sending') ORDER BY id`))
	if err != nil {
		return nil, fmt.Errorf("postgres: pending: %w", err)
	}
	var out []*herald.Message
	for chunk := range slices.Chunk(ids, 1000) {
		ms, err := readMessages(ctx, s.pool, chunk, "")
		if err != nil {
			return nil, fmt.Errorf("postgres: pending: %w", err)
		}
		out = append(out, ms...)
	}
	return out, nil
}

// strs collects a one-column text result.
func strs(rows pgx.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Apply implements store.Dispatch.
func (s *Store) Apply(ctx context.Context, ts []store.Transition) ([]store.Applied, error) {
	out := make([]store.Applied, len(ts))
	var n needs
	for _, t := range ts {
		n.ids = append(n.ids, t.MessageID)
		for _, k := range t.CorrelationKeys {
			n.keys = append(n.keys, correlation{carrier: t.Carrier, key: k})
		}
	}
	err := s.write(ctx, n, func(w *wtx) error {
		clear(out)
		b := newBatch(w)
		if err := w.lock(n.ids); err != nil {
			return err
		}
		if err := w.lockKeys(n.keys); err != nil {
			return err
		}
		for i := range ts {
			st, idx, err := b.part(ts[i].PartRef)
			if err != nil {
				if herald.ErrorKind(err) == herald.KindNotFound {
					continue
				}
				return err
			}
			out[i].Changed, err = b.transition(st, idx, ts[i])
			if err != nil {
				return err
			}
		}
		if err := b.flush(); err != nil {
			return err
		}
		for i := range ts {
			if st := b.msgs[ts[i].MessageID]; st != nil {
				out[i].MessageStatus = st.m.Status
				out[i].MessageFinal = st.m.Status.Final() && !st.orig.Final()
			}
		}
		return nil
	})
	return out, err
}

// ApplyReceipts implements store.Dispatch.
func (s *Store) ApplyReceipts(ctx context.Context, rs []store.Receipt) error {
	var n needs
	for _, r := range rs {
		for _, k := range r.CorrelationKeys {
			n.keys = append(n.keys, correlation{carrier: r.Carrier, key: k})
		}
	}
	return s.write(ctx, n, func(w *wtx) error {
		b := newBatch(w)
		if err := w.lockKeys(n.keys); err != nil {
			return err
		}
		var ids []string
		for _, k := range n.keys {
			for _, ref := range w.g.known[k.carrier+"\n"+k.key] {
				ids = append(ids, ref.MessageID)
			}
		}
		if err := w.lock(ids); err != nil {
			return err
		}
		for _, r := range rs {
			if err := b.receipt(r); err != nil {
				return err
			}
		}
		return b.flush()
	})
}

// ExpireOverdue implements store.Dispatch.
func (s *Store) ExpireOverdue(ctx context.Context, now, sentBefore time.Time) (int, error) {
	n := 0
	err := s.write(ctx, needs{}, func(w *wtx) error {
		n = 0
		b := newBatch(w)
		ids, err := strs(w.tx.Query(w.ctx, `SELECT id FROM messages WHERE status IN ('accepted', 'scheduled', 'queued')
			AND valid_until <> 0 AND valid_until < $1 LIMIT 10000`, ns(now)))
		if err != nil {
			return fmt.Errorf("postgres: overdue: %w", err)
		}
		rows, err := w.query("overdue", `SELECT message_id, seq FROM parts WHERE status = 'sent' AND submitted_at < $1
			LIMIT 10000`, ns(sentBefore))
		if err != nil {
			return err
		}
		refs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[store.PartRef])
		if err != nil {
			return fmt.Errorf("postgres: overdue: %w", err)
		}
		all := slices.Clone(ids)
		for _, r := range refs {
			all = append(all, r.MessageID)
		}
		if err := w.lock(all); err != nil {
			return err
		}
		for _, id := range ids {
			st, err := b.load(id)
			if err != nil {
				continue // gone meanwhile
			}
			switch st.m.Status {
			case herald.StatusAccepted, herald.StatusScheduled, herald.StatusQueued:
			default:
				continue // it moved on since the SELECT
			}
			for i := range st.m.Parts {
				ok, err := b.transition(st, i, store.Transition{To: herald.StatusExpired, At: now,
					ErrorCode: "validity_expired", ErrorMessage: "the validity period passed before the message could be sent"})
				if err != nil {
					return err
				}
				if ok {
					n++
				}
			}
		}
		for _, r := range refs {
			st, idx, err := b.part(r)
			if err != nil {
				continue
			}
			if st.m.Parts[idx].Status != herald.StatusSent {
				continue // a receipt came meanwhile
			}
			ok, err := b.transition(st, idx, store.Transition{To: herald.StatusUnknown, At: now,
				Detail: "no delivery receipt within the receipt window"})
			if err != nil {
				return err
			}
			if ok {
				n++
			}
		}
		// Receipts kept for a submit response that has not come within
		// the receipt window: none will come now, and nothing else would
		// ever delete them.
		if _, err := w.tx.Exec(w.ctx, `DELETE FROM orphan_keys WHERE orphan_id IN
			(SELECT id FROM orphan_receipts WHERE at < $1)`, ns(sentBefore)); err != nil {
			return fmt.Errorf("postgres: purge kept receipts: %w", err)
		}
		if _, err := w.tx.Exec(w.ctx, `DELETE FROM orphan_receipts WHERE at < $1`, ns(sentBefore)); err != nil {
			return fmt.Errorf("postgres: purge kept receipts: %w", err)
		}
		return b.flush()
	})
	return n, err
}

// msgState is a message an op changes, with what changed.
type msgState struct {
	m      *herald.Message // the op's copy (w.op.msgs)
	orig   herald.Status
	dirty  []int // part indexes to write back
	resent int   // resends added by this op
	routed bool  // the message's carrier changed (routed at dispatch)
	cause  *store.Transition
	events []herald.Event // part-level events
}

// batch applies transitions to messages within one op and hands the
// results to the op's changes.
type batch struct {
	w     *wtx
	msgs  map[string]*msgState
	order []*msgState
}

func newBatch(w *wtx) *batch {
	return &batch{w: w, msgs: map[string]*msgState{}}
}

// load returns a message's state, locking it if the transaction has not.
func (b *batch) load(id string) (*msgState, error) {
	if st := b.msgs[id]; st != nil {
		return st, nil
	}
	if err := b.w.lock([]string{id}); err != nil {
		return nil, err
	}
	m := b.w.op.msgs[id]
	if m == nil {
		return nil, notFound("message")
	}
	st := &msgState{m: m, orig: m.Status}
	b.msgs[id] = st
	b.order = append(b.order, st)
	return st, nil
}

func (b *batch) part(r store.PartRef) (*msgState, int, error) {
	st, err := b.load(r.MessageID)
	if err != nil {
		return nil, 0, err
	}
	for i := range st.m.Parts {
		if st.m.Parts[i].Seq == r.Seq {
			return st, i, nil
		}
	}
	return nil, 0, notFound("part")
}

// transition applies t to part i of st if the state machine allows it.
func (b *batch) transition(st *msgState, i int, t store.Transition) (bool, error) {
	carrier := st.m.Carrier
	if b.w.s.fenced(st.m, t) || !store.ApplyTransition(st.m, i, t) {
		return false, nil
	}
	if st.m.Carrier != carrier {
		st.routed = true
	}
	if t.Resent {
		st.resent++
	}
	if !slices.Contains(st.dirty, i) {
		st.dirty = append(st.dirty, i)
	}
	tc := t
	st.cause = &tc
	if st.m.PartCount > 1 {
		st.events = append(st.events, store.PartEvent(st.m, st.m.Parts[i].Seq, t))
	}
	if len(t.CorrelationKeys) > 0 {
		if err := b.correlate(st, i, t); err != nil {
			return true, err
		}
	}
	return true, nil
}

// correlate records the part's receipt keys and applies any receipt that
// arrived for them before this response.
func (b *batch) correlate(st *msgState, i int, t store.Transition) error {
	p := st.m.Parts[i]
	ref := store.PartRef{MessageID: st.m.ID, Seq: p.Seq}
	var keys []correlation
	for _, k := range t.CorrelationKeys {
		keys = append(keys, correlation{carrier: t.Carrier, key: k, ref: ref})
	}
	if err := b.w.lockKeys(keys); err != nil {
		return err
	}
	b.w.op.corr = append(b.w.op.corr, keys...)
	var orphans []int64
	for _, c := range keys {
		ck := c.carrier + "\n" + c.key
		for _, id := range b.w.g.orphans[ck] {
			if !slices.Contains(orphans, id) {
				orphans = append(orphans, id)
			}
		}
		// The receipts are applied now; the DELETE below makes this
		// op write, so if it fails the whole group is undone.
		delete(b.w.g.orphans, ck)
	}
	slices.Sort(orphans)
	for _, id := range orphans {
		var to, code, stat, rerr string
		var at int64
		err := b.w.queryRow(`DELETE FROM orphan_receipts WHERE id = $1
			RETURNING to_status, at, carrier_code, receipt_stat, receipt_err`, id).Scan(&to, &at, &code, &stat, &rerr)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // applied through another of its keys
		}
		if err != nil {
			return fmt.Errorf("postgres: kept receipt: %w", err)
		}
		b.w.wrote = true
		b.w.later(`DELETE FROM orphan_keys WHERE orphan_id = $1`, id)
		if _, err := b.transition(st, i, store.Transition{PartRef: ref,
			To: herald.Status(to), At: tm(at), Carrier: t.Carrier, CarrierCode: code, ReceiptStat: stat, ReceiptErr: rerr,
			Detail: "receipt arrived before the submit response"}); err != nil {
			return err
		}
	}
	return nil
}

// receipt applies a delivery receipt to the part its keys name, or keeps
// it until that part's submit response is recorded. The keys' locks are
// held, and the group knows their correlations (w.g.known, and g.corr
// for those this transaction adds).
func (b *batch) receipt(r store.Receipt) error {
	for _, k := range r.CorrelationKeys {
		refs := slices.Clone(b.w.g.known[r.Carrier+"\n"+k])
		for _, c := range slices.Concat(b.w.g.corr, b.w.op.corr) {
			if c.carrier == r.Carrier && c.key == k && !slices.Contains(refs, c.ref) {
				refs = append(refs, c.ref)
			}
		}
		for _, ref := range refs {
			st, idx, err := b.part(ref)
			if err != nil {
				if herald.ErrorKind(err) == herald.KindNotFound {
					continue
				}
				return err
			}
			ok, err := b.transition(st, idx, store.Transition{PartRef: ref, To: r.To, At: r.At, Carrier: r.Carrier,
				CarrierCode: r.CarrierCode, ReceiptStat: r.ReceiptStat, ReceiptErr: r.ReceiptErr})
			if err != nil || ok {
				return err
			}
		}
		if len(refs) > 0 {
			return nil // matched, but a duplicate or late receipt: ignored by the state machine
		}
	}
	var id int64
	err := b.w.queryRow(`INSERT INTO orphan_receipts (carrier, keys, to_status, at, carrier_code, receipt_stat, receipt_err)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, r.Carrier, strings.Join(r.CorrelationKeys, " "), string(r.To),
		ns(r.At), r.CarrierCode, r.ReceiptStat, r.ReceiptErr).Scan(&id)
	if err != nil {
		return fmt.Errorf("postgres: keep receipt: %w", err)
	}
	b.w.wrote = true
	if _, err := b.w.exec("keep receipt", `INSERT INTO orphan_keys (carrier, key, orphan_id)
		SELECT $1, k, $3 FROM unnest($2::text[]) AS k ON CONFLICT DO NOTHING`, r.Carrier, r.CorrelationKeys, id); err != nil {
		return err
	}
	// A submit response later in this transaction finds it kept.
	for _, k := range r.CorrelationKeys {
		b.w.g.orphans[r.Carrier+"\n"+k] = append(b.w.g.orphans[r.Carrier+"\n"+k], id)
	}
	return nil
}

// flush hands every changed part and message, with events and webhook
// deliveries for message-level changes, to the op's changes.
func (b *batch) flush() error {
	for _, st := range b.order {
		if len(st.dirty) == 0 {
			continue
		}
		if err := b.flushOne(st); err != nil {
			return err
		}
	}
	return nil
}

func (b *batch) flushOne(st *msgState) error {
	op := b.w.op
	for _, i := range st.dirty {
		op.markPart(store.PartRef{MessageID: st.m.ID, Seq: st.m.Parts[i].Seq})
	}
	op.events = append(op.events, st.events...)
	st.events = nil
	st.dirty = nil
	before := st.m.Status
	events, notify, write := store.Settle(st.m, st.resent, st.cause)
	st.resent = 0
	if !write && !st.routed {
		return nil
	}
	st.routed = false
	op.markMessage(st.m.ID)
	op.events = append(op.events, events...)
	if st.m.Status != before {
		b.queueClientReceipt(st)
	}
	if notify != nil {
		return b.deliveries(st.m, notify)
	}
	return nil
}

// endpoints returns the account's enabled webhook endpoints, read (FOR
// SHARE) once per transaction.
func (w *wtx) endpoints(accountID string) ([]*herald.WebhookEndpoint, error) {
	if eps, ok := w.g.eps[accountID]; ok {
		return eps, nil
	}
	eps, err := loadEndpoints(w.ctx, w.tx, accountID, true)
	if err != nil {
		return nil, err
	}
	w.g.eps[accountID] = eps
	return eps, nil
}

// deliveries queues the event for the message's callback URL and every
// enabled endpoint of the account that wants it. Endpoints are read in
// the transaction, not cached: another node may have just added one.
func (b *batch) deliveries(m *herald.Message, ev *herald.Event) error {
	var payload []byte
	add := func(endpointID, url, secret string) {
		if payload == nil {
			payload = herald.Payload(ev, m)
		}
		b.w.op.dels = append(b.w.op.dels, delivery{id: herald.NewID("dlv", ev.At.UnixMilli()), accountID: m.AccountID,
			messageID: m.ID, eventID: ev.ID, endpointID: endpointID, url: url, secret: secret, payload: payload, at: ns(ev.At)})
	}
	if m.CallbackURL != "" {
		sec, err := b.w.callbackSecret(m.AccountID)
		if err != nil {
			return err
		}
		add("", m.CallbackURL, sec)
	}
	eps, err := b.w.endpoints(m.AccountID)
	if err != nil {
		return err
	}
	for _, e := range eps {
		if e.Wants(ev.Type) {
			add(e.ID, e.URL, e.Secret)
		}
	}
	return nil
}
