package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

const fraudColumns = `id, account_id, scope, key, country, reason, level, monitor, until, sent, approved, created_at, ended_at, ended_by`

// SaveFraudBlock implements store.FraudBlocks.
func (s *Store) SaveFraudBlock(ctx context.Context, b *herald.FraudBlock, event string, at time.Time) error {
	return s.write(ctx, func(w *wtx) error {
		monitor := 0
		if b.Monitor {
			monitor = 1
		}
		if _, err := w.tx.ExecContext(w.ctx, `INSERT INTO fraud_blocks (`+fraudColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET until = excluded.until, ended_at = excluded.ended_at, ended_by = excluded.ended_by`,
			b.ID, b.AccountID, b.Scope, b.Key, b.Country, b.Reason, b.Level, monitor, ns(b.Until), b.Sent, b.Approved,
			ns(b.CreatedAt), ns(b.EndedAt), b.EndedBy); err != nil {
			return fmt.Errorf("sqlite: fraud block: %w", err)
		}
		eps, err := s.accountEndpoints(w.ctx, b.AccountID)
		if err != nil {
			return err
		}
		evID := herald.NewID("evt", at.UnixMilli())
		var payload []byte
		for _, e := range eps {
			if !e.Wants(event) {
				continue
			}
			if payload == nil {
				payload = herald.FraudPayload(evID, event, at, b)
			}
			if _, err := w.tx.ExecContext(w.ctx, `INSERT INTO deliveries (id, account_id, message_id, event_id, endpoint_id, url, secret,
  payload, next_at, created_at, state) VALUES (?, ?, '', ?, ?, ?, ?, ?, ?, ?, 'pending')`,
				herald.NewID("dlv", at.UnixMilli()), b.AccountID, evID, e.ID, e.URL, e.Secret, payload, ns(at), ns(at)); err != nil {
				return fmt.Errorf("sqlite: fraud event delivery: %w", err)
			}
		}
		return nil
	}, nil)
}

// FraudBlocks implements store.FraudBlocks.
func (s *Store) FraudBlocks(ctx context.Context, accountID string, since time.Time) ([]*herald.FraudBlock, error) {
	q := `SELECT ` + fraudColumns + ` FROM fraud_blocks WHERE created_at >= ?`
	args := []any{ns(since)}
	if accountID != "" {
		q += ` AND account_id = ?`
		args = append(args, accountID)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: fraud blocks: %w", err)
	}
	defer rows.Close()
	var out []*herald.FraudBlock
	for rows.Next() {
		var b herald.FraudBlock
		var monitor int
		var until, created, ended int64
		if err := rows.Scan(&b.ID, &b.AccountID, &b.Scope, &b.Key, &b.Country, &b.Reason, &b.Level, &monitor, &until,
			&b.Sent, &b.Approved, &created, &ended, &b.EndedBy); err != nil {
			return nil, fmt.Errorf("sqlite: fraud blocks: %w", err)
		}
		b.Monitor, b.Until, b.CreatedAt, b.EndedAt = monitor != 0, tm(until), tm(created), tm(ended)
		out = append(out, &b)
	}
	return out, rows.Err()
}
