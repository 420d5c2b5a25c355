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

// The SMPP server's tables (migration 0004): smpp_users, smpp_sources and
// client_outbox.

var (
	// sourceInserts records the SMPP user of new messages, with the
	// group's other new rows.
	sourceInserts = &multiKind{name: "smpp sources", cols: 4,
		head: `INSERT INTO smpp_sources (message_id, account_id, smpp_user_id, registered_delivery) VALUES `}
	// receiptInserts queues a receipt for each message that changed to a
	// final state (or to sent), when the message came from an SMPP client
	// that asked for it: the join with smpp_sources decides, inside the
	// same transaction as the change.
	receiptInserts = &multiKind{name: "client receipts", cols: 10,
		head: `INSERT INTO client_outbox (account_id, kind, message_id, status, from_addr, to_addr, body, error_code,
			parts, delivered, submit_at, done_at, created_at)
			SELECT s.account_id, 'receipt', v.column1, v.column2, v.column3, v.column4, v.column5, v.column6,
			v.column7, v.column8, v.column9, v.column10, v.column10 FROM (VALUES `,
		tail: `) AS v JOIN smpp_sources s ON s.message_id = v.column1
			WHERE (v.column2 = 'sent' AND (s.registered_delivery & 16) != 0)
			   OR (v.column2 != 'sent' AND ((s.registered_delivery & 3) = 1
			       OR ((s.registered_delivery & 3) = 2 AND v.column2 != 'delivered')))`}
)

// queueClientReceipt adds st's new status to the client outbox rows of
// the batch (kept only for messages an SMPP client asked receipts for:
// receiptInserts joins smpp_sources, the rule of store.WantsClientReceipt).
func (b *batch) queueClientReceipt(st *msgState) {
	if !b.w.s.smppSourced {
		return // no message ever came from an SMPP client
	}
	m := st.m
	delivered, errCode, body, ok := store.ClientReceiptOf(m, st.cause)
	if !ok {
		return
	}
	b.outbox.add(m.ID, string(m.Status), m.From, m.To, body, errCode, m.PartCount, delivered,
		ns(m.CreatedAt), ns(st.cause.At))
}

// CreateSMPPUser implements store.SMPPUsers.
func (s *Store) CreateSMPPUser(ctx context.Context, u *herald.SMPPUser) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now().UTC()
	}
	return s.write(ctx, func(w *wtx) error {
		var n int
		if err := w.tx.QueryRowContext(w.ctx, `SELECT COUNT(*) FROM smpp_users WHERE system_id = ?`, u.SystemID).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: smpp user: %w", err)
		}
		if n > 0 {
			return &herald.Error{Kind: herald.KindConflict, Code: "system_id_taken", Field: "system_id",
				Message: "this system_id is already in use"}
		}
		_, err := w.tx.ExecContext(w.ctx, `INSERT INTO smpp_users (id, account_id, system_id, password_hash, max_binds,
			rate_limit, allowed_ips, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.AccountID, u.SystemID, u.PasswordHash, u.MaxBinds, u.RateLimit, strings.Join(u.AllowedIPs, " "),
			ns(u.CreatedAt))
		if err != nil {
			return fmt.Errorf("sqlite: smpp user: %w", err)
		}
		return nil
	}, nil)
}

const smppUserColumns = `id, account_id, system_id, password_hash, max_binds, rate_limit, allowed_ips, created_at`

func scanSMPPUser(r scanner) (*herald.SMPPUser, error) {
	var u herald.SMPPUser
	var ips string
	var created int64
	if err := r.Scan(&u.ID, &u.AccountID, &u.SystemID, &u.PasswordHash, &u.MaxBinds, &u.RateLimit, &ips, &created); err != nil {
		return nil, err
	}
	u.AllowedIPs = strings.Fields(ips)
	u.CreatedAt = tm(created)
	return &u, nil
}

// SMPPUserBySystemID implements store.SMPPUsers.
func (s *Store) SMPPUserBySystemID(ctx context.Context, systemID string) (*herald.SMPPUser, error) {
	u, err := scanSMPPUser(s.r.QueryRowContext(ctx, `SELECT `+smppUserColumns+` FROM smpp_users WHERE system_id = ?`, systemID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("smpp user")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: smpp user: %w", err)
	}
	return u, nil
}

// SMPPUsers implements store.SMPPUsers.
func (s *Store) SMPPUsers(ctx context.Context, accountID string) ([]*herald.SMPPUser, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+smppUserColumns+` FROM smpp_users WHERE account_id = ? ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: smpp users: %w", err)
	}
	defer rows.Close()
	var out []*herald.SMPPUser
	for rows.Next() {
		u, err := scanSMPPUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: smpp users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DeleteSMPPUser implements store.SMPPUsers.
func (s *Store) DeleteSMPPUser(ctx context.Context, accountID, id string) error {
	return s.write(ctx, func(w *wtx) error {
		res, err := w.tx.ExecContext(w.ctx, `DELETE FROM smpp_users WHERE id = ? AND account_id = ?`, id, accountID)
		if err != nil {
			return fmt.Errorf("sqlite: smpp user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("smpp user")
		}
		return nil
	}, nil)
}

// AddClientMessages implements store.ClientOutbox.
func (s *Store) AddClientMessages(ctx context.Context, ms []*herald.ClientMessage) error {
	now := time.Now().UTC()
	return s.write(ctx, func(w *wtx) error {
		for _, m := range ms {
			if m.CreatedAt.IsZero() {
				m.CreatedAt = now
			}
			res, err := w.tx.ExecContext(w.ctx, `INSERT INTO client_outbox (account_id, kind, message_id, status, from_addr,
				to_addr, body, error_code, parts, delivered, submit_at, done_at, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				m.AccountID, string(m.Kind), m.MessageID, string(m.Status), m.From, m.To, m.Body, m.ErrorCode,
				m.Parts, m.Delivered, ns(m.SubmitAt), ns(m.DoneAt), ns(m.CreatedAt))
			if err != nil {
				return fmt.Errorf("sqlite: client outbox: %w", err)
			}
			if m.Seq, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("sqlite: client outbox: %w", err)
			}
		}
		return nil
	}, nil)
}

// ClientMessages implements store.ClientOutbox.
func (s *Store) ClientMessages(ctx context.Context, accountID string, after int64, limit int) ([]*herald.ClientMessage, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, account_id, kind, message_id, status, from_addr, to_addr, body,
		error_code, parts, delivered, submit_at, done_at, created_at FROM client_outbox
		WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?`, accountID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: client outbox: %w", err)
	}
	defer rows.Close()
	var out []*herald.ClientMessage
	for rows.Next() {
		var m herald.ClientMessage
		var kind, status string
		var submit, done, created int64
		if err := rows.Scan(&m.Seq, &m.AccountID, &kind, &m.MessageID, &status, &m.From, &m.To, &m.Body,
			&m.ErrorCode, &m.Parts, &m.Delivered, &submit, &done, &created); err != nil {
			return nil, fmt.Errorf("sqlite: client outbox: %w", err)
		}
		m.Kind, m.Status = herald.ClientMessageKind(kind), herald.Status(status)
		m.SubmitAt, m.DoneAt, m.CreatedAt = tm(submit), tm(done), tm(created)
		out = append(out, &m)
	}
	return out, rows.Err()
}

// AckClientMessages implements store.ClientOutbox.
func (s *Store) AckClientMessages(ctx context.Context, accountID string, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	return s.write(ctx, func(w *wtx) error {
		const chunk = 500
		for off := 0; off < len(seqs); off += chunk {
			part := seqs[off:min(off+chunk, len(seqs))]
			args := make([]any, 0, len(part)+1)
			args = append(args, accountID)
			for _, q := range part {
				args = append(args, q)
			}
			q := `DELETE FROM client_outbox WHERE account_id = ? AND seq IN (?` + strings.Repeat(",?", len(part)-1) + `)`
			if _, err := w.tx.ExecContext(w.ctx, q, args...); err != nil {
				return fmt.Errorf("sqlite: client outbox ack: %w", err)
			}
		}
		return nil
	}, nil)
}

// ClientOutboxAccounts implements store.ClientOutbox.
func (s *Store) ClientOutboxAccounts(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT account_id FROM client_outbox`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: client outbox: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
