package herald

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

var b64 = base64.RawStdEncoding

// SMPPUser is a system_id/password with which a client application binds
// to Herald's SMPP server on behalf of an account. Only a salted, slow
// hash of the password is stored (see HashSMPPPassword).
type SMPPUser struct {
	ID        string
	AccountID string
	SystemID  string // unique across accounts
	// PasswordHash is "pbkdf2-sha256$ITER$SALT$HASH" (base64 without
	// padding), made by HashSMPPPassword.
	PasswordHash string
	// MaxBinds caps the sessions bound at once with this system_id
	// (0: DefaultMaxBinds).
	MaxBinds int
	// RateLimit caps submit_sm (and submit_multi destinations) per second
	// (0: no limit of its own).
	RateLimit float64
	// AllowedIPs, when not empty, are the addresses or CIDR prefixes the
	// user may bind from.
	AllowedIPs []string
	CreatedAt  time.Time
}

// DefaultMaxBinds is an SMPP user's bind limit when none is set.
const DefaultMaxBinds = 8

// SMPPPasswordLen is the length of generated SMPP passwords: SMPP 3.4
// allows 8 octets (9 with the final NUL), and many clients refuse more.
const SMPPPasswordLen = 8

// NewSMPPPassword returns a random password of SMPPPasswordLen letters and
// digits (about 47 bits).
func NewSMPPPassword() string { return randomString(SMPPPasswordLen, alnum) }

// smppHashIter is the PBKDF2 iteration count of new hashes: a few
// milliseconds per verification. An 8-character password has too little
// entropy for a fast hash to resist an offline search of a stolen
// database; the SMPP server caches successful verifications so that
// rebinding clients do not pay it again.
const smppHashIter = 20_000

// HashSMPPPassword returns the stored form of password.
func HashSMPPPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	return formatSMPPHash(smppHashIter, salt, derive(password, salt, smppHashIter))
}

func derive(password string, salt []byte, iter int) []byte {
	k, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		return nil // only for invalid parameters, which ours are not
	}
	return k
}

func formatSMPPHash(iter int, salt, key []byte) string {
	return "pbkdf2-sha256$" + strconv.Itoa(iter) + "$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
}

// VerifySMPPPassword reports whether password matches a stored hash. It
// takes a few milliseconds by design.
func VerifySMPPPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err0 := strconv.Atoi(parts[1])
	salt, err1 := b64.DecodeString(parts[2])
	want, err2 := b64.DecodeString(parts[3])
	if err0 != nil || iter <= 0 || iter > 10_000_000 || err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare(derive(password, salt, iter), want) == 1
}

// AllowsIP reports whether the user may bind from addr (always true when
// AllowedIPs is empty).
func (u *SMPPUser) AllowsIP(addr netip.Addr) bool {
	if len(u.AllowedIPs) == 0 {
		return true
	}
	addr = addr.Unmap()
	for _, a := range u.AllowedIPs {
		if p, err := netip.ParsePrefix(a); err == nil {
			if p.Contains(addr) {
				return true
			}
			continue
		}
		if ip, err := netip.ParseAddr(a); err == nil && ip.Unmap() == addr {
			return true
		}
	}
	return false
}

// ValidateSMPPUser checks the fields a client sets.
func ValidateSMPPUser(u *SMPPUser) error {
	if u.SystemID == "" || len(u.SystemID) > 15 {
		return FieldError("system_id", "invalid_system_id", "system_id must have 1 to 15 characters (SMPP 3.4)")
	}
	for _, c := range u.SystemID {
		if c <= ' ' || c > '~' {
			return FieldError("system_id", "invalid_system_id", "system_id must be printable ASCII without spaces")
		}
	}
	if u.MaxBinds < 0 || u.MaxBinds > 1000 {
		return FieldError("max_binds", "invalid_max_binds", "max_binds must be between 0 (default) and 1000")
	}
	if u.RateLimit < 0 {
		return FieldError("rate_limit", "invalid_rate_limit", "rate_limit must not be negative")
	}
	for _, a := range u.AllowedIPs {
		if _, err := netip.ParsePrefix(a); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(a); err != nil {
			return FieldError("allowed_ips", "invalid_allowed_ips", "%q is not an IP address or CIDR prefix", a)
		}
	}
	return nil
}

// ClientMessageKind says what an SMPP client outbox row carries.
type ClientMessageKind string

// Client outbox kinds.
const (
	ClientReceipt ClientMessageKind = "receipt" // a delivery receipt for a message the client submitted
	ClientInbound ClientMessageKind = "inbound" // a mobile-originated message for the account
)

// ClientMessage is one deliver_sm waiting for an account's SMPP receiver
// binds, kept durably until a client acknowledges it. Seq orders an
// account's rows.
type ClientMessage struct {
	Seq       int64
	AccountID string
	Kind      ClientMessageKind
	MessageID string // Herald's message id (the one the client was given)
	Status    Status // the message's status (receipts)
	From      string // the message's sender (receipts) or the originator (inbound)
	To        string // the message's recipient (receipts) or the account's number (inbound)
	Body      string // receipts: the message's first characters; inbound: the text
	ErrorCode string // receipts: the carrier's err value, when known
	Parts     int    // receipts: parts of the message
	Delivered int    // receipts: parts delivered
	SubmitAt  time.Time
	DoneAt    time.Time
	CreatedAt time.Time
}
