package dlr

import (
	"errors"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// parseSeeds are receipt bodies seen in the field (and a few hostile ones).
var parseSeeds = []string{
	"id:0123456789 sub:001 dlvrd:001 submit date:0610191018 done date:0610191018 stat:DELIVRD err:000 text:Hello World",
	"id:1034512 sub:001 dlvrd:001 submit date:1305050826 done date:1305050827 stat:DELIVRD err:000 Text:Test message from K",
	"id:5c9a8f8e-3f1b-4a8e-9d3c-2b7e6f1a0c44 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:DELIVRD err:000 text:-",
	"ID:ABCDEF01 SUB:001 DLVRD:000 SUBMIT DATE:2301151230 DONE DATE:2301151231 STAT:UNDELIV ERR:001 TEXT:HELLO",
	"id:77 sub:001 dlvrd:001 submit date:230115123045 done date:230115123112 stat:DELIVRD err:0 text:x",
	"id:77 submit_date:20230115123045 done_date:20230115123112 stat:EXPIRED err:ERR123",
	"id:9 submitdate:2301151230 donedate:2301151231 stat:REJECTD err:045",
	"id:2000123 sub:001 dlvrd:000 submit date:2402291159 done date:2402291200 stat:UNDELIV err:001",
	"id:7f3a9c01 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:delivrd err:000 text:",
	"id:55 stat:DELIVRD err:000 imsi:310150123456789 MCCMNC:310150 network:AT&T Mobility text:Hi",
	"id:42 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:DELIVRD err:000 text:Hello\x00\x00\x00",
	"id:42 stat:UNDELIV err:000 Text:Code: 1234 at 12:30 stat:DELIVRD id:99",
	"id:1 stat:DELIVERED err:0 text:ok",
	"id:1 stat:UNDELIVERABLE err:ERR123",
	"id:1 stat:FAILED err:34",
	"id:1 stat:ACKED",
	"stat:ACCEPTD err:000 done date:2301151231 id:AB12 submit date:2301151230 dlvrd:000 sub:001 text:later",
	"  id:31   sub:001\tdlvrd:001  submit   date:2301151230\r\ndone date:2301151231   stat:ENROUTE    err:000  text:  spaced \r\n",
	"id:31\x00stat:DELIVRD\x00err:000\x00",
	"id: 12345 sub: 001 stat: DELIVRD err: 000",
	"stat:DELIVRD err:000",
	"id:7 stat:WAITING",
	"id:7 stat:2",
	"id:7 submit date:2023-01-15 12:30:45 done date:23/01/15 12:31 stat:DELIVRD",
	"id:1 id:2 stat:DELIVRD stat:UNDELIV",
	"id:abc:def stat:DELIVRD",
	"id:\xff\xfe stat:\xc0 text:\xff",
	"submit date:",
	"done",
	"submit \t date:1",
	"text:",
	"id:",
	"stat:",
	"a:b:c:d e:f",
	"",
}

func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrNotReceipt) {
				t.Fatalf("Parse error %v is not ErrNotReceipt", err)
			}
			return
		}
		if r.ID == "" && r.Stat == "" {
			t.Fatalf("Parse succeeded with neither id nor stat: %+v", r)
		}
		if strings.ContainsFunc(r.ID+r.Stat+r.Err, func(c rune) bool { return c < 0x80 && isSpace(byte(c)) }) {
			t.Fatalf("whitespace inside a word field: %+v", r)
		}
		if got := ParseState(r.Stat); got != r.State {
			t.Fatalf("State %v, but ParseState(%q) = %v", r.State, r.Stat, got)
		}

		out := Format(&r)
		if want := sprintfFormat(Formatter{}, &r); string(out) != want {
			t.Fatalf("Format = %q, want %q", out, want)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Format(r)) = %v\nformatted: %q", err, out)
		}
		if back.ID != r.ID || back.State != r.State {
			t.Fatalf("round trip changed id/state: %q/%v → %q/%v\nformatted: %q", r.ID, r.State, back.ID, back.State, out)
		}
		if r.State == StateNone && back.Stat != r.Stat {
			t.Fatalf("round trip changed raw stat %q → %q", r.Stat, back.Stat)
		}
	})
}

func FuzzKeys(f *testing.F) {
	for _, s := range []string{"1A2B", "6699", "00001234", "4660", "0x1a2b", " 7\x00", "deadBEEF",
		"5c9a8f8e-3f1b-4a8e-9d3c-2b7e6f1a0c44", "", "0x", "\x00\x00", strings.Repeat("f", 64), strings.Repeat("9", 65)} {
		f.Add(s, []byte{0x1A, 0x2B}, uint8(0))
	}
	f.Add("", []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, uint8(7))
	f.Add("", []byte{}, uint8(3))
	f.Fuzz(func(t *testing.T, id string, num []byte, flags uint8) {
		// Properties of any id, in every format.
		for format := IDAuto; format <= IDHex+1; format++ {
			keys, err := Keys(id, format)
			if err != nil {
				if !errors.Is(err, ErrInvalidID) {
					t.Fatalf("Keys(%q, %v) error %v is not ErrInvalidID", id, format, err)
				}
				continue
			}
			if len(keys) == 0 || len(keys) > 2 || len(keys) == 2 && format != IDAuto {
				t.Fatalf("Keys(%q, %v) = %q", id, format, keys)
			}
			for _, k := range keys {
				if k == "" || k != trimSpace(k) {
					t.Fatalf("Keys(%q, %v) has untrimmed key %q", id, format, k)
				}
				if (format == IDDecimal || format == IDHex) && !isCanonicalDecimal(k) {
					t.Fatalf("Keys(%q, %v) = %q, not canonical decimal", id, format, k)
				}
			}
			padded, perr := Keys(" \x00\t"+id+"\r\n\x00", format)
			if perr != nil || !reflect.DeepEqual(padded, keys) {
				t.Fatalf("surrounding whitespace changed Keys(%q, %v): %q → %q, %v", id, format, keys, padded, perr)
			}
			auto, aerr := Keys(id, IDAuto)
			if (format == IDDecimal || format == IDHex) && (aerr != nil || !slices.Contains(auto, keys[0])) {
				t.Fatalf("Keys(%q, auto) = %q, %v; lacks %v key %q", id, auto, aerr, format, keys[0])
			}
		}
		if hk, err := Keys(id, IDHex); err == nil {
			for _, v := range []string{strings.ToUpper(id), strings.ToLower(id)} {
				if k, err := Keys(v, IDHex); err != nil || !reflect.DeepEqual(k, hk) {
					t.Fatalf("case changed Keys(%q, hex): %q → %q, %v", id, hk, k, err)
				}
			}
		}

		// Any number written in hex and in decimal correlates.
		if len(num) > 26 { // 208 bits: at most 63 decimal digits
			num = num[:26]
		}
		v := new(big.Int).SetBytes(num)
		want := v.Text(10)
		hex, dec := v.Text(16), want
		if flags&1 != 0 {
			hex = strings.ToUpper(hex)
		}
		if flags&2 != 0 && len(hex) < MaxIDLen-4 {
			hex = "000" + hex
		}
		if flags&4 != 0 && len(hex) <= MaxIDLen-2 {
			hex = "0x" + hex
		}
		if flags&8 != 0 && len(dec) < MaxIDLen {
			dec = "0" + dec
		}
		hk, err := Keys(hex, IDHex)
		if err != nil || !reflect.DeepEqual(hk, []string{want}) {
			t.Fatalf("Keys(%q, hex) = %q, %v; want [%s]", hex, hk, err, want)
		}
		dk, err := Keys(dec, IDDecimal)
		if err != nil || !reflect.DeepEqual(dk, []string{want}) {
			t.Fatalf("Keys(%q, decimal) = %q, %v; want [%s]", dec, dk, err, want)
		}
		ha, err := Keys(hex, IDAuto)
		if err != nil {
			t.Fatal(err)
		}
		da, err := Keys(dec, IDAuto)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(ha, want) || !slices.Contains(da, want) {
			t.Fatalf("auto keys of hex %q (%q) and decimal %q (%q) do not share %s", hex, ha, dec, da, want)
		}
	})
}

func isCanonicalDecimal(s string) bool {
	return isDecimal(s) && (s == "0" || s[0] != '0')
}
