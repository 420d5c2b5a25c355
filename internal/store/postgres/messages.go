package postgres

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// CreateMessages implements store.Messages. The group inserts the
// idempotency records of all its items with one statement (ON CONFLICT DO
// NOTHING), so a second request with the same key, from this node or
// another, waits for the first one's transaction and then sees its
// record; the messages, parts and first events are written with the
// group's other rows.
func (s *Store) CreateMessages(ctx context.Context, items []*store.NewMessage) error {
	var n needs
	for _, it := range items {
		if it.IdempotencyKey != "" {
			n.idem = append(n.idem, idemRecord(it))
		}
	}
	return s.write(ctx, n, func(w *wtx) error {
		for _, it := range items {
			it.Replayed, it.Existing, it.Err = false, nil, nil
			if err := w.createMessage(it); err != nil {
				var he *herald.Error
				if !errors.As(err, &he) {
					return err // a database failure undoes the whole call
				}
				it.Err = err
			}
		}
		return nil
	})
}

// idempotency is one idempotency record.
type idempotency struct {
	accountID, key string
	hash           []byte
	messageID      string
	createdAt      int64
}

func idemRecord(it *store.NewMessage) idempotency {
	return idempotency{accountID: it.Message.AccountID, key: it.IdempotencyKey, hash: nonNil(it.RequestHash),
		messageID: it.Message.ID, createdAt: ns(it.Message.CreatedAt)}
}

// claimKeys inserts the idempotency records the transaction has not
// seen, in (account, key) order so that two transactions inserting the
// same keys do not deadlock, and the first of the same key wins; then it
// reads back the record of each key (the one inserted, or the one that
// was there), in one round trip.
func (w *wtx) claimKeys(recs []idempotency) error {
	var need []idempotency
	for _, r := range recs {
		ck := r.accountID + "\n" + r.key
		if _, ok := w.g.idem[ck]; ok {
			continue
		}
		w.g.idem[ck] = idempotency{} // placeholder: the first of a key is the one inserted
		need = append(need, r)
	}
	if len(need) == 0 {
		return nil
	}
	slices.SortStableFunc(need, func(a, b idempotency) int {
		return cmp.Or(cmp.Compare(a.accountID, b.accountID), cmp.Compare(a.key, b.key))
	})
	rows := idempotencyInserts.rows()
	for _, r := range need {
		rows.add(r.accountID, r.key, r.hash, r.messageID, r.createdAt)
	}
	b := &pgx.Batch{}
	b.Queue(rows.kind.sql, rows.cols...)
	b.Queue(`SELECT account_id, key, hash, message_id FROM idempotency
		WHERE (account_id, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, rows.cols[0], rows.cols[1])
	br := w.tx.SendBatch(w.ctx, b)
	defer br.Close()
	tag, err := br.Exec()
	if err != nil {
		return fmt.Errorf("postgres: idempotency: %w", err)
	}
	if tag.RowsAffected() > 0 {
		w.wrote = true
	}
	found, err := br.Query()
	if err != nil {
		return fmt.Errorf("postgres: idempotency: %w", err)
	}
	defer found.Close()
	for found.Next() {
		var r idempotency
		if err := found.Scan(&r.accountID, &r.key, &r.hash, &r.messageID); err != nil {
			return fmt.Errorf("postgres: idempotency: %w", err)
		}
		w.g.idem[r.accountID+"\n"+r.key] = r
	}
	if err := found.Err(); err != nil {
		return fmt.Errorf("postgres: idempotency: %w", err)
	}
	return nil
}

func (w *wtx) createMessage(it *store.NewMessage) error {
	m := it.Message
	if it.IdempotencyKey != "" {
		if err := w.claimKeys([]idempotency{idemRecord(it)}); err != nil {
			return err
		}
		rec := w.g.idem[m.AccountID+"\n"+it.IdempotencyKey]
		switch {
		case rec.messageID == "":
			return fmt.Errorf("postgres: idempotency: no record for key %q after the insert", it.IdempotencyKey)
		case rec.messageID != m.ID:
			// The key was taken: by an earlier request (committed, or in
			// this transaction).
			if !bytes.Equal(rec.hash, it.RequestHash) {
				return &herald.Error{Kind: herald.KindConflict, Code: "idempotency_key_reused",
					Message: "this Idempotency-Key was used with a different request", Field: "Idempotency-Key"}
			}
			prev, err := w.readMessage(rec.messageID)
			if err != nil {
				return err
			}
			it.Replayed, it.Existing = true, prev
			return nil
		}
	}
	m.Owner = ""
	if w.s.owns(m, time.Now()) {
		m.Owner = w.s.cl.node
	}
	w.op.msgs[m.ID] = copyMessage(m)
	w.op.created = append(w.op.created, m.ID)
	if w.s.cl.node != "" && m.Owner == "" && !m.Status.Final() && !w.op.notified {
		w.op.notified = true
		// Another node claims it (when due): tell the nodes. PostgreSQL
		// delivers it at the commit, once per transaction.
		w.later(notifyWork)
	}
	w.op.events = append(w.op.events, herald.Event{ID: herald.NewID("evt", m.CreatedAt.UnixMilli()),
		AccountID: m.AccountID, MessageID: m.ID, Type: herald.EventType(m.Status), Status: m.Status,
		At: m.CreatedAt, Detail: "accepted"})
	if it.SMPP != nil && it.SMPP.RegisteredDelivery&0x13 != 0 {
		// Only messages that asked for receipts need their source: it
		// decides whether Apply queues a receipt (smpp.go). An id is
		// never reused, so the entry is harmless if the op fails.
		w.add(sourceInserts, m.ID, m.AccountID, it.SMPP.UserID, it.SMPP.RegisteredDelivery)
		w.g.srcs[m.ID] = int64(it.SMPP.RegisteredDelivery)
	}
	return nil
}

// readMessage returns a copy of a message as this transaction sees it,
// with its parts, without locking it.
func (w *wtx) readMessage(id string) (*herald.Message, error) {
	if m := w.op.msgs[id]; m != nil {
		return copyMessage(m), nil
	}
	if m := w.g.msgs[id]; m != nil {
		return copyMessage(m), nil
	}
	ms, err := readMessages(w.ctx, w.tx, []string{id}, "")
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, notFound("message")
	}
	return ms[0], nil
}

// querier is a pool or a transaction.
type querier interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// readMessages reads messages and their parts with one round trip;
// suffix is appended to the messages' SELECT (" FOR UPDATE").
func readMessages(ctx context.Context, q querier, ids []string, suffix string) ([]*herald.Message, error) {
	b := &pgx.Batch{}
	queueMessages(b, ids, suffix)
	br := q.SendBatch(ctx, b)
	defer br.Close()
	return collectMessages(br)
}

// queueMessages queues the two queries that read messages and their parts.
func queueMessages(b *pgx.Batch, ids []string, suffix string) {
	b.Queue(`SELECT `+messageColumns+` FROM messages WHERE id = ANY($1) ORDER BY id`+suffix, ids)
	b.Queue(`SELECT `+partColumns+` FROM parts WHERE message_id = ANY($1) ORDER BY message_id, seq`, ids)
}

// collectMessages reads the results of queueMessages' queries.
func collectMessages(br pgx.BatchResults) ([]*herald.Message, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("postgres: messages: %w", err)
	}
	var out []*herald.Message
	byID := map[string]*herald.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: messages: %w", err)
		}
		out = append(out, m)
		byID[m.ID] = m
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: messages: %w", err)
	}
	if rows, err = br.Query(); err != nil {
		return nil, fmt.Errorf("postgres: parts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanPart(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: parts: %w", err)
		}
		if m := byID[p.MessageID]; m != nil {
			m.Parts = append(m.Parts, p)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: parts: %w", err)
	}
	return out, nil
}

// copyMessage copies a message and its parts (byte slices are shared:
// they are never modified in place).
func copyMessage(m *herald.Message) *herald.Message {
	cp := *m
	cp.Parts = append([]herald.Part(nil), m.Parts...)
	return &cp
}

// Message implements store.Messages.
func (s *Store) Message(ctx context.Context, accountID, id string, parts bool) (*herald.Message, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = $1 AND account_id = $2`, id, accountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("message")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: message %s: %w", id, err)
	}
	if parts {
		rows, err := s.pool.Query(ctx, `SELECT `+partColumns+` FROM parts WHERE message_id = $1 ORDER BY seq`, id)
		if err != nil {
			return nil, fmt.Errorf("postgres: parts of %s: %w", id, err)
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPart(rows)
			if err != nil {
				return nil, fmt.Errorf("postgres: parts of %s: %w", id, err)
			}
			m.Parts = append(m.Parts, p)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("postgres: parts of %s: %w", id, err)
		}
	}
	return m, nil
}

// ListMessages implements store.Messages. The cursor is the id of the
// last message of the previous page (ids are time-ordered).
func (s *Store) ListMessages(ctx context.Context, accountID string, f store.MessageFilter) ([]*herald.Message, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	var where strings.Builder
	args := []any{accountID}
	where.WriteString("account_id = $1")
	add := func(cond string, v any) {
		args = append(args, v)
		where.WriteString(" AND " + cond + " $" + strconv.Itoa(len(args)))
	}
	if f.Status != "" {
		add("status =", string(f.Status))
	}
	if f.To != "" {
		add("to_addr =", f.To)
	}
	if f.Type != "" {
		add("type =", string(f.Type))
	}
	if f.Reference != "" {
		add("reference =", f.Reference)
	}
	if !f.After.IsZero() {
		add("created_at >=", ns(f.After))
	}
	if !f.Before.IsZero() {
		add("created_at <", ns(f.Before))
	}
	if f.Cursor != "" {
		add("id <", f.Cursor)
	}
	args = append(args, limit+1)
	rows, err := s.pool.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE `+where.String()+
		` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: list messages: %w", err)
	}
	out, err := collect(rows, scanMessage)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: list messages: %w", err)
	}
	out, next := store.Page(out, limit, func(m *herald.Message) string { return m.ID })
	return out, next, nil
}

// Events implements store.Messages.
func (s *Store) Events(ctx context.Context, accountID, messageID string) ([]herald.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, account_id, message_id, type, status, part_seq, at, carrier,
		carrier_code, detail FROM events WHERE message_id = $1 AND account_id = $2 ORDER BY at, id`, messageID, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: events: %w", err)
	}
	defer rows.Close()
	var out []herald.Event
	for rows.Next() {
		var e herald.Event
		var status string
		var at int64
		if err := rows.Scan(&e.ID, &e.AccountID, &e.MessageID, &e.Type, &status, &e.PartSeq, &at, &e.Carrier,
			&e.CarrierCode, &e.Detail); err != nil {
			return nil, fmt.Errorf("postgres: events: %w", err)
		}
		e.Status, e.At = herald.Status(status), tm(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: events: %w", err)
	}
	if len(out) == 0 {
		if _, err := s.Message(ctx, accountID, messageID, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CancelMessage implements store.Messages.
func (s *Store) CancelMessage(ctx context.Context, accountID, id string, at time.Time) (*herald.Message, error) {
	var out *herald.Message
	err := s.write(ctx, needs{ids: []string{id}}, func(w *wtx) error {
		out = nil
		b := newBatch(w)
		st, err := b.load(id)
		if err != nil {
			return err
		}
		if st.m.AccountID != accountID {
			return notFound("message")
		}
		switch st.m.Status {
		case herald.StatusAccepted, herald.StatusScheduled, herald.StatusQueued:
		default:
			return &herald.Error{Kind: herald.KindConflict, Code: "not_cancelable",
				Message: fmt.Sprintf("a %s message cannot be canceled; only accepted, scheduled or queued ones can", st.m.Status)}
		}
		for i := range st.m.Parts {
			b.transition(st, i, store.Transition{To: herald.StatusCanceled, At: at, ErrorCode: "canceled", ErrorMessage: "canceled by the client"})
		}
		if err := b.flush(); err != nil {
			return err
		}
		out = copyMessage(st.m)
		return nil
	})
	return out, err
}

// PurgeIdempotencyKeys implements store.Messages.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency WHERE created_at < $1`, ns(before))
	if err != nil {
		return 0, errUnavailable(fmt.Errorf("postgres: purge idempotency keys: %w", err))
	}
	return int(tag.RowsAffected()), nil
}
