package smstext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Encoding is the character encoding of a message's user data.
type Encoding uint8

// Encodings. The zero value, Auto, asks Analyze and Split to choose: GSM
// 7-bit (with an allowed national table if that is what it takes) when the
// text fits, UCS-2 otherwise. Latin-1 and Binary are never chosen
// automatically.
const (
	Auto   Encoding = iota
	GSM7            // GSM 7-bit default alphabet (3GPP TS 23.038), data_coding 0x00
	UCS2            // UTF-16BE with surrogate pairs, data_coding 0x08
	Latin1          // ISO-8859-1, data_coding 0x03
	Binary          // 8-bit data, data_coding 0x04; the text's bytes are sent as they are
	IA5             // IA5 (ASCII), data_coding 0x01; reported by Decode, not accepted in Options
)

// String returns a short name for the encoding.
func (e Encoding) String() string {
	switch e {
	case Auto:
		return "auto"
	case GSM7:
		return "GSM-7"
	case UCS2:
		return "UCS-2"
	case Latin1:
		return "Latin-1"
	case Binary:
		return "binary"
	case IA5:
		return "IA5"
	}
	return fmt.Sprintf("Encoding(%d)", uint8(e))
}

// DataCoding returns the SMPP data_coding value for the encoding, and 0 for
// Auto or an unknown value.
func (e Encoding) DataCoding() byte {
	switch e {
	case UCS2:
		return 0x08
	case Latin1:
		return 0x03
	case Binary:
		return 0x04
	case IA5:
		return 0x01
	}
	return 0x00
}

// unitBytes returns how many octets one unit of the encoding takes in the
// (unpacked) user data.
func (e Encoding) unitBytes() int {
	if e == UCS2 {
		return 2
	}
	return 1
}

// appendLatin1 appends s in ISO-8859-1, which the caller has checked has
// no character above U+00FF.
func appendLatin1(dst []byte, s string) []byte {
	for _, r := range s {
		dst = append(dst, byte(r))
	}
	return dst
}

func decodeLatin1(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// decodeIA5 decodes IA5 (ASCII); octets above 0x7F decode as U+FFFD.
func decodeIA5(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		if c >= 0x80 {
			sb.WriteRune(utf8.RuneError)
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}
