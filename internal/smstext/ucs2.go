package smstext

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ucs2Units returns how many UTF-16 code units r takes: 2 for a character
// outside the Basic Multilingual Plane (a surrogate pair), else 1. Invalid
// runes are sent as U+FFFD, one unit.
func ucs2Units(r rune) int {
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}

// appendUCS2 appends s as UTF-16BE. Invalid UTF-8 is encoded as U+FFFD.
func appendUCS2(dst []byte, s string) []byte {
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			dst = append(dst, byte(r1>>8), byte(r1), byte(r2>>8), byte(r2))
			continue
		}
		if r >= 0xD800 && r <= 0xDFFF {
			r = utf8.RuneError
		}
		dst = append(dst, byte(r>>8), byte(r))
	}
	return dst
}

// decodeUCS2 decodes UTF-16BE. It never fails: a lone surrogate, or a final
// odd octet, decodes as U+FFFD.
func decodeUCS2(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) / 2 * 3)
	for i := 0; i+1 < len(b); i += 2 {
		u := rune(b[i])<<8 | rune(b[i+1])
		switch {
		case utf16.IsSurrogate(u) && u < 0xDC00 && i+3 < len(b):
			u2 := rune(b[i+2])<<8 | rune(b[i+3])
			if r := utf16.DecodeRune(u, u2); r != utf8.RuneError {
				sb.WriteRune(r)
				i += 2
				continue
			}
			sb.WriteRune(utf8.RuneError)
		case utf16.IsSurrogate(u):
			sb.WriteRune(utf8.RuneError)
		default:
			sb.WriteRune(u)
		}
	}
	if len(b)%2 == 1 {
		sb.WriteRune(utf8.RuneError)
	}
	return sb.String()
}
