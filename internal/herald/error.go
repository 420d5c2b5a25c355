package herald

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an application error. The set is append-only; each
// edge (HTTP, SMPP server, carrier link) maps kinds to its own codes.
type Kind uint8

// Error kinds.
const (
	KindInternal     Kind = iota // a bug or an unexpected failure
	KindInvalid                  // the request is malformed or a field is invalid
	KindNotFound                 // no such resource (or not the caller's)
	KindConflict                 // clashes with existing state (idempotency key reuse)
	KindUnauthorized             // missing or bad credentials
	KindForbidden                // authenticated but not allowed
	KindRateLimited              // too many requests
	KindOptedOut                 // the recipient opted out
	KindTransient                // try again later (store unavailable, link down)
	KindPermanent                // will never succeed
	KindTooLarge                 // the request body is too large
	KindUnsupported              // unsupported media type
)

var kindNames = [...]string{"internal", "invalid", "not_found", "conflict", "unauthorized",
	"forbidden", "rate_limited", "opted_out", "transient", "permanent", "too_large", "unsupported"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is the application error. Code is a stable, documented,
// snake_case identifier (e.g. "invalid_phone_number"); Field names the
// offending request field when there is one.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Field   string
	Err     error // underlying cause, never shown to clients
	// RetryAfter, with KindRateLimited, says when a retry may succeed.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with the given code.
func Errorf(k Kind, code, format string, args ...any) *Error {
	return &Error{Kind: k, Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns a KindInvalid *Error about one field.
func FieldError(field, code, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the kind of err: its *Error's kind, or KindInternal.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}
