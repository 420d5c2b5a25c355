package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// Error codes this package emits itself. Codes are stable: a code is never
// renamed or given another status; new ones are appended here, to the
// table below, to openapi.json and to docs/api.md (a test checks all four
// agree).
const (
	codeInvalidJSON           = "invalid_json"
	codeUnknownField          = "unknown_field"
	codeInvalidFieldType      = "invalid_field_type"
	codeInvalidParameter      = "invalid_parameter"
	codeUnknownParameter      = "unknown_parameter"
	codeInvalidCursor         = "invalid_cursor"
	codeInvalidIdempotencyKey = "invalid_idempotency_key"
	codeUnauthorized          = "unauthorized"
	codeNotFound              = "not_found"
	codeMethodNotAllowed      = "method_not_allowed"
	codeRequestTooLarge       = "request_too_large"
	codeUnsupportedMediaType  = "unsupported_media_type"
	codeBatchEmpty            = "batch_empty"
	codeBatchTooLarge         = "batch_too_large"
	codeInvalidURL            = "invalid_url"
	codeInvalidEventType      = "invalid_event_type"
	codeTooManyParts          = "too_many_parts"
	codeInternal              = "internal_error"
	codeStoreUnavailable      = "store_unavailable"
	codeInvalidPhoneNumber    = "invalid_phone_number"
	codeReasonRequired        = "reason_required"
	codeInvalidCSV            = "invalid_csv"
	codeInvalidSender         = "invalid_sender"

	// Codes defined by the store contract (internal/store) that reach
	// clients through this package unchanged.
	codeIdempotencyKeyReused = "idempotency_key_reused"
	codeNotCancelable        = "not_cancelable"
	codeSenderTaken          = "sender_taken"

	// Codes of the Verify API (internal/verify, herald.CodeVerify*).
	codeInvalidCode          = "invalid_code"
	codeInvalidCodeLength    = "invalid_code_length"
	codeInvalidTTL           = "invalid_ttl"
	codeInvalidLocale        = "invalid_locale"
	codeInvalidTemplate      = "invalid_template"
	codeInvalidChannel       = "invalid_channel"
	codeInvalidAppHash       = "invalid_app_hash"
	codeInvalidWebOTPDomain  = "invalid_webotp_domain"
	codeVerifyResendCooldown = "verification_resend_cooldown"
	codeVerifyTooManySends   = "verification_too_many_sends"
	codeVerifyLocked         = "verification_locked"
	codeVerifyMaxAttempts    = "verification_max_attempts"
	codeVerifyNotPending     = "verification_not_pending"

	// Codes of the fraud guard (internal/fraud), per message.
	codeDestinationBlocked = "destination_blocked"
	codeRateLimited        = "rate_limited"
	codeDailyCapReached    = "daily_cap_reached"
	codeBlockNotActive     = "block_not_active"

	// SMPP users (smppusers.go; the invalid_* codes come from
	// herald.ValidateSMPPUser, system_id_taken from the store).
	codeInvalidSystemID   = "invalid_system_id"
	codeInvalidPassword   = "invalid_password"
	codeInvalidMaxBinds   = "invalid_max_binds"
	codeInvalidRateLimit  = "invalid_rate_limit"
	codeInvalidAllowedIPs = "invalid_allowed_ips"
	codeSystemIDTaken     = "system_id_taken"
)

// errorCode is one row of the error table.
type errorCode struct {
	code   string
	kind   herald.Kind
	status int // only where the router answers directly; else httpStatus decides
}

// errorCodes is the table of every code this package can answer with,
// apart from the validation codes of internal/intake, which it passes on.
var errorCodes = []errorCode{
	{codeInvalidJSON, herald.KindInvalid, 0},
	{codeUnknownField, herald.KindInvalid, 0},
	{codeInvalidFieldType, herald.KindInvalid, 0},
	{codeInvalidParameter, herald.KindInvalid, 0},
	{codeUnknownParameter, herald.KindInvalid, 0},
	{codeInvalidCursor, herald.KindInvalid, 0},
	{codeInvalidIdempotencyKey, herald.KindInvalid, 0},
	{codeUnauthorized, herald.KindUnauthorized, 0},
	{codeNotFound, herald.KindNotFound, 0},
	{codeMethodNotAllowed, herald.KindInvalid, http.StatusMethodNotAllowed}, // see Server.fallback
	{codeRequestTooLarge, herald.KindTooLarge, 0},
	{codeUnsupportedMediaType, herald.KindUnsupported, 0},
	{codeBatchEmpty, herald.KindInvalid, 0},
	{codeBatchTooLarge, herald.KindInvalid, 0},
	{codeInvalidURL, herald.KindInvalid, 0},
	{codeInvalidEventType, herald.KindInvalid, 0},
	{codeTooManyParts, herald.KindInvalid, 0},
	{codeInternal, herald.KindInternal, 0},
	{codeStoreUnavailable, herald.KindTransient, 0},
	{codeIdempotencyKeyReused, herald.KindConflict, 0},
	{codeNotCancelable, herald.KindConflict, 0},
	{codeInvalidPhoneNumber, herald.KindInvalid, 0},
	{codeReasonRequired, herald.KindInvalid, 0},
	{codeInvalidCSV, herald.KindInvalid, 0},
	{codeInvalidSender, herald.KindInvalid, 0}, // from herald.ParseSender
	{codeSenderTaken, herald.KindConflict, 0},
	{codeInvalidCode, herald.KindInvalid, 0},
	{codeInvalidCodeLength, herald.KindInvalid, 0},
	{codeInvalidTTL, herald.KindInvalid, 0},
	{codeInvalidLocale, herald.KindInvalid, 0},
	{codeInvalidTemplate, herald.KindInvalid, 0},
	{codeInvalidChannel, herald.KindInvalid, 0},
	{codeInvalidAppHash, herald.KindInvalid, 0},
	{codeInvalidWebOTPDomain, herald.KindInvalid, 0},
	{codeVerifyResendCooldown, herald.KindRateLimited, 0},
	{codeVerifyTooManySends, herald.KindRateLimited, 0},
	{codeVerifyLocked, herald.KindRateLimited, 0},
	{codeVerifyMaxAttempts, herald.KindRateLimited, 0},
	{codeVerifyNotPending, herald.KindConflict, 0},
	{codeDestinationBlocked, herald.KindForbidden, 0},
	{codeRateLimited, herald.KindRateLimited, 0},
	{codeDailyCapReached, herald.KindRateLimited, 0},
	{codeBlockNotActive, herald.KindConflict, 0},
	{codeInvalidSystemID, herald.KindInvalid, 0},
	{codeInvalidPassword, herald.KindInvalid, 0},
	{codeInvalidMaxBinds, herald.KindInvalid, 0},
	{codeInvalidRateLimit, herald.KindInvalid, 0},
	{codeInvalidAllowedIPs, herald.KindInvalid, 0},
	{codeSystemIDTaken, herald.KindConflict, 0},
}

// malformed lists the KindInvalid codes that mean the request does not
// follow the API's grammar (answered 400) rather than carrying a value
// Herald will not act on (answered 422).
var malformed = map[string]bool{
	codeInvalidJSON:           true,
	codeUnknownField:          true,
	codeInvalidFieldType:      true,
	codeInvalidParameter:      true,
	codeUnknownParameter:      true,
	codeInvalidCursor:         true,
	codeInvalidIdempotencyKey: true,
}

// httpStatus maps an application error to its HTTP status. It is the
// only place where kinds become statuses:
//
//   - invalid: 400 when the request is malformed (see malformed), else 422;
//   - opted out and permanent: 422 (well-formed, but will never be sent);
//   - unauthorized 401, forbidden 403, not found 404, conflict 409,
//     too large 413, unsupported 415, rate limited 429;
//   - transient 503 (with Retry-After), internal and anything else 500.
func httpStatus(e *herald.Error) int {
	switch e.Kind {
	case herald.KindInvalid:
		if malformed[e.Code] {
			return http.StatusBadRequest
		}
		return http.StatusUnprocessableEntity
	case herald.KindOptedOut, herald.KindPermanent:
		return http.StatusUnprocessableEntity
	case herald.KindUnauthorized:
		return http.StatusUnauthorized
	case herald.KindForbidden:
		return http.StatusForbidden
	case herald.KindNotFound:
		return http.StatusNotFound
	case herald.KindConflict:
		return http.StatusConflict
	case herald.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case herald.KindUnsupported:
		return http.StatusUnsupportedMediaType
	case herald.KindRateLimited:
		return http.StatusTooManyRequests
	case herald.KindTransient:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// errorBody is the one JSON shape of every error answer.
type errorBody struct {
	Error errorObject `json:"error"`
}

// errorObject is an error as clients see it, also used for the items of a
// batch answer.
type errorObject struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// apiError returns a *herald.Error of this package; code must be one of
// the constants above.
func apiError(k herald.Kind, code, msg string) *herald.Error {
	return &herald.Error{Kind: k, Code: code, Message: msg}
}

// fieldError returns a KindInvalid *herald.Error about one field.
func fieldError(code, field, msg string) *herald.Error {
	return &herald.Error{Kind: herald.KindInvalid, Code: code, Field: field, Message: msg}
}

// notFound is the answer for an unknown id and for another account's id
// alike, so that existence is never revealed.
func notFound(what string) *herald.Error {
	return apiError(herald.KindNotFound, codeNotFound, what+" not found")
}

// errStoreUnavailable is the answer when the store cannot be reached or
// cannot commit.
func errStoreUnavailable(cause error) *herald.Error {
	return &herald.Error{Kind: herald.KindTransient, Code: codeStoreUnavailable,
		Message: "the store is unavailable; retry later", Err: cause}
}

// publicError converts any error into what a client may see, and reports
// whether it hides a cause that should be logged (internal errors and
// anything that is not a *herald.Error).
func publicError(err error) (status int, obj errorObject, hidden bool) {
	var e *herald.Error
	if !errors.As(err, &e) {
		e = &herald.Error{Kind: herald.KindInternal}
	}
	status = httpStatus(e)
	if status == http.StatusInternalServerError {
		return status, errorObject{Code: codeInternal, Message: "internal error"}, true
	}
	obj = errorObject{Code: e.Code, Message: e.Message, Field: e.Field}
	if obj.Code == "" {
		obj.Code = e.Kind.String()
	}
	if obj.Message == "" {
		obj.Message = http.StatusText(status)
	}
	return status, obj, status >= 500
}

// writeError answers with err in the error shape. Causes of 5xx answers
// are logged with the request id; clients never see them.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, obj, hidden := publicError(err)
	if e, ok := errors.AsType[*herald.Error](err); ok && status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(e.RetryAfter)))
	}
	if hidden {
		level := slog.LevelError
		if r.Context().Err() != nil {
			level = slog.LevelDebug // the client went away; nothing is wrong here
		}
		s.log.Log(r.Context(), level, "api: request failed",
			"request_id", requestID(w), "method", r.Method, "route", r.Pattern,
			"status", status, "err", err)
	}
	s.writeErrorObject(w, status, obj)
}

func (s *Server) writeErrorObject(w http.ResponseWriter, status int, obj errorObject) {
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(1))
	}
	writeJSONValue(w, status, errorBody{Error: obj})
}

// retryAfterSeconds is a Retry-After value: whole seconds, rounded up, at
// least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
}
