package smstext

import (
	"errors"
	"fmt"
)

// ErrUnsupportedDataCoding is returned (wrapped) by Decode for a data_coding
// whose alphabet this package cannot decode (such as JIS or compressed
// data). The Decoded value still carries the UDH and raw user data.
var ErrUnsupportedDataCoding = errors.New("unsupported data_coding")

// DecodeOptions controls Decode.
type DecodeOptions struct {
	// Packed says GSM 7-bit user data is 7-bit packed, with fill bits after
	// any UDH, rather than one septet per octet.
	Packed bool
}

// Decoded is an inbound short message (or message_payload) decoded to text.
type Decoded struct {
	Text     string
	Encoding Encoding // GSM7, UCS2, Latin1, Binary or IA5; Auto for unsupported codings
	UDH      *UDH     // nil when udhi was false
	Data     []byte   // the user data after the UDH, as received; aliases the input
}

// Decode decodes the short_message (or message_payload) of a deliver_sm or
// submit_sm to text. dataCoding is the SMPP data_coding; udhi is the esm_class
// UDHI bit (0x40), which says the octets start with a user data header.
//
// Supported data codings: 0x00 (SMSC default alphabet, taken as GSM 7-bit),
// 0x01 (IA5/ASCII), 0x03 (Latin-1), 0x08 (UCS-2, read as UTF-16BE), 0x02
// and 0x04 (8-bit binary: Text holds the raw octets), and the GSM 03.38
// coding groups 0xC0-0xFF (message waiting and message class). GSM 7-bit
// text is decoded with the national single and locking shift tables named
// in the UDH, if any (the default tables for a language this package has
// no table for).
//
// Decode never panics and accepts any input: an odd UCS-2 octet or a lone
// surrogate decodes as U+FFFD, and so do unused GSM 7-bit codes. It returns
// an error wrapping ErrMalformedUDH if udhi is set and the header does not
// fit, and one wrapping ErrUnsupportedDataCoding for other codings. With
// opts.Packed, a final CR that only fills the spare bits of the last octet
// is taken as padding and dropped (3GPP TS 23.038 §6.1.2.3.1), so a text
// that really ends with CR at that position loses it.
func Decode(shortMessage []byte, dataCoding byte, udhi bool, opts DecodeOptions) (Decoded, error) {
	var d Decoded
	data := shortMessage
	if udhi {
		u, rest, err := ParseUDH(shortMessage)
		if err != nil {
			return Decoded{}, err
		}
		d.UDH, data = &u, rest
	}
	d.Data = data
	enc, ok := dataCodingEncoding(dataCoding)
	if !ok {
		return d, fmt.Errorf("data_coding 0x%02x: %w", dataCoding, ErrUnsupportedDataCoding)
	}
	d.Encoding = enc
	switch enc {
	case GSM7:
		cs := defaultCharset()
		udhLen := 0
		if d.UDH != nil {
			cs = newCharset(d.UDH.LockingShift, d.UDH.SingleShift)
			udhLen = len(shortMessage) - len(data)
		}
		septets := data
		if opts.Packed {
			fill := fillBits(udhLen)
			septets = trimPackedPadding(UnpackSeptets(data, fill), len(data), fill)
		}
		d.Text = cs.decode(septets)
	case UCS2:
		d.Text = decodeUCS2(data)
	case Latin1:
		d.Text = decodeLatin1(data)
	case Binary:
		d.Text = string(data)
	case IA5:
		d.Text = decodeIA5(data)
	}
	return d, nil
}

// dataCodingEncoding maps an SMPP data_coding to an encoding. ok is false
// for codings that cannot be decoded.
func dataCodingEncoding(dc byte) (Encoding, bool) {
	switch {
	case dc == 0x00:
		return GSM7, true
	case dc == 0x01:
		return IA5, true
	case dc == 0x02 || dc == 0x04:
		return Binary, true
	case dc == 0x03:
		return Latin1, true
	case dc == 0x08:
		return UCS2, true
	case dc >= 0xC0 && dc <= 0xDF: // message waiting indication, GSM 7-bit
		return GSM7, true
	case dc >= 0xE0 && dc <= 0xEF: // message waiting indication, UCS-2
		return UCS2, true
	case dc >= 0xF0: // message class; bit 2 selects 8-bit data
		if dc&0x04 != 0 {
			return Binary, true
		}
		return GSM7, true
	}
	return Auto, false
}
