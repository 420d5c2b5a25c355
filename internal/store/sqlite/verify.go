package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

const verifyColumns = `id, account_id, to_addr, channel, locale, status, code_hash, code_length, ttl, checks, sends,
  expires_at, last_sent_at, created_at, updated_at`

// verifyStatements are the verification statements, prepared with the
// others on the writer connection.
var verifyStatements = map[string]string{
	"verify.byID":      `SELECT ` + verifyColumns + ` FROM verifications WHERE account_id = ? AND id = ?`,
	"verify.pendingTo": `SELECT ` + verifyColumns + ` FROM verifications WHERE account_id = ? AND to_addr = ? AND status = 'pending' ORDER BY created_at DESC LIMIT 1`,
	"verify.insert": `INSERT INTO verifications (` + verifyColumns + `)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"verify.update": `UPDATE verifications SET status = ?, code_hash = ?, checks = ?, sends = ?, expires_at = ?,
  last_sent_at = ?, updated_at = ?, code_length = ?, locale = ?, ttl = ? WHERE id = ?`,
	"verify.sends":        `SELECT COUNT(*), COALESCE(MIN(at), 0) FROM verify_sends WHERE account_id = ? AND to_addr = ? AND at > ?`,
	"verify.sendInsert":   `INSERT INTO verify_sends (account_id, to_addr, at) VALUES (?, ?, ?)`,
	"verify.failures":     `SELECT failures FROM verify_failures WHERE account_id = ? AND to_addr = ?`,
	"verify.failuresAdd":  `INSERT INTO verify_failures (account_id, to_addr, failures, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (account_id, to_addr) DO UPDATE SET failures = failures + excluded.failures, updated_at = excluded.updated_at`,
	"verify.failuresZero": `DELETE FROM verify_failures WHERE account_id = ? AND to_addr = ?`,
	"verify.decoy": `INSERT INTO verify_decoys (account_id, id, checks, created_at) VALUES (?, ?, 1, ?)
  ON CONFLICT (account_id, id) DO UPDATE SET checks = checks + 1 RETURNING checks`,
}

// prepareVerify prepares verifyStatements (at Open), closing the store
// when one fails.
func (s *Store) prepareVerify() error {
	for name, text := range verifyStatements {
		st, err := s.w.Prepare(text)
		if err != nil {
			s.closeDBs()
			return fmt.Errorf("sqlite: prepare %s: %w", name, err)
		}
		s.stmts[name] = st
	}
	return nil
}

func scanVerification(row interface{ Scan(...any) error }) (*herald.Verification, error) {
	var v herald.Verification
	var status string
	var ttl, expires, last, created, updated int64
	err := row.Scan(&v.ID, &v.AccountID, &v.To, &v.Channel, &v.Locale, &status, &v.CodeHash, &v.CodeLength, &ttl,
		&v.Checks, &v.Sends, &expires, &last, &created, &updated)
	if err != nil {
		return nil, err
	}
	v.Status, v.TTL = herald.VerificationStatus(status), time.Duration(ttl)
	v.ExpiresAt, v.LastSentAt, v.CreatedAt, v.UpdatedAt = tm(expires), tm(last), tm(created), tm(updated)
	return &v, nil
}

// loadVerification reads a verification inside the write transaction;
// nil when there is none.
func (w *wtx) loadVerification(name string, args ...any) (*herald.Verification, error) {
	v, err := scanVerification(w.queryRow(name, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", name, err)
	}
	return v, nil
}

func (w *wtx) saveVerification(v *herald.Verification) error {
	_, err := w.exec("verify.update", string(v.Status), v.CodeHash, v.Checks, v.Sends, ns(v.ExpiresAt), ns(v.LastSentAt), ns(v.UpdatedAt),
		v.CodeLength, v.Locale, int64(v.TTL), v.ID)
	return err
}

func (w *wtx) failures(accountID, to string) (int, error) {
	var n int
	err := w.queryRow("verify.failures", accountID, to).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: verify.failures: %w", err)
	}
	return n, nil
}

// StartVerification implements store.Verifications.
func (s *Store) StartVerification(ctx context.Context, sv store.StartVerification) (*herald.Verification, error) {
	var out *herald.Verification
	err := s.write(ctx, func(w *wtx) error {
		accountID, to := sv.New.AccountID, sv.New.To
		var v *herald.Verification
		var err error
		if sv.ResendID != "" {
			if v, err = w.loadVerification("verify.byID", accountID, sv.ResendID); err != nil {
				return err
			}
			if v == nil {
				return notFound("verification")
			}
			if v.Status == herald.VerificationPending && !sv.Now.Before(v.ExpiresAt) {
				v.Status, v.CodeHash, v.UpdatedAt = herald.VerificationExpired, nil, sv.Now
				if err := w.saveVerification(v); err != nil {
					return err
				}
			}
			if v.Status != herald.VerificationPending {
				// The expiry above is kept: the op succeeds with the refusal.
				out = v
				return nil
			}
			to = v.To
		} else {
			if v, err = w.loadVerification("verify.pendingTo", accountID, to); err != nil {
				return err
			}
			if v != nil && !sv.Now.Before(v.ExpiresAt) {
				v.Status, v.CodeHash, v.UpdatedAt = herald.VerificationExpired, nil, sv.Now
				if err := w.saveVerification(v); err != nil {
					return err
				}
				v = nil
			}
		}
		var sent int
		var oldest int64
		if err := w.queryRow("verify.sends", accountID, to, ns(sv.Now.Add(-sv.Limits.SendWindow))).Scan(&sent, &oldest); err != nil {
			return fmt.Errorf("sqlite: verify.sends: %w", err)
		}
		fails, err := w.failures(accountID, to)
		if err != nil {
			return err
		}
		if err := herald.DecideSend(v, sent, tm(oldest), fails, sv.Now, sv.Limits); err != nil {
			return err
		}
		if _, err := w.exec("verify.sendInsert", accountID, to, ns(sv.Now)); err != nil {
			return err
		}
		id := sv.New.ID
		if v != nil {
			id = v.ID
		}
		if it := sv.Message; it != nil {
			it.Message.Reference = id
			if err := w.createMessage(it); err != nil {
				return err
			}
		}
		if v != nil {
			v.CodeHash = sv.Hash(v.ID)
			if sv.ResendID == "" {
				v.CodeLength, v.Locale, v.TTL = sv.New.CodeLength, sv.New.Locale, sv.New.TTL
			}
			v.Sends++
			v.LastSentAt, v.UpdatedAt = sv.Now, sv.Now
			v.ExpiresAt = sv.Now.Add(v.TTL)
			out = v
			return w.saveVerification(v)
		}
		n := *sv.New
		n.Status, n.Sends, n.Checks = herald.VerificationPending, 1, 0
		n.CodeHash = sv.Hash(n.ID)
		n.CreatedAt, n.UpdatedAt, n.LastSentAt = sv.Now, sv.Now, sv.Now
		n.ExpiresAt = sv.Now.Add(n.TTL)
		_, err = w.exec("verify.insert", n.ID, n.AccountID, n.To, n.Channel, n.Locale, string(n.Status), n.CodeHash,
			n.CodeLength, int64(n.TTL), n.Checks, n.Sends, ns(n.ExpiresAt), ns(n.LastSentAt), ns(n.CreatedAt), ns(n.UpdatedAt))
		out = &n
		return err
	}, nil)
	if err != nil {
		return nil, err
	}
	if out.Status != herald.VerificationPending {
		return nil, herald.Errorf(herald.KindConflict, herald.CodeVerifyNotPending, "the verification is %s", out.Status)
	}
	return out, nil
}

// CheckVerification implements store.Verifications.
func (s *Store) CheckVerification(ctx context.Context, c store.CheckVerification) (store.CheckResult, error) {
	var res store.CheckResult
	var refusal error
	err := s.write(ctx, func(w *wtx) error {
		res, refusal = store.CheckResult{}, nil
		v, err := w.loadVerification("verify.byID", c.AccountID, c.ID)
		if err != nil {
			return err
		}
		if v == nil {
			// A decoy: count the check like a real one, and compare
			// against nothing so that the work done is the same.
			// The same statements as a wrong code: a failures read and
			// upsert (on the number "", which no verification has), and
			// an upsert in place of the verification's update.
			c.Match(nil)
			if _, err := w.failures(c.AccountID, ""); err != nil {
				return err
			}
			if _, err := w.exec("verify.failuresAdd", c.AccountID, "", 1, ns(c.Now)); err != nil {
				return err
			}
			var n int
			if err := w.queryRow("verify.decoy", c.AccountID, c.ID, ns(c.Now)).Scan(&n); err != nil {
				return fmt.Errorf("sqlite: verify.decoy: %w", err)
			}
			if n > c.Limits.MaxChecks {
				refusal = herald.RateLimited(herald.CodeVerifyMaxAttempts, c.Limits.Cooldown, "this verification's %d checks are used up; start a new one", c.Limits.MaxChecks)
			}
			res.ChecksLeft = max(c.Limits.MaxChecks-n, 0)
			return nil
		}
		fails, err := w.failures(c.AccountID, v.To)
		if err != nil {
			return err
		}
		o := herald.DecideCheck(v, fails, c.Now, c.Limits, c.Match)
		if o.Changed {
			if err := w.saveVerification(v); err != nil {
				return err
			}
		}
		switch {
		case o.FailuresReset:
			if _, err := w.exec("verify.failuresZero", c.AccountID, v.To); err != nil {
				return err
			}
		case o.FailuresAdd > 0:
			if _, err := w.exec("verify.failuresAdd", c.AccountID, v.To, o.FailuresAdd, ns(c.Now)); err != nil {
				return err
			}
		}
		res.Verification, res.Evaluated, res.Approved = v, o.Evaluated, o.Approved
		res.ChecksLeft = max(c.Limits.MaxChecks-v.Checks, 0)
		if v.Status != herald.VerificationPending && !o.Approved {
			res.ChecksLeft = 0
		}
		refusal = o.Err
		return nil
	}, nil)
	if err != nil {
		return store.CheckResult{}, err
	}
	return res, refusal
}

// Verification implements store.Verifications.
func (s *Store) Verification(ctx context.Context, accountID, id string) (*herald.Verification, error) {
	v, err := scanVerification(s.r.QueryRowContext(ctx, `SELECT `+verifyColumns+` FROM verifications WHERE account_id = ? AND id = ?`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("verification")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: verification: %w", err)
	}
	return v, nil
}

// FinishVerification implements store.Verifications.
func (s *Store) FinishVerification(ctx context.Context, accountID, id string, to herald.VerificationStatus, at time.Time) (*herald.Verification, error) {
	var out *herald.Verification
	changed := false
	err := s.write(ctx, func(w *wtx) error {
		changed = false
		v, err := w.loadVerification("verify.byID", accountID, id)
		if err != nil {
			return err
		}
		if v == nil {
			return notFound("verification")
		}
		if v.Status == herald.VerificationPending && !at.Before(v.ExpiresAt) {
			v.Status, v.CodeHash, v.UpdatedAt = herald.VerificationExpired, nil, at
			out = v
			return w.saveVerification(v)
		}
		out = v
		if v.Status != herald.VerificationPending {
			return nil
		}
		v.Status, v.CodeHash, v.UpdatedAt = to, nil, at
		changed = true
		return w.saveVerification(v)
	}, nil)
	if err != nil {
		return nil, err
	}
	if !changed {
		return out, herald.Errorf(herald.KindConflict, herald.CodeVerifyNotPending, "the verification is %s", out.Status)
	}
	return out, nil
}

// PurgeVerifications implements store.Verifications.
func (s *Store) PurgeVerifications(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(w *wtx) error {
		n = 0
		for _, q := range []string{
			`DELETE FROM verify_sends WHERE at < ?`,
			`DELETE FROM verify_decoys WHERE created_at < ?`,
			`DELETE FROM verifications WHERE (status != 'pending' AND updated_at < ?1) OR (status = 'pending' AND expires_at < ?1)`,
		} {
			res, err := w.tx.ExecContext(w.ctx, q, ns(before))
			if err != nil {
				return fmt.Errorf("sqlite: purge verifications: %w", err)
			}
			k, _ := res.RowsAffected()
			n += k
		}
		return nil
	}, nil)
	return int(n), err
}

// ResetVerificationFailures implements store.Verifications.
func (s *Store) ResetVerificationFailures(ctx context.Context, accountID, to string) (int, error) {
	var n int
	err := s.write(ctx, func(w *wtx) error {
		var err error
		if n, err = w.failures(accountID, to); err != nil {
			return err
		}
		_, err = w.exec("verify.failuresZero", accountID, to)
		return err
	}, nil)
	return n, err
}
