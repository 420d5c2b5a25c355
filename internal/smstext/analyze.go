package smstext

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// ErrTooManyParts is returned (wrapped) when a message needs more than 255
// parts, the most a concatenation element or sar_total_segments can count.
var ErrTooManyParts = errors.New("message needs more than 255 parts")

// ErrTooLong is returned (wrapped) when a message does not fit in one
// message_payload TLV (65535 octets) with ConcatPayload.
var ErrTooLong = errors.New("message too long for message_payload")

// ErrInvalidOptions is returned (wrapped) for Options that cannot be used.
var ErrInvalidOptions = errors.New("invalid options")

// MaxParts is the largest number of parts a concatenated message can have.
const MaxParts = 255

// Per-message size limits (3GPP TS 23.040 §9.2.3.16, SMPP 3.4 §5.3.2.32).
const (
	maxUserData   = 140   // octets of TP-User-Data
	maxSeptets    = 160   // GSM 7-bit septets in 140 octets
	maxPayload    = 65535 // octets in a message_payload TLV
	concat8IELen  = 5     // IEI, IEDL, ref, total, seq
	concat16IELen = 6     // IEI, IEDL, ref (2), total, seq
)

// ConcatMethod is how a message too long for one part is sent. Which one
// to use is a property of the carrier link.
type ConcatMethod uint8

// Concatenation methods. The zero value is ConcatUDH8.
const (
	// ConcatUDH8 splits into parts that each carry a UDH with a
	// concatenation element with an 8-bit reference (IEI 0x00):
	// 153 GSM-7 septets, 67 UCS-2 units or 134 octets per part.
	ConcatUDH8 ConcatMethod = iota
	// ConcatUDH16 uses the 16-bit reference element (IEI 0x08):
	// 152 septets, 66 UCS-2 units or 133 octets per part.
	ConcatUDH16
	// ConcatSAR splits into parts with no concatenation UDH; the caller
	// sends sar_msg_ref_num, sar_total_segments and sar_segment_seqnum
	// TLVs from Segment.SAR: 160 septets, 70 units or 140 octets per part,
	// less any national language UDH.
	ConcatSAR
	// ConcatPayload does not split: the whole message goes in one
	// message_payload TLV and the SMSC segments it.
	ConcatPayload
)

// String returns a short name for the method.
func (m ConcatMethod) String() string {
	switch m {
	case ConcatUDH8:
		return "udh8"
	case ConcatUDH16:
		return "udh16"
	case ConcatSAR:
		return "sar"
	case ConcatPayload:
		return "payload"
	}
	return fmt.Sprintf("ConcatMethod(%d)", uint8(m))
}

// Options controls how a text is encoded and split. The zero value chooses
// GSM-7 (default alphabet only) or UCS-2 and concatenates with an 8-bit
// reference UDH.
type Options struct {
	// Encoding forces an encoding; Auto (the zero value) chooses GSM-7 when
	// the text fits it and UCS-2 otherwise. Forcing GSM7 fails for text it
	// cannot represent; forcing Latin1 fails for characters above U+00FF.
	// With Binary the text's bytes are sent as they are.
	Encoding Encoding

	// Languages lists the national language tables the carrier and handsets
	// accept (3GPP TS 23.038 annex A). When the text does not fit the
	// default alphabet and extension table, the combination of these
	// languages' single shift and locking shift tables that gives the
	// fewest parts is used; ties go to fewer UDH elements, then to single
	// shift, then to the order of this list.
	Languages []Language

	// NoLockingShift restricts Languages to their single shift tables, for
	// handsets that do not implement locking shift.
	NoLockingShift bool

	// Concat is how a message longer than one part is sent.
	Concat ConcatMethod

	// Ref is the concatenation reference number the caller allocated for
	// this message (per destination). It must fit in 8 bits for
	// ConcatUDH8. Analyze ignores it.
	Ref uint16

	// Smart maps typographic characters with a GSM-7 look-alike (curly
	// quotes, dashes, ellipsis, special spaces, accented letters; see
	// docs/text-encoding.md) to that look-alike when, and only when, the
	// mapped text then fits GSM-7. Otherwise the text is left alone.
	Smart bool

	// Packed makes Split produce 7-bit packed GSM-7 short_message octets
	// instead of one septet per octet.
	Packed bool
}

// Analysis describes how a text would be sent. It is what Split would do,
// without producing the octets.
type Analysis struct {
	Encoding     Encoding // the encoding chosen or forced
	DataCoding   byte     // SMPP data_coding for Encoding
	LockingShift Language // national locking shift table used, or Default
	SingleShift  Language // national single shift table used, or Default

	Parts     int   // number of parts (1 for ConcatPayload)
	PartUnits []int // encoding units in each part
	PartChars []int // characters in each part (octets for Binary)
	Units     int   // total length in units: septets (escapes count), UTF-16 code units, or octets
	Capacity  int   // units each part can hold with this encoding and header
	Remaining int   // units still free in the last part

	// UCS2Chars lists, in order of first appearance, the distinct
	// characters that forced UCS-2: those that neither the default
	// alphabet, its extension table nor any allowed national table has
	// (or, if each has a table but no one combination holds them all,
	// those outside the default alphabet and extension table). It is empty
	// unless Encoding was chosen automatically as UCS2.
	UCS2Chars []rune

	Text   string // the text that is sent: after smart mapping, if applied, and U+FFFD for invalid UTF-8
	Mapped bool   // smart mapping was applied and changed the text

	// Err is non-nil when Split would fail with these Options: a character
	// the forced encoding cannot represent (ErrUnencodable), more than 255
	// parts (ErrTooManyParts), or ErrTooLong, ErrUnsupportedLanguage or
	// ErrInvalidOptions.
	Err error
}

// Analyze reports the encoding, national tables, parts and capacities that
// Split would use for text. It never fails; problems are reported in
// Analysis.Err. Except with Binary, each run of invalid UTF-8 in text is
// replaced by U+FFFD (and Analysis.Text shows it). It is safe for
// concurrent use.
func Analyze(text string, opts Options) Analysis {
	p, err := newPlan(text, opts)
	a := Analysis{
		Encoding:     p.enc,
		DataCoding:   p.enc.DataCoding(),
		LockingShift: p.cs.lockLang,
		SingleShift:  p.cs.shiftLang,
		UCS2Chars:    p.ucs2Chars,
		Text:         p.text,
		Mapped:       p.mapped,
		Err:          err,
	}
	if err != nil {
		return a
	}
	spans := p.spans()
	a.Parts = len(spans)
	a.PartUnits = make([]int, len(spans))
	a.PartChars = make([]int, len(spans))
	for i, s := range spans {
		a.PartUnits[i] = s.units
		a.PartChars[i] = s.chars
		a.Units += s.units
	}
	a.Capacity = p.single
	if len(spans) > 1 {
		a.Capacity = p.multi
	}
	a.Remaining = a.Capacity - spans[len(spans)-1].units
	a.Err = p.checkParts(len(spans), a.Units)
	return a
}

// plan is the outcome of choosing how to encode a text.
type plan struct {
	text      string
	enc       Encoding
	cs        charset // GSM7 only
	concat    ConcatMethod
	single    int // units in a message sent as one part
	multi     int // units per part of a concatenated message
	concatIE  int // octets of the concatenation element, 0 if none
	mapped    bool
	ucs2Chars []rune
}

// span is one part of a planned message: text[start:end].
type span struct {
	start, end   int
	units, chars int
}

func newPlan(text string, opts Options) (plan, error) {
	if opts.Encoding != Binary && !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	p := plan{text: text, enc: opts.Encoding, cs: defaultCharset(), concat: opts.Concat}
	switch opts.Concat {
	case ConcatUDH8:
		p.concatIE = concat8IELen
	case ConcatUDH16:
		p.concatIE = concat16IELen
	case ConcatSAR, ConcatPayload:
	default:
		return p, fmt.Errorf("concat method %v: %w", opts.Concat, ErrInvalidOptions)
	}
	for _, l := range opts.Languages {
		if l == Default || (!l.HasSingleShift() && !l.HasLockingShift()) {
			return p, fmt.Errorf("language %v: %w", l, ErrUnsupportedLanguage)
		}
	}
	switch opts.Encoding {
	case Auto, GSM7:
		cs, ok := p.chooseCharset(text, opts)
		if !ok && opts.Smart {
			keep := allowedTables(opts)
			if m := smartMap(text, keep.has); m != text {
				if cs, ok = p.chooseCharset(m, opts); ok {
					p.text, p.mapped = m, true
				}
			}
		}
		switch {
		case ok:
			p.enc, p.cs = GSM7, cs
		case opts.Encoding == GSM7:
			p.enc = GSM7
			r, i := firstUnencodable(text, defaultCharset())
			return p, fmt.Errorf("GSM-7: %q at byte %d: %w", r, i, ErrUnencodable)
		default:
			p.enc = UCS2
			p.ucs2Chars = ucs2Culprits(text, opts)
		}
	case UCS2, Binary:
	case Latin1:
		for i, r := range text {
			if r > 0xFF {
				return p, fmt.Errorf("Latin-1: %q at byte %d: %w", r, i, ErrUnencodable)
			}
		}
	default:
		return p, fmt.Errorf("encoding %v: %w", opts.Encoding, ErrInvalidOptions)
	}
	p.single, p.multi = p.capacities(p.cs, opts.Packed)
	return p, nil
}

// capacities returns the units a single-part message and each part of a
// concatenated message can hold, national language elements included.
func (p *plan) capacities(cs charset, packed bool) (single, multi int) {
	natCS := cs
	if p.enc != GSM7 {
		natCS = defaultCharset()
	}
	if p.concat == ConcatPayload {
		n := payloadCapacity(p.enc, nationalUDHLen(natCS, 0), packed)
		return n, n
	}
	single = partCapacity(p.enc, nationalUDHLen(natCS, 0))
	multi = partCapacity(p.enc, nationalUDHLen(natCS, p.concatIE))
	return single, multi
}

// partCapacity returns how many units of enc fit in one part whose UDH
// takes udhLen octets (UDHL included; 0 for no UDH).
func partCapacity(enc Encoding, udhLen int) int {
	switch enc {
	case GSM7:
		return maxSeptets - udhSeptets(udhLen)
	case UCS2:
		return (maxUserData - udhLen) / 2
	}
	return maxUserData - udhLen
}

func payloadCapacity(enc Encoding, udhLen int, packed bool) int {
	avail := maxPayload - udhLen
	switch {
	case enc == GSM7 && packed:
		return (avail*8 - fillBits(udhLen)) / 7
	case enc == UCS2:
		return avail / 2
	}
	return avail
}

// next returns the units and byte width of the character at text[i], and
// the character; units is 0 if the encoding cannot represent it.
func (p *plan) next(i int) (units, width int, r rune) {
	if p.enc == Binary {
		return 1, 1, rune(p.text[i])
	}
	r, width = utf8.DecodeRuneInString(p.text[i:])
	switch p.enc {
	case GSM7:
		return p.cs.septets(r), width, r
	case UCS2:
		return ucs2Units(r), width, r
	}
	if r > 0xFF { // Latin1; invalid UTF-8 decodes as U+FFFD
		return 0, width, r
	}
	return 1, width, r
}

// spans splits the text into parts greedily, which gives the fewest parts
// for a contiguous split. A character (an escape pair, a surrogate pair)
// never straddles two parts. The caller has checked that every character
// is representable.
func (p *plan) spans() []span {
	total := 0
	for i := 0; i < len(p.text); {
		u, w, _ := p.next(i)
		total += u
		i += w
	}
	if total <= p.single {
		return []span{{start: 0, end: len(p.text), units: total, chars: p.chars(0, len(p.text))}}
	}
	out := make([]span, 0, (total+p.multi-1)/p.multi+1)
	cur := span{}
	for i := 0; i < len(p.text); {
		u, w, _ := p.next(i)
		if cur.units+u > p.multi {
			out = append(out, cur)
			cur = span{start: i, end: i}
		}
		cur.units += u
		cur.chars++
		cur.end = i + w
		i += w
	}
	return append(out, cur)
}

func (p *plan) chars(start, end int) int {
	if p.enc == Binary {
		return end - start
	}
	return utf8.RuneCountInString(p.text[start:end])
}

// countParts returns the parts the text needs with charset cs, or ok false
// if cs cannot represent it. It does not allocate.
func (p *plan) countParts(text string, cs charset, single, multi int) (parts int, ok bool) {
	total, cur := 0, 0
	parts = 1
	for _, r := range text {
		u := cs.septets(r)
		if u == 0 {
			return 0, false
		}
		total += u
		if cur+u > multi {
			parts++
			cur = 0
		}
		cur += u
	}
	if total <= single {
		return 1, true
	}
	return parts, true
}

// chooseCharset picks the GSM 7-bit tables for text: the default alphabet
// if it fits, else the allowed national combination with the fewest parts.
func (p *plan) chooseCharset(text string, opts Options) (charset, bool) {
	def := defaultCharset()
	if _, i := firstUnencodable(text, def); i < 0 {
		return def, true
	}
	locks := []Language{Default}
	singles := []Language{Default}
	for _, l := range opts.Languages {
		if l.HasLockingShift() && !opts.NoLockingShift && !slices.Contains(locks, l) {
			locks = append(locks, l)
		}
		if l.HasSingleShift() && !slices.Contains(singles, l) {
			singles = append(singles, l)
		}
	}
	var best charset
	bestParts, bestIEs := 0, 0
	try := func(lock, shift Language, ies int) {
		cs := newCharset(lock, shift)
		q := plan{enc: GSM7, concat: p.concat, concatIE: p.concatIE}
		single, multi := q.capacities(cs, opts.Packed)
		parts, ok := p.countParts(text, cs, single, multi)
		if ok && (bestParts == 0 || parts < bestParts || (parts == bestParts && ies < bestIEs)) {
			best, bestParts, bestIEs = cs, parts, ies
		}
	}
	for _, s := range singles[1:] {
		try(Default, s, 1)
	}
	for _, l := range locks[1:] {
		try(l, Default, 1)
	}
	for _, l := range locks[1:] {
		for _, s := range singles[1:] {
			try(l, s, 2)
		}
	}
	return best, bestParts > 0
}

// firstUnencodable returns the first character of text that cs cannot
// represent and its byte offset, or offset -1 if there is none.
func firstUnencodable(text string, cs charset) (rune, int) {
	for i, r := range text {
		if cs.septets(r) == 0 {
			return r, i
		}
	}
	return 0, -1
}

// tableSet is the set of GSM 7-bit tables a message may use.
type tableSet []*alphabet

func (t tableSet) has(r rune) bool {
	for _, a := range t {
		if _, ok := a.code(r); ok {
			return true
		}
	}
	return false
}

func allowedTables(opts Options) tableSet {
	t := tableSet{Default.locking(), Default.single()}
	for _, l := range opts.Languages {
		if a := l.single(); a != nil {
			t = append(t, a)
		}
		if a := l.locking(); a != nil && !opts.NoLockingShift {
			t = append(t, a)
		}
	}
	return t
}

// ucs2Culprits lists the distinct characters that forced UCS-2, in order of
// first appearance (see Analysis.UCS2Chars).
func ucs2Culprits(text string, opts Options) []rune {
	collect := func(ok func(rune) bool) []rune {
		var out []rune
		for _, r := range text {
			if !ok(r) && !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
		return out
	}
	if out := collect(allowedTables(opts).has); len(out) > 0 {
		return out
	}
	return collect(tableSet{Default.locking(), Default.single()}.has)
}

// checkParts reports whether n parts can be sent with the plan's method.
func (p *plan) checkParts(n, units int) error {
	switch {
	case p.concat == ConcatPayload && n > 1:
		return fmt.Errorf("%d units, at most %d fit: %w", units, p.single, ErrTooLong)
	case n > MaxParts:
		return fmt.Errorf("%d parts: %w", n, ErrTooManyParts)
	}
	return nil
}
