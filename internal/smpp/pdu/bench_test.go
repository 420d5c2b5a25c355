package pdu

import (
	"os"
	"testing"
)

func benchSubmitSM() *SubmitSM {
	for _, c := range goldenCases() {
		if c.name == "submit_sm" {
			return c.body.(*SubmitSM)
		}
	}
	panic("no submit_sm golden case")
}

func benchGolden(b *testing.B, name string) []byte {
	b.Helper()
	text, err := os.ReadFile(goldenPath(name))
	if err != nil {
		b.Fatal(err)
	}
	frame, err := undump(text)
	if err != nil {
		b.Fatal(err)
	}
	return frame
}

func BenchmarkEncodeSubmitSM(b *testing.B) {
	m := benchSubmitSM()
	buf, err := Append(nil, 1, StatusOK, m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if buf, err = Append(buf[:0], uint32(i), StatusOK, m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSubmitSM(b *testing.B) {
	benchDecode(b, benchGolden(b, "submit_sm"))
}

func BenchmarkDecodeDeliverSMReceipt(b *testing.B) {
	benchDecode(b, benchGolden(b, "deliver_sm_receipt"))
}

func benchDecode(b *testing.B, frame []byte) {
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeSubmitSMResp(b *testing.B) {
	r := &SubmitSMResp{MessageID: "5f3a9c1e"}
	buf, err := Append(nil, 1, StatusOK, r)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if buf, err = Append(buf[:0], uint32(i), StatusOK, r); err != nil {
			b.Fatal(err)
		}
	}
}
