package smstext

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestSplitGolden pins the exact octets Split produces: the short_message
// of each segment is what goes on the wire.
func TestSplitGolden(t *testing.T) {
	t.Parallel()
	long := "Herald splits long messages at the right place: 153 septets per part with an 8-bit reference, never between an escape and its character like € or [brackets]. "
	tests := []struct {
		name string
		text string
		opts Options
	}{
		{"gsm7_single", "Hello {world} €5", Options{}},
		{"gsm7_udh8", long, Options{Ref: 0x5A}},
		{"gsm7_udh8_packed", long, Options{Ref: 0x5A, Packed: true}},
		{"gsm7_udh16_packed", long, Options{Ref: 0x1234, Concat: ConcatUDH16, Packed: true}},
		{"gsm7_sar", long, Options{Ref: 0x0102, Concat: ConcatSAR}},
		{"gsm7_payload", long, Options{Concat: ConcatPayload}},
		{"ucs2_emoji_boundary", strings.Repeat("ж", 66) + "😀" + strings.Repeat("ж", 3), Options{Ref: 1}},
		{"turkish_single_shift_packed", "Şifreniz 1234. İyi günler, ığdır.", Options{Languages: []Language{Turkish}, Packed: true}},
		{"turkish_locking_udh8", strings.Repeat("şğı", 52), Options{Ref: 3, Languages: []Language{Turkish}}},
		{"latin1", "Café crème", Options{Encoding: Latin1}},
		{"binary_udh8", strings.Repeat("\x00\xff", 70) + "\x01", Options{Encoding: Binary, Ref: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			segs, err := Split(tt.text, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, s := range segs {
				fmt.Fprintf(&b, "segment %d: data_coding=0x%02x udhi=%v", i+1, s.DataCoding, s.UDHI)
				if s.SAR != nil {
					fmt.Fprintf(&b, " sar_msg_ref_num=%d sar_total_segments=%d sar_segment_seqnum=%d", s.SAR.Ref, s.SAR.Total, s.SAR.Seq)
				}
				fmt.Fprintf(&b, "\ntext: %q\nudh: % x\nshort_message (%d octets):\n", s.Text, s.UDH, len(s.ShortMessage))
				for len(s.ShortMessage) > 0 {
					n := min(16, len(s.ShortMessage))
					fmt.Fprintf(&b, "  % x\n", s.ShortMessage[:n])
					s.ShortMessage = s.ShortMessage[n:]
				}
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("Split output differs from %s:\ngot:\n%s\nwant:\n%s", path, b.String(), want)
			}
		})
	}
}
