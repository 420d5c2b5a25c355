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

// The SMPP server's tables (migration 0004): smpp_users, smpp_sources and
// client_outbox.
//
// Which messages get a receipt is decided in Go, like everything else
// Apply does: the transaction reads the smpp_sources rows of the messages
// it locks (with them, in lock) and records those of the messages it
// creates, so flushOne knows each one's registered_delivery.
//
// The outbox rows of an account must be read in seq order without a gap
// that fills later: a pusher on any node reads the rows after the last
// seq it sent. An identity hands out seqs at insert, and transactions
// commit in another order; so the rows of an account are inserted under
// an advisory lock on the account (class outboxLocks), taken last, just
// before the inserts and held to the commit: a transaction that inserts
// rows of the same account waits for that commit before it gets a seq,
// and a row with a lower seq is never committed after one with a higher.
// The lock is the last thing the transaction waits for, so it cannot be
// part of a deadlock.

// outboxLocks is the class of the client outbox's advisory locks on
// accounts: "HROB".
const outboxLocks = "1213353794"

var (
	sourceInserts = newKind("smpp sources", `INSERT INTO smpp_sources (message_id, account_id, smpp_user_id,
		registered_delivery) SELECT * FROM %s`,
		"message_id text", "account_id text", "smpp_user_id text", "registered_delivery bigint")
	// outboxInserts adds client outbox rows; a row with needs_user is
	// kept only when its account has an SMPP user (inbound messages).
	// group.commit writes them last, after outboxLockSQL.
	outboxInserts = newKind("client outbox", `INSERT INTO client_outbox (account_id, kind, message_id, status,
		from_addr, to_addr, body, error_code, parts, delivered, submit_at, done_at, created_at)
		SELECT account_id, kind, message_id, status, from_addr, to_addr, body, error_code, parts, delivered,
		submit_at, done_at, created_at FROM %s
		WHERE NOT needs_user OR EXISTS (SELECT 1 FROM smpp_users u WHERE u.account_id = v.account_id)`,
		"account_id text", "kind text", "message_id text", "status text", "from_addr text", "to_addr text",
		"body text", "error_code text", "parts bigint", "delivered bigint", "submit_at bigint", "done_at bigint",
		"created_at bigint", "needs_user boolean")
)

// outboxLockSQL takes the outbox locks of the accounts of rows ($1: their
// accounts, $2: their needs_user), in a fixed order.
const outboxLockSQL = `SELECT count(pg_advisory_xact_lock(` + outboxLocks + `, h)) FROM
	(SELECT DISTINCT hashtext(account_id) AS h FROM unnest($1::text[], $2::boolean[]) AS v(account_id, needs_user)
	 WHERE NOT needs_user OR EXISTS (SELECT 1 FROM smpp_users u WHERE u.account_id = v.account_id) ORDER BY 1) AS l`

// queueClientReceipt adds st's new status to the client outbox, when the
// message came from an SMPP client that asked for it.
func (b *batch) queueClientReceipt(st *msgState) {
	m, cause := st.m, st.cause
	delivered, errCode, body, ok := store.ClientReceiptOf(m, cause)
	if !ok {
		return
	}
	if rd, src := b.w.g.srcs[m.ID]; !src || !store.WantsClientReceipt(rd, m.Status) {
		return
	}
	b.w.add(outboxInserts, m.AccountID, string(herald.ClientReceipt), m.ID, string(m.Status), m.From, m.To, body,
		errCode, m.PartCount, delivered, ns(m.CreatedAt), ns(cause.At), ns(cause.At), false)
}

// CreateSMPPUser implements store.SMPPUsers. The insert is immediate
// (ON CONFLICT DO NOTHING): a second user with the same system_id, on
// this node or another, waits for the first one's commit and then finds
// it taken.
func (s *Store) CreateSMPPUser(ctx context.Context, u *herald.SMPPUser) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now().UTC()
	}
	return s.write(ctx, needs{}, func(w *wtx) error {
		tag, err := w.tx.Exec(w.ctx, `INSERT INTO smpp_users (id, account_id, system_id, password_hash, max_binds,
			rate_limit, allowed_ips, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (system_id) DO NOTHING`,
			u.ID, u.AccountID, u.SystemID, u.PasswordHash, u.MaxBinds, u.RateLimit, strings.Join(u.AllowedIPs, " "),
			ns(u.CreatedAt))
		if err != nil {
			w.wrote = true // a failed statement aborts the transaction
			return fmt.Errorf("postgres: smpp user: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return &herald.Error{Kind: herald.KindConflict, Code: "system_id_taken", Field: "system_id",
				Message: "this system_id is already in use"}
		}
		w.wrote = true
		return nil
	})
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
	u, err := scanSMPPUser(s.pool.QueryRow(ctx, `SELECT `+smppUserColumns+` FROM smpp_users WHERE system_id = $1`, systemID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("smpp user")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: smpp user: %w", err)
	}
	return u, nil
}

// SMPPUsers implements store.SMPPUsers.
func (s *Store) SMPPUsers(ctx context.Context, accountID string) ([]*herald.SMPPUser, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+smppUserColumns+` FROM smpp_users WHERE account_id = $1 ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: smpp users: %w", err)
	}
	defer rows.Close()
	var out []*herald.SMPPUser
	for rows.Next() {
		u, err := scanSMPPUser(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: smpp users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DeleteSMPPUser implements store.SMPPUsers.
func (s *Store) DeleteSMPPUser(ctx context.Context, accountID, id string) error {
	return s.write(ctx, needs{}, func(w *wtx) error {
		tag, err := w.tx.Exec(w.ctx, `DELETE FROM smpp_users WHERE id = $1 AND account_id = $2`, id, accountID)
		if err != nil {
			w.wrote = true
			return fmt.Errorf("postgres: smpp user: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("smpp user")
		}
		w.wrote = true
		return nil
	})
}

// AddClientMessages implements store.ClientOutbox: one transaction of
// its own (it needs the seqs back), under the accounts' outbox locks.
func (s *Store) AddClientMessages(ctx context.Context, ms []*herald.ClientMessage) error {
	if len(ms) == 0 {
		return nil
	}
	now := time.Now().UTC()
	rows := outboxInserts.rows()
	for _, m := range ms {
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		rows.add(m.AccountID, string(m.Kind), m.MessageID, string(m.Status), m.From, m.To, m.Body, m.ErrorCode,
			m.Parts, m.Delivered, ns(m.SubmitAt), ns(m.DoneAt), ns(m.CreatedAt), false)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, outboxLockSQL, rows.cols[0], rows.cols[len(rows.cols)-1]); err != nil {
			return err
		}
		res, err := tx.Query(ctx, outboxInserts.sql+` RETURNING seq`, rows.cols...)
		if err != nil {
			return err
		}
		seqs, err := pgx.CollectRows(res, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		if len(seqs) != len(ms) {
			return fmt.Errorf("%d rows inserted for %d", len(seqs), len(ms))
		}
		// Identity values are drawn in row order: the seqs are ascending
		// in the order of ms.
		for i, m := range ms {
			m.Seq = seqs[i]
		}
		return nil
	})
	if err != nil {
		return errUnavailable(fmt.Errorf("postgres: client outbox: %w", err))
	}
	return nil
}

// ClientMessages implements store.ClientOutbox.
func (s *Store) ClientMessages(ctx context.Context, accountID string, after int64, limit int) ([]*herald.ClientMessage, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, account_id, kind, message_id, status, from_addr, to_addr, body,
		error_code, parts, delivered, submit_at, done_at, created_at FROM client_outbox
		WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, accountID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: client outbox: %w", err)
	}
	defer rows.Close()
	var out []*herald.ClientMessage
	for rows.Next() {
		var m herald.ClientMessage
		var kind, status string
		var submit, done, created int64
		if err := rows.Scan(&m.Seq, &m.AccountID, &kind, &m.MessageID, &status, &m.From, &m.To, &m.Body,
			&m.ErrorCode, &m.Parts, &m.Delivered, &submit, &done, &created); err != nil {
			return nil, fmt.Errorf("postgres: client outbox: %w", err)
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
	if _, err := s.pool.Exec(ctx, `DELETE FROM client_outbox WHERE account_id = $1 AND seq = ANY($2)`, accountID, seqs); err != nil {
		return errUnavailable(fmt.Errorf("postgres: client outbox ack: %w", err))
	}
	return nil
}

// ClientOutboxAccounts implements store.ClientOutbox.
func (s *Store) ClientOutboxAccounts(ctx context.Context) ([]string, error) {
	out, err := strs(s.pool.Query(ctx, `SELECT DISTINCT account_id FROM client_outbox`))
	if err != nil {
		return nil, fmt.Errorf("postgres: client outbox: %w", err)
	}
	return out, nil
}
