package smstext

import (
	"errors"
	"fmt"
)

// Information element identifiers (3GPP TS 23.040 §9.2.3.24).
const (
	IEIConcat8      = 0x00 // concatenated short message, 8-bit reference
	IEIPort8        = 0x04 // application port addressing, 8-bit ports
	IEIPort16       = 0x05 // application port addressing, 16-bit ports
	IEIConcat16     = 0x08 // concatenated short message, 16-bit reference
	IEISingleShift  = 0x24 // national language single shift
	IEILockingShift = 0x25 // national language locking shift
)

// ErrMalformedUDH is returned (wrapped) by ParseUDH and Decode when a user
// data header does not fit in its buffer.
var ErrMalformedUDH = errors.New("malformed user data header")

// IE is one information element of a user data header.
type IE struct {
	ID   byte
	Data []byte
}

// ConcatInfo is a concatenated short message information element.
type ConcatInfo struct {
	Ref   uint16 // reference number, the same in every part of a message
	Total uint8  // number of parts, 1..255
	Seq   uint8  // this part's sequence number, 1..Total
	Ref16 bool   // the 16-bit reference form (IEI 0x08) was used
}

// PortInfo is an application port addressing information element.
type PortInfo struct {
	Dst, Src uint16
	Wide     bool // the 16-bit port form (IEI 0x05) was used
}

// UDH is a parsed user data header. Elements holds every information element
// in order, recognised or not; the other fields interpret the recognised
// ones. When an element is repeated the last occurrence is the one
// interpreted (3GPP TS 23.040 §9.2.3.24), and an element with an invalid
// length or value (such as a sequence number of 0) is kept in Elements but
// not interpreted.
type UDH struct {
	Elements     []IE
	Concat       *ConcatInfo // nil if absent
	Ports        *PortInfo   // nil if absent
	SingleShift  Language    // Default if absent
	LockingShift Language    // Default if absent
}

// ParseUDH parses the user data header at the start of b (the first octet
// is UDHL, the header length excluding itself) and returns it with the rest
// of b, the user data after the header. It returns an error wrapping
// ErrMalformedUDH if b is empty, UDHL runs past the end of b, or an element
// runs past the end of the header. It never panics and allocates no more
// than the header's length; IE.Data are copies, rest aliases b.
func ParseUDH(b []byte) (UDH, []byte, error) {
	if len(b) == 0 {
		return UDH{}, nil, fmt.Errorf("empty: %w", ErrMalformedUDH)
	}
	n := int(b[0])
	if 1+n > len(b) {
		return UDH{}, nil, fmt.Errorf("length %d exceeds %d octets: %w", n, len(b)-1, ErrMalformedUDH)
	}
	hdr := append([]byte(nil), b[1:1+n]...)
	rest := b[1+n:]
	var u UDH
	for i := 0; i < len(hdr); {
		if i+2 > len(hdr) {
			return UDH{}, nil, fmt.Errorf("element at %d truncated: %w", i, ErrMalformedUDH)
		}
		id, l := hdr[i], int(hdr[i+1])
		if i+2+l > len(hdr) {
			return UDH{}, nil, fmt.Errorf("element 0x%02x length %d exceeds header: %w", id, l, ErrMalformedUDH)
		}
		data := hdr[i+2 : i+2+l : i+2+l]
		u.Elements = append(u.Elements, IE{ID: id, Data: data})
		u.interpret(id, data)
		i += 2 + l
	}
	return u, rest, nil
}

func (u *UDH) interpret(id byte, d []byte) {
	switch {
	case id == IEIConcat8 && len(d) == 3:
		u.setConcat(ConcatInfo{Ref: uint16(d[0]), Total: d[1], Seq: d[2]})
	case id == IEIConcat16 && len(d) == 4:
		u.setConcat(ConcatInfo{Ref: uint16(d[0])<<8 | uint16(d[1]), Total: d[2], Seq: d[3], Ref16: true})
	case id == IEIPort8 && len(d) == 2:
		u.Ports = &PortInfo{Dst: uint16(d[0]), Src: uint16(d[1])}
	case id == IEIPort16 && len(d) == 4:
		u.Ports = &PortInfo{Dst: uint16(d[0])<<8 | uint16(d[1]), Src: uint16(d[2])<<8 | uint16(d[3]), Wide: true}
	case id == IEISingleShift && len(d) == 1:
		u.SingleShift = Language(d[0])
	case id == IEILockingShift && len(d) == 1:
		u.LockingShift = Language(d[0])
	}
}

// setConcat applies 3GPP TS 23.040 §9.2.3.24.1: an element with 0 parts,
// or a sequence number of 0 or above the total, is ignored.
func (u *UDH) setConcat(c ConcatInfo) {
	if c.Total == 0 || c.Seq == 0 || c.Seq > c.Total {
		return
	}
	u.Concat = &c
}

// Len returns the length in octets of the encoded header, including UDHL,
// or 0 if it has no elements.
func (u UDH) Len() int {
	if len(u.Elements) == 0 {
		return 0
	}
	n := 1
	for _, ie := range u.Elements {
		n += 2 + len(ie.Data)
	}
	return n
}

// udhBuilder accumulates information elements for an outgoing header.
type udhBuilder struct {
	b [1 + 6 + 3 + 3]byte // UDHL + concat16 + single shift + locking shift
	n int
}

func (h *udhBuilder) add(id byte, data ...byte) {
	if h.n == 0 {
		h.n = 1
	}
	h.b[h.n], h.b[h.n+1] = id, byte(len(data))
	copy(h.b[h.n+2:], data)
	h.n += 2 + len(data)
	h.b[0] = byte(h.n - 1)
}

// bytes returns the header including UDHL, or nil if it has no elements.
func (h *udhBuilder) bytes() []byte {
	if h.n == 0 {
		return nil
	}
	return h.b[:h.n]
}

// nationalIEs adds the national language shift elements for a charset.
func (h *udhBuilder) nationalIEs(cs charset) {
	if cs.shiftLang != Default {
		h.add(IEISingleShift, byte(cs.shiftLang))
	}
	if cs.lockLang != Default {
		h.add(IEILockingShift, byte(cs.lockLang))
	}
}

// nationalUDHLen returns the header length (with UDHL) that the national
// elements for cs and, if concat8/concat16, a concatenation element take.
func nationalUDHLen(cs charset, concatIELen int) int {
	n := concatIELen
	if cs.shiftLang != Default {
		n += 3
	}
	if cs.lockLang != Default {
		n += 3
	}
	if n == 0 {
		return 0
	}
	return n + 1
}
