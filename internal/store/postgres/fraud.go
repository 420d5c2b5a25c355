package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// Fraud blocks (migration 0006).

const fraudColumns = `id, account_id, scope, key, country, reason, level, monitor, until, sent, approved, created_at, ended_at, ended_by`

// SaveFraudBlock implements store.FraudBlocks: the block is upserted at
// once (a later save of the same block in the group sees it), its
// event's deliveries go with the group's rows.
func (s *Store) SaveFraudBlock(ctx context.Context, b *herald.FraudBlock, event string, at time.Time) error {
	return s.write(ctx, needs{}, func(w *wtx) error {
		// The endpoints first: reading them writes nothing.
		eps, err := w.endpoints(b.AccountID)
		if err != nil {
			return err
		}
		if _, err := w.exec("fraud block", `INSERT INTO fraud_blocks (`+fraudColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT (id) DO UPDATE SET until = excluded.until, ended_at = excluded.ended_at, ended_by = excluded.ended_by`,
			b.ID, b.AccountID, b.Scope, b.Key, b.Country, b.Reason, b.Level, b.Monitor, ns(b.Until), b.Sent, b.Approved,
			ns(b.CreatedAt), ns(b.EndedAt), b.EndedBy); err != nil {
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
			w.op.dels = append(w.op.dels, delivery{id: herald.NewID("dlv", at.UnixMilli()), accountID: b.AccountID,
				eventID: evID, endpointID: e.ID, url: e.URL, secret: e.Secret, payload: payload, at: ns(at)})
		}
		return nil
	})
}

// FraudBlocks implements store.FraudBlocks.
func (s *Store) FraudBlocks(ctx context.Context, accountID string, since time.Time) ([]*herald.FraudBlock, error) {
	q := `SELECT ` + fraudColumns + ` FROM fraud_blocks WHERE created_at >= $1`
	args := []any{ns(since)}
	if accountID != "" {
		q += ` AND account_id = $2`
		args = append(args, accountID)
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: fraud blocks: %w", err)
	}
	defer rows.Close()
	var out []*herald.FraudBlock
	for rows.Next() {
		var b herald.FraudBlock
		var until, created, ended int64
		if err := rows.Scan(&b.ID, &b.AccountID, &b.Scope, &b.Key, &b.Country, &b.Reason, &b.Level, &b.Monitor, &until,
			&b.Sent, &b.Approved, &created, &ended, &b.EndedBy); err != nil {
			return nil, fmt.Errorf("postgres: fraud blocks: %w", err)
		}
		b.Until, b.CreatedAt, b.EndedAt = tm(until), tm(created), tm(ended)
		out = append(out, &b)
	}
	return out, rows.Err()
}
