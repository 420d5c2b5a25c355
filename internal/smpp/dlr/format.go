package dlr

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// DateLayout selects how Formatter writes the submit and done dates.
type DateLayout uint8

// The date layouts. Date10 is the SMPP 3.4 Appendix B layout and the default.
const (
	Date10 DateLayout = iota // YYMMDDhhmm
	Date12                   // YYMMDDhhmmss
	Date14                   // YYYYMMDDhhmmss
)

// Formatter writes receipt text. The zero Formatter writes 10-digit dates
// in UTC. A Formatter is a plain value and safe for concurrent use.
type Formatter struct {
	// Dates is the date layout; the zero value is Date10.
	Dates DateLayout
	// Location is the time zone the dates are written in; nil means UTC.
	Location *time.Location
}

// Format returns the canonical text of r, written by the zero Formatter.
func Format(r *Receipt) []byte {
	return Formatter{}.AppendFormat(nil, r)
}

// AppendFormat appends the canonical text of r, written by the zero
// Formatter, to dst and returns the extended slice.
func AppendFormat(dst []byte, r *Receipt) []byte {
	return Formatter{}.AppendFormat(dst, r)
}

// Format returns the canonical text of r; see AppendFormat.
func (f Formatter) Format(r *Receipt) []byte {
	return f.AppendFormat(make([]byte, 0, 128+len(r.ID)), r)
}

// AppendFormat appends the canonical text of r to dst and returns the
// extended slice. The text is what
//
//	fmt.Sprintf("id:%s sub:%03d dlvrd:%03d submit date:%s done date:%s stat:%s err:%03s text:%.20s",
//		r.ID, r.Submitted, r.Delivered, submitDate, doneDate, stat, r.Err, r.Text)
//
// would produce, where the dates are written in f's layout and location
// (zero dates as all zeros; two-digit layouts keep the year modulo 100) and
// stat is the canonical name of r.State ("DELIVRD", ...) or, for
// StateNone, r.Stat as it is. An empty Err is written as "000". Extra
// fields and the network error are not written.
//
// The fields are written as they are: an ID, Stat or Err containing
// whitespace will not read back the same. AppendFormat does not allocate
// when dst has room for the result.
func (f Formatter) AppendFormat(dst []byte, r *Receipt) []byte {
	dst = append(dst, "id:"...)
	dst = append(dst, r.ID...)
	dst = append(dst, " sub:"...)
	dst = appendPadInt(dst, r.Submitted)
	dst = append(dst, " dlvrd:"...)
	dst = appendPadInt(dst, r.Delivered)
	dst = append(dst, " submit date:"...)
	dst = f.appendDate(dst, r.SubmitDate)
	dst = append(dst, " done date:"...)
	dst = f.appendDate(dst, r.DoneDate)
	dst = append(dst, " stat:"...)
	if s := r.State.statText(); s != "" {
		dst = append(dst, s...)
	} else {
		dst = append(dst, r.Stat...)
	}
	dst = append(dst, " err:"...)
	if r.Err == "" {
		dst = append(dst, "000"...)
	} else {
		// fmt's width counts runes, not bytes.
		for i := utf8.RuneCountInString(r.Err); i < 3; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, r.Err...)
	}
	dst = append(dst, " text:"...)
	return append(dst, truncateRunes(r.Text, 20)...)
}

// appendDate appends t in f's layout and location, or zeros for a zero t.
func (f Formatter) appendDate(dst []byte, t time.Time) []byte {
	width := 10
	switch f.Dates {
	case Date12:
		width = 12
	case Date14:
		width = 14
	}
	if t.IsZero() {
		for range width {
			dst = append(dst, '0')
		}
		return dst
	}
	loc := f.Location
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if width == 14 {
		if year < 0 || year > 9999 {
			year = 0
		}
		dst = append2(dst, year/100)
	}
	dst = append2(dst, (year%100+100)%100)
	dst = append2(dst, int(month))
	dst = append2(dst, day)
	dst = append2(dst, hour)
	dst = append2(dst, minute)
	if width > 10 {
		dst = append2(dst, sec)
	}
	return dst
}

// append2 appends n (0 to 99) as two digits.
func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// appendPadInt appends n as fmt's %03d does: zero-padded to three
// characters, the sign included.
func appendPadInt(dst []byte, n int) []byte {
	var buf [24]byte
	b := strconv.AppendInt(buf[:0], int64(n), 10)
	if n < 0 {
		dst = append(dst, '-')
		b = b[1:]
		for i := len(b); i < 2; i++ {
			dst = append(dst, '0')
		}
		return append(dst, b...)
	}
	for i := len(b); i < 3; i++ {
		dst = append(dst, '0')
	}
	return append(dst, b...)
}

// truncateRunes returns s cut after n runes, counting an invalid UTF-8 byte
// as one rune, as fmt's %.ns does.
func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
