package smstext

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// alphabets the random texts are drawn from.
var (
	gsmChars     = []rune("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€\f")
	turkishChars = []rune("ŞşĞğİıçÇabc €[")
	iberianChars = []rune("áéíóúÁÍÓÚçãõÃÕâêôÂÊÔÀ`ªº∞ ")
	indicChars   = []rune("नमस्ते दुनिया। ०१२ ABC abc, কখগ தமிழ் తెలుగు اردو €[")
	unicodeChars = []rune("жЖяŁł中文字😀🎉👍🏽\u200d\U0001F1FA\U0001F1F8é€[\uFFFD\uFEFF")
)

func randomText(r *rand.Rand, alphabets ...[]rune) string {
	n := r.IntN(700)
	var b strings.Builder
	for range n {
		a := alphabets[r.IntN(len(alphabets))]
		b.WriteRune(a[r.IntN(len(a))])
	}
	return b.String()
}

// reassemble decodes every segment and joins the texts, checking the
// concatenation headers and SAR values on the way.
func reassemble(t *testing.T, segs []Segment, opts Options) string {
	t.Helper()
	var b strings.Builder
	for i, s := range segs {
		d, err := Decode(s.ShortMessage, s.DataCoding, s.UDHI, DecodeOptions{Packed: opts.Packed})
		if err != nil {
			t.Fatalf("Decode segment %d: %v", i, err)
		}
		if len(segs) > 1 && (opts.Concat == ConcatUDH8 || opts.Concat == ConcatUDH16) {
			c := d.UDH.Concat
			if c == nil || int(c.Total) != len(segs) || int(c.Seq) != i+1 || c.Ref != opts.Ref || c.Ref16 != (opts.Concat == ConcatUDH16) {
				t.Fatalf("segment %d concat element %+v", i, c)
			}
		}
		if len(segs) > 1 && opts.Concat == ConcatSAR && (s.SAR == nil || int(s.SAR.Seq) != i+1) {
			t.Fatalf("segment %d SAR %v", i, s.SAR)
		}
		if d.Text != s.Text {
			t.Fatalf("segment %d decodes to %q, was %q", i, d.Text, s.Text)
		}
		b.WriteString(d.Text)
	}
	return b.String()
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	methods := []ConcatMethod{ConcatUDH8, ConcatUDH16, ConcatSAR, ConcatPayload}
	cases := []struct {
		name      string
		alphabets [][]rune
		opts      Options
	}{
		{"gsm", [][]rune{gsmChars}, Options{}},
		{"gsm packed", [][]rune{gsmChars}, Options{Packed: true}},
		{"unicode", [][]rune{gsmChars, unicodeChars}, Options{}},
		{"turkish", [][]rune{gsmChars, turkishChars}, Options{Languages: []Language{Turkish}}},
		{"turkish packed", [][]rune{gsmChars, turkishChars}, Options{Languages: []Language{Turkish}, Packed: true}},
		{"iberian", [][]rune{gsmChars, iberianChars}, Options{Languages: []Language{Spanish, Portuguese}}},
		{"mixed national", [][]rune{turkishChars, iberianChars}, Options{Languages: []Language{Portuguese, Turkish, Spanish}, Packed: true}},
		{"indic", [][]rune{indicChars}, Options{Languages: []Language{Hindi, Bengali, Tamil, Telugu, Urdu}}},
		{"indic packed single shift", [][]rune{indicChars, gsmChars}, Options{Languages: []Language{Hindi, Urdu}, NoLockingShift: true, Packed: true}},
		{"forced ucs2", [][]rune{gsmChars, unicodeChars}, Options{Encoding: UCS2}},
		{"smart", [][]rune{gsmChars, []rune("“”‘’–—…\u00a0\u200bçáš")}, Options{Smart: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
			for i := range 300 {
				text := randomText(r, tc.alphabets...)
				opts := tc.opts
				opts.Concat = methods[i%len(methods)]
				opts.Ref = uint16(r.IntN(256))
				if opts.Packed {
					// A part ending in CR on an octet boundary is
					// indistinguishable from CR padding in packed form (see
					// Decode and TestPackedTrailingCR).
					text = strings.ReplaceAll(text, "\r", "\n")
				}
				a := Analyze(text, opts)
				if a.Err != nil {
					t.Fatalf("Analyze(%q): %v", text, a.Err)
				}
				if !a.Mapped && a.Text != text {
					t.Fatalf("unmapped text changed")
				}
				segs, err := Split(text, opts)
				if err != nil {
					t.Fatalf("Split(%q, %+v): %v", text, opts, err)
				}
				if len(segs) != a.Parts {
					t.Fatalf("%d segments, Analyze says %d", len(segs), a.Parts)
				}
				for _, s := range segs {
					checkSegmentLimits(t, a.Encoding, opts, s)
				}
				want := a.Text
				if !utf8.ValidString(want) {
					want = strings.ToValidUTF8(want, "\uFFFD")
				}
				if got := reassemble(t, segs, opts); got != want {
					t.Fatalf("round trip of %q with %+v gave %q", want, opts, got)
				}
			}
		})
	}
}

// TestRoundTripBinary checks that arbitrary octets survive Split and Decode.
func TestRoundTripBinary(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(2, 3))
	for range 100 {
		b := make([]byte, r.IntN(1000))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		opts := Options{Encoding: Binary, Concat: ConcatMethod(r.IntN(3))}
		segs, err := Split(string(b), opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := reassemble(t, segs, opts); got != string(b) {
			t.Fatalf("binary round trip differs")
		}
	}
}
