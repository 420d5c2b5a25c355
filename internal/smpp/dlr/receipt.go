package dlr

import (
	"strings"
	"time"
)

// Receipt is one delivery receipt, as read by [Parse] and possibly completed
// by [Receipt.ApplyTLVs], or as built by an SMSC simulator for [AppendFormat].
//
// Absent text fields are zero: an empty string, a zero [time.Time], or
// [StateNone]. The sub: and dlvrd: counts are ints with a presence flag,
// because 0 is a meaningful count ("dlvrd:000" on a failed message).
type Receipt struct {
	// ID is the SMSC message id this receipt is about: the text's id:
	// field, replaced by the receipted_message_id TLV when one is applied.
	// It is the id as written (never containing whitespace when it comes
	// from Parse); turn it into correlation keys with [Keys].
	ID string
	// TextID is the id: field exactly as the text had it, kept even when a
	// TLV replaced ID, because some SMSCs write the two in different forms.
	TextID string

	// Submitted and Delivered are the sub: and dlvrd: counts. HasSubmitted
	// and HasDelivered report whether the field was present and a plain
	// decimal number (at most 9 digits); when false the count is 0.
	// AppendFormat writes the counts and ignores the flags.
	Submitted, Delivered       int
	HasSubmitted, HasDelivered bool

	// SubmitDate and DoneDate are the submit date: and done date: fields,
	// in the Parser's location. They are zero when absent or not a valid
	// date in one of the accepted layouts.
	SubmitDate, DoneDate time.Time

	// State is the message state: parsed from the stat: field, replaced by
	// the message_state TLV when one is applied. It is StateNone when the
	// receipt gave no state this package recognises.
	State State
	// Stat is the stat: field exactly as the text had it ("DELIVRD",
	// "delivered", "FOO"), kept even when a TLV replaced State.
	Stat string

	// Err is the err: field as written: "000", "0", "ERR123", or "" when
	// absent. Use ErrCode for its numeric value.
	Err string

	// Text is the text: field: everything after "text:" to the end of the
	// body (trailing NULs, CR and LF removed), colons and spaces included.
	// SMSCs put the first 20 characters of the original message here; it
	// may be anything, so treat it as user content.
	Text string

	// Extra holds the fields this package does not interpret ("imsi:",
	// "mccmnc:", ...) and repeated fields after their first occurrence, in
	// the order they appeared, with keys as written.
	Extra []Field

	// NetworkError is the network_error_code TLV, when one was applied.
	NetworkError NetworkError
}

// Field is one key:value pair of receipt text that Parse did not map onto a
// Receipt field. Key is as written (its case preserved); Value is trimmed of
// surrounding whitespace and may contain spaces.
type Field struct {
	Key, Value string
}

// ErrCode returns the err: field as a number when it is a plain decimal
// number of at most 9 digits ("000" → 0, "0" → 0, "042" → 42). For an
// absent or non-numeric value ("ERR123", "0x0B", "-1") ok is false; the raw
// text stays in r.Err.
func (r *Receipt) ErrCode() (code int, ok bool) {
	return atoi9(r.Err)
}

// ExtraValue returns the value of the first Extra field whose key equals key
// without regard to case.
func (r *Receipt) ExtraValue(key string) (value string, ok bool) {
	for _, f := range r.Extra {
		if strings.EqualFold(f.Key, key) {
			return f.Value, true
		}
	}
	return "", false
}

// atoi9 parses s when it is 1 to 9 ASCII digits.
func atoi9(s string) (int, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
