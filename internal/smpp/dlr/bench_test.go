package dlr

import "testing"

var benchBody = []byte("id:0123456789 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:DELIVRD err:000 text:Your code is 123456")

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		if _, err := Parse(benchBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseExtra(b *testing.B) {
	body := []byte("ID:7F3A9C01 SUB:001 DLVRD:001 SUBMIT_DATE:230115123045 DONE_DATE:230115123112 STAT:DELIVERED ERR:0 imsi:310150123456789 mccmnc:310150 TEXT:Code: 1234\x00\x00")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFormat(b *testing.B) {
	r, err := Parse(benchBody)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendFormat(buf[:0], &r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkKeys(b *testing.B) {
	for _, bc := range []struct {
		name, id string
		f        IDFormat
	}{
		{"auto-hex", "7F3A9C01", IDAuto},
		{"auto-digits", "0123456789", IDAuto},
		{"hex-128bit", "0123456789ABCDEF0123456789ABCDEF", IDHex},
		{"string", "5c9a8f8e-3f1b-4a8e-9d3c-2b7e6f1a0c44", IDString},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Keys(bc.id, bc.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
