package verify

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"math/big"
)

// pow10 holds 10^n for the code lengths.
var pow10 = func() [11]*big.Int {
	var p [11]*big.Int
	for i := range p {
		p[i] = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(i)), nil)
	}
	return p
}()

// newCode returns n decimal digits drawn uniformly from crypto/rand:
// rand.Int draws below 10^n by rejection sampling, so there is no
// modulo bias; leading zeros are kept.
func newCode(n int) string {
	v, err := rand.Int(rand.Reader, pow10[n])
	if err != nil {
		panic("verify: crypto/rand failed: " + err.Error()) // never happens (Go 1.24+)
	}
	s := v.String()
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// hasher computes the keyed hashes of codes. The key never reaches the
// store.
type hasher struct{ key []byte }

// sum is HMAC-SHA256(key, id ":" code): a code is bound to its own
// verification, so a code sent for one verification never approves
// another.
func (h hasher) sum(id, code string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(id))
	m.Write([]byte{':'})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// decoyHash is compared with when there is no stored hash, so that an
// unknown verification costs the same work as a wrong code.
var decoyHash = make([]byte, sha256.Size)

// equal compares a computed hash with a stored one in constant time; a
// nil stored hash (no such verification) compares with decoyHash and
// never matches.
func equal(mac, stored []byte) bool {
	real := 1
	if stored == nil {
		stored, real = decoyHash, 0
	}
	return subtle.ConstantTimeCompare(mac, stored)&real == 1
}
