package smstext

import (
	"fmt"
	"slices"
	"unicode/utf8"
)

// Language is a national language identifier from 3GPP TS 23.038
// §6.2.1.2.4. It selects a national single shift table (sent in a UDH
// information element with IEI 0x24) and/or a national locking shift table
// (IEI 0x25). The zero value, Default, means the GSM 7-bit default alphabet
// and its default extension table, which need no information element.
type Language uint8

// National language identifiers (3GPP TS 23.038 table 6.2.1.2.4.1). The
// Indian languages, ids 4 to 13, are declared in national_indic.go.
const (
	Default    Language = 0
	Turkish    Language = 1
	Spanish    Language = 2 // single shift table only
	Portuguese Language = 3
)

// String returns the English name of the language, or "Language(N)" for an
// identifier this package has no tables for.
func (l Language) String() string {
	if int(l) < len(nationalTables) && nationalTables[l].name != "" {
		return nationalTables[l].name
	}
	return fmt.Sprintf("Language(%d)", uint8(l))
}

// HasSingleShift reports whether this package has a national single shift
// table for l. Default always has one (the default extension table).
func (l Language) HasSingleShift() bool { return l.single() != nil }

// HasLockingShift reports whether this package has a national locking shift
// table for l. Default always has one (the default alphabet). Spanish has
// none: 3GPP TS 23.038 defines only a Spanish single shift table.
func (l Language) HasLockingShift() bool { return l.locking() != nil }

func (l Language) single() *alphabet {
	if int(l) < len(nationalTables) {
		return nationalTables[l].single
	}
	return nil
}

func (l Language) locking() *alphabet {
	if int(l) < len(nationalTables) {
		return nationalTables[l].locking
	}
	return nil
}

// Languages returns the national languages this package has tables for, in
// identifier order, excluding Default. The caller owns the returned slice.
func Languages() []Language {
	var out []Language
	for i, t := range nationalTables {
		if i != 0 && t.name != "" {
			out = append(out, Language(i))
		}
	}
	return out
}

// unused marks a code point with no character in a table (including 0x1B,
// the escape to the extension table, and reserved positions).
const unused rune = -1

// alphabet is one 128-entry GSM 7-bit table with its reverse index.
// It is built once in a package variable initialiser and never written
// afterwards, so it is safe for concurrent use.
type alphabet struct {
	chars [128]rune
	ascii [128]int16     // reverse index for runes < 128: code or -1
	other map[rune]uint8 // reverse index for runes >= 128
}

// code returns the septet for r, if r is in the table.
func (a *alphabet) code(r rune) (byte, bool) {
	if r >= 0 && r < 128 {
		c := a.ascii[r]
		return byte(c), c >= 0
	}
	c, ok := a.other[r]
	return c, ok
}

// newAlphabet builds a table from a string of exactly 128 characters in
// code point order, where U+FFFF marks an unused position.
func newAlphabet(s string) *alphabet {
	a := &alphabet{other: make(map[rune]uint8)}
	for i := range a.ascii {
		a.ascii[i] = -1
	}
	n := 0
	for _, r := range s {
		if n >= 128 {
			panic("smstext: alphabet table longer than 128 entries") // programming error in a literal below
		}
		if r == 0xFFFF {
			r = unused
		}
		a.chars[n] = r
		n++
	}
	if n != 128 || !utf8.ValidString(s) {
		panic(fmt.Sprintf("smstext: alphabet table has %d entries, want 128", n))
	}
	// The first occurrence wins when a character appears twice in a table.
	for i, r := range a.chars {
		switch {
		case r == unused:
		case r < 128:
			if a.ascii[r] < 0 {
				a.ascii[r] = int16(i)
			}
		default:
			if _, dup := a.other[r]; !dup {
				a.other[r] = uint8(i)
			}
		}
	}
	return a
}

// newShiftAlphabet builds a single shift table from its defined entries;
// every other position is unused.
func newShiftAlphabet(entries map[byte]rune) *alphabet {
	var b [128]rune
	for i := range b {
		b[i] = 0xFFFF
	}
	for c, r := range entries {
		b[c] = r
	}
	return newAlphabet(string(b[:]))
}

// withDefaultExtension adds the characters of the default extension table
// (3GPP TS 23.038 §6.2.1.1) to a national single shift table's entries.
// Every national single shift table in annex A.2 repeats them at the same
// positions.
func withDefaultExtension(entries map[byte]rune) map[byte]rune {
	for c, r := range defaultExtension {
		entries[c] = r
	}
	return entries
}

var defaultExtension = map[byte]rune{
	0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\',
	0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€',
}

type languageTables struct {
	name    string
	locking *alphabet // nil: the language has no locking shift table
	single  *alphabet // nil: the language has no single shift table
}

// nationalTables is indexed by Language, built once at package
// initialisation and never written afterwards. The tables are transcribed
// from 3GPP TS 23.038 (§6.2.1, §6.2.1.1 and annex A) and were compared
// with an independent transcription; TestTables pins a sample of code
// points.
var nationalTables = slices.Concat(baseTables[:], indicTables[:])

// baseTables holds ids 0 to 3; national_indic.go holds 4 to 13.
var baseTables = [...]languageTables{
	Default: {
		name: "Default",
		// §6.2.1 GSM 7 bit default alphabet.
		locking: newAlphabet("@£$¥èéùìòÇ\nØø\rÅå" +
			"Δ_ΦΓΛΩΠΨΣΘΞ\uFFFFÆæßÉ" +
			" !\"#¤%&'()*+,-./" +
			"0123456789:;<=>?" +
			"¡ABCDEFGHIJKLMNO" +
			"PQRSTUVWXYZÄÖÑÜ§" +
			"¿abcdefghijklmno" +
			"pqrstuvwxyzäöñüà"),
		// §6.2.1.1 GSM 7 bit default alphabet extension table.
		single: newShiftAlphabet(withDefaultExtension(map[byte]rune{})),
	},
	Turkish: {
		name: "Turkish",
		// A.3.1 Turkish National Language Locking Shift Table.
		locking: newAlphabet("@£$¥€éùıòÇ\nĞğ\rÅå" +
			"Δ_ΦΓΛΩΠΨΣΘΞ\uFFFFŞşßÉ" +
			" !\"#¤%&'()*+,-./" +
			"0123456789:;<=>?" +
			"İABCDEFGHIJKLMNO" +
			"PQRSTUVWXYZÄÖÑÜ§" +
			"çabcdefghijklmno" +
			"pqrstuvwxyzäöñüà"),
		// A.2.1 Turkish National Language Single Shift Table.
		single: newShiftAlphabet(withDefaultExtension(map[byte]rune{
			0x47: 'Ğ', 0x49: 'İ', 0x53: 'Ş', 0x63: 'ç',
			0x67: 'ğ', 0x69: 'ı', 0x73: 'ş',
		})),
	},
	Spanish: {
		name: "Spanish",
		// A.2.2 Spanish National Language Single Shift Table. There is no
		// Spanish locking shift table.
		single: newShiftAlphabet(withDefaultExtension(map[byte]rune{
			0x09: 'ç', 0x41: 'Á', 0x49: 'Í', 0x4F: 'Ó', 0x55: 'Ú',
			0x61: 'á', 0x69: 'í', 0x6F: 'ó', 0x75: 'ú',
		})),
	},
	Portuguese: {
		name: "Portuguese",
		// A.3.3 Portuguese National Language Locking Shift Table.
		locking: newAlphabet("@£$¥êéúíóç\nÔô\rÁá" +
			"Δ_ªÇÀ∞^\\€Ó|\uFFFFÂâÊÉ" +
			" !\"#º%&'()*+,-./" +
			"0123456789:;<=>?" +
			"ÍABCDEFGHIJKLMNO" +
			"PQRSTUVWXYZÃÕÚÜ§" +
			"~abcdefghijklmno" +
			"pqrstuvwxyzãõ`üà"),
		// A.2.3 Portuguese National Language Single Shift Table.
		single: newShiftAlphabet(withDefaultExtension(map[byte]rune{
			0x05: 'ê', 0x09: 'ç', 0x0B: 'Ô', 0x0C: 'ô', 0x0E: 'Á', 0x0F: 'á',
			0x12: 'Φ', 0x13: 'Γ', 0x15: 'Ω', 0x16: 'Π', 0x17: 'Ψ', 0x18: 'Σ',
			0x19: 'Θ', 0x1F: 'Ê', 0x41: 'À', 0x49: 'Í', 0x4F: 'Ó', 0x55: 'Ú',
			0x5B: 'Ã', 0x5C: 'Õ', 0x61: 'Â', 0x69: 'í', 0x6F: 'ó', 0x75: 'ú',
			0x7B: 'ã', 0x7C: 'õ', 0x7F: 'â',
		})),
	},
}
