package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// The Standard Webhooks headers. http.Header canonicalises them
// (Webhook-Id …); HTTP header names are case-insensitive.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// Secret sizes allowed by Standard Webhooks, in bytes before encoding.
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// DefaultTolerance is how far a webhook-timestamp may be from the
// receiver's clock, in either direction, when Verify is given no
// tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors returned by Sign and Verify; the returned error wraps one of them
// and says which header or value was at fault.
var (
	ErrBadSecret     = errors.New("webhook: invalid signing secret")
	ErrBadID         = errors.New("webhook: invalid webhook-id")
	ErrMissingHeader = errors.New("webhook: missing header")
	ErrBadTimestamp  = errors.New("webhook: invalid webhook-timestamp")
	ErrTooOld        = errors.New("webhook: timestamp too old")
	ErrTooNew        = errors.New("webhook: timestamp too new")
	ErrNoSignature   = errors.New("webhook: no matching signature")
)

// NewSecret returns a new signing secret: "whsec_" followed by the
// standard base64 encoding of 32 random bytes.
func NewSecret() string { return herald.NewWebhookSecret() }

// CheckSecret reports whether s is a well-formed secret to store for an
// endpoint: the "whsec_" prefix and 24 to 64 bytes in standard base64.
// It is stricter than Sign and Verify, which accept any non-empty key with
// or without the prefix (as the reference libraries do).
func CheckSecret(s string) error {
	enc, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return fmt.Errorf("%w: must start with %q", ErrBadSecret, SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return fmt.Errorf("%w: not base64", ErrBadSecret)
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return fmt.Errorf("%w: %d bytes, want %d to %d", ErrBadSecret, len(key), MinSecretBytes, MaxSecretBytes)
	}
	return nil
}

// decodeSecret returns the HMAC key of a secret ("whsec_" is optional).
// The error never contains the secret.
func decodeSecret(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w: not base64", ErrBadSecret)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadSecret)
	}
	return key, nil
}

// checkID rejects message ids that cannot be sent as a header value as
// they are, and ids containing '.', which would make the signed content
// ambiguous ("a.1.b" could be id "a", or id "a.1" with another body).
func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty", ErrBadID)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '.' {
			return fmt.Errorf("%w: byte %#02x at %d", ErrBadID, c, i)
		}
	}
	return nil
}

// Sign returns the webhook-signature value ("v1,<base64>") for one
// attempt: HMAC-SHA256, keyed with the secret's decoded bytes, of
// id + "." + the Unix seconds of ts + "." + body. id is the webhook-id
// sent with it. Sign fails only for a secret that does not decode or an id
// that is empty or holds a '.', a space or a control character.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	if err := checkID(id); err != nil {
		return "", err
	}
	var tsBuf [20]byte
	sum := mac(key, id, strconv.AppendInt(tsBuf[:0], ts.Unix(), 10), body)
	out := make([]byte, 3+base64.StdEncoding.EncodedLen(len(sum)))
	copy(out, "v1,")
	base64.StdEncoding.Encode(out[3:], sum)
	return string(out), nil
}

// mac computes the v1 HMAC of one message.
func mac(key []byte, id string, ts, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(ts)
	h.Write([]byte{'.'})
	h.Write(body)
	var sum [sha256.Size]byte
	return h.Sum(sum[:0])
}

// Verify checks a received webhook: that the webhook-id,
// webhook-timestamp and webhook-signature headers are present, that the
// timestamp is within tolerance of now (DefaultTolerance when tolerance
// is not positive), so that a captured request cannot be replayed later,
// and that at least one of the space-separated v1 signatures matches
// body, compared in constant time. Signatures of other schemes (v1a …)
// are skipped. body must be the raw request body, exactly as received.
//
// The error wraps ErrBadSecret, ErrBadID, ErrMissingHeader,
// ErrBadTimestamp, ErrTooOld, ErrTooNew or ErrNoSignature.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	id, tsText, sigs := first(h, HeaderID), first(h, HeaderTimestamp), values(h, HeaderSignature)
	switch {
	case id == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderID)
	case tsText == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderTimestamp)
	case len(sigs) == 0 || sigs[0] == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderSignature)
	}
	if err := checkID(id); err != nil {
		return err
	}
	sec, err := strconv.ParseInt(tsText, 10, 64)
	// Only the canonical form is accepted ("+5" or "05" would be signed
	// as "5" by the sender but as written here).
	if err != nil || strconv.FormatInt(sec, 10) != tsText {
		return fmt.Errorf("%w: %.32q", ErrBadTimestamp, tsText)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// Compare in seconds: time.Unix of an extreme value would saturate.
	limit := int64(tolerance / time.Second)
	nowSec := now.Unix()
	if sec < nowSec && uint64(nowSec)-uint64(sec) > uint64(limit) {
		return fmt.Errorf("%w: %d s before now", ErrTooOld, uint64(nowSec)-uint64(sec))
	}
	if sec > nowSec && uint64(sec)-uint64(nowSec) > uint64(limit) {
		return fmt.Errorf("%w: %d s after now", ErrTooNew, uint64(sec)-uint64(nowSec))
	}
	sum := mac(key, id, []byte(tsText), body)
	var want [44]byte // base64 of 32 bytes
	base64.StdEncoding.Encode(want[:], sum)
	for _, v := range sigs {
		for sig := range strings.FieldsSeq(v) {
			enc, ok := strings.CutPrefix(sig, "v1,")
			if ok && subtle.ConstantTimeCompare([]byte(enc), want[:]) == 1 {
				return nil
			}
		}
	}
	return ErrNoSignature
}

// values returns the values of header name (lower case), looked up under
// its canonical form as net/http stores it and, for maps built by hand,
// under the name as written.
func values(h http.Header, name string) []string {
	if v := h.Values(name); len(v) > 0 {
		return v
	}
	return h[name]
}

func first(h http.Header, name string) string {
	if v := values(h, name); len(v) > 0 {
		return v[0]
	}
	return ""
}
