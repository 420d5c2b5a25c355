package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// Verifications (migration 0005). Every step on a verification, or on
// the counters of its (account, number), holds that number's advisory
// lock (class numberLocks) to the commit, then reads the verification
// FOR UPDATE: sends, checks and failures of one number are counted one
// step after the other on every node, and the decisions
// (herald.DecideSend, herald.DecideCheck) see every earlier step. The
// lock is taken first, in the group's prefetch when the number is
// known beforehand (in a fixed order with the group's others); a check
// learns its verification's number from a read before it is queued (a
// verification's number never changes). Writes are immediate, not
// buffered: the next op of the group reads them.

// numberLocks is the class of the verification locks on (account,
// number): "HRVN".
const numberLocks = "1213355598"

const verifyColumns = `id, account_id, to_addr, channel, locale, status, code_hash, code_length, ttl, checks, sends,
	expires_at, last_sent_at, created_at, updated_at`

func numberKey(accountID, to string) string { return accountID + "\n" + to }

// lockNumbers makes sure the transaction holds the verification locks
// of keys (numberKey), taken in a fixed order; one round trip for those
// it did not have.
func (w *wtx) lockNumbers(keys []string) error {
	var names []string
	for _, k := range keys {
		if !w.g.numbers[k] && !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil
	}
	if _, err := w.tx.Exec(w.ctx, `SELECT count(pg_advisory_xact_lock(`+numberLocks+`, h)) FROM
		(SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY 1) AS l`, names); err != nil {
		return fmt.Errorf("postgres: verification locks: %w", err)
	}
	for _, k := range names {
		w.g.numbers[k] = true
	}
	return nil
}

func scanVerification(row scanner) (*herald.Verification, error) {
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

// loadVerification reads a verification FOR UPDATE; nil when there is none.
func (w *wtx) loadVerification(where string, args ...any) (*herald.Verification, error) {
	v, err := scanVerification(w.queryRow(`SELECT `+verifyColumns+` FROM verifications WHERE `+where+` FOR UPDATE`, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: verification: %w", err)
	}
	return v, nil
}

const (
	verifyByID      = `account_id = $1 AND id = $2`
	verifyPendingTo = `account_id = $1 AND to_addr = $2 AND status = 'pending' ORDER BY created_at DESC LIMIT 1`
)

func (w *wtx) saveVerification(v *herald.Verification) error {
	_, err := w.exec("verification", `UPDATE verifications SET status = $1, code_hash = $2, checks = $3, sends = $4,
		expires_at = $5, last_sent_at = $6, updated_at = $7, code_length = $8, locale = $9, ttl = $10 WHERE id = $11`,
		string(v.Status), v.CodeHash, v.Checks, v.Sends, ns(v.ExpiresAt), ns(v.LastSentAt), ns(v.UpdatedAt),
		v.CodeLength, v.Locale, int64(v.TTL), v.ID)
	return err
}

func (w *wtx) failures(accountID, to string) (int, error) {
	var n int
	err := w.queryRow(`SELECT failures FROM verify_failures WHERE account_id = $1 AND to_addr = $2 FOR UPDATE`,
		accountID, to).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: verify failures: %w", err)
	}
	return n, nil
}

func (w *wtx) addFailures(accountID, to string, n int, at time.Time) error {
	_, err := w.exec("verify failures", `INSERT INTO verify_failures (account_id, to_addr, failures, updated_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, to_addr) DO UPDATE
		SET failures = verify_failures.failures + excluded.failures, updated_at = excluded.updated_at`,
		accountID, to, n, ns(at))
	return err
}

func (w *wtx) zeroFailures(accountID, to string) error {
	_, err := w.exec("verify failures", `DELETE FROM verify_failures WHERE account_id = $1 AND to_addr = $2`, accountID, to)
	return err
}

// verificationNumber returns the number of one of the account's
// verifications ("" when there is none), read before its op is queued.
func (s *Store) verificationNumber(ctx context.Context, accountID, id string) (string, error) {
	var to string
	err := s.pool.QueryRow(ctx, `SELECT to_addr FROM verifications WHERE account_id = $1 AND id = $2`, accountID, id).Scan(&to)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", errUnavailable(fmt.Errorf("postgres: verification: %w", err))
	}
	return to, nil
}

// numberNeeds returns the needs of an op on the verification id of the
// account (its number's lock), and that number ("" for an unknown id).
func (s *Store) numberNeeds(ctx context.Context, accountID, id string) (needs, string, error) {
	to, err := s.verificationNumber(ctx, accountID, id)
	if err != nil || to == "" {
		return needs{}, "", err
	}
	return needs{numbers: []string{numberKey(accountID, to)}}, to, nil
}

// StartVerification implements store.Verifications.
func (s *Store) StartVerification(ctx context.Context, sv store.StartVerification) (*herald.Verification, error) {
	var n needs
	if sv.ResendID != "" {
		var err error
		if n, _, err = s.numberNeeds(ctx, sv.New.AccountID, sv.ResendID); err != nil {
			return nil, err
		}
	} else {
		n.numbers = []string{numberKey(sv.New.AccountID, sv.New.To)}
	}
	if it := sv.Message; it != nil && it.IdempotencyKey != "" {
		n.idem = append(n.idem, idemRecord(it))
	}
	var out *herald.Verification
	err := s.write(ctx, n, func(w *wtx) error {
		out = nil
		accountID, to := sv.New.AccountID, sv.New.To
		var v *herald.Verification
		var err error
		// expired: v was pending past its expiry; written only with the
		// op's other writes (a refusal writes nothing), or when the
		// op ends with it.
		expired := false
		expire := func(v *herald.Verification) {
			v.Status, v.CodeHash, v.UpdatedAt = herald.VerificationExpired, nil, sv.Now
			expired = true
		}
		if sv.ResendID != "" {
			if v, err = w.loadVerification(verifyByID, accountID, sv.ResendID); err != nil {
				return err
			}
			if v == nil {
				return notFound("verification")
			}
			to = v.To
			if err := w.lockNumbers([]string{numberKey(accountID, to)}); err != nil {
				return err
			}
			if v.Status == herald.VerificationPending && !sv.Now.Before(v.ExpiresAt) {
				expire(v)
			}
			if v.Status != herald.VerificationPending {
				// The expiry is kept: the op succeeds with the refusal.
				out = v
				if expired {
					return w.saveVerification(v)
				}
				return nil
			}
		} else {
			if err := w.lockNumbers([]string{numberKey(accountID, to)}); err != nil {
				return err
			}
			if v, err = w.loadVerification(verifyPendingTo, accountID, to); err != nil {
				return err
			}
			if v != nil && !sv.Now.Before(v.ExpiresAt) {
				expire(v)
			}
		}
		var sent int
		var oldest int64
		if err := w.queryRow(`SELECT count(*), COALESCE(min(at), 0) FROM verify_sends
			WHERE account_id = $1 AND to_addr = $2 AND at > $3`, accountID, to,
			ns(sv.Now.Add(-sv.Limits.SendWindow))).Scan(&sent, &oldest); err != nil {
			return fmt.Errorf("postgres: verify sends: %w", err)
		}
		fails, err := w.failures(accountID, to)
		if err != nil {
			return err
		}
		cur := v
		if expired {
			cur = nil // a new verification replaces the expired one
		}
		if err := herald.DecideSend(cur, sent, tm(oldest), fails, sv.Now, sv.Limits); err != nil {
			return err // nothing written: the refusal is this op's alone
		}
		if expired {
			if err := w.saveVerification(v); err != nil {
				return err
			}
			v = nil
		}
		if _, err := w.exec("verify sends", `INSERT INTO verify_sends (account_id, to_addr, at) VALUES ($1, $2, $3)`,
			accountID, to, ns(sv.Now)); err != nil {
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
		nv := *sv.New
		nv.Status, nv.Sends, nv.Checks = herald.VerificationPending, 1, 0
		nv.CodeHash = sv.Hash(nv.ID)
		nv.CreatedAt, nv.UpdatedAt, nv.LastSentAt = sv.Now, sv.Now, sv.Now
		nv.ExpiresAt = sv.Now.Add(nv.TTL)
		_, err = w.exec("verification", `INSERT INTO verifications (`+verifyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			nv.ID, nv.AccountID, nv.To, nv.Channel, nv.Locale, string(nv.Status), nv.CodeHash, nv.CodeLength,
			int64(nv.TTL), nv.Checks, nv.Sends, ns(nv.ExpiresAt), ns(nv.LastSentAt), ns(nv.CreatedAt), ns(nv.UpdatedAt))
		out = &nv
		return err
	})
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
	n, _, err := s.numberNeeds(ctx, c.AccountID, c.ID)
	if err != nil {
		return store.CheckResult{}, err
	}
	var res store.CheckResult
	var refusal error
	err = s.write(ctx, n, func(w *wtx) error {
		res, refusal = store.CheckResult{}, nil
		if err := w.lockNumbers(n.numbers); err != nil {
			return err
		}
		v, err := w.loadVerification(verifyByID, c.AccountID, c.ID)
		if err != nil {
			return err
		}
		if v != nil && len(n.numbers) == 0 {
			// Created after the read that found no number: lock it now.
			if err := w.lockNumbers([]string{numberKey(c.AccountID, v.To)}); err != nil {
				return err
			}
		}
		if v == nil {
			// A decoy: count the check like a real one, and compare
			// against nothing so that the work done is the same: a
			// failures read and upsert (on the number "", which no
			// verification has), and an upsert in place of the
			// verification's update. The upserts are atomic on every node.
			c.Match(nil)
			if _, err := w.failures(c.AccountID, ""); err != nil {
				return err
			}
			if err := w.addFailures(c.AccountID, "", 1, c.Now); err != nil {
				return err
			}
			w.wrote = true
			var k int
			if err := w.queryRow(`INSERT INTO verify_decoys (account_id, id, checks, created_at) VALUES ($1, $2, 1, $3)
				ON CONFLICT (account_id, id) DO UPDATE SET checks = verify_decoys.checks + 1 RETURNING checks`,
				c.AccountID, c.ID, ns(c.Now)).Scan(&k); err != nil {
				return fmt.Errorf("postgres: verify decoy: %w", err)
			}
			if k > c.Limits.MaxChecks {
				refusal = herald.RateLimited(herald.CodeVerifyMaxAttempts, c.Limits.Cooldown, "this verification's %d checks are used up; start a new one", c.Limits.MaxChecks)
			}
			res.ChecksLeft = max(c.Limits.MaxChecks-k, 0)
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
			if err := w.zeroFailures(c.AccountID, v.To); err != nil {
				return err
			}
		case o.FailuresAdd > 0:
			if err := w.addFailures(c.AccountID, v.To, o.FailuresAdd, c.Now); err != nil {
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
	})
	if err != nil {
		return store.CheckResult{}, err
	}
	return res, refusal
}

// Verification implements store.Verifications.
func (s *Store) Verification(ctx context.Context, accountID, id string) (*herald.Verification, error) {
	v, err := scanVerification(s.pool.QueryRow(ctx, `SELECT `+verifyColumns+` FROM verifications
		WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("verification")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: verification: %w", err)
	}
	return v, nil
}

// FinishVerification implements store.Verifications.
func (s *Store) FinishVerification(ctx context.Context, accountID, id string, to herald.VerificationStatus, at time.Time) (*herald.Verification, error) {
	n, _, err := s.numberNeeds(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	var out *herald.Verification
	changed := false
	err = s.write(ctx, n, func(w *wtx) error {
		out, changed = nil, false
		if err := w.lockNumbers(n.numbers); err != nil {
			return err
		}
		v, err := w.loadVerification(verifyByID, accountID, id)
		if err != nil {
			return err
		}
		if v == nil {
			return notFound("verification")
		}
		out = v
		if v.Status == herald.VerificationPending && !at.Before(v.ExpiresAt) {
			v.Status, v.CodeHash, v.UpdatedAt = herald.VerificationExpired, nil, at
			return w.saveVerification(v)
		}
		if v.Status != herald.VerificationPending {
			return nil
		}
		v.Status, v.CodeHash, v.UpdatedAt = to, nil, at
		changed = true
		return w.saveVerification(v)
	})
	if err != nil {
		return nil, err
	}
	if !changed {
		return out, herald.Errorf(herald.KindConflict, herald.CodeVerifyNotPending, "the verification is %s", out.Status)
	}
	return out, nil
}

// PurgeVerifications implements store.Verifications: one implicit
// transaction. A verification being changed meanwhile is locked; the
// DELETE waits for it and checks it again.
func (s *Store) PurgeVerifications(ctx context.Context, before time.Time) (int, error) {
	b := &pgx.Batch{}
	for _, q := range []string{
		`DELETE FROM verify_sends WHERE at < $1`,
		`DELETE FROM verify_decoys WHERE created_at < $1`,
		`DELETE FROM verifications WHERE (status <> 'pending' AND updated_at < $1) OR (status = 'pending' AND expires_at < $1)`,
	} {
		b.Queue(q, ns(before))
	}
	br := s.pool.SendBatch(ctx, b)
	n := 0
	for range b.Len() {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return 0, errUnavailable(fmt.Errorf("postgres: purge verifications: %w", err))
		}
		n += int(tag.RowsAffected())
	}
	if err := br.Close(); err != nil {
		return 0, errUnavailable(fmt.Errorf("postgres: purge verifications: %w", err))
	}
	return n, nil
}

// ResetVerificationFailures implements store.Verifications.
func (s *Store) ResetVerificationFailures(ctx context.Context, accountID, to string) (int, error) {
	k := numberKey(accountID, to)
	var n int
	err := s.write(ctx, needs{numbers: []string{k}}, func(w *wtx) error {
		if err := w.lockNumbers([]string{k}); err != nil {
			return err
		}
		var err error
		if n, err = w.failures(accountID, to); err != nil {
			return err
		}
		return w.zeroFailures(accountID, to)
	})
	return n, err
}
