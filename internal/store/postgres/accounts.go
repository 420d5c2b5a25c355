package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-sms/herald/internal/herald"
)

// Accounts and keys are written rarely: each write is its own
// transaction, outside the group commit.

// EnsureAccount implements store.Accounts. Nodes that create the same
// account at once all get the one that was stored first.
func (s *Store) EnsureAccount(ctx context.Context, name string) (*herald.Account, error) {
	now := time.Now().UTC()
	a := herald.Account{ID: herald.NewID("acc", now.UnixMilli()), Name: name, WebhookSecret: herald.NewWebhookSecret(), CreatedAt: now}
	tag, err := s.pool.Exec(ctx, `INSERT INTO accounts (id, name, webhook_secret, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO NOTHING`, a.ID, a.Name, a.WebhookSecret, ns(now))
	if err != nil {
		return nil, dbError(fmt.Errorf("postgres: account %q: %w", name, err))
	}
	if tag.RowsAffected() == 1 {
		return &a, nil
	}
	var created int64
	err = s.pool.QueryRow(ctx, `SELECT id, name, webhook_secret, created_at FROM accounts WHERE name = $1`, name).
		Scan(&a.ID, &a.Name, &a.WebhookSecret, &created)
	if err != nil {
		return nil, fmt.Errorf("postgres: account %q: %w", name, err)
	}
	a.CreatedAt = tm(created)
	return &a, nil
}

// CreateAPIKey implements store.Accounts.
func (s *Store) CreateAPIKey(ctx context.Context, k *herald.APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now().UTC()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (id, account_id, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.AccountID, k.Prefix, k.Hash, ns(k.CreatedAt))
	if err != nil {
		return dbError(fmt.Errorf("postgres: api key: %w", err))
	}
	return nil
}

// APIKeyByPrefix implements store.Accounts.
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (*herald.APIKey, error) {
	var k herald.APIKey
	var created int64
	err := s.pool.QueryRow(ctx, `SELECT id, account_id, prefix, hash, created_at FROM api_keys WHERE prefix = $1`, prefix).
		Scan(&k.ID, &k.AccountID, &k.Prefix, &k.Hash, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("api key")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: api key: %w", err)
	}
	k.CreatedAt = tm(created)
	return &k, nil
}

// callbackSecret returns the account's secret for callback_url webhooks.
// Secrets never change, so every node may keep them.
func (w *wtx) callbackSecret(accountID string) (string, error) {
	w.s.secretMu.Lock()
	sec, ok := w.s.secrets[accountID]
	w.s.secretMu.Unlock()
	if ok {
		return sec, nil
	}
	err := w.queryRow(`SELECT webhook_secret FROM accounts WHERE id = $1`, accountID).Scan(&sec)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("postgres: account secret: %w", err)
	}
	w.s.secretMu.Lock()
	w.s.secrets[accountID] = sec
	w.s.secretMu.Unlock()
	return sec, nil
}
