// Package inbound turns the messages people send to an account's senders
// (mobile-originated deliver_sm) into stored inbound messages: it decodes
// each part, stores the parts of concatenated messages durably until the
// message is complete (or a timeout passes), reassembles them whatever
// their order or bind, routes the message to the account that owns the
// number it was sent to, and applies the compliance keywords (STOP, START,
// HELP) in the same commit as the message.
package inbound

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smstext"
	"github.com/herald-sms/herald/internal/store"
)

// ParseOptions say how a carrier writes inbound messages.
type ParseOptions struct {
	// Packed: GSM 7-bit user data is 7-bit packed (rare over SMPP).
	Packed bool
}

// Parse reads a mobile-originated deliver_sm into one part. A message
// that is not concatenated has Total 1. Concatenation comes from the UDH
// (8- or 16-bit reference) or the SAR TLVs. Parse never fails on content:
// a malformed UDH or an impossible concatenation element makes the octets
// a message of their own (with the header left in, so nothing is lost);
// GSM 7-bit data is stored as unpacked septets, everything else as sent.
func Parse(carrier string, d *pdu.DeliverSM, at time.Time, o ParseOptions) *store.InboundPart {
	sm := &d.ShortMessage
	p := &store.InboundPart{Carrier: carrier, From: address(sm.Source), To: address(sm.Dest), Total: 1, Seq: 1,
		DataCoding: sm.DataCoding, ReceivedAt: at}
	raw := sm.Payload()
	data := raw
	udhLen := 0
	if sm.UDHI() {
		u, rest, err := smstext.ParseUDH(raw)
		if err == nil {
			data, udhLen = rest, len(raw)-len(rest)
			p.SingleShift, p.LockingShift = uint8(u.SingleShift), uint8(u.LockingShift)
			if c := u.Concat; c != nil && c.Total > 1 {
				p.Ref, p.Total, p.Seq = int(c.Ref), int(c.Total), int(c.Seq)
				if c.Ref16 {
					// Keep 8- and 16-bit references apart.
					p.Ref |= 1 << 16
				}
			}
		}
	}
	if p.Total == 1 {
		ref, okR := sm.TLVs.Uint16(pdu.TagSarMsgRefNum)
		total, okT := sm.TLVs.Uint8(pdu.TagSarTotalSegments)
		seq, okS := sm.TLVs.Uint8(pdu.TagSarSegmentSeqnum)
		if okR && okT && okS && total > 1 && seq >= 1 && seq <= total {
			p.Ref, p.Total, p.Seq = int(ref)|2<<16, int(total), int(seq)
		}
	}
	if o.Packed && isGSM7(sm.DataCoding) {
		fill := 0
		if udhLen > 0 {
			fill = (7 - (udhLen*8)%7) % 7
		}
		septets := smstext.UnpackSeptets(data, fill)
		// A CR filling exactly the last octet's 7 spare bits is padding
		// (3GPP TS 23.038 §6.1.2.3.1).
		if n := len(septets); n > 0 && (len(data)*8-fill)%7 == 0 && septets[n-1] == '\r' {
			septets = septets[:n-1]
		}
		data = septets
	}
	p.Data = append([]byte(nil), data...)
	return p
}

func isGSM7(dc uint8) bool {
	return dc == 0x00 || (dc >= 0xC0 && dc <= 0xDF) || (dc >= 0xF0 && dc&0x04 == 0)
}

// address renders an SMPP address: "+digits" for an international number
// (TON 1), the address as given otherwise.
func address(a pdu.Address) string {
	s := strings.TrimSpace(a.Addr)
	if a.TON == 1 && s != "" && !strings.HasPrefix(s, "+") {
		return "+" + s
	}
	return s
}

// Assemble decodes a message from its parts (in Seq order; some may be
// missing). It returns the text and the encoding name; binary data and
// codings that cannot be decoded are returned base64-encoded with the
// encoding "binary" or "data_coding_0xNN".
func Assemble(parts []*store.InboundPart) (body, encoding string) {
	if len(parts) == 0 {
		return "", "gsm7"
	}
	first := parts[0]
	var data []byte
	for _, p := range parts {
		data = append(data, p.Data...)
	}
	var udh []byte
	if first.SingleShift != 0 || first.LockingShift != 0 {
		// Decode reads the national tables from a header: give it one.
		udh = []byte{6, smstext.IEISingleShift, 1, first.SingleShift, smstext.IEILockingShift, 1, first.LockingShift}
	}
	d, err := smstext.Decode(append(udh, data...), first.DataCoding, udh != nil, smstext.DecodeOptions{})
	if err != nil {
		if errors.Is(err, smstext.ErrUnsupportedDataCoding) {
			return base64.StdEncoding.EncodeToString(data), fmt.Sprintf("data_coding_0x%02x", first.DataCoding)
		}
		return base64.StdEncoding.EncodeToString(data), "binary"
	}
	switch d.Encoding {
	case smstext.GSM7:
		return d.Text, "gsm7"
	case smstext.UCS2:
		return d.Text, "ucs2"
	case smstext.Latin1:
		return d.Text, "latin1"
	case smstext.IA5:
		return d.Text, "ia5"
	}
	return base64.StdEncoding.EncodeToString(data), "binary"
}
