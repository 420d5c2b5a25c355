package inbound

import (
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/store"
)

// FuzzInbound feeds arbitrary deliver_sm contents (UDH, SAR values,
// data codings, packing) through Parse, the service and Assemble: nothing
// may panic, every part is stored or assembled, and a message's parts
// never exceed its announced total.
func FuzzInbound(f *testing.F) {
	f.Add(uint8(0x40), uint8(0), []byte{5, 0, 3, 7, 3, 1, 'h', 'i'}, uint16(0), uint8(0), uint8(0), false)
	f.Add(uint8(0x40), uint8(8), []byte{6, 8, 4, 1, 2, 255, 255, 0, 'x'}, uint16(0), uint8(0), uint8(0), false)
	f.Add(uint8(0x40), uint8(0), []byte{200, 0, 3}, uint16(0), uint8(0), uint8(0), true)              // UDHL past the end
	f.Add(uint8(0x40), uint8(0), []byte{5, 0, 3, 7, 0, 1, 'h'}, uint16(0), uint8(0), uint8(0), false) // total 0
	f.Add(uint8(0), uint8(0x08), []byte{0xD8, 0x3D}, uint16(9), uint8(255), uint8(255), false)        // lone surrogate, 255 parts
	f.Add(uint8(0), uint8(0x05), []byte{1, 2, 3}, uint16(1), uint8(2), uint8(3), false)               // JIS; seq > total
	f.Add(uint8(0x40), uint8(0), []byte{6, 0x24, 1, 1, 0x25, 1, 1, 0x1B}, uint16(0), uint8(0), uint8(0), true)
	f.Fuzz(func(t *testing.T, esm, dc uint8, msg []byte, ref uint16, total, seq uint8, packed bool) {
		d := &pdu.DeliverSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{TON: 1, Addr: "447700900123"},
			Dest: pdu.Address{Addr: "12345"}, ESMClass: esm &^ 0x3C, DataCoding: dc, Message: msg}}
		if total != 0 {
			d.TLVs.SetUint16(pdu.TagSarMsgRefNum, ref)
			d.TLVs.SetUint8(pdu.TagSarTotalSegments, total)
			d.TLVs.SetUint8(pdu.TagSarSegmentSeqnum, seq)
		}
		p := Parse("sim", d, t0, ParseOptions{Packed: packed})
		if p.Total < 1 || p.Total > 255 || p.Seq < 1 || p.Seq > p.Total {
			t.Fatalf("part %d of %d", p.Seq, p.Total)
		}
		Assemble([]*store.InboundPart{p, p})
		f, c := newFakeStore(), &clock{t0}
		s := New(Options{Store: f, Now: c.Now, Parse: map[string]ParseOptions{"sim": {Packed: packed}}})
		if err := s.Receive(t.Context(), "sim", []*pdu.DeliverSM{d, d}); err != nil {
			t.Fatal(err)
		}
		c.now = t0.Add(2 * time.Minute)
		if _, err := s.Sweep(t.Context()); err != nil {
			t.Fatal(err)
		}
		ms := f.messages()
		// A single message sent twice is two messages (people repeat
		// themselves); a repeated part of a concatenated one is ignored.
		want := 1
		if p.Total == 1 {
			want = 2
		}
		if len(ms) != want {
			t.Fatalf("%d messages from one part sent twice; want %d", len(ms), want)
		}
		if m := ms[0]; m.Received > m.PartCount || m.Received != 1 {
			t.Fatalf("%d of %d parts", m.Received, m.PartCount)
		}
	})
}
