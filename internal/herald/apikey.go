package herald

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"sync"
)

// API keys look like "hk" + 10 lowercase letters or digits (the public
// prefix, shown in listings and logs) + 32 letters or digits (the
// secret), 44 characters of [0-9A-Za-z] in all: usable as a bearer token
// and, later, as a Twilio-style credential. Keys have about 190 bits of
// entropy, so a plain SHA-256 of the whole key is stored, never the key.
const (
	apiKeyTag       = "hk"
	apiKeyPrefixLen = 12 // "hk" + 10
	apiKeyLen       = apiKeyPrefixLen + 32
)

const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	// rand.Read never fails (Go 1.24+); rejection sampling keeps it uniform.
	buf := make([]byte, n*2)
	for i := 0; i < n; {
		rand.Read(buf)
		for _, c := range buf {
			if int(c) < 256-256%len(alphabet) {
				b[i] = alphabet[int(c)%len(alphabet)]
				i++
				if i == n {
					break
				}
			}
		}
	}
	return string(b)
}

// NewAPIKey returns a fresh key for accountID: the secret to show once,
// and the record to store (its Hash and Prefix; ID is the prefix).
func NewAPIKey(accountID string) (secret string, k *APIKey) {
	prefix := apiKeyTag + randomString(apiKeyPrefixLen-len(apiKeyTag), alnum[:36])
	secret = prefix + randomString(apiKeyLen-apiKeyPrefixLen, alnum)
	sum := sha256.Sum256([]byte(secret))
	return secret, &APIKey{ID: prefix, AccountID: accountID, Prefix: prefix, Hash: sum[:]}
}

// APIKeyPrefix returns the public prefix of a presented key, or false when
// it cannot be a Herald key.
func APIKeyPrefix(key string) (string, bool) {
	if len(key) != apiKeyLen || !strings.HasPrefix(key, apiKeyTag) {
		return "", false
	}
	for i := 0; i < len(key); i++ {
		if strings.IndexByte(alnum, key[i]) < 0 {
			return "", false
		}
	}
	return key[:apiKeyPrefixLen], true
}

// Matches reports, in constant time, whether the presented key is k's.
func (k *APIKey) Matches(key string) bool {
	sum := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(sum[:], k.Hash) == 1
}

// NewID returns a random identifier with the given prefix, e.g.
// NewID("msg") = "msg_" + 26 characters. IDs are time-ordered (48 bits of
// milliseconds, then 80 random bits, in Crockford base32) so that newer
// records sort after older ones and indexes stay compact. Within one
// process, IDs made for the same millisecond are also in the order they
// were made (the random part of each is the last one's plus a random
// step), so that ordering by ID is ordering by creation: messages
// accepted together are recovered and sent in that order.
func NewID(prefix string, ms int64) string {
	const crockford = "0123456789abcdefghjkmnpqrstvwxyz"
	var raw [16]byte
	raw[0], raw[1], raw[2] = byte(ms>>40), byte(ms>>32), byte(ms>>24)
	raw[3], raw[4], raw[5] = byte(ms>>16), byte(ms>>8), byte(ms)
	ids.next(ms, raw[6:])
	// 128 bits → 26 base32 characters (the top two bits are zero).
	out := make([]byte, 0, len(prefix)+1+26)
	out = append(out, prefix...)
	out = append(out, '_')
	var acc uint64
	bits := 2 // pad to 130 bits
	for _, b := range raw {
		acc = acc<<8 | uint64(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, crockford[(acc>>bits)&31])
		}
	}
	return string(out)
}

// NewWebhookSecret returns a Standard Webhooks signing secret: "whsec_"
// and the base64 of 32 random bytes.
func NewWebhookSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// ids makes the random parts of NewID monotonic per millisecond.
var ids idState

type idState struct {
	mu     sync.Mutex
	ms     int64  // mu guards ms, hi and lo: the last ID's millisecond
	hi     uint16 // and its 80 random bits
	lo     uint64
	filled bool
}

// next writes the 80 random bits of an ID for ms into b (10 bytes).
func (s *idState) next(ms int64, b []byte) {
	var r [12]byte
	rand.Read(r[:])
	s.mu.Lock()
	if s.filled && ms < s.ms {
		// An ID for an earlier time (an event dated in the past): random,
		// and the state stays with the latest millisecond.
		s.mu.Unlock()
		copy(b, r[2:12])
		return
	}
	if s.filled && ms == s.ms {
		step := uint64(binary.BigEndian.Uint32(r[:4])>>8) + 1 // 1 … 2^24
		lo := s.lo + step
		hi := s.hi
		if lo < s.lo {
			hi++
		}
		s.hi, s.lo = hi, lo // hi starts below 2^15: 2^79 steps of room
	} else {
		s.ms, s.filled = ms, true
		s.hi, s.lo = binary.BigEndian.Uint16(r[:2])>>1, binary.BigEndian.Uint64(r[4:12]) // top bit clear: room to grow
	}
	binary.BigEndian.PutUint16(b[:2], s.hi)
	binary.BigEndian.PutUint64(b[2:10], s.lo)
	s.mu.Unlock()
}
