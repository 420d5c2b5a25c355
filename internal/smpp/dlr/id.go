package dlr

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// ErrInvalidID is wrapped by the errors of Keys for an id that is empty,
// longer than MaxIDLen, or not written in the format it was declared in.
var ErrInvalidID = errors.New("dlr: invalid message id")

// MaxIDLen is the longest message id Keys accepts, after trimming: SMPP's
// message_id is a C-Octet String of at most 65 octets, NUL included.
const MaxIDLen = 64

// IDFormat says how a carrier writes a message id, in submit_sm_resp or in
// its receipts. A carrier may use a different format on each side (hex in
// submit_sm_resp and decimal in receipts is common), so configure one
// IDFormat per side.
type IDFormat uint8

// The id formats. IDAuto, the zero value, suits a carrier whose formats are
// not known yet; see Keys for its rule and its one risk.
const (
	// IDAuto infers the format from the id itself.
	IDAuto IDFormat = iota
	// IDString is an opaque id, compared exactly after trimming.
	IDString
	// IDDecimal is a decimal number; leading zeros are ignored.
	IDDecimal
	// IDHex is a hexadecimal number, in either case, with an optional
	// "0x" prefix; leading zeros are ignored.
	IDHex
)

// String returns the configuration name of f: "auto", "string", "decimal"
// or "hex", or "IDFormat(n)" for an unknown value.
func (f IDFormat) String() string {
	switch f {
	case IDAuto:
		return "auto"
	case IDString:
		return "string"
	case IDDecimal:
		return "decimal"
	case IDHex:
		return "hex"
	}
	return "IDFormat(" + strconv.Itoa(int(f)) + ")"
}

// ParseIDFormat reads a configuration name, ignoring case and surrounding
// spaces: "auto" (or ""), "string", "decimal" (or "dec"), "hex". Any other
// name is an error.
func ParseIDFormat(s string) (IDFormat, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return IDAuto, nil
	case "string":
		return IDString, nil
	case "decimal", "dec":
		return IDDecimal, nil
	case "hex":
		return IDHex, nil
	}
	return IDAuto, fmt.Errorf("dlr: unknown id format %q (want auto, string, decimal or hex)", s)
}

// MarshalText implements encoding.TextMarshaler with the names of String.
func (f IDFormat) MarshalText() ([]byte, error) {
	if f > IDHex {
		return nil, fmt.Errorf("dlr: unknown id format %d", uint8(f))
	}
	return []byte(f.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseIDFormat.
func (f *IDFormat) UnmarshalText(b []byte) error {
	v, err := ParseIDFormat(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// Keys returns the correlation keys of a message id written in format f.
// The correlator indexes a submitted message under every key of its
// submit_sm_resp id (read in the carrier's submit format) and looks a
// receipt up by every key of its id (read in the carrier's receipt format);
// the two correlate when they share a key.
//
// The id is first trimmed of surrounding whitespace and NULs. A numeric id
// (IDDecimal, IDHex) has one key: its value in decimal without leading zeros
// ("0" for zero), so hex "00001A2B", hex "1a2b" and decimal "6699" all give
// "6699", whatever their length (ids beyond 64 bits are exact too). An
// IDString id has one key: the trimmed id itself.
//
// IDAuto reads each id on its own:
//   - "0x" followed by hex digits, or hex digits with at least one letter
//     a-f, is hex: one key, its value ("1A2B" → "6699");
//   - decimal digits only could be either: two keys, the decimal reading
//     first, then the hex reading ("1234" → "1234", "4660"), one key when
//     they agree (a single digit);
//   - anything else is opaque: one key, the trimmed id.
//
// So hex "1A2B" meets decimal "6699", and hex "00001234" (read as "1234"
// and "4660") meets decimal "4660". The risk is a false match: a receipt
// id's reading may equal the other reading of a different pending message's
// id. docs/receipts.md discusses when that can happen; a correlator should
// treat a receipt that matches two different messages as ambiguous, and a
// carrier's formats should be configured once they are known.
//
// Keys returns an error wrapping ErrInvalidID for an id that is empty after
// trimming, longer than MaxIDLen, or not valid in f (IDDecimal, IDHex); and
// for an unknown f. The returned slice is new and has one or two keys.
func Keys(id string, f IDFormat) ([]string, error) {
	t := trimSpace(id)
	if t == "" {
		return nil, fmt.Errorf("empty id: %w", ErrInvalidID)
	}
	if len(t) > MaxIDLen {
		return nil, fmt.Errorf("id of %d bytes, longer than %d: %w", len(t), MaxIDLen, ErrInvalidID)
	}
	switch f {
	case IDString:
		return []string{t}, nil
	case IDDecimal:
		if !isDecimal(t) {
			return nil, fmt.Errorf("id %q is not decimal: %w", t, ErrInvalidID)
		}
		return []string{decimalKey(t)}, nil
	case IDHex:
		h, ok := hexDigits(t)
		if !ok {
			return nil, fmt.Errorf("id %q is not hexadecimal: %w", t, ErrInvalidID)
		}
		return []string{hexKey(h)}, nil
	case IDAuto:
		if isDecimal(t) {
			d, h := decimalKey(t), hexKey(t)
			if d == h {
				return []string{d}, nil
			}
			return []string{d, h}, nil
		}
		if h, ok := hexDigits(t); ok {
			return []string{hexKey(h)}, nil
		}
		return []string{t}, nil
	}
	return nil, fmt.Errorf("id format %d: %w", uint8(f), ErrInvalidID)
}

// isDecimal reports whether s is one or more ASCII decimal digits.
func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hexDigits returns s without an optional "0x" or "0X" prefix when what
// remains is one or more ASCII hex digits.
func hexDigits(s string) (string, bool) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if s == "" {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if unhex(s[i]) < 0 {
			return "", false
		}
	}
	return s, true
}

// unhex returns the value of the hex digit c, or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// decimalKey returns the decimal digits s without leading zeros.
func decimalKey(s string) string {
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "0"
	}
	return s
}

// hexKey returns the value of the hex digits s in decimal.
func hexKey(s string) string {
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "0"
	}
	if len(s) <= 16 {
		var v uint64
		for i := 0; i < len(s); i++ {
			v = v<<4 | uint64(unhex(s[i]))
		}
		return strconv.FormatUint(v, 10)
	}
	var v big.Int
	v.SetString(s, 16) // s is validated hex digits, so this cannot fail
	return v.Text(10)
}
