package dlr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// ErrInvalidTLV is wrapped by the errors of ApplyTLVs and ParseNetworkError
// for a TLV value that cannot be used.
var ErrInvalidTLV = errors.New("dlr: invalid receipt TLV")

// TLVs holds the receipt optional parameters of a deliver_sm or data_sm as
// plain values, taken from the PDU by the caller. The zero TLVs means none
// were present.
type TLVs struct {
	// ReceiptedMessageID is the receipted_message_id TLV (tag 0x001E), ""
	// when absent. Surrounding whitespace and NULs (it is a C-Octet String
	// on the wire) are ignored.
	ReceiptedMessageID string
	// MessageState is the message_state TLV (tag 0x0427); HasMessageState
	// reports whether it was present.
	MessageState    uint8
	HasMessageState bool
	// NetworkErrorCode is the raw network_error_code TLV value (tag 0x0423):
	// 3 octets, network type then error code, big-endian. Nil when absent.
	NetworkErrorCode []byte
}

// ApplyTLVs overlays the receipt TLVs on r; a TLV that is present and valid
// wins over the text. A non-empty ReceiptedMessageID replaces r.ID (r.TextID
// keeps the text's id), a message_state 1 to 9 replaces r.State (r.Stat
// keeps the text's stat), and a network_error_code sets r.NetworkError.
//
// A receipt that carries everything in TLVs and an empty or unreadable body
// (Parse returned ErrNotReceipt) is read by applying the TLVs to a zero
// Receipt.
//
// A TLV that is present but unusable (a message_state outside 1 to 9, a
// network_error_code that is not 3 octets) is skipped, the others are still
// applied, and the returned error wraps ErrInvalidTLV for each skipped one.
func (r *Receipt) ApplyTLVs(t TLVs) error {
	var errs []error
	if id := trimSpace(t.ReceiptedMessageID); id != "" {
		r.ID = id
	}
	if t.HasMessageState {
		if s := StateFromTLV(t.MessageState); s != StateNone {
			r.State = s
		} else {
			errs = append(errs, fmt.Errorf("message_state %d out of range: %w", t.MessageState, ErrInvalidTLV))
		}
	}
	if t.NetworkErrorCode != nil {
		ne, err := ParseNetworkError(t.NetworkErrorCode)
		if err != nil {
			errs = append(errs, err)
		} else {
			r.NetworkError = ne
		}
	}
	return errors.Join(errs...)
}

// NetworkType is the network type octet of a network_error_code TLV: which
// family of error codes the code belongs to.
type NetworkType uint8

// The network types of SMPP 3.4 §5.3.2.31 and SMPP 5.0 §4.8.4.42; 9 to 255
// are reserved. Zero is not a network type.
const (
	NetworkANSI136Access NetworkType = 1 // ANSI-136 access denied reason
	NetworkIS95Access    NetworkType = 2 // IS-95 access denied reason
	NetworkGSM           NetworkType = 3 // GSM (MAP / RP cause)
	NetworkANSI136Cause  NetworkType = 4 // ANSI-136 cause code
	NetworkIS95Cause     NetworkType = 5 // IS-95 cause code
	NetworkANSI41        NetworkType = 6 // ANSI-41 error
	NetworkSMPP          NetworkType = 7 // SMPP error (command_status)
	NetworkMessageCenter NetworkType = 8 // message-center specific
)

// String returns a short lower-case name ("gsm", "ansi-136-access", ...) or
// "network(n)" for a reserved value.
func (t NetworkType) String() string {
	switch t {
	case NetworkANSI136Access:
		return "ansi-136-access"
	case NetworkIS95Access:
		return "is-95-access"
	case NetworkGSM:
		return "gsm"
	case NetworkANSI136Cause:
		return "ansi-136-cause"
	case NetworkIS95Cause:
		return "is-95-cause"
	case NetworkANSI41:
		return "ansi-41"
	case NetworkSMPP:
		return "smpp"
	case NetworkMessageCenter:
		return "message-center"
	}
	return "network(" + strconv.Itoa(int(t)) + ")"
}

// NetworkError is a decoded network_error_code TLV. The zero NetworkError
// means none was reported.
type NetworkError struct {
	Type NetworkType
	Code uint16
}

// IsZero reports whether e is the zero NetworkError (none reported).
func (e NetworkError) IsZero() bool { return e == NetworkError{} }

// String returns e as "type:code", e.g. "gsm:27", or "none" for the zero
// NetworkError.
func (e NetworkError) String() string {
	if e.IsZero() {
		return "none"
	}
	return e.Type.String() + ":" + strconv.Itoa(int(e.Code))
}

// ParseNetworkError decodes a network_error_code TLV value. It returns an
// error wrapping ErrInvalidTLV unless b is exactly 3 octets. Reserved
// network types are kept as they are.
func ParseNetworkError(b []byte) (NetworkError, error) {
	if len(b) != 3 {
		return NetworkError{}, fmt.Errorf("network_error_code of %d octets, want 3: %w", len(b), ErrInvalidTLV)
	}
	return NetworkError{Type: NetworkType(b[0]), Code: binary.BigEndian.Uint16(b[1:])}, nil
}

// AppendNetworkError appends e as a 3-octet network_error_code TLV value.
func AppendNetworkError(dst []byte, e NetworkError) []byte {
	return binary.BigEndian.AppendUint16(append(dst, byte(e.Type)), e.Code)
}
