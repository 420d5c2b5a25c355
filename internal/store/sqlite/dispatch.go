package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// Pending implements store.Dispatch.
func (s *Store) Pending(ctx context.Context) ([]*herald.Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE `+pendingStatus+` ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending: %w", err)
	}
	var out []*herald.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: pending: %w", err)
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: pending: %w", err)
	}
	for _, m := range out {
		if m.Parts, err = s.parts(ctx, m.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Apply implements store.Dispatch.
func (s *Store) Apply(ctx context.Context, ts []store.Transition) ([]store.Applied, error) {
	out := make([]store.Applied, len(ts))
	err := s.write(ctx, func(w *wtx) error {
		b := newBatch(w)
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
	}, nil)
	return out, err
}

// ApplyReceipts implements store.Dispatch.
func (s *Store) ApplyReceipts(ctx context.Context, rs []store.Receipt) error {
	return s.write(ctx, func(w *wtx) error {
		b := newBatch(w)
		for _, r := range rs {
			if err := b.receipt(r); err != nil {
				return err
			}
		}
		return b.flush()
	}, nil)
}

// ExpireOverdue implements store.Dispatch.
func (s *Store) ExpireOverdue(ctx context.Context, now, sentBefore time.Time) (int, error) {
	n := 0
	err := s.write(ctx, func(w *wtx) error {
		n = 0
		b := newBatch(w)
		ids, err := w.strings("expire.unsent", ns(now))
		if err != nil {
			return err
		}
		for _, id := range ids {
			st, err := b.load(id)
			if err != nil {
				return err
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
		rows, err := w.query("expire.sent", ns(sentBefore))
		if err != nil {
			return err
		}
		var refs []store.PartRef
		for rows.Next() {
			var r store.PartRef
			if err := rows.Scan(&r.MessageID, &r.Seq); err != nil {
				rows.Close()
				return err
			}
			refs = append(refs, r)
		}
		rows.Close()
		for _, r := range refs {
			st, idx, err := b.part(r)
			if err != nil {
				return err
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
		if err := w.purgeOrphans(sentBefore); err != nil {
			return err
		}
		return b.flush()
	}, nil)
	return n, err
}

// purgeOrphans deletes the receipts kept for a submit response that has
// not come within the receipt window: none will come now, and nothing
// else would ever delete them.
func (w *wtx) purgeOrphans(before time.Time) error {
	rows, err := w.query("orphan.old", ns(before))
	if err != nil {
		return err
	}
	var keys []string
	for rows.Next() {
		var carrier, ks string
		if err := rows.Scan(&carrier, &ks); err != nil {
			rows.Close()
			return err
		}
		for _, k := range strings.Fields(ks) {
			keys = append(keys, receiptKey(carrier, k))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	if _, err := w.exec("orphan.purgeKeys", ns(before)); err != nil {
		return err
	}
	if _, err := w.exec("orphan.purge", ns(before)); err != nil {
		return err
	}
	w.opKeys.unorphan = append(w.opKeys.unorphan, keys...)
	return nil
}

func (w *wtx) strings(name string, args ...any) ([]string, error) {
	rows, err := w.query(name, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// msgState is a message loaded into a batch, with what changed.
type msgState struct {
	m      *herald.Message
	orig   herald.Status
	dirty  map[int]bool // part indexes to write back
	resent int          // resends added in this batch
	routed bool         // the message's carrier changed (routed at dispatch)
	cause  *store.Transition
	events []herald.Event // part-level events
}

// batch applies transitions to messages inside one transaction and
// writes the results once.
type batch struct {
	w     *wtx
	msgs  map[string]*msgState
	order []*msgState

	// Rows written once, at the end of flush.
	parts, messages, events, dels, corr *multi
	outbox                              *multi // SMPP client receipts (smpp.go)
}

func newBatch(w *wtx) *batch {
	return &batch{w: w, msgs: map[string]*msgState{},
		parts: partUpdates.rows(), messages: messageUpdates.rows(), events: eventInserts.rows(),
		dels: deliveryInserts.rows(), corr: correlationInserts.rows(), outbox: receiptInserts.rows()}
}

func (b *batch) load(id string) (*msgState, error) {
	if st := b.msgs[id]; st != nil {
		return st, nil
	}
	m := b.w.s.cached(id)
	if m == nil {
		var err error
		if m, err = b.w.loadMessage(id, true); err != nil {
			return nil, err
		}
	}
	st := &msgState{m: m, orig: m.Status, dirty: map[int]bool{}}
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
	if !store.ApplyTransition(st.m, i, t) {
		return false, nil
	}
	if st.m.Carrier != carrier {
		st.routed = true
	}
	if t.Resent {
		st.resent++
	}
	st.dirty[i] = true
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
	var orphans []int64
	known := &b.w.s.receipts
	sent := &sentPart{ref: store.PartRef{MessageID: st.m.ID, Seq: p.Seq}, keys: make([]string, 0, len(t.CorrelationKeys))}
	b.w.opKeys.sent = append(b.w.opKeys.sent, sent)
	for _, k := range t.CorrelationKeys {
		b.corr.add(t.Carrier, k, st.m.ID, p.Seq)
		sent.keys = append(sent.keys, receiptKey(t.Carrier, k))
		if !known.mayHaveOrphan(t.Carrier, k) {
			continue
		}
		rows, err := b.w.query("orphan.find", t.Carrier, k)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			orphans = append(orphans, id)
		}
		rows.Close()
	}
	for _, id := range orphans {
		var keys, to, code, stat, rerr string
		var at int64
		err := b.w.queryRow("orphan.get", id).Scan(&keys, &to, &at, &code, &stat, &rerr)
		if errors.Is(err, sql.ErrNoRows) {
			continue // already applied through another key
		}
		if err != nil {
			return err
		}
		if _, err := b.w.exec("orphan.delete", id); err != nil {
			return err
		}
		if _, err := b.w.exec("orphan.unkey", id); err != nil {
			return err
		}
		for _, k := range strings.Fields(keys) {
			b.w.opKeys.unorphan = append(b.w.opKeys.unorphan, receiptKey(t.Carrier, k))
		}
		if _, err := b.transition(st, i, store.Transition{PartRef: store.PartRef{MessageID: st.m.ID, Seq: p.Seq},
			To: herald.Status(to), At: tm(at), Carrier: t.Carrier, CarrierCode: code, ReceiptStat: stat, ReceiptErr: rerr,
			Detail: "receipt arrived before the submit response"}); err != nil {
			return err
		}
	}
	return nil
}

// receipt applies a delivery receipt to the part its keys name, or keeps
// it until that part's submit response is recorded.
func (b *batch) receipt(r store.Receipt) error {
	apply := func(ref store.PartRef) (bool, error) {
		st, idx, err := b.part(ref)
		if herald.ErrorKind(err) == herald.KindNotFound {
			return false, nil // the key outlived its message
		}
		if err != nil {
			return false, err // a database failure: the whole call fails, nothing half-applied
		}
		return b.transition(st, idx, store.Transition{PartRef: ref, To: r.To, At: r.At, Carrier: r.Carrier,
			CarrierCode: r.CarrierCode, ReceiptStat: r.ReceiptStat, ReceiptErr: r.ReceiptErr})
	}
	for _, k := range r.CorrelationKeys {
		// The part this key was last sent under, if the writer knows it.
		if sp := b.w.s.receipts.sentPart(r.Carrier, k); sp != nil {
			ok, err := apply(sp.ref)
			if err != nil {
				return err
			}
			if ok {
				b.w.opKeys.done = append(b.w.opKeys.done, receiptKey(r.Carrier, k))
				return nil
			}
		}
		rows, err := b.w.query("corr.find", r.Carrier, k)
		if err != nil {
			return err
		}
		var refs []store.PartRef
		for rows.Next() {
			var ref store.PartRef
			if err := rows.Scan(&ref.MessageID, &ref.Seq); err != nil {
				rows.Close()
				return err
			}
			refs = append(refs, ref)
		}
		rows.Close()
		for _, ref := range refs {
			if ok, err := apply(ref); err != nil || ok {
				return err
			}
		}
		if len(refs) > 0 {
			return nil // matched, but a duplicate or late receipt: ignored by the state machine
		}
	}
	for _, k := range r.CorrelationKeys {
		b.w.s.receipts.orphans[receiptKey(r.Carrier, k)] = struct{}{}
	}
	res, err := b.w.exec("orphan.insert", r.Carrier, strings.Join(r.CorrelationKeys, " "), string(r.To), ns(r.At),
		r.CarrierCode, r.ReceiptStat, r.ReceiptErr)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for _, k := range r.CorrelationKeys {
		if _, err := b.w.exec("orphan.key", r.Carrier, k, id); err != nil {
			return err
		}
	}
	return nil
}

// flush writes back every changed part and message, with events and
// webhook deliveries for message-level changes.
func (b *batch) flush() error {
	for _, st := range b.order {
		if len(st.dirty) == 0 {
			continue
		}
		if err := b.flushOne(st); err != nil {
			return err
		}
		b.w.stage(st.m)
	}
	for _, m := range []*multi{b.parts, b.messages, b.events, b.dels, b.corr, b.outbox} {
		if err := b.w.flushMulti(m); err != nil {
			return err
		}
	}
	return nil
}

func (b *batch) addEvent(ev *herald.Event) {
	b.events.add(ev.ID, ev.AccountID, ev.MessageID, ev.Type, string(ev.Status), ev.PartSeq, ns(ev.At), ev.Carrier,
		ev.CarrierCode, ev.Detail)
}

func (b *batch) flushOne(st *msgState) error {
	for i := range st.dirty {
		p := &st.m.Parts[i]
		b.parts.add(st.m.ID, p.Seq, string(p.Status), p.CarrierMessageID, p.Attempts, p.SubmitStatus,
			p.ReceiptStat, p.ReceiptErr, ns(p.SubmittedAt), ns(p.DoneAt), ns(p.NextAttemptAt))
	}
	for i := range st.events {
		b.addEvent(&st.events[i])
	}
	before := st.m.Status
	events, notify, write := store.Settle(st.m, st.resent, st.cause)
	if !write && !st.routed {
		return nil
	}
	b.messages.add(st.m.ID, string(st.m.Status), st.m.ErrorCode, st.m.ErrorMessage, st.m.Resends, ns(st.m.UpdatedAt), st.m.Carrier)
	for i := range events {
		b.addEvent(&events[i])
	}
	if st.m.Status != before {
		b.queueClientReceipt(st)
	}
	if notify != nil {
		return b.deliveries(st.m, notify)
	}
	return nil
}

// deliveries queues the event for the message's callback URL and every
// enabled endpoint of the account that wants it.
func (b *batch) deliveries(m *herald.Message, ev *herald.Event) error {
	var payload []byte
	s := b.w.s
	// Handed to the webhook worker from memory when there is room
	// (fresh.go), and then written leased to this process.
	var reserve time.Duration
	if s.fresh.room(len(s.freshGroup) + len(b.w.opFresh)) {
		reserve = s.fresh.reservation()
	}
	add := func(endpointID, url, secret string) error {
		if payload == nil {
			payload = herald.Payload(ev, m)
		}
		id, next := herald.NewID("dlv", ev.At.UnixMilli()), ev.At.Add(reserve)
		b.dels.add(id, m.AccountID, m.ID, ev.ID, endpointID, url, secret, payload, ns(next), ns(ev.At), "pending")
		if reserve > 0 {
			b.w.opFresh = append(b.w.opFresh, &herald.Delivery{ID: id, AccountID: m.AccountID, EventID: ev.ID,
				EndpointID: endpointID, URL: url, Secret: secret, Payload: payload, NextAt: next, State: "pending",
				CreatedAt: ev.At})
		}
		return nil
	}
	if m.CallbackURL != "" {
		if err := add("", m.CallbackURL, b.w.s.callbackSecret(m.AccountID)); err != nil {
			return err
		}
	}
	eps, err := b.w.s.accountEndpoints(b.w.ctx, m.AccountID)
	if err != nil {
		return err
	}
	for _, e := range eps {
		if e.Wants(ev.Type) {
			if err := add(e.ID, e.URL, e.Secret); err != nil {
				return err
			}
		}
	}
	return nil
}
