package smstext

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzUnpackSeptets(f *testing.F) {
	f.Add([]byte{0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37}, uint8(0))
	f.Add([]byte{0xE1, 0x70, 0x38, 0x1C, 0x0E, 0x87, 0x1B}, uint8(0))
	f.Add([]byte{0xC2}, uint8(1))
	f.Add([]byte{}, uint8(6))
	f.Add([]byte{0xFF, 0xFF, 0xFF}, uint8(200))
	f.Fuzz(func(t *testing.T, data []byte, fill uint8) {
		fb := int(fill)
		got := UnpackSeptets(data, fb)
		clamped := min(fb, 6)
		want := 0
		if bits := len(data)*8 - clamped; bits >= 7 {
			want = bits / 7
		}
		if len(got) != want {
			t.Fatalf("%d septets from %d octets with %d fill bits, want %d", len(got), len(data), fb, want)
		}
		for _, s := range got {
			if s > 0x7F {
				t.Fatalf("septet 0x%02x", s)
			}
		}
		// Packing the data taken as septets and unpacking gives them back,
		// plus at most one CR of padding.
		septets := make([]byte, len(data))
		for i, b := range data {
			septets[i] = b & 0x7F
		}
		packed := PackSeptets(septets, fb)
		if len(packed) > 0 && len(packed) != (clamped+7*len(septets)+7)/8 {
			t.Fatalf("packed %d septets into %d octets", len(septets), len(packed))
		}
		back := UnpackSeptets(packed, fb)
		if !bytes.HasPrefix(back, septets) || len(back) > len(septets)+1 || (len(back) > len(septets) && back[len(back)-1] != '\r') {
			t.Fatalf("round trip % x -> % x -> % x", septets, packed, back)
		}
	})
}

func FuzzParseUDH(f *testing.F) {
	f.Add([]byte{5, 0, 3, 1, 2, 1, 'h', 'i'})
	f.Add([]byte{6, 8, 4, 0x12, 0x34, 2, 2})
	f.Add([]byte{6, 0x24, 1, 1, 0x25, 1, 3})
	f.Add([]byte{6, 5, 4, 0x0B, 0x84, 0x23, 0xF0})
	f.Add([]byte{4, 4, 2, 1, 2})
	f.Add([]byte{0})
	f.Add([]byte{0xFF, 0, 0xFF})
	f.Add([]byte{2, 0x70, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		u, rest, err := ParseUDH(b)
		if err != nil {
			return
		}
		n := int(b[0])
		if len(rest) != len(b)-1-n {
			t.Fatalf("rest is %d octets of %d with UDHL %d", len(rest), len(b), n)
		}
		var enc []byte
		for _, ie := range u.Elements {
			enc = append(enc, ie.ID, byte(len(ie.Data)))
			enc = append(enc, ie.Data...)
		}
		if !bytes.Equal(enc, b[1:1+n]) {
			t.Fatalf("elements re-encode to % x, header was % x", enc, b[1:1+n])
		}
		if c := u.Concat; c != nil && (c.Seq == 0 || c.Seq > c.Total) {
			t.Fatalf("invalid concat %+v interpreted", c)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("hello"), byte(0x00), false, false)
	f.Add([]byte{0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37}, byte(0x00), false, true)
	f.Add([]byte{3, 0x24, 1, 1, 0x1B, 0x73}, byte(0x00), true, false)
	f.Add([]byte{5, 0, 3, 1, 2, 1, 0xC2}, byte(0x00), true, true)
	f.Add([]byte{0xD8, 0x3D, 0xDE, 0x00, 0x00}, byte(0x08), false, false)
	f.Add([]byte{5, 0, 3, 1, 2, 1, 0xDC, 0x00}, byte(0x08), true, false)
	f.Add([]byte{0xE9, 0x80}, byte(0x03), false, false)
	f.Add([]byte{0xFF}, byte(0x04), false, false)
	f.Add([]byte{0x41, 0x90}, byte(0x01), false, false)
	f.Add([]byte{9, 0, 3}, byte(0xF5), true, false)
	f.Fuzz(func(t *testing.T, sm []byte, dc byte, udhi, packed bool) {
		d, err := Decode(sm, dc, udhi, DecodeOptions{Packed: packed})
		if err != nil {
			return
		}
		if d.Encoding != Binary && !utf8.ValidString(d.Text) {
			t.Fatalf("invalid UTF-8 from %v: %q", d.Encoding, d.Text)
		}
		if udhi != (d.UDH != nil) {
			t.Fatalf("UDH %v with udhi %v", d.UDH, udhi)
		}
	})
}

// FuzzSplit checks that whatever the text and options, Split either fails
// cleanly or produces parts within the limits that decode back to the text.
func FuzzSplit(f *testing.F) {
	f.Add("Hello, world", uint8(0), uint8(0), false, false, uint8(0))
	f.Add(strings.Repeat("a", 152)+"€b"+strings.Repeat("c", 10), uint8(0), uint8(0), false, false, uint8(0))
	f.Add(strings.Repeat("ж", 66)+"😀"+strings.Repeat("ж", 10), uint8(1), uint8(0), false, false, uint8(0))
	f.Add("Şişli ığdır “x”", uint8(2), uint8(0), true, true, uint8(1))
	f.Add("Não está", uint8(3), uint8(0), true, false, uint8(3))
	f.Add("नमस्ते, आपका कोड 1234 है।", uint8(0), uint8(0), false, true, uint8(6))
	f.Add("\xff\x00", uint8(0), uint8(4), false, false, uint8(0))
	f.Fuzz(func(t *testing.T, text string, method, enc uint8, smart, packed bool, lang uint8) {
		opts := Options{Concat: ConcatMethod(method % 4), Encoding: Encoding(enc % 5), Smart: smart, Packed: packed, Ref: 0x42}
		if l := Language(lang % 14); l != Default {
			opts.Languages = []Language{l, Language(lang/14%13 + 1)}
		}
		if packed {
			text = strings.ReplaceAll(text, "\r", "\n") // see TestPackedTrailingCR
		}
		a := Analyze(text, opts)
		segs, err := Split(text, opts)
		if (err == nil) != (a.Err == nil) {
			t.Fatalf("Split error %v, Analyze error %v", err, a.Err)
		}
		if err != nil {
			return
		}
		if len(segs) != a.Parts {
			t.Fatalf("%d segments, %d parts", len(segs), a.Parts)
		}
		for _, s := range segs {
			checkSegmentLimits(t, a.Encoding, opts, s)
		}
		want := a.Text
		if a.Encoding != Binary {
			want = strings.ToValidUTF8(want, "\uFFFD")
		}
		if got := reassemble(t, segs, opts); got != want {
			t.Fatalf("round trip %q -> %q", want, got)
		}
	})
}
