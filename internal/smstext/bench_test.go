package smstext

import (
	"strings"
	"testing"
)

var benchTexts = []struct {
	name string
	text string
	opts Options
}{
	{"gsm7-long", strings.Repeat("Your code is 123456. Do not share it {ever} €. ", 20), Options{}},
	{"gsm7-turkish", strings.Repeat("Şifreniz 123456, kimseyle paylaşmayın. ", 10), Options{Languages: []Language{Turkish, Spanish, Portuguese}}},
	{"ucs2", strings.Repeat("Ваш код 123456 😀, никому его не сообщайте. ", 10), Options{}},
	{"smart", strings.Repeat("“Smart” quotes – and dashes… ", 10), Options{Smart: true}},
}

func BenchmarkAnalyze(b *testing.B) {
	for _, bt := range benchTexts {
		b.Run(bt.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bt.text)))
			for b.Loop() {
				Analyze(bt.text, bt.opts)
			}
		})
	}
}

func BenchmarkSplit(b *testing.B) {
	for _, bt := range benchTexts {
		for _, packed := range []bool{false, true} {
			name := bt.name
			if packed {
				name += "-packed"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(bt.text)))
				opts := bt.opts
				opts.Packed = packed
				for b.Loop() {
					if _, err := Split(bt.text, opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	segs, err := Split(benchTexts[0].text, Options{})
	if err != nil {
		b.Fatal(err)
	}
	s := segs[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(s.ShortMessage, s.DataCoding, s.UDHI, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
