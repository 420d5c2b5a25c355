package smstext

import "unicode/utf8"

// smartMap replaces each character that keep rejects and that has an entry
// in smartReplacements by its replacement (which may be empty: the
// character is dropped). Characters that keep accepts are left alone, so a
// national table that has a character wins over its look-alike. It returns
// text itself when nothing changes.
func smartMap(text string, keep func(rune) bool) string {
	var out []byte // nil until the first replacement
	for i := 0; i < len(text); {
		r, w := utf8.DecodeRuneInString(text[i:])
		rep, ok := smartReplacements[r]
		switch {
		case ok && !keep(r):
			if out == nil {
				out = append(make([]byte, 0, len(text)), text[:i]...)
			}
			out = append(out, rep...)
		case out != nil:
			out = append(out, text[i:i+w]...)
		}
		i += w
	}
	if out == nil {
		return text
	}
	return string(out)
}

// SmartReplacement returns the GSM 7-bit look-alike that smart encoding
// (Options.Smart) substitutes for r, and whether it has one. An empty
// replacement means the character is removed. The table is documented in
// docs/text-encoding.md.
func SmartReplacement(r rune) (string, bool) {
	s, ok := smartReplacements[r]
	return s, ok
}

// smartReplacements maps characters outside the GSM 7-bit default alphabet
// and extension table to a GSM 7-bit look-alike. Keep docs/text-encoding.md
// in step with it.
var smartReplacements = map[rune]string{
	// Quotes and primes.
	'\u2018': "'", // ‘ left single quotation mark
	'\u2019': "'", // ’ right single quotation mark, apostrophe
	'\u201A': "'", // ‚ single low-9 quotation mark
	'\u201B': "'", // ‛ single high-reversed-9 quotation mark
	'\u2032': "'", // ′ prime
	'\u2035': "'", // ‵ reversed prime
	'\u00B4': "'", // ´ acute accent
	'\u0060': "'", // ` grave accent
	'\u2039': "'", // ‹ single left-pointing angle quotation mark
	'\u203A': "'", // › single right-pointing angle quotation mark
	'\u201C': `"`, // “ left double quotation mark
	'\u201D': `"`, // ” right double quotation mark
	'\u201E': `"`, // „ double low-9 quotation mark
	'\u201F': `"`, // ‟ double high-reversed-9 quotation mark
	'\u2033': `"`, // ″ double prime
	'\u2036': `"`, // ‶ reversed double prime
	'\u00AB': `"`, // « left-pointing double angle quotation mark
	'\u00BB': `"`, // » right-pointing double angle quotation mark

	// Dashes, hyphens and minus.
	'\u2010': "-", // ‐ hyphen
	'\u2011': "-", // ‑ non-breaking hyphen
	'\u2012': "-", // ‒ figure dash
	'\u2013': "-", // – en dash
	'\u2014': "-", // — em dash
	'\u2015': "-", // ― horizontal bar
	'\u2212': "-", // − minus sign

	// Bullets.
	'\u2022': "-", // • bullet
	'\u2023': "-", // ‣ triangular bullet
	'\u2043': "-", // ⁃ hyphen bullet
	'\u2219': "-", // ∙ bullet operator

	// Other punctuation.
	'\u2026': "...", // … horizontal ellipsis
	'\u2044': "/",   // ⁄ fraction slash
	'\u2215': "/",   // ∕ division slash
	'\u02C6': "^",   // ˆ modifier letter circumflex
	'\u02DC': "~",   // ˜ small tilde

	// Spaces.
	'\u00A0': " ", // no-break space
	'\u1680': " ", // ogham space mark
	'\u2000': " ", // en quad
	'\u2001': " ", // em quad
	'\u2002': " ", // en space
	'\u2003': " ", // em space
	'\u2004': " ", // three-per-em space
	'\u2005': " ", // four-per-em space
	'\u2006': " ", // six-per-em space
	'\u2007': " ", // figure space
	'\u2008': " ", // punctuation space
	'\u2009': " ", // thin space
	'\u200A': " ", // hair space
	'\u202F': " ", // narrow no-break space
	'\u205F': " ", // medium mathematical space
	'\u3000': " ", // ideographic space
	'\t':     " ", // character tabulation (not in GSM 7-bit)

	// Invisible characters, removed.
	'\u00AD': "", // soft hyphen
	'\u200B': "", // zero width space
	'\u200C': "", // zero width non-joiner
	'\u200D': "", // zero width joiner
	'\u2060': "", // word joiner
	'\uFEFF': "", // zero width no-break space (byte order mark)

	// Letters with diacritics that GSM 7-bit lacks, mapped to the base
	// letter. ç maps to Ç: code 0x09 of the default alphabet was meant for
	// both (3GPP TS 23.038 §6.2.1 note) and handsets show it as either.
	'á': "a", 'â': "a", 'ã': "a", 'ā': "a", 'ă': "a", 'ą': "a",
	'Á': "A", 'À': "A", 'Â': "A", 'Ã': "A", 'Ā': "A", 'Ă': "A", 'Ą': "A",
	'ç': "Ç", 'ć': "c", 'č': "c", 'ĉ': "c", 'ċ': "c",
	'Ć': "C", 'Č': "C", 'Ĉ': "C", 'Ċ': "C",
	'ď': "d", 'đ': "d", 'Ď': "D", 'Đ': "D",
	'ê': "e", 'ë': "e", 'ē': "e", 'ĕ': "e", 'ė': "e", 'ę': "e", 'ě': "e",
	'È': "E", 'Ê': "E", 'Ë': "E", 'Ē': "E", 'Ĕ': "E", 'Ė': "E", 'Ę': "E", 'Ě': "E",
	'ğ': "g", 'ĝ': "g", 'ġ': "g", 'ģ': "g", 'Ğ': "G", 'Ĝ': "G", 'Ġ': "G", 'Ģ': "G",
	'í': "i", 'î': "i", 'ï': "i", 'ī': "i", 'ĭ': "i", 'į': "i", 'ı': "i",
	'Í': "I", 'Ì': "I", 'Î': "I", 'Ï': "I", 'Ī': "I", 'Ĭ': "I", 'Į': "I", 'İ': "I",
	'ķ': "k", 'Ķ': "K",
	'ĺ': "l", 'ļ': "l", 'ľ': "l", 'ł': "l", 'Ĺ': "L", 'Ļ': "L", 'Ľ': "L", 'Ł': "L",
	'ń': "n", 'ņ': "n", 'ň': "n", 'Ń': "N", 'Ņ': "N", 'Ň': "N",
	'ó': "o", 'ô': "o", 'õ': "o", 'ō': "o", 'ŏ': "o", 'ő': "o",
	'Ó': "O", 'Ò': "O", 'Ô': "O", 'Õ': "O", 'Ō': "O", 'Ŏ': "O", 'Ő': "O",
	'ŕ': "r", 'ř': "r", 'Ŕ': "R", 'Ř': "R",
	'ś': "s", 'ŝ': "s", 'ş': "s", 'š': "s", 'ș': "s",
	'Ś': "S", 'Ŝ': "S", 'Ş': "S", 'Š': "S", 'Ș': "S",
	'ţ': "t", 'ť': "t", 'ț': "t", 'Ţ': "T", 'Ť': "T", 'Ț': "T",
	'ú': "u", 'û': "u", 'ū': "u", 'ŭ': "u", 'ů': "u", 'ű': "u", 'ų': "u",
	'Ú': "U", 'Ù': "U", 'Û': "U", 'Ū': "U", 'Ŭ': "U", 'Ů': "U", 'Ű': "U", 'Ų': "U",
	'ŵ': "w", 'Ŵ': "W",
	'ý': "y", 'ÿ': "y", 'ŷ': "y", 'Ý': "Y", 'Ÿ': "Y", 'Ŷ': "Y",
	'ź': "z", 'ż': "z", 'ž': "z", 'Ź': "Z", 'Ż': "Z", 'Ž': "Z",
}
