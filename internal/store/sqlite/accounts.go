package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// EnsureAccount implements store.Accounts.
func (s *Store) EnsureAccount(ctx context.Context, name string) (*herald.Account, error) {
	var a herald.Account
	err := s.write(ctx, func(w *wtx) error {
		var created int64
		err := w.queryRow("account.byName", name).Scan(&a.ID, &a.Name, &a.WebhookSecret, &created)
		if err == nil {
			a.CreatedAt = tm(created)
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: account %q: %w", name, err)
		}
		now := time.Now().UTC()
		a = herald.Account{ID: herald.NewID("acc", now.UnixMilli()), Name: name, WebhookSecret: herald.NewWebhookSecret(), CreatedAt: now}
		_, err = w.exec("account.insert", a.ID, a.Name, a.WebhookSecret, ns(now))
		return err
	}, nil)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// CreateAPIKey implements store.Accounts.
func (s *Store) CreateAPIKey(ctx context.Context, k *herald.APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now().UTC()
	}
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec("key.insert", k.ID, k.AccountID, k.Prefix, k.Hash, ns(k.CreatedAt))
		return err
	}, nil)
}

// APIKeyByPrefix implements store.Accounts.
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (*herald.APIKey, error) {
	var k herald.APIKey
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, account_id, prefix, hash, created_at FROM api_keys WHERE prefix = ?`, prefix).
		Scan(&k.ID, &k.AccountID, &k.Prefix, &k.Hash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("api key")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: api key: %w", err)
	}
	k.CreatedAt = tm(created)
	return &k, nil
}
