package inbound

import (
	"testing"

	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/store"
)

// TestParseMalformed: malformed concatenation never makes an impossible
// part, and nothing of the octets is lost.
func TestParseMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		esm, dc    uint8
		msg        []byte
		sar        []uint8 // ref, total, seq when set
		total, seq int
		body, enc  string
	}{
		{name: "UDHL past the end: the octets are the text", esm: 0x40, msg: []byte{200, 'h', 'i'}, total: 1, seq: 1, body: "\uFFFDhi"},
		{name: "element past the header", esm: 0x40, msg: []byte{2, 0, 3, 'x'}, total: 1, seq: 1, body: "$@¥x"},
		{name: "concat total 0 ignored", esm: 0x40, msg: []byte{5, 0, 3, 7, 0, 1, 'h'}, total: 1, seq: 1, body: "h"},
		{name: "concat seq above total ignored", esm: 0x40, msg: []byte{5, 0, 3, 7, 2, 3, 'h'}, total: 1, seq: 1, body: "h"},
		{name: "SAR seq 0 ignored", sar: []uint8{1, 3, 0}, msg: []byte("x"), total: 1, seq: 1, body: "x"},
		{name: "SAR 255 parts", sar: []uint8{1, 255, 255}, msg: []byte("x"), total: 255, seq: 255, body: "x"},
		{name: "odd UCS-2", dc: 8, msg: []byte{0, 'A', 0xD8}, total: 1, seq: 1, body: "A\uFFFD", enc: "ucs2"},
		{name: "unsupported coding kept as base64", dc: 0x05, msg: []byte{1, 2, 3}, total: 1, seq: 1, body: "AQID", enc: "data_coding_0x05"},
		{name: "binary as base64", dc: 0x04, msg: []byte{0xff, 0}, total: 1, seq: 1, body: "/wA=", enc: "binary"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &pdu.DeliverSM{ShortMessage: pdu.ShortMessage{ESMClass: tc.esm, DataCoding: tc.dc, Message: tc.msg}}
			if tc.sar != nil {
				d.TLVs.SetUint16(pdu.TagSarMsgRefNum, uint16(tc.sar[0]))
				d.TLVs.SetUint8(pdu.TagSarTotalSegments, tc.sar[1])
				d.TLVs.SetUint8(pdu.TagSarSegmentSeqnum, tc.sar[2])
			}
			p := Parse("sim", d, t0, ParseOptions{})
			if p.Total != tc.total || p.Seq != tc.seq {
				t.Fatalf("part %d of %d, want %d of %d", p.Seq, p.Total, tc.seq, tc.total)
			}
			body, enc := Assemble([]*store.InboundPart{p})
			want := tc.enc
			if want == "" {
				want = "gsm7"
			}
			if body != tc.body || enc != want {
				t.Fatalf("assembled %q (%s), want %q (%s)", body, enc, tc.body, want)
			}
		})
	}
}
