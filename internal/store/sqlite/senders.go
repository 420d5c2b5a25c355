package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// execSQL runs a statement that is not among the prepared ones (the
// two-way tables are written rarely compared with messages).
func (w *wtx) execSQL(q string, args ...any) (sql.Result, error) {
	res, err := w.tx.ExecContext(w.ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return res, nil
}

// CreateSender implements store.Senders.
func (s *Store) CreateSender(ctx context.Context, snd *herald.Sender) error {
	if snd.CreatedAt.IsZero() {
		snd.CreatedAt = time.Now().UTC()
	}
	return s.write(ctx, func(w *wtx) error {
		var owner string
		err := w.tx.QueryRowContext(w.ctx, `SELECT account_id FROM senders WHERE address = ?`, snd.Address).Scan(&owner)
		switch {
		case err == nil:
			return &herald.Error{Kind: herald.KindConflict, Code: "sender_taken", Field: "address",
				Message: "this sender is already registered (by this or another account)"}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlite: sender: %w", err)
		}
		_, err = w.execSQL(`INSERT INTO senders (id, account_id, address, kind, language, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			snd.ID, snd.AccountID, snd.Address, string(snd.Kind), snd.Language, ns(snd.CreatedAt))
		return err
	}, func() {
		s.consent.addSender(&herald.Sender{ID: snd.ID, AccountID: snd.AccountID, Address: snd.Address, Kind: snd.Kind,
			Language: snd.Language, CreatedAt: tm(ns(snd.CreatedAt))})
	})
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

// Senders implements store.Senders, from memory (consent.go).
func (s *Store) Senders(ctx context.Context, accountID string) ([]*herald.Sender, error) {
	return s.consent.senders(accountID), nil
}

// DeleteSender implements store.Senders.
func (s *Store) DeleteSender(ctx context.Context, accountID, id string) error {
	return s.write(ctx, func(w *wtx) error {
		res, err := w.execSQL(`DELETE FROM senders WHERE account_id = ? AND id = ?`, accountID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("sender")
		}
		return nil
	}, func() { s.consent.deleteSender(accountID, id) })
}

// SenderByAddress implements store.Senders, from memory (consent.go).
func (s *Store) SenderByAddress(ctx context.Context, address string) (*herald.Sender, error) {
	if snd := s.consent.sender(address); snd != nil {
		return snd, nil
	}
	return nil, notFound("sender")
}

// Policy implements store.Senders, from memory (consent.go).
func (s *Store) Policy(ctx context.Context, accountID string) (*herald.Policy, error) {
	return s.consent.policy(accountID), nil
}

// policyFromRow is an account_policies row as a Policy.
func policyFromRow(accountID string, allowAny int, scope, exempt string, updated int64) *herald.Policy {
	p := &herald.Policy{AccountID: accountID, AllowAnySender: allowAny != 0, OptOutScope: herald.OptOutScope(scope),
		UpdatedAt: tm(updated)}
	for _, t := range strings.Split(exempt, ",") {
		if t != "" {
			p.Exempt = append(p.Exempt, herald.MessageType(t))
		}
	}
	return p
}

// SetPolicy implements store.Senders.
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
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.execSQL(`INSERT INTO account_policies (account_id, allow_any_sender, opt_out_scope, exempt, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET allow_any_sender = excluded.allow_any_sender,
			opt_out_scope = excluded.opt_out_scope, exempt = excluded.exempt, updated_at = excluded.updated_at`,
			p.AccountID, boolInt(p.AllowAnySender), string(p.OptOutScope), e, ns(p.UpdatedAt)); err != nil {
			return err
		}
		return w.ledger(&herald.ConsentEntry{AccountID: p.AccountID, Action: herald.ConsentPolicy, At: p.UpdatedAt,
			Source: "policy", Reason: reason})
	}, func() {
		s.consent.setPolicy(policyFromRow(p.AccountID, boolInt(p.AllowAnySender), string(p.OptOutScope), e, ns(p.UpdatedAt)))
	})
}

// ledger appends a consent ledger entry.
func (w *wtx) ledger(e *herald.ConsentEntry) error {
	if e.ID == "" {
		e.ID = herald.NewID("cns", e.At.UnixMilli())
	}
	_, err := w.execSQL(`INSERT INTO consent_ledger (id, account_id, number, sender, action, at, source, keyword, inbound_id, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.AccountID, e.Number, e.Sender, string(e.Action), ns(e.At),
		e.Source, e.Keyword, e.InboundID, e.Reason)
	return err
}

var _ store.Senders = (*Store)(nil)
