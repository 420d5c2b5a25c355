package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// CreateEndpoint implements store.Webhooks.
func (s *Store) CreateEndpoint(ctx context.Context, e *herald.WebhookEndpoint) error {
	events, err := json.Marshal(e.Events)
	if err != nil {
		return fmt.Errorf("sqlite: endpoint events: %w", err)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now().UTC()
	}
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec("endpoint.insert", e.ID, e.AccountID, e.URL, e.Secret, string(events), ns(e.CreatedAt))
		return err
	}, func() { s.forgetEndpoints(e.AccountID) })
}

// Endpoints implements store.Webhooks: every endpoint of the account,
// disabled ones included.
func (s *Store) Endpoints(ctx context.Context, accountID string) ([]*herald.WebhookEndpoint, error) {
	return s.loadEndpoints(ctx, accountID, false)
}

func (s *Store) loadEndpoints(ctx context.Context, accountID string, enabledOnly bool) ([]*herald.WebhookEndpoint, error) {
	q := `SELECT id, account_id, url, secret, events, disabled, created_at FROM webhook_endpoints WHERE account_id = ?`
	if enabledOnly {
		q += ` AND disabled = 0`
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: endpoints: %w", err)
	}
	defer rows.Close()
	var out []*herald.WebhookEndpoint
	for rows.Next() {
		var e herald.WebhookEndpoint
		var events string
		var disabled int
		var created int64
		if err := rows.Scan(&e.ID, &e.AccountID, &e.URL, &e.Secret, &events, &disabled, &created); err != nil {
			return nil, fmt.Errorf("sqlite: endpoints: %w", err)
		}
		if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
			return nil, fmt.Errorf("sqlite: endpoint %s events: %w", e.ID, err)
		}
		e.Disabled, e.CreatedAt = disabled != 0, tm(created)
		out = append(out, &e)
	}
	return out, rows.Err()
}

// DeleteEndpoint implements store.Webhooks.
func (s *Store) DeleteEndpoint(ctx context.Context, accountID, id string) error {
	return s.write(ctx, func(w *wtx) error {
		res, err := w.exec("endpoint.delete", accountID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("webhook endpoint")
		}
		_, err = w.exec("delivery.disableEndpoint", id)
		return err
	}, func() {
		s.forgetEndpoints(accountID)
		s.fresh.forgetEndpoint(id)
	})
}

// accountEndpoints returns the enabled endpoints of an account, cached
// until one is created, deleted or disabled.
func (s *Store) accountEndpoints(ctx context.Context, accountID string) ([]*herald.WebhookEndpoint, error) {
	s.epMu.Lock()
	eps, ok := s.endpoints[accountID]
	s.epMu.Unlock()
	if ok {
		return eps, nil
	}
	eps, err := s.loadEndpoints(ctx, accountID, true)
	if err != nil {
		return nil, err
	}
	s.epMu.Lock()
	s.endpoints[accountID] = eps
	s.epMu.Unlock()
	return eps, nil
}

func (s *Store) forgetEndpoints(accountID string) {
	s.epMu.Lock()
	delete(s.endpoints, accountID)
	s.epMu.Unlock()
}

// callbackSecret returns the account's secret for callback_url webhooks.
func (s *Store) callbackSecret(accountID string) string {
	s.epMu.Lock()
	sec, ok := s.secrets[accountID]
	s.epMu.Unlock()
	if ok {
		return sec
	}
	if err := s.r.QueryRow(`SELECT webhook_secret FROM accounts WHERE id = ?`, accountID).Scan(&sec); err != nil {
		return ""
	}
	s.epMu.Lock()
	s.secrets[accountID] = sec
	s.epMu.Unlock()
	return sec
}

// ClaimDeliveries implements store.Webhooks.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*herald.Delivery, error) {
	fresh, readDB := s.fresh.take(now, lease, limit)
	if !readDB {
		return fresh, nil
	}
	var out []*herald.Delivery
	err := s.write(ctx, func(w *wtx) error {
		out = append(out[:0], fresh...)
		rows, err := w.query("delivery.due", ns(now), limit-len(fresh))
		if err != nil {
			return err
		}
		for rows.Next() {
			var d herald.Delivery
			var next, created int64
			if err := rows.Scan(&d.ID, &d.AccountID, &d.EventID, &d.EndpointID, &d.URL, &d.Secret, &d.Payload,
				&d.Attempts, &next, &d.LastStatus, &d.LastError, &d.State, &created); err != nil {
				rows.Close()
				return err
			}
			d.NextAt, d.CreatedAt = tm(next), tm(created)
			out = append(out, &d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == len(fresh) {
			return nil
		}
		leases := leaseUpdates.rows()
		until := ns(now.Add(lease))
		for _, d := range out[len(fresh):] {
			leases.add(d.ID, until)
		}
		return w.flushMulti(leases)
	}, nil)
	if err != nil && len(fresh) > 0 {
		// The fresh ones are claimed all the same; the rest wait for the
		// next claim.
		return fresh, nil
	}
	return out, err
}

// RecordAttempts implements store.Webhooks.
func (s *Store) RecordAttempts(ctx context.Context, as []store.Attempt) error {
	var disabled []string
	return s.write(ctx, func(w *wtx) error {
		disabled = disabled[:0]
		updates := attemptUpdates.rows()
		for _, a := range as {
			state, deliveredAt := "pending", int64(0)
			switch {
			case a.Done:
				state, deliveredAt = "delivered", ns(a.At)
			case a.GiveUp:
				state = "failed"
			}
			updates.add(a.DeliveryID, a.HTTPStatus, a.Error, ns(a.NextAt), state, deliveredAt)
		}
		// Write the outcomes before disabling endpoints, which turns their
		// other pending deliveries to disabled.
		if err := w.flushMulti(updates); err != nil {
			return err
		}
		for _, a := range as {
			if a.DisableEndpoint {
				var ep string
				err := w.queryRow("delivery.endpoint", a.DeliveryID).Scan(&ep)
				if errors.Is(err, sql.ErrNoRows) || ep == "" {
					continue
				}
				if err != nil {
					return err
				}
				if _, err := w.exec("endpoint.disable", ep); err != nil {
					return err
				}
				if _, err := w.exec("delivery.disableEndpoint", ep); err != nil {
					return err
				}
				disabled = append(disabled, ep)
			}
		}
		return nil
	}, func() {
		if len(disabled) > 0 {
			s.epMu.Lock()
			clear(s.endpoints)
			s.epMu.Unlock()
		}
		for _, ep := range disabled {
			s.fresh.forgetEndpoint(ep)
		}
	})
}

// Deliveries implements store.Webhooks.
func (s *Store) Deliveries(ctx context.Context, accountID, messageID string) ([]*herald.Delivery, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, account_id, event_id, endpoint_id, url, attempts, next_at,
		last_status, last_error, state, created_at, delivered_at FROM deliveries
		WHERE message_id = ? AND account_id = ? ORDER BY created_at, id`, messageID, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: deliveries: %w", err)
	}
	defer rows.Close()
	var out []*herald.Delivery
	for rows.Next() {
		var d herald.Delivery
		var next, created, delivered int64
		if err := rows.Scan(&d.ID, &d.AccountID, &d.EventID, &d.EndpointID, &d.URL, &d.Attempts, &next,
			&d.LastStatus, &d.LastError, &d.State, &created, &delivered); err != nil {
			return nil, fmt.Errorf("sqlite: deliveries: %w", err)
		}
		d.NextAt, d.CreatedAt, d.DeliveredAt = tm(next), tm(created), tm(delivered)
		out = append(out, &d)
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
