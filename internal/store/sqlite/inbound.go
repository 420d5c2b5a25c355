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

const inboundPartColumns = `carrier, from_addr, to_addr, ref, total, seq, data_coding, single_shift, locking_shift,
	data, received_at`

func scanInboundPart(r scanner) (*store.InboundPart, error) {
	var p store.InboundPart
	var at int64
	if err := r.Scan(&p.Carrier, &p.From, &p.To, &p.Ref, &p.Total, &p.Seq, &p.DataCoding, &p.SingleShift,
		&p.LockingShift, &p.Data, &at); err != nil {
		return nil, err
	}
	p.ReceivedAt = tm(at)
	return &p, nil
}

// groupParts reads one group's parts, in Seq order.
func groupParts(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, g store.InboundGroup) ([]*store.InboundPart, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+inboundPartColumns+` FROM inbound_parts
		WHERE carrier = ? AND from_addr = ? AND to_addr = ? AND ref = ? AND total = ? ORDER BY seq`,
		g.Carrier, g.From, g.To, g.Ref, g.Total)
	if err != nil {
		return nil, fmt.Errorf("sqlite: inbound parts: %w", err)
	}
	defer rows.Close()
	var out []*store.InboundPart
	for rows.Next() {
		p, err := scanInboundPart(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: inbound parts: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// AddInboundParts implements store.Inbound.
func (s *Store) AddInboundParts(ctx context.Context, parts []*store.InboundPart) ([][]*store.InboundPart, error) {
	var complete [][]*store.InboundPart
	err := s.write(ctx, func(w *wtx) error {
		complete = complete[:0]
		var touched []store.InboundGroup
		seen := map[store.InboundGroup]bool{}
		for _, p := range parts {
			if p.Total < 2 || p.Total > 255 || p.Seq < 1 || p.Seq > p.Total {
				return herald.Errorf(herald.KindInvalid, "invalid_part", "part %d of %d", p.Seq, p.Total)
			}
			res, err := w.execSQL(`INSERT INTO inbound_parts (`+inboundPartColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT DO NOTHING`, p.Carrier, p.From, p.To, p.Ref, p.Total, p.Seq, p.DataCoding, p.SingleShift,
				p.LockingShift, p.Data, ns(p.ReceivedAt))
			if err != nil {
				return err
			}
			// Only a call that added a part can complete its group, so a
			// group is reported once.
			if n, _ := res.RowsAffected(); n > 0 && !seen[p.Group()] {
				seen[p.Group()] = true
				touched = append(touched, p.Group())
			}
		}
		for _, g := range touched {
			var n int
			if err := w.tx.QueryRowContext(w.ctx, `SELECT COUNT(*) FROM inbound_parts WHERE carrier = ? AND from_addr = ?
				AND to_addr = ? AND ref = ? AND total = ?`, g.Carrier, g.From, g.To, g.Ref, g.Total).Scan(&n); err != nil {
				return fmt.Errorf("sqlite: inbound parts: %w", err)
			}
			if n < g.Total {
				continue
			}
			ps, err := groupParts(w.ctx, w.tx, g)
			if err != nil {
				return err
			}
			complete = append(complete, ps)
		}
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	return complete, nil
}

// StaleInboundParts implements store.Inbound.
func (s *Store) StaleInboundParts(ctx context.Context, before time.Time, limit int) ([][]*store.InboundPart, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT carrier, from_addr, to_addr, ref, total FROM inbound_parts
		GROUP BY carrier, from_addr, to_addr, ref, total HAVING MIN(received_at) < ? LIMIT ?`, ns(before), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: stale inbound parts: %w", err)
	}
	var groups []store.InboundGroup
	for rows.Next() {
		var g store.InboundGroup
		if err := rows.Scan(&g.Carrier, &g.From, &g.To, &g.Ref, &g.Total); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: stale inbound parts: %w", err)
		}
		groups = append(groups, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out [][]*store.InboundPart
	for _, g := range groups {
		ps, err := groupParts(ctx, s.r, g)
		if err != nil {
			return nil, err
		}
		if len(ps) > 0 {
			out = append(out, ps)
		}
	}
	return out, nil
}

// ReceiveInbound implements store.Inbound.
func (s *Store) ReceiveInbound(ctx context.Context, ms []*store.NewInbound) error {
	return s.write(ctx, func(w *wtx) error {
		for _, it := range ms {
			it.Skipped, it.Changed, it.Replied = false, false, false
			if err := w.receiveInbound(it); err != nil {
				return err
			}
		}
		return nil
	}, nil)
}

func (w *wtx) receiveInbound(it *store.NewInbound) error {
	m := it.Message
	if g := it.Group; g != nil {
		res, err := w.execSQL(`DELETE FROM inbound_parts WHERE carrier = ? AND from_addr = ? AND to_addr = ? AND ref = ?
			AND total = ?`, g.Carrier, g.From, g.To, g.Ref, g.Total)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			it.Skipped = true
			return nil
		}
	}
	if _, err := w.execSQL(`INSERT INTO inbound_messages (id, account_id, from_addr, to_addr, body, encoding, carrier,
		part_count, received, incomplete, keyword, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.AccountID, m.From, m.To, m.Body, m.Encoding, m.Carrier, m.PartCount, m.Received,
		boolInt(m.Incomplete), m.Keyword, ns(m.ReceivedAt)); err != nil {
		return err
	}
	if c := it.Consent; c != nil && m.AccountID != "" {
		var err error
		switch c.Action {
		case herald.ConsentOptOut:
			it.Changed, err = w.optOut(&herald.OptOut{AccountID: c.AccountID, Number: c.Number, Sender: c.Sender,
				At: c.At, Source: c.Source, Keyword: c.Keyword, InboundID: c.InboundID})
			if err == nil && it.Changed {
				err = w.rejectPending(c)
			}
		case herald.ConsentOptIn:
			it.Changed, err = w.optIn(c)
		}
		if err != nil {
			return err
		}
	}
	if r := it.Reply; r != nil && m.AccountID != "" && (it.Consent == nil || it.Changed) {
		r.Err = nil
		if err := w.createMessage(r); err != nil {
			if _, ok := errors.AsType[*herald.Error](err); !ok {
				return err
			}
			r.Err = err
		} else {
			it.Replied = true
		}
	}
	if m.AccountID == "" {
		return nil
	}
	ev := herald.Event{ID: herald.NewID("evt", m.ReceivedAt.UnixMilli()), AccountID: m.AccountID, MessageID: m.ID,
		Type: herald.EventMessageReceived, Status: herald.StatusReceived, At: m.ReceivedAt, Carrier: m.Carrier}
	if _, err := w.execSQL(`INSERT INTO events (id, account_id, message_id, type, status, part_seq, at, carrier,
		carrier_code, detail) VALUES (?, ?, ?, ?, ?, 0, ?, ?, '', '')`, ev.ID, ev.AccountID, ev.MessageID, ev.Type,
		string(ev.Status), ns(ev.At), ev.Carrier); err != nil {
		return err
	}
	// An account with SMPP users also gets its inbound messages as
	// deliver_sm on its receiver binds: queued in the same commit, so
	// none is lost while no client is bound.
	var smppUsers int
	if err := w.tx.QueryRowContext(w.ctx, `SELECT EXISTS (SELECT 1 FROM smpp_users WHERE account_id = ?)`,
		m.AccountID).Scan(&smppUsers); err != nil {
		return err
	}
	if smppUsers == 1 {
		if _, err := w.execSQL(`INSERT INTO client_outbox (account_id, kind, message_id, status, from_addr, to_addr,
			body, error_code, parts, delivered, submit_at, done_at, created_at)
			VALUES (?, 'inbound', ?, ?, ?, ?, ?, '', ?, 0, ?, 0, ?)`,
			m.AccountID, m.ID, string(herald.StatusReceived), m.From, m.To, m.Body, m.PartCount,
			ns(m.ReceivedAt), ns(m.ReceivedAt)); err != nil {
			return err
		}
	}
	eps, err := w.s.accountEndpoints(w.ctx, m.AccountID)
	if err != nil {
		return err
	}
	var payload []byte
	for _, e := range eps {
		if !e.Wants(ev.Type) {
			continue
		}
		if payload == nil {
			payload = herald.InboundPayload(ev.ID, m)
		}
		if _, err := w.execSQL(`INSERT INTO deliveries (id, account_id, message_id, event_id, endpoint_id, url, secret,
			payload, next_at, created_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
			herald.NewID("dlv", ev.At.UnixMilli()), m.AccountID, m.ID, ev.ID, e.ID, e.URL, e.Secret, payload,
			ns(ev.At), ns(ev.At)); err != nil {
			return err
		}
	}
	return nil
}

// rejectPending moves the account's messages to the number that opted
// out (from the opt-out's sender, or from any for an account-wide one)
// that are not sent yet to rejected, except the types the account's
// policy exempts: an opt-out also stops what was scheduled or queued.
func (w *wtx) rejectPending(c *herald.ConsentEntry) error {
	var exempt string
	err := w.tx.QueryRowContext(w.ctx, `SELECT exempt FROM account_policies WHERE account_id = ?`, c.AccountID).Scan(&exempt)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: policy: %w", err)
	}
	rows, err := w.tx.QueryContext(w.ctx, `SELECT id, type FROM messages WHERE account_id = ? AND to_addr = ?
		AND status IN ('accepted', 'scheduled', 'queued') AND (? = '' OR from_addr = ?)`, c.AccountID, c.Number, c.Sender, c.Sender)
	if err != nil {
		return fmt.Errorf("sqlite: pending for opt-out: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id, typ string
		if err := rows.Scan(&id, &typ); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: pending for opt-out: %w", err)
		}
		if !strings.Contains(","+exempt+",", ","+typ+",") {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return err
	}
	b := newBatch(w)
	for _, id := range ids {
		st, err := b.load(id)
		if err != nil {
			return err
		}
		for i := range st.m.Parts {
			if _, err := b.transition(st, i, store.Transition{To: herald.StatusRejected, At: c.At, ErrorCode: "recipient_opted_out",
				ErrorMessage: "the recipient opted out before it was sent", Detail: optOutDetail(c)}); err != nil {
				return err
			}
		}
	}
	return b.flush()
}

func optOutDetail(c *herald.ConsentEntry) string {
	if c.InboundID != "" {
		return fmt.Sprintf("the recipient sent %s (%s)", c.Keyword, c.InboundID)
	}
	return "opt-out added by " + c.Source
}

const inboundColumns = `id, account_id, from_addr, to_addr, body, encoding, carrier, part_count, received, incomplete,
	keyword, received_at`

func scanInbound(r scanner) (*herald.InboundMessage, error) {
	var m herald.InboundMessage
	var incomplete int
	var at int64
	if err := r.Scan(&m.ID, &m.AccountID, &m.From, &m.To, &m.Body, &m.Encoding, &m.Carrier, &m.PartCount, &m.Received,
		&incomplete, &m.Keyword, &at); err != nil {
		return nil, err
	}
	m.Incomplete, m.ReceivedAt = incomplete != 0, tm(at)
	return &m, nil
}

// InboundMessage implements store.Inbound.
func (s *Store) InboundMessage(ctx context.Context, accountID, id string) (*herald.InboundMessage, error) {
	m, err := scanInbound(s.r.QueryRowContext(ctx, `SELECT `+inboundColumns+` FROM inbound_messages
		WHERE id = ? AND account_id = ?`, id, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("message")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: inbound: %w", err)
	}
	return m, nil
}

// ListInbound implements store.Inbound. The cursor is the last id of the
// previous page (ids are time-ordered).
func (s *Store) ListInbound(ctx context.Context, accountID string, f store.InboundFilter) ([]*herald.InboundMessage, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	var where strings.Builder
	where.WriteString("account_id = ?")
	args := []any{accountID}
	add := func(cond string, v any) {
		where.WriteString(" AND " + cond)
		args = append(args, v)
	}
	if f.From != "" {
		add("from_addr = ?", f.From)
	}
	if f.To != "" {
		add("to_addr = ?", f.To)
	}
	if f.Cursor != "" {
		add("id < ?", f.Cursor)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+inboundColumns+` FROM inbound_messages WHERE `+where.String()+
		` ORDER BY id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list inbound: %w", err)
	}
	out, err := collect(rows, scanInbound)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list inbound: %w", err)
	}
	out, next := store.Page(out, limit, func(m *herald.InboundMessage) string { return m.ID })
	return out, next, nil
}

// Conversation implements store.Inbound. Items are ordered by time, then
// id; the cursor is "time:id" of the last item of the previous page.
func (s *Store) Conversation(ctx context.Context, accountID, number, cursor string, limit int) ([]store.ConversationItem, string, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	var afterT int64 = -1
	afterID := ""
	if cursor != "" {
		t, id, ok := strings.Cut(cursor, ":")
		if _, err := fmt.Sscan(t, &afterT); !ok || err != nil {
			return nil, "", herald.FieldError("cursor", "invalid_cursor", "the cursor is not one this API returned")
		}
		afterID = id
	}
	rows, err := s.r.QueryContext(ctx, `SELECT d, id, at FROM (
		SELECT 'o' AS d, id, created_at AS at FROM messages WHERE account_id = ? AND to_addr = ?
		UNION ALL
		SELECT 'i' AS d, id, received_at AS at FROM inbound_messages WHERE account_id = ? AND from_addr = ?
	) AS c WHERE at > ? OR (at = ? AND id > ?) ORDER BY at, id LIMIT ?`,
		accountID, number, accountID, number, afterT, afterT, afterID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: conversation: %w", err)
	}
	type ref struct {
		d, id string
		at    int64
	}
	var refs []ref
	for rows.Next() {
		var r ref
		if err := rows.Scan(&r.d, &r.id, &r.at); err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("sqlite: conversation: %w", err)
		}
		refs = append(refs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(refs) > limit {
		refs = refs[:limit]
		last := refs[limit-1]
		next = fmt.Sprintf("%d:%s", last.at, last.id)
	}
	out := make([]store.ConversationItem, 0, len(refs))
	for _, r := range refs {
		if r.d == "o" {
			m, err := s.Message(ctx, accountID, r.id, false)
			if err != nil {
				return nil, "", err
			}
			out = append(out, store.ConversationItem{Outbound: m})
			continue
		}
		m, err := s.InboundMessage(ctx, accountID, r.id)
		if err != nil {
			return nil, "", err
		}
		out = append(out, store.ConversationItem{Inbound: m})
	}
	return out, next, nil
}

var _ store.Inbound = (*Store)(nil)
