package smstext

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// rep repeats s n times.
func rep(s string, n int) string { return strings.Repeat(s, n) }

func TestSegmentationRules(t *testing.T) {
	t.Parallel()
	turkish := []Language{Turkish}
	tests := []struct {
		name      string
		text      string
		opts      Options
		enc       Encoding
		lock      Language
		single    Language
		partUnits []int
		capacity  int
	}{
		{"gsm7 160 is one part", rep("a", 160), Options{}, GSM7, Default, Default, []int{160}, 160},
		{"gsm7 161 is two parts", rep("a", 161), Options{}, GSM7, Default, Default, []int{153, 8}, 153},
		{"gsm7 306 is two parts", rep("a", 306), Options{}, GSM7, Default, Default, []int{153, 153}, 153},
		{"gsm7 307 is three parts", rep("a", 307), Options{}, GSM7, Default, Default, []int{153, 153, 1}, 153},
		{"empty text is one empty part", "", Options{}, GSM7, Default, Default, []int{0}, 160},
		{"escape counts two septets", rep("€", 80), Options{}, GSM7, Default, Default, []int{160}, 160},
		{"81 euros need two parts", rep("€", 81), Options{}, GSM7, Default, Default, []int{152, 10}, 153},
		{"euro on boundary moves whole", rep("a", 152) + "€" + rep("b", 10), Options{}, GSM7, Default, Default, []int{152, 12}, 153},
		{"bracket on boundary moves whole", rep("a", 152) + "[" + rep("b", 10), Options{}, GSM7, Default, Default, []int{152, 12}, 153},
		{"euro just fits before boundary", rep("a", 151) + "€" + rep("b", 10), Options{}, GSM7, Default, Default, []int{153, 10}, 153},
		{"form feed is escaped", rep("a", 152) + "\f" + rep("b", 10), Options{}, GSM7, Default, Default, []int{152, 12}, 153},
		{"ucs2 70 is one part", rep("ж", 70), Options{}, UCS2, Default, Default, []int{70}, 70},
		{"ucs2 71 is two parts", rep("ж", 71), Options{}, UCS2, Default, Default, []int{67, 4}, 67},
		{"emoji on ucs2 boundary moves whole", rep("ж", 66) + "😀" + rep("ж", 10), Options{}, UCS2, Default, Default, []int{66, 12}, 67},
		{"emoji just fits before boundary", rep("ж", 65) + "😀" + rep("ж", 10), Options{}, UCS2, Default, Default, []int{67, 10}, 67},
		{"35 emoji fill one part", rep("😀", 35), Options{}, UCS2, Default, Default, []int{70}, 70},
		{"udh16 gsm7", rep("a", 161), Options{Concat: ConcatUDH16}, GSM7, Default, Default, []int{152, 9}, 152},
		{"udh16 ucs2", rep("ж", 71), Options{Concat: ConcatUDH16}, UCS2, Default, Default, []int{66, 5}, 66},
		{"udh16 emoji on boundary", rep("ж", 65) + "😀" + rep("ж", 10), Options{Concat: ConcatUDH16}, UCS2, Default, Default, []int{65, 12}, 66},
		{"sar gsm7", rep("a", 161), Options{Concat: ConcatSAR}, GSM7, Default, Default, []int{160, 1}, 160},
		{"sar ucs2", rep("ж", 71), Options{Concat: ConcatSAR}, UCS2, Default, Default, []int{70, 1}, 70},
		{"payload is one part", rep("a", 1000), Options{Concat: ConcatPayload}, GSM7, Default, Default, []int{1000}, 65535},
		{"latin1 140", rep("é", 140), Options{Encoding: Latin1}, Latin1, Default, Default, []int{140}, 140},
		{"latin1 141", rep("é", 141), Options{Encoding: Latin1}, Latin1, Default, Default, []int{134, 7}, 134},
		{"latin1 udh16", rep("é", 141), Options{Encoding: Latin1, Concat: ConcatUDH16}, Latin1, Default, Default, []int{133, 8}, 133},
		{"binary 140", rep("\xff", 140), Options{Encoding: Binary}, Binary, Default, Default, []int{140}, 140},
		{"binary 141", rep("\x00", 141), Options{Encoding: Binary}, Binary, Default, Default, []int{134, 7}, 134},
		{"forced ucs2 for gsm text", rep("a", 71), Options{Encoding: UCS2}, UCS2, Default, Default, []int{67, 4}, 67},
		{"turkish without tables is ucs2", "Şişli'de ığdır", Options{}, UCS2, Default, Default, []int{14}, 70},
		{"turkish single shift", "Şişli'de ığdır", Options{Languages: turkish}, GSM7, Default, Turkish, []int{19}, 155},
		// 150 ş: 300 septets by single shift (3 parts of 149) but 150 by
		// locking shift, which fits one part of 155.
		{"turkish locking shift when fewer parts", rep("ş", 150), Options{Languages: turkish}, GSM7, Turkish, Default, []int{150}, 155},
		{"turkish single shift only", rep("ş", 150), Options{Languages: turkish, NoLockingShift: true}, GSM7, Default, Turkish, []int{148, 148, 4}, 149},
		{"turkish single shift 155 fits one part", rep("ş", 77) + "a", Options{Languages: turkish, NoLockingShift: true}, GSM7, Default, Turkish, []int{155}, 155},
		{"turkish single shift 156 needs 149 parts", rep("ş", 78), Options{Languages: turkish, NoLockingShift: true}, GSM7, Default, Turkish, []int{148, 8}, 149},
		{"turkish both tables", rep("ş", 150) + "|", Options{Languages: turkish}, GSM7, Turkish, Default, []int{152}, 155},
		{"spanish single shift", "¿Cómo está? Mañana José irá.", Options{Languages: []Language{Spanish}}, GSM7, Default, Spanish, []int{31}, 155},
		{"portuguese single shift", "Não, você está ótimo.", Options{Languages: []Language{Portuguese}}, GSM7, Default, Portuguese, []int{25}, 155},
		{"portuguese first in list wins tie", "Olá", Options{Languages: []Language{Portuguese, Spanish}}, GSM7, Default, Portuguese, []int{4}, 155},
		{"spanish first in list wins tie", "Olá", Options{Languages: []Language{Spanish, Portuguese}}, GSM7, Default, Spanish, []int{4}, 155},
		{"default preferred when it fits", "Hello €", Options{Languages: []Language{Portuguese}}, GSM7, Default, Default, []int{8}, 160},
		{"locking and single shift IEs together", rep("ş", 150) + "Õ", Options{Languages: []Language{Turkish, Portuguese}}, GSM7, Turkish, Portuguese, []int{152}, 152},
		{"hindi locking shift", "नमस्ते, आपका कोड 1234 है।", Options{Languages: []Language{Hindi}}, GSM7, Hindi, Hindi, []int{26}, 152},
		{"hindi locking shift alone", "नमस्ते, आपका कोड 1234 है", Options{Languages: []Language{Hindi}}, GSM7, Hindi, Default, []int{24}, 155},
		{"hindi without tables is ucs2", "नमस्ते", Options{}, UCS2, Default, Default, []int{6}, 70},
		{"urdu", "آپ کا کوڈ 1234 ہے", Options{Languages: []Language{Urdu}}, GSM7, Urdu, Default, []int{17}, 155},
		{"national sar", rep("ş", 78), Options{Languages: turkish, NoLockingShift: true, Concat: ConcatSAR}, GSM7, Default, Turkish, []int{154, 2}, 155},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := Analyze(tt.text, tt.opts)
			if a.Err != nil {
				t.Fatalf("Analyze: %v", a.Err)
			}
			if a.Encoding != tt.enc || a.LockingShift != tt.lock || a.SingleShift != tt.single {
				t.Errorf("encoding %v lock %v single %v, want %v %v %v", a.Encoding, a.LockingShift, a.SingleShift, tt.enc, tt.lock, tt.single)
			}
			if !slices.Equal(a.PartUnits, tt.partUnits) {
				t.Errorf("PartUnits = %v, want %v", a.PartUnits, tt.partUnits)
			}
			if a.Parts != len(tt.partUnits) {
				t.Errorf("Parts = %d, want %d", a.Parts, len(tt.partUnits))
			}
			if a.Capacity != tt.capacity {
				t.Errorf("Capacity = %d, want %d", a.Capacity, tt.capacity)
			}
			sum := 0
			for _, u := range tt.partUnits {
				sum += u
			}
			if a.Units != sum || a.Remaining != a.Capacity-tt.partUnits[len(tt.partUnits)-1] {
				t.Errorf("Units %d Remaining %d, want %d and %d", a.Units, a.Remaining, sum, a.Capacity-tt.partUnits[len(tt.partUnits)-1])
			}
			for _, packed := range []bool{false, true} {
				opts := tt.opts
				opts.Packed = packed
				segs, err := Split(tt.text, opts)
				if err != nil {
					t.Fatalf("Split(packed=%v): %v", packed, err)
				}
				if len(segs) != a.Parts {
					t.Fatalf("Split(packed=%v) gave %d segments, Analyze %d parts", packed, len(segs), a.Parts)
				}
				var text strings.Builder
				for i, s := range segs {
					checkSegmentLimits(t, a.Encoding, opts, s)
					if got := dataUnits(a.Encoding, s.Data); got != a.PartUnits[i] {
						t.Errorf("segment %d has %d units, Analyze says %d", i, got, a.PartUnits[i])
					}
					text.WriteString(s.Text)
				}
				if text.String() != tt.text {
					t.Errorf("segment texts do not add up to the text")
				}
			}
		})
	}
}

func dataUnits(enc Encoding, data []byte) int {
	if enc == UCS2 {
		return len(data) / 2
	}
	return len(data)
}

// checkSegmentLimits checks the per-part size rules that must hold for
// every segment Split produces.
func checkSegmentLimits(t *testing.T, enc Encoding, opts Options, s Segment) {
	t.Helper()
	if s.UDHI != (s.UDH != nil) {
		t.Errorf("UDHI %v with UDH %x", s.UDHI, s.UDH)
	}
	if s.UDH != nil && int(s.UDH[0])+1 != len(s.UDH) {
		t.Errorf("UDHL %d, UDH is %d octets", s.UDH[0], len(s.UDH))
	}
	if s.DataCoding != enc.DataCoding() {
		t.Errorf("DataCoding 0x%02x, want 0x%02x", s.DataCoding, enc.DataCoding())
	}
	if opts.Concat == ConcatPayload {
		return
	}
	switch {
	case enc == GSM7 && opts.Packed:
		if len(s.ShortMessage) > 140 {
			t.Errorf("packed GSM-7 short_message is %d octets", len(s.ShortMessage))
		}
	case enc == GSM7:
		if n := udhSeptets(len(s.UDH)) + len(s.Data); n > 160 {
			t.Errorf("GSM-7 part is %d septets with its UDH", n)
		}
		if len(s.ShortMessage) != len(s.UDH)+len(s.Data) {
			t.Errorf("unpacked short_message is %d octets, UDH+data %d", len(s.ShortMessage), len(s.UDH)+len(s.Data))
		}
		if i := len(s.Data) - 1; i >= 0 && s.Data[i] == escape {
			t.Errorf("part ends with an escape septet")
		}
	default:
		if len(s.ShortMessage) > 140 {
			t.Errorf("%v short_message is %d octets", enc, len(s.ShortMessage))
		}
	}
	if enc == UCS2 && len(s.Data) >= 2 {
		last := uint16(s.Data[len(s.Data)-2])<<8 | uint16(s.Data[len(s.Data)-1])
		if last >= 0xD800 && last < 0xDC00 {
			t.Errorf("UCS-2 part ends with a high surrogate")
		}
	}
}

func TestSplitHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		opts Options
		udh  [][]byte
		sar  []SAR
	}{
		{"single part has no udh", "hi", Options{Ref: 7}, [][]byte{nil}, nil},
		{"udh8", rep("a", 161), Options{Ref: 0xAB},
			[][]byte{{5, 0, 3, 0xAB, 2, 1}, {5, 0, 3, 0xAB, 2, 2}}, nil},
		{"udh16", rep("a", 161), Options{Ref: 0xABCD, Concat: ConcatUDH16},
			[][]byte{{6, 8, 4, 0xAB, 0xCD, 2, 1}, {6, 8, 4, 0xAB, 0xCD, 2, 2}}, nil},
		{"sar", rep("a", 161), Options{Ref: 0x1234, Concat: ConcatSAR},
			[][]byte{nil, nil}, []SAR{{0x1234, 2, 1}, {0x1234, 2, 2}}},
		{"single shift single part", "ş", Options{Languages: []Language{Turkish}},
			[][]byte{{3, 0x24, 1, 1}}, nil},
		{"single shift with udh8", rep("ş", 78), Options{Ref: 9, Languages: []Language{Turkish}, NoLockingShift: true},
			[][]byte{{8, 0, 3, 9, 2, 1, 0x24, 1, 1}, {8, 0, 3, 9, 2, 2, 0x24, 1, 1}}, nil},
		{"both shifts", "şÕ", Options{Languages: []Language{Turkish, Portuguese}},
			// One ş and one Õ: Portuguese single shift alone cannot do ş,
			// Turkish single shift alone cannot do Õ.
			[][]byte{{6, 0x24, 1, 3, 0x25, 1, 1}}, nil},
		{"national sar", rep("ş", 78), Options{Ref: 1, Languages: []Language{Turkish}, NoLockingShift: true, Concat: ConcatSAR},
			[][]byte{{3, 0x24, 1, 1}, {3, 0x24, 1, 1}}, []SAR{{1, 2, 1}, {1, 2, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			segs, err := Split(tt.text, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(segs) != len(tt.udh) {
				t.Fatalf("%d segments, want %d", len(segs), len(tt.udh))
			}
			for i, s := range segs {
				if !slices.Equal(s.UDH, tt.udh[i]) {
					t.Errorf("segment %d UDH % x, want % x", i, s.UDH, tt.udh[i])
				}
				switch {
				case tt.sar == nil && s.SAR != nil:
					t.Errorf("segment %d has SAR %+v", i, *s.SAR)
				case tt.sar != nil && (s.SAR == nil || *s.SAR != tt.sar[i]):
					t.Errorf("segment %d SAR %v, want %+v", i, s.SAR, tt.sar[i])
				}
			}
		})
	}
}

func TestPackedLengths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text             string
		opts             Options
		unpacked, packed []int // short_message octets per part
	}{
		{rep("a", 160), Options{}, []int{160}, []int{140}},
		{rep("a", 7), Options{}, []int{7}, []int{7}}, // 7 spare bits carry CR padding
		{rep("a", 8), Options{}, []int{8}, []int{7}},
		{rep("a", 161), Options{}, []int{6 + 153, 6 + 8}, []int{140, 6 + 8}},
		{rep("a", 161), Options{Concat: ConcatUDH16}, []int{7 + 152, 7 + 9}, []int{140, 7 + 8}},
		{rep("ş", 77) + "a", Options{Languages: []Language{Turkish}, NoLockingShift: true}, []int{4 + 155}, []int{140}},
	}
	for _, tt := range tests {
		for _, packed := range []bool{false, true} {
			opts := tt.opts
			opts.Packed = packed
			segs, err := Split(tt.text, opts)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.unpacked
			if packed {
				want = tt.packed
			}
			var got []int
			for _, s := range segs {
				got = append(got, len(s.ShortMessage))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%d chars %+v: short_message lengths %v, want %v", len([]rune(tt.text)), opts, got, want)
			}
		}
	}
}

func TestPartLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		opts Options
		err  error
	}{
		{"255 gsm7 parts", rep("a", 255*153), Options{}, nil},
		{"256 gsm7 parts", rep("a", 255*153+1), Options{}, ErrTooManyParts},
		{"255 ucs2 parts", rep("ж", 255*67), Options{}, nil},
		{"256 ucs2 parts", rep("ж", 255*67+1), Options{}, ErrTooManyParts},
		{"256 sar parts", rep("a", 255*160+1), Options{Concat: ConcatSAR}, ErrTooManyParts},
		{"payload fits", rep("a", 65535), Options{Concat: ConcatPayload}, nil},
		{"payload too long", rep("a", 65536), Options{Concat: ConcatPayload}, ErrTooLong},
		{"ucs2 payload too long", rep("ж", 32768), Options{Concat: ConcatPayload}, ErrTooLong},
		{"udh8 reference too big", rep("a", 200), Options{Ref: 256}, ErrInvalidOptions},
		{"forced gsm7 rejects cyrillic", "жук", Options{Encoding: GSM7}, ErrUnencodable},
		{"forced latin1 rejects euro", "5 €", Options{Encoding: Latin1}, ErrUnencodable},
		{"unknown language", "a", Options{Languages: []Language{99}}, ErrUnsupportedLanguage},
		{"unknown method", "a", Options{Concat: 9}, ErrInvalidOptions},
		{"ia5 not accepted", "a", Options{Encoding: IA5}, ErrInvalidOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			segs, err := Split(tt.text, tt.opts)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Split error %v, want %v", err, tt.err)
			}
			if err == nil && tt.opts.Concat != ConcatPayload && len(segs) != MaxParts {
				t.Errorf("%d segments", len(segs))
			}
			a := Analyze(tt.text, tt.opts)
			if tt.opts.Ref <= 0xFF && !errors.Is(a.Err, tt.err) {
				t.Errorf("Analyze error %v, want %v", a.Err, tt.err)
			}
		})
	}
}

// TestCapacityWithNationalIEs pins the per-part capacities documented in
// docs/text-encoding.md: 160 - ceil(udhOctets*8/7) septets.
func TestCapacityWithNationalIEs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lock, single Language
		concatIE     int
		udhLen, want int
	}{
		{Default, Default, 0, 0, 160},
		{Default, Turkish, 0, 4, 155},
		{Turkish, Default, 0, 4, 155},
		{Portuguese, Spanish, 0, 7, 152},
		{Default, Default, concat8IELen, 6, 153},
		{Default, Turkish, concat8IELen, 9, 149},
		{Turkish, Turkish, concat8IELen, 12, 146},
		{Default, Default, concat16IELen, 7, 152},
		{Default, Portuguese, concat16IELen, 10, 148},
		{Portuguese, Portuguese, concat16IELen, 13, 145},
	}
	for _, tt := range tests {
		n := nationalUDHLen(newCharset(tt.lock, tt.single), tt.concatIE)
		if n != tt.udhLen {
			t.Errorf("%v/%v/%d: UDH %d octets, want %d", tt.lock, tt.single, tt.concatIE, n, tt.udhLen)
		}
		if got := partCapacity(GSM7, n); got != tt.want {
			t.Errorf("%v/%v/%d: %d septets, want %d", tt.lock, tt.single, tt.concatIE, got, tt.want)
		}
	}
}
