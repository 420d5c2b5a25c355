package smstext

import (
	"errors"
	"testing"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sm     []byte
		dc     byte
		udhi   bool
		packed bool
		want   string
		enc    Encoding
		err    error
	}{
		{name: "gsm7 unpacked", sm: []byte{'H', 'i', ' ', 0x1B, 0x65, 0x00, 0x11}, want: "Hi €@_", enc: GSM7},
		{name: "gsm7 escape to undefined extension shows main table", sm: []byte{0x1B, 'A'}, want: "A", enc: GSM7},
		{name: "gsm7 lone trailing escape dropped", sm: []byte{'a', 0x1B}, want: "a", enc: GSM7},
		{name: "gsm7 high octet", sm: []byte{'a', 0xC1}, want: "a\uFFFD", enc: GSM7},
		{name: "gsm7 packed", sm: []byte{0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37}, packed: true, want: "hellohello", enc: GSM7},
		{name: "gsm7 packed with cr padding", sm: PackSeptets([]byte("1234567"), 0), packed: true, want: "1234567", enc: GSM7},
		{name: "gsm7 packed after udh", sm: append([]byte{5, 0, 3, 1, 2, 1}, PackSeptets([]byte("abc"), 1)...), udhi: true, packed: true, want: "abc", enc: GSM7},
		{name: "turkish single shift", sm: []byte{3, 0x24, 1, 1, 0x1B, 0x73, 'i'}, udhi: true, want: "şi", enc: GSM7},
		{name: "turkish locking shift", sm: []byte{3, 0x25, 1, 1, 0x07, 0x04}, udhi: true, want: "ı€", enc: GSM7},
		{name: "unknown language falls back to default", sm: []byte{3, 0x25, 1, 0x7F, 0x07}, udhi: true, want: "ì", enc: GSM7},
		{name: "message class gsm7", sm: []byte{'o', 'k'}, dc: 0xF0, want: "ok", enc: GSM7},
		{name: "message class 8-bit", sm: []byte{0xFF}, dc: 0xF4, want: "\xff", enc: Binary},
		{name: "mwi ucs2", sm: []byte{0x04, 0x16}, dc: 0xE0, want: "Ж", enc: UCS2},
		{name: "ia5", sm: []byte{'A', 0x80}, dc: 0x01, want: "A\uFFFD", enc: IA5},
		{name: "latin1", sm: []byte{'c', 'a', 'f', 0xE9}, dc: 0x03, want: "café", enc: Latin1},
		{name: "binary 0x04", sm: []byte{0, 1, 0xFE}, dc: 0x04, want: "\x00\x01\xfe", enc: Binary},
		{name: "binary 0x02", sm: []byte{0xFF}, dc: 0x02, want: "\xff", enc: Binary},
		{name: "ucs2", sm: []byte{0x04, 0x16, 0xD8, 0x3D, 0xDE, 0x00}, dc: 0x08, want: "Ж😀", enc: UCS2},
		{name: "ucs2 odd length", sm: []byte{0x00, 0x41, 0x00}, dc: 0x08, want: "A\uFFFD", enc: UCS2},
		{name: "ucs2 lone high surrogate at end", sm: []byte{0x00, 0x41, 0xD8, 0x3D}, dc: 0x08, want: "A\uFFFD", enc: UCS2},
		{name: "ucs2 high surrogate then bmp", sm: []byte{0xD8, 0x3D, 0x00, 0x41}, dc: 0x08, want: "\uFFFDA", enc: UCS2},
		{name: "ucs2 lone low surrogate", sm: []byte{0xDE, 0x00, 0x00, 0x41}, dc: 0x08, want: "\uFFFDA", enc: UCS2},
		{name: "ucs2 with udh", sm: []byte{5, 0, 3, 1, 2, 2, 0x00, 0x41}, dc: 0x08, udhi: true, want: "A", enc: UCS2},
		{name: "malformed udh", sm: []byte{5, 0, 3}, udhi: true, err: ErrMalformedUDH},
		{name: "unsupported coding", sm: []byte{1, 2}, dc: 0x05, err: ErrUnsupportedDataCoding},
		{name: "compressed general group", sm: []byte{1, 2}, dc: 0x20, err: ErrUnsupportedDataCoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := Decode(tt.sm, tt.dc, tt.udhi, DecodeOptions{Packed: tt.packed})
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if d.Text != tt.want || d.Encoding != tt.enc {
				t.Errorf("got %q (%v), want %q (%v)", d.Text, d.Encoding, tt.want, tt.enc)
			}
			if (d.UDH != nil) != tt.udhi {
				t.Errorf("UDH %v with udhi %v", d.UDH, tt.udhi)
			}
		})
	}
}

// TestPackedTrailingCR pins the one ambiguity of packed GSM-7 without a
// septet count: a CR that ends exactly on an octet boundary reads as the
// padding of 3GPP TS 23.038 §6.1.2.3.1 and is dropped.
func TestPackedTrailingCR(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		text, want string
	}{
		{"1234567\r", "1234567"}, // 8 septets fill 7 octets exactly
		{"123456\r", "123456\r"}, // 7 septets leave 7 spare bits, padded with a second CR
		{"12345\r", "12345\r"},
	} {
		d, err := Decode(PackSeptets([]byte(tt.text), 0), 0, false, DecodeOptions{Packed: true})
		if err != nil {
			t.Fatal(err)
		}
		if d.Text != tt.want {
			t.Errorf("%q decodes to %q, want %q", tt.text, d.Text, tt.want)
		}
	}
}
