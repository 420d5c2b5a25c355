package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

const inboundPartColumns = `carrier, from_addr, to_addr, ref, total, seq, data_coding, single_shift, locking_shift,
	data, received_at`

func scanInboundPart(r scanner) (*store.InboundPart, error) {
	var p store.InboundPart
	var dataCoding, single, locking int16
	var at int64
	if err := r.Scan(&p.Carrier, &p.From, &p.To, &p.Ref, &p.Total, &p.Seq, &dataCoding, &single, &locking,
		&p.Data, &at); err != nil {
		return nil, err
	}
	p.DataCoding, p.SingleShift, p.LockingShift = uint8(dataCoding), uint8(single), uint8(locking)
	p.ReceivedAt = tm(at)
	return &p, nil
}

var inboundPartInserts = newKind("inbound parts", `INSERT INTO inbound_parts (`+inboundPartColumns+`)
	SELECT * FROM %s ON CONFLICT DO NOTHING RETURNING carrier, from_addr, to_addr, ref, total`,
	"carrier text", "from_addr text", "to_addr text", "ref bigint", "total bigint", "seq bigint",
	"data_coding bigint", "single_shift bigint", "locking_shift bigint", "data bytea", "received_at bigint")

// groupsArgs returns gs as the five arrays of groupsIn.
func groupsArgs(gs []store.InboundGroup) []any {
	carriers, froms, tos := make([]string, len(gs)), make([]string, len(gs)), make([]string, len(gs))
	refs, totals := make([]int64, len(gs)), make([]int64, len(gs))
	for i, g := range gs {
		carriers[i], froms[i], tos[i], refs[i], totals[i] = g.Carrier, g.From, g.To, int64(g.Ref), int64(g.Total)
	}
	return []any{carriers, froms, tos, refs, totals}
}

// groupParts reads the parts of groups ($1 … $5, see groupsArgs), each
// group's in Seq order.
const groupParts = `SELECT ` + inboundPartColumns + ` FROM inbound_parts
	WHERE (carrier, from_addr, to_addr, ref, total) IN
	(SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]))
	ORDER BY carrier, from_addr, to_addr, ref, total, seq`

// collectParts reads groupParts' rows, by group.
func collectParts(rows pgx.Rows) (map[store.InboundGroup][]*store.InboundPart, error) {
	defer rows.Close()
	out := map[store.InboundGroup][]*store.InboundPart{}
	for rows.Next() {
		p, err := scanInboundPart(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: inbound parts: %w", err)
		}
		out[p.Group()] = append(out[p.Group()], p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: inbound parts: %w", err)
	}
	return out, nil
}

// AddInboundParts implements store.Inbound. Each group's lock (see
// lockInbound) makes the transactions adding its parts take turns, so
// the one that adds the last missing part sees all the others, on any
// node; only a call that added a part can complete its group, so a group
// is returned once. The parts are inserted and the groups read back in
// one round trip, after the locks'.
func (s *Store) AddInboundParts(ctx context.Context, parts []*store.InboundPart) ([][]*store.InboundPart, error) {
	var n needs
	for _, p := range parts {
		if p.Total < 2 || p.Total > 255 || p.Seq < 1 || p.Seq > p.Total {
			return nil, herald.Errorf(herald.KindInvalid, "invalid_part", "part %d of %d", p.Seq, p.Total)
		}
		n.inbound = append(n.inbound, p.Group())
	}
	var complete [][]*store.InboundPart
	err := s.write(ctx, n, func(w *wtx) error {
		complete = nil
		if len(parts) == 0 {
			return nil
		}
		if err := w.lockInbound(n.inbound); err != nil {
			return err
		}
		type partKey struct {
			g   store.InboundGroup
			seq int
		}
		seen := map[partKey]bool{}
		var groups []store.InboundGroup // in the order of parts
		r := inboundPartInserts.rows()
		for _, p := range parts {
			k := partKey{p.Group(), p.Seq}
			if seen[k] {
				continue // the first of a part wins, as with one already stored
			}
			seen[k] = true
			if !seen[partKey{g: k.g}] {
				seen[partKey{g: k.g}] = true
				groups = append(groups, k.g)
			}
			r.add(p.Carrier, p.From, p.To, p.Ref, p.Total, p.Seq, p.DataCoding, p.SingleShift, p.LockingShift,
				nonNil(p.Data), ns(p.ReceivedAt))
		}
		b := &pgx.Batch{}
		b.Queue(r.kind.sql, r.cols...)
		b.Queue(groupParts, groupsArgs(groups)...)
		br := w.tx.SendBatch(w.ctx, b)
		defer br.Close()
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("postgres: inbound parts: %w", err)
		}
		added := map[store.InboundGroup]bool{}
		for rows.Next() {
			var g store.InboundGroup
			if err := rows.Scan(&g.Carrier, &g.From, &g.To, &g.Ref, &g.Total); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: inbound parts: %w", err)
			}
			added[g] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: inbound parts: %w", err)
		}
		if len(added) > 0 {
			w.wrote = true
		}
		rows, err = br.Query()
		if err != nil {
			return fmt.Errorf("postgres: inbound parts: %w", err)
		}
		stored, err := collectParts(rows)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if ps := stored[g]; added[g] && len(ps) >= g.Total {
				complete = append(complete, ps)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return complete, nil
}

// StaleInboundParts implements store.Inbound: the groups whose first
// part is the oldest first.
func (s *Store) StaleInboundParts(ctx context.Context, before time.Time, limit int) ([][]*store.InboundPart, error) {
	rows, err := s.pool.Query(ctx, `SELECT carrier, from_addr, to_addr, ref, total FROM inbound_parts
		GROUP BY carrier, from_addr, to_addr, ref, total HAVING MIN(received_at) < $1
		ORDER BY MIN(received_at) LIMIT $2`, ns(before), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: stale inbound parts: %w", err)
	}
	var groups []store.InboundGroup
	for rows.Next() {
		var g store.InboundGroup
		if err := rows.Scan(&g.Carrier, &g.From, &g.To, &g.Ref, &g.Total); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: stale inbound parts: %w", err)
		}
		groups = append(groups, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: stale inbound parts: %w", err)
	}
	if len(groups) == 0 {
		return nil, nil
	}
	rows, err = s.pool.Query(ctx, groupParts, groupsArgs(groups)...)
	if err != nil {
		return nil, fmt.Errorf("postgres: stale inbound parts: %w", err)
	}
	stored, err := collectParts(rows)
	if err != nil {
		return nil, err
	}
	var out [][]*store.InboundPart
	for _, g := range groups {
		if ps := stored[g]; len(ps) > 0 { // gone meanwhile: stored by another node
			out = append(out, ps)
		}
	}
	return out, nil
}

var inboundInserts = newKind("inbound messages", `INSERT INTO inbound_messages (id, account_id, from_addr, to_addr,
	body, encoding, carrier, part_count, received, incomplete, keyword, received_at) SELECT * FROM %s`,
	"id text", "account_id text", "from_addr text", "to_addr text", "body text", "encoding text", "carrier text",
	"part_count bigint", "received bigint", "incomplete boolean", "keyword text", "received_at bigint")

// ReceiveInbound implements store.Inbound: every item's message, consent
// change (with the pending messages it rejects), reply, message.received
// event and webhook deliveries, and the removal of its parts, in one
// group commit.
func (s *Store) ReceiveInbound(ctx context.Context, ms []*store.NewInbound) error {
	var n needs
	for _, it := range ms {
		if it.Group != nil {
			n.inbound = append(n.inbound, *it.Group)
		}
	}
	return s.write(ctx, n, func(w *wtx) error {
		for _, it := range ms {
			it.Skipped, it.Changed, it.Replied = false, false, false
			if err := w.receiveInbound(it); err != nil {
				return err
			}
		}
		return nil
	})
}

func (w *wtx) receiveInbound(it *store.NewInbound) error {
	m := it.Message
	if g := it.Group; g != nil {
		// Under the group's lock: parts added meanwhile are removed too,
		// or come after (a group of their own).
		if err := w.lockInbound([]store.InboundGroup{*g}); err != nil {
			return err
		}
		tag, err := w.exec("inbound parts", `DELETE FROM inbound_parts WHERE carrier = $1 AND from_addr = $2
			AND to_addr = $3 AND ref = $4 AND total = $5`, g.Carrier, g.From, g.To, g.Ref, g.Total)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			it.Skipped = true // another assembly (this node's or another's) stored it
			return nil
		}
	}
	w.add(inboundInserts, m.ID, m.AccountID, m.From, m.To, m.Body, m.Encoding, m.Carrier, m.PartCount, m.Received,
		m.Incomplete, m.Keyword, ns(m.ReceivedAt))
	if c := it.Consent; c != nil && m.AccountID != "" {
		var err error
		switch c.Action {
		case herald.ConsentOptOut:
			var added []*herald.OptOut
			added, err = w.optOuts([]*herald.OptOut{{AccountID: c.AccountID, Number: c.Number, Sender: c.Sender,
				At: c.At, Source: c.Source, Keyword: c.Keyword, InboundID: c.InboundID}})
			it.Changed = len(added) > 0
			if err == nil && it.Changed {
				err = w.rejectPending([]*herald.ConsentEntry{c})
			}
		case herald.ConsentOptIn:
			it.Changed, err = w.optIn(c)
		}
		if err != nil {
			return err
		}
	}
	if r := it.Reply; r != nil && m.AccountID != "" && (it.Consent == nil || it.Changed) {
		r.Replayed, r.Existing, r.Err = false, nil, nil
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
	w.op.events = append(w.op.events, ev)
	// An account with SMPP users also gets its inbound messages as
	// deliver_sm on its receiver binds: queued in the same commit (the
	// row is kept only if the account has an SMPP user then), so none is
	// lost while no client is bound.
	w.add(outboxInserts, m.AccountID, string(herald.ClientInbound), m.ID, string(herald.StatusReceived), m.From, m.To,
		m.Body, "", m.PartCount, 0, ns(m.ReceivedAt), int64(0), ns(m.ReceivedAt), true)
	eps, err := w.endpoints(m.AccountID)
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
		w.op.dels = append(w.op.dels, delivery{id: herald.NewID("dlv", ev.At.UnixMilli()), accountID: m.AccountID,
			messageID: m.ID, eventID: ev.ID, endpointID: e.ID, url: e.URL, secret: e.Secret, payload: payload,
			at: ns(ev.At)})
	}
	return nil
}

const inboundColumns = `id, account_id, from_addr, to_addr, body, encoding, carrier, part_count, received, incomplete,
	keyword, received_at`

func scanInbound(r scanner) (*herald.InboundMessage, error) {
	var m herald.InboundMessage
	var at int64
	if err := r.Scan(&m.ID, &m.AccountID, &m.From, &m.To, &m.Body, &m.Encoding, &m.Carrier, &m.PartCount, &m.Received,
		&m.Incomplete, &m.Keyword, &at); err != nil {
		return nil, err
	}
	m.ReceivedAt = tm(at)
	return &m, nil
}

// InboundMessage implements store.Inbound.
func (s *Store) InboundMessage(ctx context.Context, accountID, id string) (*herald.InboundMessage, error) {
	m, err := scanInbound(s.pool.QueryRow(ctx, `SELECT `+inboundColumns+` FROM inbound_messages
		WHERE id = $1 AND account_id = $2`, id, accountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("message")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: inbound %s: %w", id, err)
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
	args := []any{accountID}
	where.WriteString("account_id = $1")
	add := func(cond string, v any) {
		args = append(args, v)
		where.WriteString(" AND " + cond + " $" + strconv.Itoa(len(args)))
	}
	if f.From != "" {
		add("from_addr =", f.From)
	}
	if f.To != "" {
		add("to_addr =", f.To)
	}
	if f.Cursor != "" {
		add("id <", f.Cursor)
	}
	args = append(args, limit+1)
	rows, err := s.pool.Query(ctx, `SELECT `+inboundColumns+` FROM inbound_messages WHERE `+where.String()+
		` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: list inbound: %w", err)
	}
	out, err := collect(rows, scanInbound)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: list inbound: %w", err)
	}
	out, next := store.Page(out, limit, func(m *herald.InboundMessage) string { return m.ID })
	return out, next, nil
}

// Conversation implements store.Inbound. Items are ordered by time, then
// id; the cursor is "time:id" of the last item of the previous page. Two
// round trips: the page's ids (each direction read from its index), then
// its messages.
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
	rows, err := s.pool.Query(ctx, `(SELECT 'o' AS d, id, created_at AS at FROM messages
			WHERE account_id = $1 AND to_addr = $2 AND (created_at, id) > ($3, $4) ORDER BY created_at, id LIMIT $5)
		UNION ALL
		(SELECT 'i', id, received_at FROM inbound_messages
			WHERE account_id = $1 AND from_addr = $2 AND (received_at, id) > ($3, $4) ORDER BY received_at, id LIMIT $5)
		ORDER BY at, id LIMIT $5`, accountID, number, afterT, afterID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: conversation: %w", err)
	}
	type ref struct {
		d, id string
		at    int64
	}
	var refs []ref
	var outIDs, inIDs []string
	for rows.Next() {
		var r ref
		if err := rows.Scan(&r.d, &r.id, &r.at); err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("postgres: conversation: %w", err)
		}
		refs = append(refs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("postgres: conversation: %w", err)
	}
	next := ""
	if len(refs) > limit {
		refs = refs[:limit]
		last := refs[limit-1]
		next = fmt.Sprintf("%d:%s", last.at, last.id)
	}
	for _, r := range refs {
		if r.d == "o" {
			outIDs = append(outIDs, r.id)
		} else {
			inIDs = append(inIDs, r.id)
		}
	}
	outs := map[string]*herald.Message{}
	ins := map[string]*herald.InboundMessage{}
	if len(refs) > 0 {
		b := &pgx.Batch{}
		b.Queue(`SELECT `+messageColumns+` FROM messages WHERE account_id = $1 AND id = ANY($2)`, accountID, outIDs)
		b.Queue(`SELECT `+inboundColumns+` FROM inbound_messages WHERE account_id = $1 AND id = ANY($2)`, accountID, inIDs)
		br := s.pool.SendBatch(ctx, b)
		defer br.Close()
		rows, err := br.Query()
		if err != nil {
			return nil, "", fmt.Errorf("postgres: conversation: %w", err)
		}
		for rows.Next() {
			m, err := scanMessage(rows)
			if err != nil {
				rows.Close()
				return nil, "", fmt.Errorf("postgres: conversation: %w", err)
			}
			outs[m.ID] = m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, "", fmt.Errorf("postgres: conversation: %w", err)
		}
		if rows, err = br.Query(); err != nil {
			return nil, "", fmt.Errorf("postgres: conversation: %w", err)
		}
		for rows.Next() {
			m, err := scanInbound(rows)
			if err != nil {
				rows.Close()
				return nil, "", fmt.Errorf("postgres: conversation: %w", err)
			}
			ins[m.ID] = m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, "", fmt.Errorf("postgres: conversation: %w", err)
		}
	}
	out := make([]store.ConversationItem, 0, len(refs))
	for _, r := range refs {
		var it store.ConversationItem
		if r.d == "o" {
			it.Outbound = outs[r.id]
		} else {
			it.Inbound = ins[r.id]
		}
		if it.Outbound == nil && it.Inbound == nil {
			return nil, "", notFound("message")
		}
		out = append(out, it)
	}
	return out, next, nil
}

var _ store.Inbound = (*Store)(nil)
