package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// OptedOut implements store.OptOuts.
func (s *Store) OptedOut(ctx context.Context, accountID, number, sender string) (bool, error) {
	var out bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM opt_outs WHERE account_id = $1 AND number = $2
		AND sender IN ('', $3))`, accountID, number, sender).Scan(&out)
	if err != nil {
		return false, fmt.Errorf("postgres: opted out: %w", err)
	}
	return out, nil
}

// optOutPage is the order of OptOuts' pages: SQLite's, number|sender
// compared byte by byte (the opt_outs_page index).
const optOutPage = `(number || '|' || sender) COLLATE "C"`

// OptOuts implements store.OptOuts. The cursor is the last number and
// sender of the previous page.
func (s *Store) OptOuts(ctx context.Context, accountID, cursor string, limit int) ([]*herald.OptOut, string, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 10000)
	rows, err := s.pool.Query(ctx, `SELECT account_id, number, sender, at, source, keyword, inbound_id FROM opt_outs
		WHERE account_id = $1 AND `+optOutPage+` > $2 ORDER BY `+optOutPage+` LIMIT $3`, accountID, cursor, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: opt-outs: %w", err)
	}
	defer rows.Close()
	var out []*herald.OptOut
	for rows.Next() {
		var o herald.OptOut
		var at int64
		if err := rows.Scan(&o.AccountID, &o.Number, &o.Sender, &at, &o.Source, &o.Keyword, &o.InboundID); err != nil {
			return nil, "", fmt.Errorf("postgres: opt-outs: %w", err)
		}
		o.At = tm(at)
		out = append(out, &o)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("postgres: opt-outs: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = last.Number + "|" + last.Sender
	}
	return out, next, nil
}

// AddOptOuts implements store.OptOuts; like an inbound STOP, a new
// opt-out rejects the pending messages it covers.
func (s *Store) AddOptOuts(ctx context.Context, os []*herald.OptOut) (int, error) {
	var added int
	err := s.write(ctx, needs{}, func(w *wtx) error {
		added = 0
		news, err := w.optOuts(os)
		if err != nil {
			return err
		}
		added = len(news)
		cs := make([]*herald.ConsentEntry, len(news))
		for i, o := range news {
			cs[i] = &herald.ConsentEntry{AccountID: o.AccountID, Number: o.Number, Sender: o.Sender, At: o.At, Source: o.Source}
		}
		return w.rejectPending(cs)
	})
	return added, err
}

var optOutInserts = newKind("opt-outs", `INSERT INTO opt_outs (account_id, number, sender, at, source, keyword,
	inbound_id) SELECT * FROM %s ON CONFLICT (account_id, number, sender) DO NOTHING
	RETURNING account_id, number, sender`,
	"account_id text", "number text", "sender text", "at bigint", "source text", "keyword text", "inbound_id text")

type optOutKey struct{ account, number, sender string }

func keyOf(o *herald.OptOut) optOutKey { return optOutKey{o.AccountID, o.Number, o.Sender} }

// optOuts records the opt-outs that do not exist yet (the first of os
// with a key wins), with a ledger entry each, and returns them in the
// order of os. The primary key decides between transactions adding the
// same one: the second waits for the first, then finds it. One round trip.
func (w *wtx) optOuts(os []*herald.OptOut) ([]*herald.OptOut, error) {
	seen := map[optOutKey]bool{}
	var uniq []*herald.OptOut
	for _, o := range os {
		if o.At.IsZero() {
			o.At = time.Now().UTC()
		}
		if k := keyOf(o); !seen[k] {
			seen[k] = true
			uniq = append(uniq, o)
		}
	}
	if len(uniq) == 0 {
		return nil, nil
	}
	// Inserted in key order: two transactions adding the same keys wait
	// for each other in the same order, rather than deadlock.
	sorted := slices.Clone(uniq)
	slices.SortFunc(sorted, func(a, b *herald.OptOut) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Number, b.Number), cmp.Compare(a.Sender, b.Sender))
	})
	r := optOutInserts.rows()
	for _, o := range sorted {
		r.add(o.AccountID, o.Number, o.Sender, ns(o.At), o.Source, o.Keyword, o.InboundID)
	}
	rows, err := w.query("opt-outs", r.kind.sql, r.cols...)
	if err != nil {
		return nil, err
	}
	added := map[optOutKey]bool{}
	for rows.Next() {
		var k optOutKey
		if err := rows.Scan(&k.account, &k.number, &k.sender); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: opt-outs: %w", err)
		}
		added[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: opt-outs: %w", err)
	}
	if len(added) == 0 {
		return nil, nil
	}
	w.wrote = true
	var out []*herald.OptOut
	for _, o := range uniq {
		if added[keyOf(o)] {
			out = append(out, o)
			w.ledger(&herald.ConsentEntry{AccountID: o.AccountID, Number: o.Number, Sender: o.Sender,
				Action: herald.ConsentOptOut, At: o.At, Source: o.Source, Keyword: o.Keyword, InboundID: o.InboundID})
		}
	}
	return out, nil
}

// optIn removes the opt-outs e names (its sender's, and the account-wide
// one) and appends e to the ledger when there was one.
func (w *wtx) optIn(e *herald.ConsentEntry) (bool, error) {
	tag, err := w.tx.Exec(w.ctx, `DELETE FROM opt_outs WHERE account_id = $1 AND number = $2 AND sender IN ('', $3)`,
		e.AccountID, e.Number, e.Sender)
	if err != nil {
		return false, fmt.Errorf("postgres: opt-in: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	w.wrote = true
	w.ledger(e)
	return true, nil
}

// rejectPending moves the messages each new opt-out of cs covers (the
// account's, to the number, not sent yet, from the opt-out's sender or
// from any for an account-wide one, of a type the account's policy does
// not exempt) to rejected; a message covered by several is rejected by
// the first. Two round trips: the candidates, then their row locks.
func (w *wtx) rejectPending(cs []*herald.ConsentEntry) error {
	if len(cs) == 0 {
		return nil
	}
	accounts, numbers, senders := make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs))
	for i, c := range cs {
		accounts[i], numbers[i], senders[i] = c.AccountID, c.Number, c.Sender
	}
	rows, err := w.query("pending for opt-out", `SELECT m.id, m.type, min(o.ord), COALESCE(min(p.exempt), '')
		FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS o(account_id, number, sender, ord)
		JOIN messages m ON m.account_id = o.account_id AND m.to_addr = o.number AND (o.sender = '' OR m.from_addr = o.sender)
		LEFT JOIN account_policies p ON p.account_id = m.account_id
		WHERE m.status IN ('accepted', 'scheduled', 'queued')
		GROUP BY m.id, m.type ORDER BY m.id`, accounts, numbers, senders)
	if err != nil {
		return err
	}
	type pending struct {
		id string
		c  *herald.ConsentEntry
	}
	var ps []pending
	var ids []string
	for rows.Next() {
		var id, typ, exempt string
		var ord int64
		if err := rows.Scan(&id, &typ, &ord, &exempt); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: pending for opt-out: %w", err)
		}
		if !strings.Contains(","+exempt+",", ","+typ+",") {
			ps = append(ps, pending{id, cs[ord-1]})
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: pending for opt-out: %w", err)
	}
	if len(ps) == 0 {
		return nil
	}
	if err := w.lock(ids); err != nil {
		return err
	}
	b := newBatch(w)
	for _, p := range ps {
		st, err := b.load(p.id)
		if herald.ErrorKind(err) == herald.KindNotFound {
			continue
		}
		if err != nil {
			return err
		}
		switch st.m.Status {
		case herald.StatusAccepted, herald.StatusScheduled, herald.StatusQueued:
		default:
			continue // it moved on since the SELECT (another node is sending it)
		}
		for i := range st.m.Parts {
			if _, err := b.transition(st, i, store.Transition{To: herald.StatusRejected, At: p.c.At,
				ErrorCode: "recipient_opted_out", ErrorMessage: "the recipient opted out before it was sent",
				Detail: optOutDetail(p.c)}); err != nil {
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

// RemoveOptOut implements store.OptOuts.
func (s *Store) RemoveOptOut(ctx context.Context, e *herald.ConsentEntry) error {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	e.Action = herald.ConsentRemove
	return s.write(ctx, needs{}, func(w *wtx) error {
		tag, err := w.tx.Exec(w.ctx, `DELETE FROM opt_outs WHERE account_id = $1 AND number = $2 AND sender = $3`,
			e.AccountID, e.Number, e.Sender)
		if err != nil {
			return fmt.Errorf("postgres: remove opt-out: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("opt-out") // nothing written: the op fails alone
		}
		w.wrote = true
		w.ledger(e)
		return nil
	})
}

// ConsentLedger implements store.OptOuts.
func (s *Store) ConsentLedger(ctx context.Context, accountID, number string, limit int) ([]*herald.ConsentEntry, error) {
	if limit <= 0 {
		limit = 1000
	}
	q := `SELECT id, account_id, number, sender, action, at, source, keyword, inbound_id, reason FROM consent_ledger
		WHERE account_id = $1`
	args := []any{accountID}
	if number != "" {
		q += ` AND number = $3`
		args = append(args, limit, number)
	} else {
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY at, id LIMIT $2`, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: ledger: %w", err)
	}
	defer rows.Close()
	var out []*herald.ConsentEntry
	for rows.Next() {
		var e herald.ConsentEntry
		var action string
		var at int64
		if err := rows.Scan(&e.ID, &e.AccountID, &e.Number, &e.Sender, &action, &at, &e.Source, &e.Keyword,
			&e.InboundID, &e.Reason); err != nil {
			return nil, fmt.Errorf("postgres: ledger: %w", err)
		}
		e.Action, e.At = herald.ConsentAction(action), tm(at)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: ledger: %w", err)
	}
	return out, nil
}

var _ store.OptOuts = (*Store)(nil)
