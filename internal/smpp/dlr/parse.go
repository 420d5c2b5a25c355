package dlr

import (
	"errors"
	"time"
)

// ErrNotReceipt is returned by Parse for a body that carries neither an id:
// nor a stat: value, and so cannot be a delivery receipt.
var ErrNotReceipt = errors.New("dlr: not a delivery receipt")

// Parser reads receipt text. The zero Parser reads dates in UTC.
// A Parser is a plain value and safe for concurrent use.
type Parser struct {
	// Location is the time zone in which the receipt's dates are read,
	// usually the SMSC's zone from the carrier configuration. Nil means UTC.
	Location *time.Location
}

// Parse reads receipt text with the zero Parser (dates in UTC).
func Parse(b []byte) (Receipt, error) {
	return Parser{}.Parse(b)
}

// Parse reads the text of a delivery receipt, the short_message (or
// message_payload) of a deliver_sm whose esm_class marks it as a receipt.
// Parse does not decide whether a deliver_sm is a receipt: [IsReceipt] does.
//
// The text is a sequence of key:value fields separated by whitespace. Parse
// accepts:
//   - keys in any case ("Text:", "STAT:"), in any order, any of them missing;
//   - "submit date", "submit_date", "submitdate" (and the same for "done date");
//   - dates of 10 (YYMMDDhhmm), 12 (YYMMDDhhmmss) or 14 (YYYYMMDDhhmmss)
//     digits, with optional '-', '/', ':', '.', 'T' or space separators; a
//     12-digit date that is not a valid YYMMDDhhmmss is tried as YYYYMMDDhhmm.
//     Two-digit years are 20YY. Invalid dates are left zero, not an error;
//   - any run of whitespace, NULs, CR and LF between fields, and any of them
//     trailing the body;
//   - unknown fields, and repeats of known ones, which go to Receipt.Extra.
//
// A key is a word that starts with a letter, follows whitespace (or starts
// the body) and is immediately followed by ':'. The id:, sub:, dlvrd:, stat:
// and err: values end at the first whitespace; an unknown field's value runs
// to the next key. The text: value runs to the end of the body, so the
// original message's text, which may contain anything, cannot add or change
// fields. Words before the first key are ignored.
//
// Parse returns ErrNotReceipt when the body has neither a non-empty id: nor
// a non-empty stat: value. It never panics, and it allocates one copy of b
// (which the Receipt's strings share) plus the Extra slice when needed.
func (p Parser) Parse(b []byte) (Receipt, error) {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	s := trimSpace(string(b))

	var r Receipt
	var seen uint16
	i := 0
	if _, _, ok := keyAt(s, 0); !ok {
		i = nextKey(s, 0)
	}
	for i < len(s) {
		key, vstart, _ := keyAt(s, i)
		k := lookupKey(key)
		if k == keyText {
			r.Text = s[vstart:]
			break
		}
		next := nextKey(s, vstart)
		v := trimSpace(s[vstart:next])
		i = next

		if k == keyUnknown || seen&(1<<k) != 0 {
			r.Extra = append(r.Extra, Field{Key: key, Value: v})
			continue
		}
		seen |= 1 << k
		switch k {
		case keyID:
			r.ID = firstWord(v)
			r.TextID = r.ID
		case keySub:
			r.Submitted, r.HasSubmitted = atoi9(firstWord(v))
		case keyDlvrd:
			r.Delivered, r.HasDelivered = atoi9(firstWord(v))
		case keySubmitDate:
			r.SubmitDate = parseDate(v, loc)
		case keyDoneDate:
			r.DoneDate = parseDate(v, loc)
		case keyStat:
			r.Stat = firstWord(v)
			r.State = ParseState(r.Stat)
		case keyErr:
			r.Err = firstWord(v)
		}
	}
	if r.ID == "" && r.Stat == "" {
		return Receipt{}, ErrNotReceipt
	}
	return r, nil
}

// fieldKey names the fields Parse maps onto Receipt.
type fieldKey uint8

const (
	keyUnknown fieldKey = iota
	keyID
	keySub
	keyDlvrd
	keySubmitDate
	keyDoneDate
	keyStat
	keyErr
	keyText
)

// lookupKey maps a key as written to a fieldKey, ignoring case, spaces,
// tabs, '_' and '-'.
func lookupKey(key string) fieldKey {
	var buf [12]byte
	n := 0
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == ' ' || c == '\t' || c == '_' || c == '-':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if n == len(buf) {
			return keyUnknown
		}
		buf[n] = c
		n++
	}
	switch string(buf[:n]) {
	case "id":
		return keyID
	case "sub":
		return keySub
	case "dlvrd":
		return keyDlvrd
	case "submitdate":
		return keySubmitDate
	case "donedate":
		return keyDoneDate
	case "stat":
		return keyStat
	case "err":
		return keyErr
	case "text":
		return keyText
	}
	return keyUnknown
}

// keyAt reports whether a key starts at s[i]. It returns the key as written
// (without the colon) and the index just past the colon. A key is a letter
// followed by letters, digits, '_', '-' or '.', then ':'; the two-word keys
// "submit date" and "done date" may have spaces or tabs between the words.
func keyAt(s string, i int) (key string, next int, ok bool) {
	if i >= len(s) || !isLetter(s[i]) {
		return "", 0, false
	}
	j := i + 1
	for j < len(s) && isKeyByte(s[j]) {
		j++
	}
	if j < len(s) && s[j] == ':' {
		return s[i:j], j + 1, true
	}
	if w := s[i:j]; !equalFold(w, "submit") && !equalFold(w, "done") {
		return "", 0, false
	}
	k := j
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	if k == j || len(s)-k < len("date:") || !equalFold(s[k:k+4], "date") || s[k+4] != ':' {
		return "", 0, false
	}
	return s[i : k+4], k + 5, true
}

// nextKey returns the index of the first key at or after from that follows
// whitespace, or len(s) if there is none.
func nextKey(s string, from int) int {
	i := from
	for {
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return len(s)
		}
		if _, _, ok := keyAt(s, i); ok {
			return i
		}
	}
}

// parseDate reads a receipt date in loc: first the whole value, then its
// first word. It returns the zero Time when neither is a valid date.
func parseDate(v string, loc *time.Location) time.Time {
	if t, ok := parseDigits(v, loc); ok {
		return t
	}
	if w := firstWord(v); len(w) < len(v) {
		if t, ok := parseDigits(w, loc); ok {
			return t
		}
	}
	return time.Time{}
}

// parseDigits reads a date of 10, 12 or 14 digits, ignoring separators.
func parseDigits(v string, loc *time.Location) (time.Time, bool) {
	var d [14]int
	n := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case '0' <= c && c <= '9':
			if n == len(d) {
				return time.Time{}, false
			}
			d[n] = int(c - '0')
			n++
		case c == '-' || c == '/' || c == ':' || c == '.' || c == 'T' || c == ' ' || c == '\t':
		default:
			return time.Time{}, false
		}
	}
	two := func(i int) int { return d[i]*10 + d[i+1] }
	switch n {
	case 10: // YYMMDDhhmm
		return makeDate(2000+two(0), two(2), two(4), two(6), two(8), 0, loc)
	case 12: // YYMMDDhhmmss, else YYYYMMDDhhmm
		if t, ok := makeDate(2000+two(0), two(2), two(4), two(6), two(8), two(10), loc); ok {
			return t, true
		}
		return makeDate(two(0)*100+two(2), two(4), two(6), two(8), two(10), 0, loc)
	case 14: // YYYYMMDDhhmmss
		return makeDate(two(0)*100+two(2), two(4), two(6), two(8), two(10), two(12), loc)
	}
	return time.Time{}, false
}

// makeDate builds a time after checking every field is in range, since
// time.Date would silently normalise "month 13" into the next year.
func makeDate(year, month, day, hour, minute, sec int, loc *time.Location) (time.Time, bool) {
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	if day > daysIn(year, time.Month(month)) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc), true
}

// daysIn returns the number of days in month of year.
func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// isSpace reports whether c separates fields: ASCII whitespace or NUL.
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f', 0:
		return true
	}
	return false
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

func isKeyByte(c byte) bool {
	return isLetter(c) || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.'
}

// trimSpace removes leading and trailing isSpace bytes.
func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// firstWord returns s up to its first isSpace byte.
func firstWord(s string) string {
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			return s[:i]
		}
	}
	return s
}

// equalFold reports whether s equals the lower-case ASCII word t, ignoring
// the case of s.
func equalFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != t[i] {
			return false
		}
	}
	return true
}
