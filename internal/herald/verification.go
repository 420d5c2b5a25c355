package herald

import "time"

// VerificationStatus is the state of a verification (a one-time code sent
// to a number). pending is the only state that is not final.
type VerificationStatus string

// Verification states.
const (
	VerificationPending            VerificationStatus = "pending"
	VerificationApproved           VerificationStatus = "approved"
	VerificationCanceled           VerificationStatus = "canceled"
	VerificationExpired            VerificationStatus = "expired"
	VerificationMaxAttemptsReached VerificationStatus = "max_attempts_reached"
	VerificationFailed             VerificationStatus = "failed" // its code could not be sent
)

// Verification is one verification of a number with a one-time code.
// Only a keyed hash of the current code is kept (CodeHash, cleared once
// the verification leaves pending), never the code.
type Verification struct {
	ID         string
	AccountID  string
	To         string // E.164
	Channel    string // "sms"
	Locale     string
	Status     VerificationStatus
	CodeHash   []byte // HMAC of the current code, bound to ID
	CodeLength int
	TTL        time.Duration
	Checks     int // checks evaluated against this verification
	Sends      int // codes sent
	ExpiresAt  time.Time
	LastSentAt time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// VerifyLimits are the limits a store enforces atomically with the
// sends and checks they bound.
type VerifyLimits struct {
	MaxChecks   int           // checks per verification (5)
	MaxFailures int           // consecutive failed checks per (account, number), across verifications (100)
	MaxSends    int           // codes sent per (account, number) per SendWindow (5)
	SendWindow  time.Duration // 10 min
	Cooldown    time.Duration // between two sends of one verification (30 s)
}

// DefaultVerifyLimits are Herald's defaults (Twilio Verify's, and the
// brute-force bound of NIST SP 800-63B §5.2.2).
var DefaultVerifyLimits = VerifyLimits{MaxChecks: 5, MaxFailures: 100, MaxSends: 5, SendWindow: 10 * time.Minute, Cooldown: 30 * time.Second}

// Verification error codes shared by the stores and the verify service.
const (
	CodeVerifyResendCooldown = "verification_resend_cooldown" // 429: a resend within the cooldown
	CodeVerifyTooManySends   = "verification_too_many_sends"  // 429: too many codes to one number in the window
	CodeVerifyLocked         = "verification_locked"          // 429: too many consecutive failed checks for the number
	CodeVerifyMaxAttempts    = "verification_max_attempts"    // 429: the verification's checks are used up
	CodeVerifyNotPending     = "verification_not_pending"     // 409: approved, canceled, expired or failed
)

// RateLimited returns a KindRateLimited *Error that says when to retry.
func RateLimited(code string, retry time.Duration, format string, args ...any) *Error {
	e := Errorf(KindRateLimited, code, format, args...)
	if retry < time.Second {
		retry = time.Second
	}
	e.RetryAfter = retry
	return e
}

// CheckOutcome is what one check did to a verification.
type CheckOutcome struct {
	Evaluated bool // the code was compared with the stored hash
	Approved  bool
	Changed   bool // the verification must be saved
	// FailuresReset and FailuresAdd say how the (account, number)
	// consecutive-failure count changes.
	FailuresReset bool
	FailuresAdd   int
	Err           error // a refusal (not evaluated); nil when evaluated
}

// DecideCheck is the one decision of a check, shared by every store so
// that they agree: v is the verification as stored, failures the
// (account, number) consecutive-failure count, match compares the
// presented code with a stored hash in constant time. v is updated in
// place when Changed.
func DecideCheck(v *Verification, failures int, now time.Time, l VerifyLimits, match func(hash []byte) bool) CheckOutcome {
	if v.Status == VerificationPending && !now.Before(v.ExpiresAt) {
		v.Status, v.CodeHash, v.UpdatedAt = VerificationExpired, nil, now
		return CheckOutcome{Changed: true, Err: Errorf(KindConflict, CodeVerifyNotPending, "the verification is %s", v.Status)}
	}
	switch v.Status {
	case VerificationPending:
	case VerificationMaxAttemptsReached:
		return CheckOutcome{Err: RateLimited(CodeVerifyMaxAttempts, l.Cooldown, "this verification's %d checks are used up; start a new one", l.MaxChecks)}
	default:
		return CheckOutcome{Err: Errorf(KindConflict, CodeVerifyNotPending, "the verification is %s", v.Status)}
	}
	if failures >= l.MaxFailures {
		return CheckOutcome{Err: RateLimited(CodeVerifyLocked, 24*time.Hour, "too many failed checks for this number")}
	}
	v.Checks++
	v.UpdatedAt = now
	out := CheckOutcome{Evaluated: true, Changed: true}
	if match(v.CodeHash) {
		v.Status, v.CodeHash = VerificationApproved, nil
		out.Approved, out.FailuresReset = true, true
		return out
	}
	out.FailuresAdd = 1
	if v.Checks >= l.MaxChecks {
		v.Status, v.CodeHash = VerificationMaxAttemptsReached, nil
	}
	return out
}

// DecideSend decides whether a code may be sent to v.To now: pending is
// the verification being resent (nil for a new one), sentInWindow the
// codes sent to the (account, number) in the last SendWindow and oldest
// the time of the oldest of them, failures the consecutive failures.
func DecideSend(pending *Verification, sentInWindow int, oldest time.Time, failures int, now time.Time, l VerifyLimits) error {
	if failures >= l.MaxFailures {
		return RateLimited(CodeVerifyLocked, 24*time.Hour, "too many failed checks for this number")
	}
	if pending != nil && now.Sub(pending.LastSentAt) < l.Cooldown {
		return RateLimited(CodeVerifyResendCooldown, pending.LastSentAt.Add(l.Cooldown).Sub(now),
			"a new code can be sent %d s after the last one", int(l.Cooldown/time.Second))
	}
	if sentInWindow >= l.MaxSends {
		return RateLimited(CodeVerifyTooManySends, oldest.Add(l.SendWindow).Sub(now),
			"at most %d codes per number per %s", l.MaxSends, l.SendWindow)
	}
	return nil
}
