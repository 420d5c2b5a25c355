package smstext

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// escape is the septet that switches the next septet to the single shift
// (extension) table.
const escape = 0x1B

// ErrUnencodable is returned (wrapped) when text has a character that the
// requested encoding cannot represent.
var ErrUnencodable = errors.New("character not representable in the encoding")

// ErrUnsupportedLanguage is returned (wrapped) when a Language has no table
// of the requested kind in this package.
var ErrUnsupportedLanguage = errors.New("unsupported national language table")

// charset is a pair of GSM 7-bit tables in force for a message: the locking
// shift table (the default alphabet unless a national locking shift IE is
// sent) and the single shift table reached through the escape septet (the
// default extension table unless a national single shift IE is sent).
type charset struct {
	lockLang, shiftLang Language
	lock, shift         *alphabet
}

func defaultCharset() charset { return newCharset(Default, Default) }

// newCharset returns the tables for the pair, falling back to the default
// table for a language this package has no table for. Callers that must
// reject such languages check HasLockingShift / HasSingleShift first.
func newCharset(lock, shift Language) charset {
	cs := charset{lockLang: lock, shiftLang: shift, lock: lock.locking(), shift: shift.single()}
	if cs.lock == nil {
		cs.lockLang, cs.lock = Default, Default.locking()
	}
	if cs.shift == nil {
		cs.shiftLang, cs.shift = Default, Default.single()
	}
	return cs
}

// septets returns how many septets r takes (1, or 2 for an escaped
// character) or 0 if the pair of tables cannot represent it.
func (cs charset) septets(r rune) int {
	if _, ok := cs.lock.code(r); ok {
		return 1
	}
	if _, ok := cs.shift.code(r); ok {
		return 2
	}
	return 0
}

// appendRune appends the septets for r. ok is false if r is not
// representable, in which case dst is returned unchanged.
func (cs charset) appendRune(dst []byte, r rune) (_ []byte, ok bool) {
	if c, ok := cs.lock.code(r); ok {
		return append(dst, c), true
	}
	if c, ok := cs.shift.code(r); ok {
		return append(dst, escape, c), true
	}
	return dst, false
}

// appendText appends the septets for s, which the caller has checked to be
// representable.
func (cs charset) appendText(dst []byte, s string) []byte {
	for _, r := range s {
		dst, _ = cs.appendRune(dst, r)
	}
	return dst
}

// decode converts unpacked septets to text. An escape followed by a code
// with no single shift character decodes as the locking shift character for
// that code, as 3GPP TS 23.038 §6.2.1.1 requires; a trailing lone escape is
// dropped; octets above 0x7F and unused positions decode as U+FFFD.
func (cs charset) decode(septets []byte) string {
	var b strings.Builder
	b.Grow(len(septets))
	for i := 0; i < len(septets); i++ {
		c := septets[i]
		if c == escape {
			if i+1 >= len(septets) {
				break
			}
			i++
			c = septets[i]
			if c < 128 && cs.shift.chars[c] != unused {
				b.WriteRune(cs.shift.chars[c])
				continue
			}
			if c == escape {
				// 0x1B1B is reserved for a further extension table; show a
				// space as the default table's fallback would.
				b.WriteByte(' ')
				continue
			}
		}
		if c >= 128 || cs.lock.chars[c] == unused {
			b.WriteRune(utf8.RuneError)
			continue
		}
		b.WriteRune(cs.lock.chars[c])
	}
	return b.String()
}

// EncodeGSM7 encodes text as unpacked GSM 7-bit septets (one septet per
// octet, the usual SMPP form) using the given national locking shift and
// single shift tables; pass Default for either to use the default alphabet
// or the default extension table. Characters of the single shift table are
// encoded as the escape septet 0x1B followed by their code.
//
// It returns an error wrapping ErrUnencodable for the first character the
// tables cannot represent, and one wrapping ErrUnsupportedLanguage if this
// package has no such table for a language.
func EncodeGSM7(text string, locking, single Language) ([]byte, error) {
	if !locking.HasLockingShift() {
		return nil, fmt.Errorf("locking shift %v: %w", locking, ErrUnsupportedLanguage)
	}
	if !single.HasSingleShift() {
		return nil, fmt.Errorf("single shift %v: %w", single, ErrUnsupportedLanguage)
	}
	cs := newCharset(locking, single)
	out := make([]byte, 0, len(text))
	for i, r := range text {
		var ok bool
		if out, ok = cs.appendRune(out, r); !ok {
			return nil, fmt.Errorf("%q at byte %d: %w", r, i, ErrUnencodable)
		}
	}
	return out, nil
}

// DecodeGSM7 decodes unpacked GSM 7-bit septets using the given national
// locking shift and single shift tables (Default for the default alphabet
// and extension table; a language this package has no table for falls back
// to the default). It never fails: octets above 0x7F and unused code points
// decode as U+FFFD, and an escape to an undefined extension character
// decodes as the main-table character, per 3GPP TS 23.038 §6.2.1.1.
func DecodeGSM7(septets []byte, locking, single Language) string {
	return newCharset(locking, single).decode(septets)
}

// IsGSM7 reports whether text can be encoded in the GSM 7-bit default
// alphabet and its extension table, with no national language table.
func IsGSM7(text string) bool {
	cs := defaultCharset()
	for _, r := range text {
		if cs.septets(r) == 0 {
			return false
		}
	}
	return true
}

// fillBits returns the number of fill bits needed after a UDH of udhLen
// octets so that the first septet of text starts on a septet boundary.
func fillBits(udhLen int) int {
	return (7 - (udhLen*8)%7) % 7
}

// udhSeptets returns how many septets a UDH of udhLen octets (including
// UDHL) occupies in a GSM 7-bit message, fill bits included.
func udhSeptets(udhLen int) int {
	return (udhLen*8 + 6) / 7
}

// PackSeptets packs septets (one per octet; the high bit is ignored) into
// GSM 7-bit packed form, starting after fillBits zero bits, as in SMS user
// data that follows a UDH (see 3GPP TS 23.038 §6.1.2.1 and TS 23.040
// §9.2.3.24). fillBits outside 0..6 is clamped into that range.
//
// When exactly 7 spare bits would remain in the last octet they are filled
// with CR (0x0D) rather than zeros, per 3GPP TS 23.038 §6.1.2.3.1, so that a
// receiver counting septets from the octet length does not show a spurious
// '@'. UnpackSeptets returns that padding; Decode removes it.
func PackSeptets(septets []byte, fillBits int) []byte {
	if len(septets) == 0 {
		return []byte{}
	}
	fillBits = min(max(fillBits, 0), 6)
	bits := fillBits + 7*len(septets)
	out := make([]byte, (bits+7)/8)
	pos := fillBits
	put := func(s byte) {
		s &= 0x7F
		i, shift := pos/8, pos%8
		out[i] |= s << shift
		if shift > 1 && i+1 < len(out) {
			out[i+1] |= s >> (8 - shift)
		}
		pos += 7
	}
	for _, s := range septets {
		put(s)
	}
	if len(out)*8-pos == 7 {
		put('\r')
	}
	return out
}

// UnpackSeptets unpacks GSM 7-bit packed data, skipping fillBits leading
// bits, into one septet per octet. It returns every whole septet the data
// holds, so a final septet made only of padding bits (CR or zero) is
// included; the caller that knows the septet count trims it. fillBits
// outside 0..6 is clamped into that range. It accepts any input.
func UnpackSeptets(packed []byte, fillBits int) []byte {
	fillBits = min(max(fillBits, 0), 6)
	bits := len(packed)*8 - fillBits
	if bits < 7 {
		return []byte{}
	}
	n := bits / 7
	out := make([]byte, n)
	pos := fillBits
	for k := range n {
		i, shift := pos/8, pos%8
		v := packed[i] >> shift
		if shift > 1 && i+1 < len(packed) {
			v |= packed[i+1] << (8 - shift)
		}
		out[k] = v & 0x7F
		pos += 7
	}
	return out
}

// trimPackedPadding drops a final CR septet that fills exactly the 7 spare
// bits of the last octet: PackSeptets and 3GPP TS 23.038 §6.1.2.3.1 use it
// as padding.
func trimPackedPadding(septets []byte, packedLen, fill int) []byte {
	if n := len(septets); n > 0 && (packedLen*8-fill)%7 == 0 && septets[n-1] == '\r' {
		return septets[:n-1]
	}
	return septets
}
