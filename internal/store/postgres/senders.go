package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// Senders are written rarely: like accounts, each write is its own
// statement, outside the group commit. The policy, written with a ledger
// entry, goes through the group commit.

// CreateSender implements store.Senders. The address's UNIQUE constraint
// decides between accounts (and nodes) registering it at once: the
// second INSERT waits for the first's transaction, then does nothing.
func (s *Store) CreateSender(ctx context.Context, snd *herald.Sender) error {
	if snd.CreatedAt.IsZero() {
		snd.CreatedAt = time.Now().UTC()
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO senders (id, account_id, address, kind, language, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (address) DO NOTHING`,
		snd.ID, snd.AccountID, snd.Address, string(snd.Kind), snd.Language, ns(snd.CreatedAt))
	if err != nil {
		return dbError(fmt.Errorf("postgres: sender: %w", err))
	}
	if tag.RowsAffected() == 0 {
		return &herald.Error{Kind: herald.KindConflict, Code: "sender_taken", Field: "address",
			Message: "this sender is already registered (by this or another account)"}
	}
	return nil
}

const senderColumns = `id, account_id, address, kind, language, created_at`

func scanSender(r scanner) (*herald.Sender, error) {
	var snd herald.Sender
	var kind string
	var created int64
	if err := r.Scan(&snd.ID, &snd.AccountID, &snd.Address, &kind, &snd.Language, &created); err != nil {
		return nil, err
	}
	snd.Kind, snd.CreatedAt = herald.SenderKind(kind), tm(created)
	return &snd, nil
}

// Senders implements store.Senders.
func (s *Store) Senders(ctx context.Context, accountID string) ([]*herald.Sender, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+senderColumns+` FROM senders WHERE account_id = $1
		ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: senders: %w", err)
	}
	defer rows.Close()
	var out []*herald.Sender
	for rows.Next() {
		snd, err := scanSender(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: senders: %w", err)
		}
		out = append(out, snd)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: senders: %w", err)
	}
	return out, nil
}

// DeleteSender implements store.Senders.
func (s *Store) DeleteSender(ctx context.Context, accountID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM senders WHERE account_id = $1 AND id = $2`, accountID, id)
	if err != nil {
		return dbError(fmt.Errorf("postgres: delete sender: %w", err))
	}
	if tag.RowsAffected() == 0 {
		return notFound("sender")
	}
	return nil
}

// SenderByAddress implements store.Senders.
func (s *Store) SenderByAddress(ctx context.Context, address string) (*herald.Sender, error) {
	snd, err := scanSender(s.pool.QueryRow(ctx, `SELECT `+senderColumns+` FROM senders WHERE address = $1`, address))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("sender")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: sender: %w", err)
	}
	return snd, nil
}

// Policy implements store.Senders.
func (s *Store) Policy(ctx context.Context, accountID string) (*herald.Policy, error) {
	p := &herald.Policy{AccountID: accountID, OptOutScope: herald.ScopeSender}
	var scope, exempt string
	var updated int64
	err := s.pool.QueryRow(ctx, `SELECT allow_any_sender, opt_out_scope, exempt, updated_at FROM account_policies
		WHERE account_id = $1`, accountID).Scan(&p.AllowAnySender, &scope, &exempt, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: policy: %w", err)
	}
	p.OptOutScope, p.UpdatedAt = herald.OptOutScope(scope), tm(updated)
	for _, t := range strings.Split(exempt, ",") {
		if t != "" {
			p.Exempt = append(p.Exempt, herald.MessageType(t))
		}
	}
	return p, nil
}

// SetPolicy implements store.Senders: the policy and its ledger entry are
// written in one group commit.
func (s *Store) SetPolicy(ctx context.Context, p *herald.Policy) error {
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = time.Now().UTC()
	}
	if p.OptOutScope == "" {
		p.OptOutScope = herald.ScopeSender
	}
	exempt := make([]string, len(p.Exempt))
	for i, t := range p.Exempt {
		exempt[i] = string(t)
	}
	e := strings.Join(exempt, ",")
	reason := fmt.Sprintf("allow_any_sender=%t opt_out_scope=%s exempt=%s", p.AllowAnySender, p.OptOutScope, e)
	return s.write(ctx, needs{}, func(w *wtx) error {
		// Written now, not with the rows: a later op of the group (an
		// opt-out rejecting pending messages) reads the policy.
		if _, err := w.exec("policy", `INSERT INTO account_policies (account_id, allow_any_sender, opt_out_scope, exempt, updated_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id) DO UPDATE SET allow_any_sender = excluded.allow_any_sender,
			opt_out_scope = excluded.opt_out_scope, exempt = excluded.exempt, updated_at = excluded.updated_at`,
			p.AccountID, p.AllowAnySender, string(p.OptOutScope), e, ns(p.UpdatedAt)); err != nil {
			return err
		}
		w.ledger(&herald.ConsentEntry{AccountID: p.AccountID, Action: herald.ConsentPolicy, At: p.UpdatedAt,
			Source: "policy", Reason: reason})
		return nil
	})
}

// ledgerInserts appends consent ledger entries.
var ledgerInserts = newKind("consent ledger", `INSERT INTO consent_ledger (id, account_id, number, sender, action, at,
	source, keyword, inbound_id, reason) SELECT * FROM %s`,
	"id text", "account_id text", "number text", "sender text", "action text", "at bigint", "source text",
	"keyword text", "inbound_id text", "reason text")

// ledger appends a consent ledger entry, written with the group's rows.
func (w *wtx) ledger(e *herald.ConsentEntry) {
	if e.ID == "" {
		e.ID = herald.NewID("cns", e.At.UnixMilli())
	}
	w.add(ledgerInserts, e.ID, e.AccountID, e.Number, e.Sender, string(e.Action), ns(e.At), e.Source, e.Keyword,
		e.InboundID, e.Reason)
}

var _ store.Senders = (*Store)(nil)
