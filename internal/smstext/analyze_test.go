package smstext

import (
	"slices"
	"testing"
)

func TestAnalyzeUCS2Chars(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		opts Options
		want []rune
	}{
		{"gsm text", "Hello €", Options{}, nil},
		{"distinct in order of appearance", "Привет, мир! Пока", Options{}, []rune("Приветмока")},
		{"emoji", "ok 👍👍", Options{}, []rune{'👍'}},
		{"turkish without tables", "Şişli", Options{}, []rune("Şş")},
		{"national table covers some", "ş ж", Options{Languages: []Language{Turkish}}, []rune("ж")},
		// Each character has a table, but no one pair of tables has both:
		// ş only in Turkish tables, ê only in Portuguese ones, and Spanish
		// single shift has neither.
		{"no single combination", "şê", Options{Languages: []Language{Turkish, Portuguese}, NoLockingShift: true}, []rune("şê")},
		{"forced ucs2 reports nothing", "ж", Options{Encoding: UCS2}, nil},
		{"smart mapping that cannot help", "“ж”", Options{Smart: true}, []rune("“ж”")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := Analyze(tt.text, tt.opts)
			if !slices.Equal(a.UCS2Chars, tt.want) {
				t.Errorf("UCS2Chars = %q, want %q", a.UCS2Chars, tt.want)
			}
			if len(tt.want) > 0 && (a.Encoding != UCS2 || a.DataCoding != 0x08) {
				t.Errorf("encoding %v (0x%02x), want UCS-2", a.Encoding, a.DataCoding)
			}
		})
	}
}

func TestSmartEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		text   string
		opts   Options
		want   string
		enc    Encoding
		mapped bool
	}{
		{"quotes and dashes", "“Hi” ‘there’ – it’s — fine…", Options{Smart: true}, `"Hi" 'there' - it's - fine...`, GSM7, true},
		{"spaces and invisibles", "a\u00a0b\u2009c\u200bd\ufeff", Options{Smart: true}, "a b cd", GSM7, true},
		{"guillemets and bullets", "«oui» • non", Options{Smart: true}, `"oui" - non`, GSM7, true},
		{"accents", "Crème brûlée, naïve façade, Łódź", Options{Smart: true}, "Crème brulée, naive faÇade, Lodz", GSM7, true},
		{"off by default", "“Hi”", Options{}, "“Hi”", UCS2, false},
		{"not applied when the text still needs ucs2", "“Hi” ж", Options{Smart: true}, "“Hi” ж", UCS2, false},
		{"not applied to gsm text", "Hi there", Options{Smart: true}, "Hi there", GSM7, false},
		{"national table keeps its letters", "Çok güzel “şey”", Options{Smart: true, Languages: []Language{Turkish}}, `Çok güzel "şey"`, GSM7, true},
		{"spanish table keeps á", "¿Está “bien”?", Options{Smart: true, Languages: []Language{Spanish}}, `¿Está "bien"?`, GSM7, true},
		{"without spanish á is mapped", "¿Está “bien”?", Options{Smart: true}, `¿Esta "bien"?`, GSM7, true},
		{"forced gsm7 with smart", "it’s", Options{Smart: true, Encoding: GSM7}, "it's", GSM7, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := Analyze(tt.text, tt.opts)
			if a.Err != nil {
				t.Fatal(a.Err)
			}
			if a.Text != tt.want || a.Encoding != tt.enc || a.Mapped != tt.mapped {
				t.Errorf("got %q %v mapped=%v, want %q %v mapped=%v", a.Text, a.Encoding, a.Mapped, tt.want, tt.enc, tt.mapped)
			}
			segs, err := Split(tt.text, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if segs[0].Text != tt.want {
				t.Errorf("Split sent %q, want %q", segs[0].Text, tt.want)
			}
		})
	}
}

// TestSmartReplacementsAreGSM7 checks that every replacement is itself in
// the default alphabet, so mapping can never make a text less encodable.
func TestSmartReplacementsAreGSM7(t *testing.T) {
	t.Parallel()
	for r, rep := range smartReplacements {
		if !IsGSM7(rep) {
			t.Errorf("%U maps to %q, which is not GSM 7-bit", r, rep)
		}
		if IsGSM7(string(r)) {
			t.Errorf("%U (%q) is already GSM 7-bit", r, r)
		}
		if got, ok := SmartReplacement(r); !ok || got != rep {
			t.Errorf("SmartReplacement(%U) = %q, %v", r, got, ok)
		}
	}
}

func TestAnalyzeNamesAndCodings(t *testing.T) {
	t.Parallel()
	for e, want := range map[Encoding]struct {
		name string
		dc   byte
	}{Auto: {"auto", 0}, GSM7: {"GSM-7", 0}, UCS2: {"UCS-2", 8}, Latin1: {"Latin-1", 3}, Binary: {"binary", 4}, IA5: {"IA5", 1}, 77: {"Encoding(77)", 0}} {
		if e.String() != want.name || e.DataCoding() != want.dc {
			t.Errorf("%d: %q 0x%02x, want %q 0x%02x", e, e.String(), e.DataCoding(), want.name, want.dc)
		}
	}
	for m, want := range map[ConcatMethod]string{ConcatUDH8: "udh8", ConcatUDH16: "udh16", ConcatSAR: "sar", ConcatPayload: "payload", 9: "ConcatMethod(9)"} {
		if m.String() != want {
			t.Errorf("%d: %q, want %q", m, m.String(), want)
		}
	}
}

func TestAnalyzePartChars(t *testing.T) {
	t.Parallel()
	a := Analyze(rep("a", 152)+"€"+rep("ü", 10), Options{})
	if !slices.Equal(a.PartChars, []int{152, 11}) || !slices.Equal(a.PartUnits, []int{152, 12}) {
		t.Errorf("PartChars %v PartUnits %v", a.PartChars, a.PartUnits)
	}
	b := Analyze("\xff\xfe", Options{Encoding: Binary})
	if !slices.Equal(b.PartChars, []int{2}) {
		t.Errorf("binary PartChars %v", b.PartChars)
	}
}
