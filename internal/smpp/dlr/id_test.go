package dlr

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	t.Parallel()
	const max = "123456789012345678901234567890123456789012345678901234567890abcd" // 64 chars
	tests := []struct {
		id   string
		f    IDFormat
		want []string // nil: error
	}{
		// IDString: exact after trimming.
		{"abc-123", IDString, []string{"abc-123"}},
		{"  ABC\x00\x00", IDString, []string{"ABC"}},
		{"0012", IDString, []string{"0012"}},
		{"a b", IDString, []string{"a b"}},
		{"", IDString, nil},
		{" \x00\r\n", IDString, nil},

		// IDDecimal: leading zeros ignored.
		{"6699", IDDecimal, []string{"6699"}},
		{"0000006699", IDDecimal, []string{"6699"}},
		{"000", IDDecimal, []string{"0"}},
		{"18446744073709551616", IDDecimal, []string{"18446744073709551616"}},
		{"12a", IDDecimal, nil},
		{"-12", IDDecimal, nil},
		{"1 2", IDDecimal, nil},

		// IDHex: case-insensitive, leading zeros and 0x ignored, any length.
		{"1A2B", IDHex, []string{"6699"}},
		{"1a2b", IDHex, []string{"6699"}},
		{"00001A2B", IDHex, []string{"6699"}},
		{"0x1A2B", IDHex, []string{"6699"}},
		{"0X00001a2b", IDHex, []string{"6699"}},
		{"1234", IDHex, []string{"4660"}},
		{"0", IDHex, []string{"0"}},
		{"FFFFFFFFFFFFFFFF", IDHex, []string{"18446744073709551615"}},
		{"10000000000000000", IDHex, []string{"18446744073709551616"}},
		{"0000000000000000000000000000000000000000000000000000000000001A2B", IDHex, []string{"6699"}},
		{"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", IDHex,
			[]string{"115792089237316195423570985008687907853269984665640564039457584007913129639935"}},
		{"0x", IDHex, nil},
		{"G1", IDHex, nil},
		{"1A-2B", IDHex, nil},

		// IDAuto.
		{"1A2B", IDAuto, []string{"6699"}},
		{"0x1234", IDAuto, []string{"4660"}},
		{"6699", IDAuto, []string{"6699", "26265"}},
		{"00001234", IDAuto, []string{"1234", "4660"}},
		{"4660", IDAuto, []string{"4660", "18016"}},
		{"7", IDAuto, []string{"7"}},
		{"007", IDAuto, []string{"7"}},
		{"deadBEEF", IDAuto, []string{"3735928559"}},
		{"5c9a8f8e-3f1b-4a8e-9d3c-2b7e6f1a0c44", IDAuto, []string{"5c9a8f8e-3f1b-4a8e-9d3c-2b7e6f1a0c44"}},
		{"MSG-0001", IDAuto, []string{"MSG-0001"}},
		{"0x", IDAuto, []string{"0x"}},
		{" 1a2b\x00", IDAuto, []string{"6699"}},

		// Length bound, after trimming.
		{max, IDString, []string{max}},
		{"  " + max + "\x00\x00", IDString, []string{max}},
		{max + "0", IDString, nil},
		{strings.Repeat("1", 65), IDDecimal, nil},

		// Unknown format.
		{"1", IDFormat(9), nil},
	}
	for _, tt := range tests {
		got, err := Keys(tt.id, tt.f)
		if tt.want == nil {
			if !errors.Is(err, ErrInvalidID) {
				t.Errorf("Keys(%q, %v) = %q, %v; want ErrInvalidID", tt.id, tt.f, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Keys(%q, %v) = %q, %v; want %q", tt.id, tt.f, got, err, tt.want)
		}
	}
}

// correlates reports whether a submit_sm_resp id and a receipt id share a
// key, as the correlator's index would find.
func correlates(t *testing.T, submitID string, sf IDFormat, receiptID string, rf IDFormat) bool {
	t.Helper()
	sk, err := Keys(submitID, sf)
	if err != nil {
		t.Fatalf("Keys(%q, %v): %v", submitID, sf, err)
	}
	rk, err := Keys(receiptID, rf)
	if err != nil {
		t.Fatalf("Keys(%q, %v): %v", receiptID, rf, err)
	}
	for _, k := range rk {
		if slices.Contains(sk, k) {
			return true
		}
	}
	return false
}

func TestCorrelation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		submit   string
		sf       IDFormat
		receipt  string
		rf       IDFormat
		expected bool
	}{
		// The brief's cases, with formats unknown.
		{"1A2B", IDAuto, "6699", IDAuto, true},
		{"00001234", IDAuto, "4660", IDAuto, true},
		{"6699", IDAuto, "1a2b", IDAuto, true},
		{"4660", IDAuto, "00001234", IDAuto, true},
		// Same id on both sides, whatever its form.
		{"1234", IDAuto, "1234", IDAuto, true},
		{"00001234", IDAuto, "1234", IDAuto, true},
		{"abcdef01", IDAuto, "ABCDEF01", IDAuto, true},
		{"5c9a8f8e-3f1b", IDAuto, "5c9a8f8e-3f1b", IDAuto, true},
		// Long ids beyond 64 bits.
		{"0xFFFFFFFFFFFFFFFFFF", IDAuto, "4722366482869645213695", IDAuto, true},
		{"FFFFFFFFFFFFFFFFFF", IDHex, "4722366482869645213695", IDDecimal, true},
		// Explicit formats.
		{"1A2B", IDHex, "6699", IDDecimal, true},
		{"00001234", IDHex, "4660", IDDecimal, true},
		{"1234", IDHex, "4660", IDDecimal, true},
		{"0000004660", IDDecimal, "1234", IDHex, true},
		{"1234", IDDecimal, "1234", IDDecimal, true},
		{"1234", IDDecimal, "4660", IDDecimal, false}, // explicit formats remove the second reading
		{"1234", IDHex, "1234", IDDecimal, false},
		{"abc", IDString, "ABC", IDString, false}, // opaque ids are exact
		{"0012", IDString, "12", IDString, false},
		// Different messages.
		{"1A2B", IDAuto, "6698", IDAuto, false},
		{"1A2B", IDAuto, "1A2C", IDAuto, false},
		{"5c9a8f8e-3f1b", IDAuto, "5c9a8f8e-3f1c", IDAuto, false},
	}
	for _, tt := range tests {
		if got := correlates(t, tt.submit, tt.sf, tt.receipt, tt.rf); got != tt.expected {
			t.Errorf("submit %q (%v) and receipt %q (%v) correlate = %v, want %v",
				tt.submit, tt.sf, tt.receipt, tt.rf, got, tt.expected)
		}
	}
}

func TestParseIDFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want IDFormat
		ok   bool
	}{
		{"", IDAuto, true},
		{"auto", IDAuto, true},
		{" AUTO ", IDAuto, true},
		{"string", IDString, true},
		{"decimal", IDDecimal, true},
		{"dec", IDDecimal, true},
		{"Hex", IDHex, true},
		{"hexadecimal", IDAuto, false},
		{"0x", IDAuto, false},
	}
	for _, tt := range tests {
		got, err := ParseIDFormat(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseIDFormat(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for f := IDAuto; f <= IDHex; f++ {
		b, err := f.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText: %v", f, err)
		}
		var back IDFormat
		if err := back.UnmarshalText(b); err != nil || back != f {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", b, back, err, f)
		}
	}
	if _, err := IDFormat(4).MarshalText(); err == nil {
		t.Error("IDFormat(4).MarshalText succeeded")
	}
	if got := IDFormat(4).String(); got != "IDFormat(4)" {
		t.Errorf("IDFormat(4).String() = %q", got)
	}
	var f IDFormat = IDHex
	if err := f.UnmarshalText([]byte("nope")); err == nil || f != IDHex {
		t.Errorf("UnmarshalText(nope) = %v, left %v", err, f)
	}
}
