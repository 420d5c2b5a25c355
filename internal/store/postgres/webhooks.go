package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// CreateEndpoint implements store.Webhooks.
func (s *Store) CreateEndpoint(ctx context.Context, e *herald.WebhookEndpoint) error {
	events, err := json.Marshal(e.Events)
	if err != nil {
		return fmt.Errorf("postgres: endpoint events: %w", err)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now().UTC()
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO webhook_endpoints (id, account_id, url, secret, events, disabled, created_at)
		VALUES ($1, $2, $3, $4, $5, false, $6)`, e.ID, e.AccountID, e.URL, e.Secret, string(events), ns(e.CreatedAt))
	if err != nil {
		return dbError(fmt.Errorf("postgres: create endpoint: %w", err))
	}
	return nil
}

// Endpoints implements store.Webhooks: every endpoint of the account,
// disabled ones included.
func (s *Store) Endpoints(ctx context.Context, accountID string) ([]*herald.WebhookEndpoint, error) {
	return loadEndpoints(ctx, s.pool, accountID, false)
}

// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const endpointColumns = `id, account_id, url, secret, events, disabled, created_at`

// loadEndpoints reads an account's endpoints; enabledOnly, in a
// transaction that queues deliveries to them, reads the enabled ones FOR
// SHARE (see wtx.lock).
func loadEndpoints(ctx context.Context, q rowQuerier, accountID string, enabledOnly bool) ([]*herald.WebhookEndpoint, error) {
	sql := `SELECT ` + endpointColumns + ` FROM webhook_endpoints WHERE account_id = $1`
	if enabledOnly {
		sql += ` AND NOT disabled ORDER BY id FOR SHARE`
	} else {
		sql += ` ORDER BY id`
	}
	rows, err := q.Query(ctx, sql, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: endpoints: %w", err)
	}
	return collectEndpoints(rows)
}

// collectEndpoints reads and closes rows of endpointColumns.
func collectEndpoints(rows pgx.Rows) ([]*herald.WebhookEndpoint, error) {
	defer rows.Close()
	var out []*herald.WebhookEndpoint
	for rows.Next() {
		var e herald.WebhookEndpoint
		var events string
		var created int64
		if err := rows.Scan(&e.ID, &e.AccountID, &e.URL, &e.Secret, &events, &e.Disabled, &created); err != nil {
			return nil, fmt.Errorf("postgres: endpoints: %w", err)
		}
		if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
			return nil, fmt.Errorf("postgres: endpoint %s events: %w", e.ID, err)
		}
		e.CreatedAt = tm(created)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: endpoints: %w", err)
	}
	return out, nil
}

// DeleteEndpoint implements store.Webhooks. The DELETE waits for the
// transactions that read the endpoint to queue deliveries (FOR SHARE),
// so the UPDATE after it finds and disables every pending one.
func (s *Store) DeleteEndpoint(ctx context.Context, accountID, id string) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return errUnavailable(fmt.Errorf("postgres: begin: %w", err))
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `DELETE FROM webhook_endpoints WHERE account_id = $1 AND id = $2`, accountID, id)
	if err != nil {
		return errUnavailable(fmt.Errorf("postgres: delete endpoint: %w", err))
	}
	if tag.RowsAffected() == 0 {
		return notFound("webhook endpoint")
	}
	if _, err := tx.Exec(ctx, `UPDATE deliveries SET state = 'disabled' WHERE endpoint_id = $1 AND state = 'pending'`, id); err != nil {
		return errUnavailable(fmt.Errorf("postgres: delete endpoint: %w", err))
	}
	if err := tx.Commit(ctx); err != nil {
		return errUnavailable(fmt.Errorf("postgres: delete endpoint: %w", err))
	}
	return nil
}

// ClaimDeliveries implements store.Webhooks. Due rows are locked with
// FOR UPDATE SKIP LOCKED and their next attempt pushed past the lease in
// the same statement: a node never waits for another's claim, and never
// takes a delivery another node holds.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*herald.Delivery, error) {
	var out []*herald.Delivery
	err := s.write(ctx, needs{}, func(w *wtx) error {
		out = out[:0]
		rows, err := w.query("claim deliveries", `UPDATE deliveries d SET next_at = $2
			FROM (SELECT id, next_at FROM deliveries WHERE state = 'pending' AND next_at <= $1 ORDER BY next_at LIMIT $3
			      FOR UPDATE SKIP LOCKED) AS due
			WHERE d.id = due.id
			RETURNING d.id, d.account_id, d.event_id, d.endpoint_id, d.url, d.secret, d.payload, d.attempts,
			due.next_at, d.last_status, d.last_error, d.state, d.created_at`, ns(now), ns(now.Add(lease)), limit)
		if err != nil {
			return err
		}
		w.wrote = true
		for rows.Next() {
			var d herald.Delivery
			var next, created int64
			if err := rows.Scan(&d.ID, &d.AccountID, &d.EventID, &d.EndpointID, &d.URL, &d.Secret, &d.Payload,
				&d.Attempts, &next, &d.LastStatus, &d.LastError, &d.State, &created); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: claim deliveries: %w", err)
			}
			d.NextAt, d.CreatedAt = tm(next), tm(created)
			out = append(out, &d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: claim deliveries: %w", err)
		}
		return nil
	})
	return out, err
}

// RecordAttempts implements store.Webhooks.
func (s *Store) RecordAttempts(ctx context.Context, as []store.Attempt) error {
	return s.write(ctx, needs{}, func(w *wtx) error {
		updates := attemptUpdates.rows()
		var disable []string
		for _, a := range as {
			state, deliveredAt := "pending", int64(0)
			switch {
			case a.Done:
				state, deliveredAt = "delivered", ns(a.At)
			case a.GiveUp:
				state = "failed"
			}
			updates.add(a.DeliveryID, a.HTTPStatus, a.Error, ns(a.NextAt), state, deliveredAt)
			if a.DisableEndpoint {
				disable = append(disable, a.DeliveryID)
			}
		}
		if updates.n > 0 {
			w.later(updates.kind.sql, updates.cols...)
		}
		if len(disable) > 0 {
			// After the outcomes: disabling turns the endpoints' other
			// pending deliveries to disabled.
			w.later(`WITH eps AS (UPDATE webhook_endpoints SET disabled = true WHERE id IN
				(SELECT endpoint_id FROM deliveries WHERE id = ANY($1) AND endpoint_id <> '') RETURNING id)
				UPDATE deliveries SET state = 'disabled' WHERE endpoint_id IN (SELECT id FROM eps) AND state = 'pending'`, disable)
		}
		return nil
	})
}

// Deliveries implements store.Webhooks.
func (s *Store) Deliveries(ctx context.Context, accountID, messageID string) ([]*herald.Delivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, account_id, event_id, endpoint_id, url, attempts, next_at,
		last_status, last_error, state, created_at, delivered_at FROM deliveries
		WHERE message_id = $1 AND account_id = $2 ORDER BY created_at, id`, messageID, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: deliveries: %w", err)
	}
	defer rows.Close()
	var out []*herald.Delivery
	for rows.Next() {
		var d herald.Delivery
		var next, created, delivered int64
		if err := rows.Scan(&d.ID, &d.AccountID, &d.EventID, &d.EndpointID, &d.URL, &d.Attempts, &next,
			&d.LastStatus, &d.LastError, &d.State, &created, &delivered); err != nil {
			return nil, fmt.Errorf("postgres: deliveries: %w", err)
		}
		d.NextAt, d.CreatedAt, d.DeliveredAt = tm(next), tm(created), tm(delivered)
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: deliveries: %w", err)
	}
	if len(out) == 0 {
		if _, err := s.Message(ctx, accountID, messageID, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}
