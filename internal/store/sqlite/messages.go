package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// CreateMessages implements store.Messages. The rows of the new messages
// are built here, on the caller's goroutine, so that the writer only
// checks idempotency keys and appends them to its group.
func (s *Store) CreateMessages(ctx context.Context, items []*store.NewMessage) error {
	rows := make([]newRows, len(items))
	for i, it := range items {
		rows[i] = buildNewRows(it)
	}
	return s.write(ctx, func(w *wtx) error {
		for i, it := range items {
			it.Replayed, it.Existing, it.Err = false, nil, nil
			if err := w.addMessage(it, &rows[i]); err != nil {
				var he *herald.Error
				if !errors.As(err, &he) {
					return err // a database failure undoes the whole call
				}
				it.Err = err
			}
		}
		return nil
	}, nil)
}

// newRows are the rows that store a new message: the message, its parts,
// its first event and (for an SMPP client's message that asked for
// receipts) its source, as multi-row statement arguments, and the state
// to cache once they are committed.
type newRows struct {
	message, parts, event, source []any
	state                         *herald.Message
}

func buildNewRows(it *store.NewMessage) newRows {
	m := it.Message
	r := newRows{
		message: []any{m.ID, m.AccountID, m.To, m.From, m.Body, string(m.Type), string(m.Status), m.Encoding,
			m.PartCount, ns(m.SendAt), ns(m.ValidUntil), m.CallbackURL, m.Reference, nullString(m.Metadata),
			boolInt(m.SmartEncoding), m.Carrier, m.ErrorCode, m.ErrorMessage, m.Resends, ns(m.CreatedAt), ns(m.UpdatedAt)},
		parts: make([]any, 0, len(m.Parts)*partInserts.cols),
		state: copyMessage(m),
	}
	for _, p := range m.Parts {
		r.parts = append(r.parts, m.ID, p.Seq, string(p.Status), p.ShortMessage, p.DataCoding, p.ESMClass,
			p.SARRef, p.SARTotal, p.SARSeq, boolInt(p.Payload), ns(p.NextAttemptAt))
	}
	ev := herald.Event{ID: herald.NewID("evt", m.CreatedAt.UnixMilli()), AccountID: m.AccountID, MessageID: m.ID,
		Type: herald.EventType(m.Status), Status: m.Status, At: m.CreatedAt, Detail: "accepted"}
	r.event = []any{ev.ID, ev.AccountID, ev.MessageID, ev.Type, string(ev.Status), ev.PartSeq, ns(ev.At),
		ev.Carrier, ev.CarrierCode, ev.Detail}
	if it.SMPP != nil && it.SMPP.RegisteredDelivery&0x13 != 0 {
		// Only messages that asked for receipts need their source: it
		// decides whether Apply queues a receipt (smpp.go).
		r.source = []any{m.ID, m.AccountID, it.SMPP.UserID, it.SMPP.RegisteredDelivery}
	}
	return r
}

// createMessage stores a new message in the group, unless its
// idempotency key names an earlier one (it.Replayed).
func (w *wtx) createMessage(it *store.NewMessage) error {
	r := buildNewRows(it)
	return w.addMessage(it, &r)
}

// addMessage is createMessage with the message's rows already built.
func (w *wtx) addMessage(it *store.NewMessage, r *newRows) error {
	m := it.Message
	if it.IdempotencyKey != "" {
		var hash []byte
		var id string
		err := w.queryRow("idem.get", m.AccountID, it.IdempotencyKey).Scan(&hash, &id)
		switch {
		case err == nil:
			if !bytes.Equal(hash, it.RequestHash) {
				return &herald.Error{Kind: herald.KindConflict, Code: "idempotency_key_reused",
					Message: "this Idempotency-Key was used with a different request", Field: "Idempotency-Key"}
			}
			// The first request may be in this very commit group, its
			// rows not written yet: its state is staged.
			prev := w.s.cached(id)
			if prev == nil {
				var err error
				if prev, err = w.loadMessage(id, true); err != nil {
					return err
				}
			}
			it.Replayed, it.Existing = true, prev
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlite: idempotency: %w", err)
		}
	}
	// The message, its parts and its first event are written with the
	// group's other new messages, just before the commit.
	w.rows[messageInserts].add(r.message...)
	w.rows[partInserts].add(r.parts...)
	w.rows[eventInserts].add(r.event...)
	if r.source != nil {
		w.rows[sourceInserts].add(r.source...)
		w.s.smppSourced = true
	}
	w.opStaged = append(w.opStaged, r.state)
	if it.IdempotencyKey != "" {
		if _, err := w.exec("idem.insert", m.AccountID, it.IdempotencyKey, it.RequestHash, m.ID, ns(m.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

// loadMessage reads a message (and its parts) inside the transaction.
func (w *wtx) loadMessage(id string, parts bool) (*herald.Message, error) {
	m, err := scanMessage(w.queryRow("message.get", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("message")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: message %s: %w", id, err)
	}
	if parts {
		rows, err := w.query("part.list", id)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPart(rows)
			if err != nil {
				return nil, fmt.Errorf("sqlite: parts of %s: %w", id, err)
			}
			m.Parts = append(m.Parts, p)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: parts of %s: %w", id, err)
		}
	}
	return m, nil
}

// Message implements store.Messages.
func (s *Store) Message(ctx context.Context, accountID, id string, parts bool) (*herald.Message, error) {
	m, err := scanMessage(s.r.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ? AND account_id = ?`, id, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("message")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: message %s: %w", id, err)
	}
	if parts {
		if m.Parts, err = s.parts(ctx, id); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (s *Store) parts(ctx context.Context, id string) ([]herald.Part, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+partColumns+` FROM parts WHERE message_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: parts of %s: %w", id, err)
	}
	defer rows.Close()
	var out []herald.Part
	for rows.Next() {
		p, err := scanPart(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: parts of %s: %w", id, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
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
	where.WriteString("account_id = ?")
	add := func(cond string, v any) {
		where.WriteString(" AND " + cond)
		args = append(args, v)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if f.To != "" {
		add("to_addr = ?", f.To)
	}
	if f.Type != "" {
		add("type = ?", string(f.Type))
	}
	if f.Reference != "" {
		add("reference = ?", f.Reference)
	}
	if !f.After.IsZero() {
		add("created_at >= ?", ns(f.After))
	}
	if !f.Before.IsZero() {
		add("created_at < ?", ns(f.Before))
	}
	if f.Cursor != "" {
		add("id < ?", f.Cursor)
	}
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE `+where.String()+
		` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list messages: %w", err)
	}
	out, err := collect(rows, scanMessage)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list messages: %w", err)
	}
	out, next := store.Page(out, limit, func(m *herald.Message) string { return m.ID })
	return out, next, nil
}

// Events implements store.Messages.
func (s *Store) Events(ctx context.Context, accountID, messageID string) ([]herald.Event, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, account_id, message_id, type, status, part_seq, at, carrier,
		carrier_code, detail FROM events WHERE message_id = ? AND account_id = ? ORDER BY at, id`, messageID, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	defer rows.Close()
	var out []herald.Event
	for rows.Next() {
		var e herald.Event
		var status string
		var at int64
		if err := rows.Scan(&e.ID, &e.AccountID, &e.MessageID, &e.Type, &status, &e.PartSeq, &at, &e.Carrier,
			&e.CarrierCode, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: events: %w", err)
		}
		e.Status, e.At = herald.Status(status), tm(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
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
	err := s.write(ctx, func(w *wtx) error {
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
		out = st.m
		return nil
	}, nil)
	return out, err
}

// PurgeIdempotencyKeys implements store.Messages.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(w *wtx) error {
		res, err := w.exec("idem.purge", ns(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}, nil)
	return int(n), err
}
