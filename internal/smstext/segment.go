package smstext

import "fmt"

// UDHI is the esm_class bit that says short_message (or message_payload)
// starts with a user data header.
const UDHI = 0x40

// Segment is one submit_sm worth of a message.
type Segment struct {
	// Text is the part of the text this segment carries.
	Text string

	// UDH is the user data header including its length octet (UDHL), or
	// nil when the segment has none.
	UDH []byte

	// Data is the encoded text of the segment without the UDH: unpacked
	// GSM-7 septets (one per octet, escapes included) even when
	// Options.Packed is set, UTF-16BE, Latin-1 or the raw octets.
	Data []byte

	// ShortMessage is the exact short_message value: UDH followed by Data,
	// or by the packed septets (after fill bits that align them to a
	// septet boundary) when Options.Packed is set. With ConcatPayload it
	// is the message_payload value instead.
	ShortMessage []byte

	// DataCoding is the SMPP data_coding value.
	DataCoding byte

	// UDHI reports whether esm_class must have the UDHI bit (0x40) set,
	// that is whether UDH is non-nil.
	UDHI bool

	// SAR holds the sar_msg_ref_num, sar_total_segments and
	// sar_segment_seqnum values with ConcatSAR when the message has more
	// than one part; it is nil otherwise.
	SAR *SAR
}

// SAR holds the values of the SMPP segmentation-and-reassembly TLVs of a
// segment.
type SAR struct {
	Ref   uint16 // sar_msg_ref_num
	Total uint8  // sar_total_segments
	Seq   uint8  // sar_segment_seqnum, from 1
}

// Split encodes text and splits it into the segments to submit, following
// the same choices as Analyze. No character is split across segments: a
// GSM-7 escape pair (^ { } \ [ ~ ] | € and form feed, or a national single
// shift character) or a UTF-16 surrogate pair always goes whole into one
// segment. Every GSM-7 segment holds at most 160 septets counting its UDH,
// and every other segment at most 140 octets (except with ConcatPayload).
//
// Split returns an error wrapping ErrUnencodable if a forced encoding
// cannot represent the text, ErrTooManyParts beyond 255 parts, ErrTooLong
// if the text does not fit one message_payload with ConcatPayload, and
// ErrInvalidOptions for an unknown method or encoding or a reference above
// 255 with ConcatUDH8. It is safe for concurrent use. The slices of a
// segment share memory with each other and with the other segments.
func Split(text string, opts Options) ([]Segment, error) {
	p, err := newPlan(text, opts)
	if err != nil {
		return nil, err
	}
	if opts.Concat == ConcatUDH8 && opts.Ref > 0xFF {
		return nil, fmt.Errorf("reference %d does not fit an 8-bit concatenation element: %w", opts.Ref, ErrInvalidOptions)
	}
	spans := p.spans()
	units := 0
	for _, s := range spans {
		units += s.units
	}
	if err := p.checkParts(len(spans), units); err != nil {
		return nil, err
	}

	multi := len(spans) > 1
	var hdr udhBuilder
	if multi {
		switch opts.Concat {
		case ConcatUDH8:
			hdr.add(IEIConcat8, byte(opts.Ref), byte(len(spans)), 0)
		case ConcatUDH16:
			hdr.add(IEIConcat16, byte(opts.Ref>>8), byte(opts.Ref), byte(len(spans)), 0)
		}
	}
	if p.enc == GSM7 {
		hdr.nationalIEs(p.cs)
	}
	udh := hdr.bytes()
	seqAt := -1 // offset of the sequence number in udh
	if multi && (opts.Concat == ConcatUDH8 || opts.Concat == ConcatUDH16) {
		seqAt = p.concatIE // UDHL, then the element, whose last octet is the sequence number
	}

	// One buffer holds UDH and unpacked data of every segment.
	buf := make([]byte, 0, len(spans)*len(udh)+units*p.enc.unitBytes())
	segs := make([]Segment, len(spans))
	var sars []SAR
	if multi && opts.Concat == ConcatSAR {
		sars = make([]SAR, len(spans))
	}
	for i, s := range spans {
		start := len(buf)
		buf = append(buf, udh...)
		if seqAt >= 0 {
			buf[start+seqAt] = byte(i + 1)
		}
		dataStart := len(buf)
		buf = p.appendEncoded(buf, p.text[s.start:s.end])
		seg := Segment{
			Text:         p.text[s.start:s.end],
			Data:         buf[dataStart:len(buf):len(buf)],
			ShortMessage: buf[start:len(buf):len(buf)],
			DataCoding:   p.enc.DataCoding(),
			UDHI:         len(udh) > 0,
		}
		if len(udh) > 0 {
			seg.UDH = buf[start:dataStart:dataStart]
		}
		if p.enc == GSM7 && opts.Packed {
			packed := PackSeptets(seg.Data, fillBits(len(udh)))
			seg.ShortMessage = append(append(make([]byte, 0, len(udh)+len(packed)), seg.UDH...), packed...)
		}
		if sars != nil {
			sars[i] = SAR{Ref: opts.Ref, Total: uint8(len(spans)), Seq: uint8(i + 1)}
			seg.SAR = &sars[i]
		}
		segs[i] = seg
	}
	return segs, nil
}

// appendEncoded appends s in the plan's encoding; s is representable.
func (p *plan) appendEncoded(dst []byte, s string) []byte {
	switch p.enc {
	case GSM7:
		return p.cs.appendText(dst, s)
	case UCS2:
		return appendUCS2(dst, s)
	case Latin1:
		return appendLatin1(dst, s)
	}
	return append(dst, s...)
}
