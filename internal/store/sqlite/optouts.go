package sqlite

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// OptedOut implements store.OptOuts.
func (s *Store) OptedOut(ctx context.Context, accountID, number, sender string) (bool, error) {
	if !s.optedNumbers.mayHave(number) {
		return false, nil // nobody ever opted this number out: no query
	}
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM opt_outs WHERE account_id = ? AND number = ? AND sender IN ('', ?)`,
		accountID, number, sender).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("sqlite: opted out: %w", err)
	}
	return n > 0, nil
}

// OptOuts implements store.OptOuts. The cursor is the last number and
// sender of the previous page.
func (s *Store) OptOuts(ctx context.Context, accountID, cursor string, limit int) ([]*herald.OptOut, string, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 10000)
	rows, err := s.r.QueryContext(ctx, `SELECT account_id, number, sender, at, source, keyword, inbound_id FROM opt_outs
		WHERE account_id = ? AND number || '|' || sender > ? ORDER BY number || '|' || sender LIMIT ?`, accountID, cursor, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: opt-outs: %w", err)
	}
	defer rows.Close()
	var out []*herald.OptOut
	for rows.Next() {
		var o herald.OptOut
		var at int64
		if err := rows.Scan(&o.AccountID, &o.Number, &o.Sender, &at, &o.Source, &o.Keyword, &o.InboundID); err != nil {
			return nil, "", fmt.Errorf("sqlite: opt-outs: %w", err)
		}
		o.At = tm(at)
		out = append(out, &o)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite: opt-outs: %w", err)
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
	err := s.write(ctx, func(w *wtx) error {
		added = 0
		for _, o := range os {
			ok, err := w.optOut(o)
			if err != nil {
				return err
			}
			if ok {
				added++
				if err := w.rejectPending(&herald.ConsentEntry{AccountID: o.AccountID, Number: o.Number, Sender: o.Sender,
					At: o.At, Source: o.Source}); err != nil {
					return err
				}
			}
		}
		return nil
	}, nil)
	return added, err
}

// optOut records o unless it exists, with its ledger entry; it reports
// whether it was new.
func (w *wtx) optOut(o *herald.OptOut) (bool, error) {
	if o.At.IsZero() {
		o.At = time.Now().UTC()
	}
	// Added before the commit: if the commit fails, the filter only has
	// one number too many, which costs a query, never a wrong answer.
	w.s.optedNumbers.add(o.Number)
	res, err := w.execSQL(`INSERT INTO opt_outs (account_id, number, sender, at, source, keyword, inbound_id)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, number, sender) DO NOTHING`,
		o.AccountID, o.Number, o.Sender, ns(o.At), o.Source, o.Keyword, o.InboundID)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	return true, w.ledger(&herald.ConsentEntry{AccountID: o.AccountID, Number: o.Number, Sender: o.Sender,
		Action: herald.ConsentOptOut, At: o.At, Source: o.Source, Keyword: o.Keyword, InboundID: o.InboundID})
}

// optIn removes the opt-outs e names (its sender's, and the account-wide
// one) and appends e to the ledger when there was one.
func (w *wtx) optIn(e *herald.ConsentEntry) (bool, error) {
	res, err := w.execSQL(`DELETE FROM opt_outs WHERE account_id = ? AND number = ? AND sender IN ('', ?)`,
		e.AccountID, e.Number, e.Sender)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	return true, w.ledger(e)
}

// RemoveOptOut implements store.OptOuts.
func (s *Store) RemoveOptOut(ctx context.Context, e *herald.ConsentEntry) error {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	e.Action = herald.ConsentRemove
	return s.write(ctx, func(w *wtx) error {
		res, err := w.execSQL(`DELETE FROM opt_outs WHERE account_id = ? AND number = ? AND sender = ?`,
			e.AccountID, e.Number, e.Sender)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("opt-out")
		}
		return w.ledger(e)
	}, nil)
}

// ConsentLedger implements store.OptOuts.
func (s *Store) ConsentLedger(ctx context.Context, accountID, number string, limit int) ([]*herald.ConsentEntry, error) {
	if limit <= 0 {
		limit = 1000
	}
	q := `SELECT id, account_id, number, sender, action, at, source, keyword, inbound_id, reason FROM consent_ledger
		WHERE account_id = ?`
	args := []any{accountID}
	if number != "" {
		q += ` AND number = ?`
		args = append(args, number)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY at, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: ledger: %w", err)
	}
	defer rows.Close()
	var out []*herald.ConsentEntry
	for rows.Next() {
		var e herald.ConsentEntry
		var action string
		var at int64
		if err := rows.Scan(&e.ID, &e.AccountID, &e.Number, &e.Sender, &action, &at, &e.Source, &e.Keyword,
			&e.InboundID, &e.Reason); err != nil {
			return nil, fmt.Errorf("sqlite: ledger: %w", err)
		}
		e.Action, e.At = herald.ConsentAction(action), tm(at)
		out = append(out, &e)
	}
	return out, rows.Err()
}

var _ store.OptOuts = (*Store)(nil)

// numberFilter holds every number that has (or had) an opt-out in this
// database, so that the intake's check for a number nobody opted out —
// nearly every message — needs no query. It may hold numbers whose
// opt-outs were removed since (they only cost a query). The store is
// the database's only writer (one process), so the filter is complete:
// loaded at open, added to by every opt-out write.
type numberFilter struct {
	mu sync.RWMutex
	m  map[string]struct{} // mu guards m
}

func (f *numberFilter) add(number string) {
	f.mu.Lock()
	f.m[number] = struct{}{}
	f.mu.Unlock()
}

func (f *numberFilter) mayHave(number string) bool {
	f.mu.RLock()
	_, ok := f.m[number]
	f.mu.RUnlock()
	return ok
}

// loadOptedNumbers fills the filter from the database.
func (s *Store) loadOptedNumbers() error {
	s.optedNumbers.m = map[string]struct{}{}
	rows, err := s.r.Query(`SELECT DISTINCT number FROM opt_outs`)
	if err != nil {
		return fmt.Errorf("sqlite: opt-outs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return fmt.Errorf("sqlite: opt-outs: %w", err)
		}
		s.optedNumbers.m[n] = struct{}{}
	}
	return rows.Err()
}
