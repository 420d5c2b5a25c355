package smstext

import (
	"bytes"
	"errors"
	"testing"
)

func TestPackSeptets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		septets []byte
		fill    int
		want    []byte
	}{
		// The classic example from GSM 03.38 tutorials.
		{"hellohello", []byte("hellohello"), 0, []byte{0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37}},
		{"one septet", []byte{'a'}, 0, []byte{0x61}},
		{"eight septets fill seven octets", []byte("aaaaaaaa"), 0, []byte{0xE1, 0x70, 0x38, 0x1C, 0x0E, 0x87, 0xC3}},
		{"seven septets get cr padding", []byte("aaaaaaa"), 0, []byte{0xE1, 0x70, 0x38, 0x1C, 0x0E, 0x87, 0x1B}},
		{"one fill bit after a 6-octet udh", []byte{'a'}, 1, []byte{0xC2}},
		{"six fill bits", []byte{0x7F, 0x7F}, 6, []byte{0xC0, 0xFF, 0x0F}},
		{"high bit ignored", []byte{0xFF}, 0, []byte{0x7F}},
		{"nothing", nil, 3, []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := PackSeptets(tt.septets, tt.fill)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("PackSeptets = % x, want % x", got, tt.want)
			}
			back := trimPackedPadding(UnpackSeptets(got, tt.fill), len(got), tt.fill)
			want := make([]byte, len(tt.septets))
			for i, s := range tt.septets {
				want[i] = s & 0x7F
			}
			if !bytes.Equal(back, want) {
				t.Errorf("UnpackSeptets = % x, want % x", back, want)
			}
		})
	}
}

func TestUnpackSeptetsShort(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   []byte
		fill int
		n    int
	}{
		{nil, 0, 0}, {[]byte{0xFF}, 0, 1}, {[]byte{0xFF}, 2, 0}, {[]byte{0xFF}, 99, 0},
		{[]byte{1, 2, 3, 4, 5, 6, 7}, 0, 8}, {[]byte{1, 2, 3, 4, 5, 6, 7}, 1, 7}, {[]byte{1}, -4, 1},
	} {
		if got := UnpackSeptets(tt.in, tt.fill); len(got) != tt.n {
			t.Errorf("UnpackSeptets(% x, %d) gave %d septets, want %d", tt.in, tt.fill, len(got), tt.n)
		}
	}
}

func TestEncodeGSM7(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		text         string
		lock, single Language
		want         []byte
		err          error
	}{
		{"default", "A@£\n", Default, Default, []byte{0x41, 0x00, 0x01, 0x0A}, nil},
		{"extension", "{}[]~\\|^€\f", Default, Default, []byte{0x1B, 0x28, 0x1B, 0x29, 0x1B, 0x3C, 0x1B, 0x3E, 0x1B, 0x3D, 0x1B, 0x2F, 0x1B, 0x40, 0x1B, 0x14, 0x1B, 0x65, 0x1B, 0x0A}, nil},
		{"greek", "ΔΦΓΛΩΠΨΣΘΞ", Default, Default, []byte{0x10, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A}, nil},
		{"turkish single shift", "ŞşĞğİıç", Default, Turkish, []byte{0x1B, 0x53, 0x1B, 0x73, 0x1B, 0x47, 0x1B, 0x67, 0x1B, 0x49, 0x1B, 0x69, 0x1B, 0x63}, nil},
		{"turkish locking shift", "ŞşĞğİıç€", Turkish, Default, []byte{0x1C, 0x1D, 0x0B, 0x0C, 0x40, 0x07, 0x60, 0x04}, nil},
		{"turkish locking loses è", "è", Turkish, Default, nil, ErrUnencodable},
		{"spanish", "ÁÍÓÚáíóúç", Default, Spanish, []byte{0x1B, 0x41, 0x1B, 0x49, 0x1B, 0x4F, 0x1B, 0x55, 0x1B, 0x61, 0x1B, 0x69, 0x1B, 0x6F, 0x1B, 0x75, 0x1B, 0x09}, nil},
		{"portuguese locking", "ãõ`ª∞º", Portuguese, Default, []byte{0x7B, 0x7C, 0x7D, 0x12, 0x15, 0x24}, nil},
		{"portuguese single shift", "ΦâÊ", Default, Portuguese, []byte{0x12, 0x1B, 0x7F, 0x1B, 0x1F}, nil},
		{"cyrillic", "ж", Default, Default, nil, ErrUnencodable},
		{"escape character itself", "\x1b", Default, Default, nil, ErrUnencodable},
		{"no spanish locking table", "a", Spanish, Default, nil, ErrUnsupportedLanguage},
		{"unknown language", "a", Default, 42, nil, ErrUnsupportedLanguage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := EncodeGSM7(tt.text, tt.lock, tt.single)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("EncodeGSM7 = % x, want % x", got, tt.want)
			}
			if back := DecodeGSM7(got, tt.lock, tt.single); back != tt.text {
				t.Errorf("DecodeGSM7 = %q, want %q", back, tt.text)
			}
		})
	}
}

// TestTables pins code points of each table, checked against 3GPP TS 23.038
// (§6.2.1, §6.2.1.1 and annex A), and the number of characters each holds.
func TestTables(t *testing.T) {
	t.Parallel()
	type point struct {
		code byte
		r    rune
	}
	tests := []struct {
		name    string
		a       *alphabet
		defined int
		points  []point
	}{
		{"default", Default.locking(), 127, []point{{0x00, '@'}, {0x09, 'Ç'}, {0x11, '_'}, {0x1B, unused}, {0x1F, 'É'}, {0x24, '¤'}, {0x40, '¡'}, {0x5F, '§'}, {0x60, '¿'}, {0x7F, 'à'}}},
		{"default extension", Default.single(), 10, []point{{0x0A, '\f'}, {0x14, '^'}, {0x28, '{'}, {0x29, '}'}, {0x2F, '\\'}, {0x3C, '['}, {0x3D, '~'}, {0x3E, ']'}, {0x40, '|'}, {0x65, 0x20AC}, {0x0D, unused}, {0x1B, unused}}},
		{"turkish locking", Turkish.locking(), 127, []point{{0x04, 0x20AC}, {0x07, 0x0131}, {0x0B, 0x011E}, {0x0C, 0x011F}, {0x1C, 0x015E}, {0x1D, 0x015F}, {0x40, 0x0130}, {0x60, 0x00E7}, {0x7F, 0x00E0}}},
		{"turkish single", Turkish.single(), 17, []point{{0x47, 0x011E}, {0x49, 0x0130}, {0x53, 0x015E}, {0x63, 0x00E7}, {0x65, 0x20AC}, {0x67, 0x011F}, {0x69, 0x0131}, {0x73, 0x015F}}},
		{"spanish single", Spanish.single(), 19, []point{{0x09, 0x00E7}, {0x41, 0x00C1}, {0x49, 0x00CD}, {0x4F, 0x00D3}, {0x55, 0x00DA}, {0x61, 0x00E1}, {0x69, 0x00ED}, {0x6F, 0x00F3}, {0x75, 0x00FA}}},
		{"portuguese locking", Portuguese.locking(), 127, []point{{0x04, 0x00EA}, {0x12, 0x00AA}, {0x15, 0x221E}, {0x16, '^'}, {0x17, '\\'}, {0x18, 0x20AC}, {0x1A, '|'}, {0x24, 0x00BA}, {0x40, 0x00CD}, {0x60, '~'}, {0x7D, '`'}}},
		{"portuguese single", Portuguese.single(), 37, []point{{0x05, 0x00EA}, {0x12, 0x03A6}, {0x19, 0x0398}, {0x1F, 0x00CA}, {0x41, 0x00C0}, {0x5B, 0x00C3}, {0x7F, 0x00E2}}},
		// Annex A.2 and A.3 Indian tables: points where the two
		// transcriptions agree, plus the three settled differences (0x2C
		// comma, Kannada 0x24, Telugu without €). defined -1: not pinned.
		{"bengali locking", Bengali.locking(), -1, []point{{0x00, 0x0981}, {0x0C, unused}, {0x2C, ','}, {0x3C, unused}, {0x7F, 0x09F1}}},
		{"bengali single", Bengali.single(), -1, []point{{0x19, 0x09E6}, {0x1A, 0x09E7}, {0x1C, 0x09E8}, {0x24, 0x09DF}, {0x65, 0x20AC}}},
		{"gujarati locking", Gujarati.locking(), -1, []point{{0x0C, 0x0A8D}, {0x60, 0x0AD0}, {0x7F, 0x0AF1}}},
		{"hindi locking", Hindi.locking(), -1, []point{{0x00, 0x0901}, {0x0B, 0x090C}, {0x1C, 0x091B}, {0x2C, ','}, {0x3C, 0x0929}, {0x60, 0x0950}, {0x7F, 0x097F}}},
		{"hindi single", Hindi.single(), -1, []point{{0x04, 0x00BF}, {0x13, 0x00A1}, {0x15, 0x00A1}, {0x19, 0x0964}, {0x1A, 0x0965}, {0x1C, 0x0966}, {0x2F, '\\'}, {0x3A, 0x0971}, {0x40, '|'}, {0x65, 0x20AC}}},
		{"kannada locking", Kannada.locking(), -1, []point{{0x00, unused}, {0x24, 0x0CA1}, {0x3D, 0x0CAA}, {0x7F, 0x0CE3}}},
		{"malayalam single", Malayalam.single(), -1, []point{{0x2D, 0x0D75}, {0x2E, 0x0D7A}, {0x34, 0x0D7F}}},
		{"oriya single", Oriya.single(), -1, []point{{0x26, 0x0B5C}, {0x2C, 0x0B71}}},
		{"punjabi locking", Punjabi.locking(), -1, []point{{0x09, unused}, {0x0A, '\n'}, {0x60, 0x0A51}, {0x7F, 0x0A74}}},
		{"tamil locking", Tamil.locking(), -1, []point{{0x00, unused}, {0x2C, ','}, {0x2D, unused}, {0x3C, 0x0BA9}, {0x7F, 0x0BF9}}},
		{"tamil single", Tamil.single(), -1, []point{{0x24, 0x0BEE}, {0x25, 0x0BEF}, {0x2E, 0x0BFA}}},
		{"telugu single", Telugu.single(), -1, []point{{0x19, unused}, {0x22, 0x0C6C}, {0x23, 0x0C6D}, {0x30, 0x0C7D}, {0x65, unused}}},
		{"urdu locking", Urdu.locking(), -1, []point{{0x00, 0x0627}, {0x2C, ','}, {0x60, 0x0654}, {0x7F, 0x0670}}},
		{"urdu single", Urdu.single(), -1, []point{{0x19, 0x0600}, {0x3B, 0x06CD}, {0x3F, 0x06D4}, {0x65, 0x20AC}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := 0
			for _, r := range tt.a.chars {
				if r != unused {
					n++
				}
			}
			if tt.defined >= 0 && n != tt.defined {
				t.Errorf("%d characters defined, want %d", n, tt.defined)
			}
			for _, p := range tt.points {
				if got := tt.a.chars[p.code]; got != p.r {
					t.Errorf("0x%02X = %U, want %U", p.code, got, p.r)
				}
			}
		})
	}
}

func TestLanguages(t *testing.T) {
	t.Parallel()
	for _, l := range Languages() {
		if !l.HasSingleShift() {
			t.Errorf("%v has no single shift table", l)
		}
		if l.String() == "" || l == Default {
			t.Errorf("bad language %d", l)
		}
	}
	if got := len(Languages()); got != 13 {
		t.Errorf("%d languages, want 13", got)
	}
	for l := Bengali; l <= Urdu; l++ {
		if !l.HasLockingShift() {
			t.Errorf("%v has no locking shift table", l)
		}
	}
	if Spanish.HasLockingShift() {
		t.Error("Spanish has no locking shift table in 3GPP TS 23.038")
	}
	if got := Language(200).String(); got != "Language(200)" {
		t.Errorf("String() = %q", got)
	}
}

func TestIsGSM7(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]bool{"": true, "Hello {world} €5": true, "ç": false, "“quoted”": false, "\t": false} {
		if got := IsGSM7(text); got != want {
			t.Errorf("IsGSM7(%q) = %v", text, got)
		}
	}
}
