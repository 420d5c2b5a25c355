package dlr

import "strconv"

// State is a message state reported by a receipt. Its values 1 to 9 are the
// SMPP message_state values (SMPP 3.4 §5.2.28, plus SKIPPED from SMPP 5.0),
// so State(v) and the message_state TLV byte agree; use [StateFromTLV] to
// convert a byte that may be out of range.
type State uint8

// The message states. StateNone, the zero value, means the receipt gave no
// state this package recognises; the raw text stays in [Receipt.Stat].
// (SMPP 5.0 uses message_state 0 for SCHEDULED, which never appears in a
// receipt; StateFromTLV maps it to StateNone.)
const (
	StateNone          State = 0
	StateEnroute       State = 1 // ENROUTE: in transit, will be retried
	StateDelivered     State = 2 // DELIVRD: delivered to the destination
	StateExpired       State = 3 // EXPIRED: validity period passed
	StateDeleted       State = 4 // DELETED: deleted (cancel_sm, operator)
	StateUndeliverable State = 5 // UNDELIV: undeliverable
	StateAccepted      State = 6 // ACCEPTD: accepted (see Final)
	StateUnknown       State = 7 // UNKNOWN: the SMSC says the state is unknown
	StateRejected      State = 8 // REJECTD: rejected
	StateSkipped       State = 9 // SKIPPED: skipped (SMPP 5.0)
)

// String returns the canonical stat: text of s ("DELIVRD", "UNDELIV", ...),
// "NONE" for StateNone, and "State(n)" for a value outside 0 to 9.
func (s State) String() string {
	if t := s.statText(); t != "" {
		return t
	}
	if s == StateNone {
		return "NONE"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// statText returns the canonical 7-character stat: text of s, or "" for
// StateNone and out-of-range values.
func (s State) statText() string {
	switch s {
	case StateEnroute:
		return "ENROUTE"
	case StateDelivered:
		return "DELIVRD"
	case StateExpired:
		return "EXPIRED"
	case StateDeleted:
		return "DELETED"
	case StateUndeliverable:
		return "UNDELIV"
	case StateAccepted:
		return "ACCEPTD"
	case StateUnknown:
		return "UNKNOWN"
	case StateRejected:
		return "REJECTD"
	case StateSkipped:
		return "SKIPPED"
	}
	return ""
}

// Final reports whether s ends the message's life at the SMSC, so that no
// further receipt is expected: DELIVRD, EXPIRED, DELETED, UNDELIV, UNKNOWN,
// REJECTD and SKIPPED are final.
//
// ENROUTE is an intermediate state by definition. ACCEPTD is final in the
// SMPP specification ("manually read on behalf of the subscriber by customer
// service") but SMSCs in the field send it as "accepted by the SMSC or the
// network" ahead of a second, real receipt, so it is treated as intermediate
// here, as Kannel does. StateNone is not final.
func (s State) Final() bool {
	switch s {
	case StateDelivered, StateExpired, StateDeleted, StateUndeliverable,
		StateUnknown, StateRejected, StateSkipped:
		return true
	}
	return false
}

// MessageState returns s as a message_state TLV byte, or 0 for StateNone and
// for values outside 1 to 9.
func (s State) MessageState() uint8 {
	if s >= StateEnroute && s <= StateSkipped {
		return uint8(s)
	}
	return 0
}

// StateFromTLV converts a message_state TLV byte to a State. Values 1 to 9
// map to themselves; 0 (SMPP 5.0 SCHEDULED, not a receipt state) and
// values from 10 up (reserved) give StateNone.
func StateFromTLV(v uint8) State {
	if v >= 1 && v <= 9 {
		return State(v)
	}
	return StateNone
}

// stateAlias maps a normalised stat: text (upper case, without '_', '-',
// '.' or spaces) to a state. docs/receipts.md carries the same table, and
// a test keeps the two in step.
func stateAlias(s string) State {
	switch s {
	case "ENROUTE", "BUFFRED", "BUFFERED", "SENT":
		return StateEnroute
	case "DELIVRD", "DELIVERED", "DELIVERD":
		return StateDelivered
	case "EXPIRED", "EXPIRD":
		return StateExpired
	case "DELETED", "DELETD":
		return StateDeleted
	case "UNDELIV", "UNDELIVERABLE", "UNDELIVERED", "UNDELIVD", "UNDELIVRD",
		"FAILED", "FAIL":
		return StateUndeliverable
	case "ACCEPTD", "ACCEPTED", "ACKED":
		return StateAccepted
	case "UNKNOWN", "UNKNWN":
		return StateUnknown
	case "REJECTD", "REJECTED", "REJECT":
		return StateRejected
	case "SKIPPED":
		return StateSkipped
	}
	return StateNone
}

// ParseState reads a stat: text tolerantly: case, surrounding whitespace and
// NULs, and '_', '-', '.' or inner spaces are ignored ("delivrd",
// "EN_ROUTE", "DELIVRD "), the field spellings in docs/receipts.md are
// accepted ("DELIVERED", "UNDELIVERABLE", "FAILED", "ACKED", ...), and a
// bare number 1 to 9 is read as a message_state value. Anything else gives
// StateNone.
func ParseState(s string) State {
	var buf [16]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '-' || c == '.' || isSpace(c):
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if n == len(buf) {
			return StateNone
		}
		buf[n] = c
		n++
	}
	if v, ok := atoi9(string(buf[:n])); ok {
		if v <= 9 {
			return StateFromTLV(uint8(v))
		}
		return StateNone
	}
	return stateAlias(string(buf[:n]))
}
