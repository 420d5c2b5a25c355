package pdu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// HeaderLen is the size of the PDU header in octets.
const HeaderLen = 16

// MaxLength is the default cap on command_length. SMPP 3.4 sets no limit,
// but no legitimate PDU comes near it: a short_message is at most 254
// octets and a message_payload at most 64 KiB.
const MaxLength = 64<<10 + 1024

// Header is the fixed 16-octet PDU header.
type Header struct {
	Length  uint32 // command_length, header included
	Command CommandID
	Status  Status
	Seq     uint32 // sequence_number
}

// ParseHeader decodes the header at the start of b, which must hold at
// least HeaderLen octets. It does not validate the fields.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, &DecodeError{Status: StatusInvCmdLen, Reason: "short header"}
	}
	return Header{
		Length:  binary.BigEndian.Uint32(b[0:4]),
		Command: CommandID(binary.BigEndian.Uint32(b[4:8])),
		Status:  Status(binary.BigEndian.Uint32(b[8:12])),
		Seq:     binary.BigEndian.Uint32(b[12:16]),
	}, nil
}

// DecodeError describes a malformed PDU. Status is the command_status the
// receiving side should answer with; Header is as much of the header as
// could be read, so that the answer can carry the right sequence number.
type DecodeError struct {
	Header Header
	Status Status
	Reason string

	err error // sentinel for errors.Is, e.g. ErrFrameTooLarge; may be nil
}

func (e *DecodeError) Error() string {
	if e.Header.Command != 0 {
		return fmt.Sprintf("smpp: malformed %s (seq %d): %s", e.Header.Command, e.Header.Seq, e.Reason)
	}
	return "smpp: malformed pdu: " + e.Reason
}

// Unwrap returns the sentinel error the DecodeError wraps, if any
// (ErrFrameTooLarge from ReadFrame), so that errors.Is works.
func (e *DecodeError) Unwrap() error { return e.err }

// ErrFrameTooLarge is wrapped by ReadFrame when command_length exceeds the cap.
var ErrFrameTooLarge = errors.New("smpp: command_length exceeds limit")

// ReadFrame reads one whole PDU (header and body) from r. It checks the
// command_length against HeaderLen and max (MaxLength when max is 0)
// before reading the body, so an untrusted peer cannot make it allocate.
// buf is reused when large enough; the returned slice aliases it.
//
// A length outside the bounds yields a *DecodeError wrapping
// ErrFrameTooLarge or reporting a short length; the stream is then out of
// sync and the connection should be answered with generic_nack and closed.
func ReadFrame(r io.Reader, buf []byte, max uint32) ([]byte, error) {
	if max == 0 {
		max = MaxLength
	}
	if cap(buf) < HeaderLen {
		buf = make([]byte, 0, 512)
	}
	buf = buf[:HeaderLen]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	h, _ := ParseHeader(buf)
	if h.Length < HeaderLen {
		return nil, &DecodeError{Header: h, Status: StatusInvCmdLen, Reason: fmt.Sprintf("command_length %d below header size", h.Length)}
	}
	if h.Length > max {
		return nil, &DecodeError{Header: h, Status: StatusInvCmdLen, Reason: fmt.Sprintf("command_length %d exceeds limit %d", h.Length, max), err: ErrFrameTooLarge}
	}
	n := int(h.Length)
	if cap(buf) < n {
		nb := make([]byte, n)
		copy(nb, buf)
		buf = nb
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf[HeaderLen:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// Decode decodes one whole PDU. frame must be exactly command_length
// octets (as returned by ReadFrame). Strings and byte slices in the
// returned body are copies: frame may be reused afterwards.
//
// On failure it returns the header (when readable) and a *DecodeError
// whose Status says how to answer: ESME_RINVCMDID for an unknown command,
// ESME_RINVCMDLEN for a body that does not fit its length, and so on.
func Decode(frame []byte) (Header, Body, error) {
	h, err := ParseHeader(frame)
	if err != nil {
		return h, nil, err
	}
	if int(h.Length) != len(frame) {
		return h, nil, &DecodeError{Header: h, Status: StatusInvCmdLen, Reason: fmt.Sprintf("command_length %d but frame has %d octets", h.Length, len(frame))}
	}
	body := NewBody(h.Command)
	if body == nil {
		return h, nil, &DecodeError{Header: h, Status: StatusInvCmdID, Reason: "unknown command_id " + h.Command.String()}
	}
	d := decoder{b: frame[HeaderLen:], lenient: h.Command.IsResponse()}
	body.decode(&d)
	if d.err == nil && d.off != len(d.b) {
		d.fail(StatusInvCmdLen, fmt.Sprintf("%d trailing octets", len(d.b)-d.off))
	}
	if d.err != nil {
		d.err.Header = h
		return h, nil, d.err
	}
	return h, body, nil
}

// Append appends the encoding of a PDU with the given sequence number and
// status to dst and returns the extended slice. It fails when a field
// cannot be represented (a string containing NUL, a short_message over 254
// octets, a TLV over 65535 octets, more than 255 destinations).
//
// SMPP 3.4 says the body of bind_transmitter_resp (4.1.2),
// bind_receiver_resp (4.1.4) and submit_sm_resp (4.4.2) "is not returned
// if the command_status field contains a non-zero value". So when status
// is not StatusOK and such a body is empty (no system_id or message_id,
// no TLVs), Append writes the 16-octet header alone; bind_transceiver_resp
// is treated the same way. A non-empty body is always written.
func Append(dst []byte, seq uint32, status Status, b Body) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	e := encoder{b: dst}
	if o, ok := b.(omittedOnError); !ok || status == StatusOK || !o.omitOnError() {
		b.encode(&e)
	}
	if e.err != nil {
		return dst[:start], e.err
	}
	n := len(e.b) - start
	if n > MaxLength {
		return dst[:start], fmt.Errorf("smpp: encode %s: %d octets exceeds limit", b.CommandID(), n)
	}
	h := e.b[start:]
	binary.BigEndian.PutUint32(h[0:4], uint32(n))
	binary.BigEndian.PutUint32(h[4:8], uint32(b.CommandID()))
	binary.BigEndian.PutUint32(h[8:12], uint32(status))
	binary.BigEndian.PutUint32(h[12:16], seq)
	return e.b, nil
}

// Body is the command-specific part of a PDU. Every SMPP 3.4 command has
// one concrete type in this package; the set is closed.
type Body interface {
	CommandID() CommandID
	encode(e *encoder)
	decode(d *decoder)
}

// omittedOnError is implemented by the response bodies that SMPP 3.4 says
// are not returned with a non-zero command_status. omitOnError reports
// whether the body is empty, so that leaving it out loses nothing.
type omittedOnError interface {
	omitOnError() bool
}

// decoder reads fields from a PDU body. The first error sticks; later
// reads return zero values. In lenient mode (responses), running out of
// body is not an error: SMSCs often omit the body of a failed response.
type decoder struct {
	b       []byte
	off     int
	err     *DecodeError
	lenient bool
	short   bool // lenient mode ran out of body
}

func (d *decoder) fail(s Status, reason string) {
	if d.err == nil {
		d.err = &DecodeError{Status: s, Reason: reason}
	}
}

func (d *decoder) ok(n int, field string) bool {
	if d.err != nil || d.short {
		return false
	}
	if len(d.b)-d.off < n {
		if d.lenient && d.off == len(d.b) {
			d.short = true
			return false
		}
		d.fail(StatusInvCmdLen, "body too short for "+field)
		return false
	}
	return true
}

func (d *decoder) u8(field string) uint8 {
	if !d.ok(1, field) {
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) u32(field string) uint32 {
	if !d.ok(4, field) {
		return 0
	}
	v := binary.BigEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

// cstring reads a NUL-terminated string; the NUL must lie within the body.
func (d *decoder) cstring(field string) string {
	if !d.ok(1, field) {
		return ""
	}
	rest := d.b[d.off:]
	for i, c := range rest {
		if c == 0 {
			d.off += i + 1
			return string(rest[:i])
		}
	}
	if d.lenient {
		// Some SMSCs omit the final NUL of a response's message_id.
		d.off = len(d.b)
		return string(rest)
	}
	d.fail(StatusInvCmdLen, field+" not NUL-terminated")
	return ""
}

func (d *decoder) address(field string) Address {
	var a Address
	a.TON = d.u8(field)
	a.NPI = d.u8(field)
	a.Addr = d.cstring(field)
	return a
}

// octets reads n octets into a fresh slice, after checking n fits.
func (d *decoder) octets(n int, field string) []byte {
	if n == 0 || !d.ok(n, field) {
		return nil
	}
	v := make([]byte, n)
	copy(v, d.b[d.off:d.off+n])
	d.off += n
	return v
}

// shortMessage reads sm_length and short_message. SMPP 3.4 allows an
// sm_length of 0 to 254 (section 5.2.21); 255 is refused with
// ESME_RINVMSGLEN, which also keeps decoding consistent with Append.
func (d *decoder) shortMessage() []byte {
	n := int(d.u8("sm_length"))
	if n > MaxShortMessage {
		d.fail(StatusInvMsgLen, fmt.Sprintf("sm_length %d exceeds %d", n, MaxShortMessage))
		return nil
	}
	return d.octets(n, "short_message")
}

// tlvs reads optional parameters until the end of the body.
func (d *decoder) tlvs() TLVs {
	if d.err != nil || d.short || d.off == len(d.b) {
		return nil
	}
	var ts TLVs
	for d.off < len(d.b) {
		if len(d.b)-d.off < 4 {
			d.fail(StatusInvOptParStream, "truncated TLV header")
			return nil
		}
		tag := Tag(binary.BigEndian.Uint16(d.b[d.off:]))
		n := int(binary.BigEndian.Uint16(d.b[d.off+2:]))
		d.off += 4
		if len(d.b)-d.off < n {
			d.fail(StatusInvParLen, fmt.Sprintf("TLV %s length %d exceeds body", tag, n))
			return nil
		}
		v := make([]byte, n)
		copy(v, d.b[d.off:d.off+n])
		d.off += n
		ts = append(ts, TLV{Tag: tag, Value: v})
	}
	return ts
}

// encoder appends fields to a PDU. The first error sticks.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) failf(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("smpp: encode: "+format, args...)
	}
}

func (e *encoder) u8(v uint8) { e.b = append(e.b, v) }

func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }

func (e *encoder) cstring(v, field string) {
	for i := 0; i < len(v); i++ {
		if v[i] == 0 {
			e.failf("%s contains NUL", field)
			return
		}
	}
	e.b = append(e.b, v...)
	e.b = append(e.b, 0)
}

func (e *encoder) address(a Address, field string) {
	e.u8(a.TON)
	e.u8(a.NPI)
	e.cstring(a.Addr, field)
}

// shortMessage writes sm_length and short_message.
func (e *encoder) shortMessage(sm []byte) {
	if len(sm) > MaxShortMessage {
		e.failf("short_message of %d octets exceeds %d (use message_payload)", len(sm), MaxShortMessage)
		return
	}
	e.u8(uint8(len(sm)))
	e.b = append(e.b, sm...)
}

func (e *encoder) tlvs(ts TLVs) {
	for _, t := range ts {
		if len(t.Value) > 0xFFFF {
			e.failf("TLV %s value of %d octets exceeds 65535", t.Tag, len(t.Value))
			return
		}
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(t.Tag))
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(len(t.Value)))
		e.b = append(e.b, t.Value...)
	}
}

// MaxShortMessage is the largest short_message SMPP 3.4 allows (sm_length
// 0 to 254); longer content goes in the message_payload TLV.
const MaxShortMessage = 254
