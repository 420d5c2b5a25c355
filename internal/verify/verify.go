// Package verify is Herald's Verify API: one-time codes sent by SMS on
// the OTP lane and checked against a keyed hash, with the limits of
// NIST SP 800-63B and OWASP ASVS (5 checks per verification, 100
// consecutive failures per number across verifications, resend cooldown
// and a send window per number), answers that do not reveal whether a
// verification exists, and codes that are never stored, logged or kept in
// the stored message text. See docs/verify.md.
package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/store"
)

// Store is what the service needs of the store.
type Store interface {
	StartVerification(ctx context.Context, s store.StartVerification) (*herald.Verification, error)
	CheckVerification(ctx context.Context, c store.CheckVerification) (store.CheckResult, error)
	Verification(ctx context.Context, accountID, id string) (*herald.Verification, error)
	FinishVerification(ctx context.Context, accountID, id string, to herald.VerificationStatus, at time.Time) (*herald.Verification, error)
	ResetVerificationFailures(ctx context.Context, accountID, to string) (int, error)
}

// Intake is what the service needs of the intake: a code's message is
// prepared (validated, split, passed by the fraud guard) by the intake,
// stored with its verification in one commit, then handed back to it
// for dispatch.
type Intake interface {
	Normalize(raw string) (string, error)
	Prepare(ctx context.Context, accountID string, r intake.Request) (stored, send *herald.Message, err error)
	Accept(ms []*herald.Message)
}

// Options configure a Service.
type Options struct {
	Store  Store
	Intake Intake
	// Key is the HMAC key of the codes (LoadKey); at least 32 bytes.
	Key []byte
	// Limits default to herald.DefaultVerifyLimits.
	Limits herald.VerifyLimits
	// Approved is told about each approval (the fraud guard's conversion
	// tracking). It must not block.
	Approved func(accountID, to string)
	Now      func() time.Time
}

// Service is the Verify API's logic. Safe for concurrent use; it starts
// no goroutines.
type Service struct {
	o Options
	h hasher

	mu    sync.Mutex
	ended map[string]herald.VerificationStatus // mu guards ended: account+id → final status, to refuse without the store
}

// maxEnded bounds the ended cache; beyond it the cache starts over.
const maxEnded = 100_000

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Intake == nil {
		return nil, errors.New("verify: Store and Intake are required")
	}
	if len(o.Key) < minKey {
		return nil, fmt.Errorf("verify: the key must have at least %d bytes", minKey)
	}
	if o.Limits == (herald.VerifyLimits{}) {
		o.Limits = herald.DefaultVerifyLimits
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Approved == nil {
		o.Approved = func(string, string) {}
	}
	return &Service{o: o, h: hasher{key: append([]byte(nil), o.Key...)}, ended: map[string]herald.VerificationStatus{}}, nil
}

// Limits on requests.
const (
	MinCodeLength     = 4
	MaxCodeLength     = 10
	DefaultCodeLength = 6
	DefaultTTL        = 10 * time.Minute
	MinTTL            = time.Minute
	MaxTTL            = 30 * time.Minute
)

// StartRequest asks for a code to be sent (POST /v1/verifications).
type StartRequest struct {
	To           string `json:"to"`
	Channel      string `json:"channel,omitempty"`       // "sms" (the default)
	CodeLength   int    `json:"code_length,omitempty"`   // 4-10, default 6
	TTL          int    `json:"ttl,omitempty"`           // seconds, 60-1800, default 600
	Locale       string `json:"locale,omitempty"`        // picks the default template; default en
	Template     string `json:"template,omitempty"`      // own text with {code} (and {minutes})
	From         string `json:"from,omitempty"`          // sender; default the server's
	AppHash      string `json:"app_hash,omitempty"`      // Android SMS Retriever hash
	WebOTPDomain string `json:"webotp_domain,omitempty"` // adds "@domain #code" as the last line
}

// Start validates r and sends a code: a new verification, or a new code
// for the pending verification of the same number (after the cooldown).
// The code is sent as an otp message prepared by the intake (validation,
// the fraud guard) and stored in the same commit as the verification's
// send: durable, on the OTP lane, with its own states; its reference is
// the verification id and its stored text has the code masked. A refusal
// of the message (say destination_blocked) creates no verification.
func (s *Service) Start(ctx context.Context, accountID string, r StartRequest) (*herald.Verification, error) {
	now := s.o.Now().UTC()
	to, err := s.o.Intake.Normalize(r.To)
	if err != nil {
		return nil, err
	}
	if r.Channel != "" && r.Channel != "sms" {
		return nil, herald.FieldError("channel", "invalid_channel", "channel must be sms")
	}
	n := r.CodeLength
	if n == 0 {
		n = DefaultCodeLength
	}
	if n < MinCodeLength || n > MaxCodeLength {
		return nil, herald.FieldError("code_length", "invalid_code_length", "code_length must be between %d and %d", MinCodeLength, MaxCodeLength)
	}
	ttl := DefaultTTL
	if r.TTL != 0 {
		ttl = time.Duration(r.TTL) * time.Second
	}
	if ttl < MinTTL || ttl > MaxTTL {
		return nil, herald.FieldError("ttl", "invalid_ttl", "ttl must be between %d and %d seconds", int(MinTTL/time.Second), int(MaxTTL/time.Second))
	}
	lang, err := language(r.Locale)
	tmpl := r.Template
	switch {
	case tmpl != "":
		if err := checkTemplate(tmpl); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		tmpl = templates[lang]
	}
	if r.AppHash != "" {
		if err := checkAppHash(r.AppHash); err != nil {
			return nil, err
		}
	}
	if r.WebOTPDomain != "" {
		if err := checkDomain(r.WebOTPDomain); err != nil {
			return nil, err
		}
	}
	code := newCode(n)
	id := herald.NewID("ver", now.UnixMilli()) // a resend's message gets the pending verification's id instead
	text := render(tmpl, code, int((ttl+time.Minute-1)/time.Minute), r.AppHash, r.WebOTPDomain)
	stored, send, err := s.o.Intake.Prepare(ctx, accountID, intake.Request{To: to, From: r.From, Body: text,
		Redacted: redact(text, code), Type: herald.TypeOTP, ValidityPeriod: int(ttl / time.Second), Reference: id})
	if err != nil {
		return nil, err
	}
	v, err := s.o.Store.StartVerification(ctx, store.StartVerification{
		New: &herald.Verification{ID: id, AccountID: accountID, To: to, Channel: "sms",
			Locale: lang, CodeLength: n, TTL: ttl},
		Hash:    func(id string) []byte { return s.h.sum(id, code) },
		Now:     now,
		Limits:  s.o.Limits,
		Message: &store.NewMessage{Message: stored},
	})
	if err != nil {
		return nil, err
	}
	send.Reference = v.ID
	s.o.Intake.Accept([]*herald.Message{send})
	return v, nil
}

// CheckAnswer is the outcome of a check, the same shape whether or not
// the verification exists.
type CheckAnswer struct {
	ID         string                    `json:"id"`
	Object     string                    `json:"object"` // "verification_check"
	Status     herald.VerificationStatus `json:"status"`
	Valid      bool                      `json:"valid"`
	ChecksLeft int                       `json:"checks_left"`
}

// Check checks a code. A check of an unknown verification, or of another
// account's, is answered like a wrong code (status pending, then
// max_attempts_reached after as many checks) with the same work done:
// the HMAC is always computed and compared, and the check is counted in
// the store. Errors: invalid_code (422) for a code that is not 4-10
// digits, verification_max_attempts (429), verification_locked (429),
// verification_not_pending (409).
func (s *Service) Check(ctx context.Context, accountID, id, code string) (CheckAnswer, error) {
	if !digits(code) {
		return CheckAnswer{}, herald.FieldError("code", "invalid_code", "code must be %d to %d digits", MinCodeLength, MaxCodeLength)
	}
	// A verification that has ended never becomes pending again, so its
	// refusal can be repeated from memory (an attacker hammering an ended
	// verification costs no store work). Such an answer differs from a
	// wrong code's anyway, so its timing tells nothing more.
	key := accountID + "\x00" + id
	s.mu.Lock()
	st, ended := s.ended[key]
	s.mu.Unlock()
	if ended {
		return CheckAnswer{}, herald.DecideCheck(&herald.Verification{Status: st}, 0, time.Time{}, s.o.Limits, nil).Err
	}
	mac := s.h.sum(id, code)
	r, err := s.o.Store.CheckVerification(ctx, store.CheckVerification{AccountID: accountID, ID: id, Now: s.o.Now().UTC(),
		Limits: s.o.Limits, Match: func(stored []byte) bool { return equal(mac, stored) }})
	if v := r.Verification; v != nil && v.Status != herald.VerificationPending {
		s.mu.Lock()
		if len(s.ended) >= maxEnded {
			clear(s.ended)
		}
		s.ended[key] = v.Status
		s.mu.Unlock()
	}
	if err != nil {
		return CheckAnswer{}, err
	}
	a := CheckAnswer{ID: id, Object: "verification_check", Status: herald.VerificationPending, ChecksLeft: r.ChecksLeft}
	switch {
	case r.Verification != nil:
		a.Status, a.Valid = r.Verification.Status, r.Approved
	case r.ChecksLeft == 0:
		a.Status = herald.VerificationMaxAttemptsReached
	}
	if r.Approved {
		s.o.Approved(accountID, r.Verification.To)
	}
	return a, nil
}

func digits(code string) bool {
	if len(code) < MinCodeLength || len(code) > MaxCodeLength {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// Get returns one of the account's verifications (KindNotFound for
// another account's). A pending one past its expiry is shown expired.
func (s *Service) Get(ctx context.Context, accountID, id string) (*herald.Verification, error) {
	v, err := s.o.Store.Verification(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	if v.Status == herald.VerificationPending && !s.o.Now().Before(v.ExpiresAt) {
		v.Status = herald.VerificationExpired
	}
	return v, nil
}

// Cancel cancels a pending verification: its code no longer works.
func (s *Service) Cancel(ctx context.Context, accountID, id string) (*herald.Verification, error) {
	return s.o.Store.FinishVerification(ctx, accountID, id, herald.VerificationCanceled, s.o.Now().UTC())
}

// View is a verification as the API shows it. The code and its hash are
// never shown.
type View struct {
	ID         string                    `json:"id"`
	Object     string                    `json:"object"` // "verification"
	To         string                    `json:"to"`
	Channel    string                    `json:"channel"`
	Status     herald.VerificationStatus `json:"status"`
	Locale     string                    `json:"locale"`
	CodeLength int                       `json:"code_length"`
	Checks     int                       `json:"checks"`
	ChecksLeft int                       `json:"checks_left"`
	Sends      int                       `json:"sends"`
	ExpiresAt  time.Time                 `json:"expires_at"`
	CreatedAt  time.Time                 `json:"created_at"`
	UpdatedAt  time.Time                 `json:"updated_at"`
}

// ViewOf returns the API view of v.
func (s *Service) ViewOf(v *herald.Verification) View {
	left := 0
	if v.Status == herald.VerificationPending {
		left = max(s.o.Limits.MaxChecks-v.Checks, 0)
	}
	return View{ID: v.ID, Object: "verification", To: v.To, Channel: v.Channel, Status: v.Status, Locale: v.Locale,
		CodeLength: v.CodeLength, Checks: v.Checks, ChecksLeft: left, Sends: v.Sends,
		ExpiresAt: v.ExpiresAt.UTC(), CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC()}
}

// IsVerificationMessage reports whether m carries a code of this
// service: an otp message whose reference is a verification id.
func IsVerificationMessage(m *herald.Message) bool {
	return m.Type == herald.TypeOTP && strings.HasPrefix(m.Reference, "ver_")
}

// Unlock clears the consecutive failed checks of a number (after 100 it
// is locked until a success, which a lock prevents): for the application
// to call once it has verified the person another way. It returns the
// count cleared.
func (s *Service) Unlock(ctx context.Context, accountID, rawTo string) (string, int, error) {
	to, err := s.o.Intake.Normalize(rawTo)
	if err != nil {
		return "", 0, err
	}
	n, err := s.o.Store.ResetVerificationFailures(ctx, accountID, to)
	return to, n, err
}
