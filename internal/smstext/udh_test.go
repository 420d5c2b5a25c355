package smstext

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseUDH(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []byte
		want UDH
		rest []byte
		err  error
	}{
		{name: "empty udh", in: []byte{0, 'h', 'i'}, want: UDH{}, rest: []byte("hi")},
		{name: "concat8", in: []byte{5, 0, 3, 0x2A, 3, 2, 'x'},
			want: UDH{Elements: []IE{{0, []byte{0x2A, 3, 2}}}, Concat: &ConcatInfo{Ref: 0x2A, Total: 3, Seq: 2}}, rest: []byte("x")},
		{name: "concat16", in: []byte{6, 8, 4, 0x12, 0x34, 3, 3},
			want: UDH{Elements: []IE{{8, []byte{0x12, 0x34, 3, 3}}}, Concat: &ConcatInfo{Ref: 0x1234, Total: 3, Seq: 3, Ref16: true}}, rest: []byte{}},
		{name: "ports 8 bit", in: []byte{4, 4, 2, 0xF5, 0xF6},
			want: UDH{Elements: []IE{{4, []byte{0xF5, 0xF6}}}, Ports: &PortInfo{Dst: 0xF5, Src: 0xF6}}, rest: []byte{}},
		{name: "ports 16 bit", in: []byte{6, 5, 4, 0x0B, 0x84, 0x23, 0xF0},
			want: UDH{Elements: []IE{{5, []byte{0x0B, 0x84, 0x23, 0xF0}}}, Ports: &PortInfo{Dst: 2948, Src: 9200, Wide: true}}, rest: []byte{}},
		{name: "national shifts", in: []byte{6, 0x24, 1, 1, 0x25, 1, 3},
			want: UDH{Elements: []IE{{0x24, []byte{1}}, {0x25, []byte{3}}}, SingleShift: Turkish, LockingShift: Portuguese}, rest: []byte{}},
		{name: "unknown element kept", in: []byte{9, 0x70, 2, 0xAA, 0xBB, 0, 3, 1, 2, 1, 'z'},
			want: UDH{Elements: []IE{{0x70, []byte{0xAA, 0xBB}}, {0, []byte{1, 2, 1}}}, Concat: &ConcatInfo{Ref: 1, Total: 2, Seq: 1}}, rest: []byte("z")},
		{name: "last repeated element wins", in: []byte{10, 0, 3, 1, 2, 1, 0, 3, 7, 2, 2},
			want: UDH{Elements: []IE{{0, []byte{1, 2, 1}}, {0, []byte{7, 2, 2}}}, Concat: &ConcatInfo{Ref: 7, Total: 2, Seq: 2}}, rest: []byte{}},
		{name: "sequence zero ignored", in: []byte{5, 0, 3, 1, 2, 0},
			want: UDH{Elements: []IE{{0, []byte{1, 2, 0}}}}, rest: []byte{}},
		{name: "sequence above total ignored", in: []byte{5, 0, 3, 1, 2, 3},
			want: UDH{Elements: []IE{{0, []byte{1, 2, 3}}}}, rest: []byte{}},
		{name: "bad concat length kept raw", in: []byte{4, 0, 2, 1, 2},
			want: UDH{Elements: []IE{{0, []byte{1, 2}}}}, rest: []byte{}},
		{name: "zero-length element", in: []byte{2, 0x70, 0},
			want: UDH{Elements: []IE{{0x70, []byte{}}}}, rest: []byte{}},
		{name: "nothing", in: nil, err: ErrMalformedUDH},
		{name: "udhl past end", in: []byte{5, 0, 3, 1}, err: ErrMalformedUDH},
		{name: "element header truncated", in: []byte{1, 0}, err: ErrMalformedUDH},
		{name: "element past udhl", in: []byte{4, 0, 3, 1, 2, 1}, err: ErrMalformedUDH},
		{name: "huge element length", in: []byte{2, 0, 0xFF}, err: ErrMalformedUDH},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, rest, err := ParseUDH(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if string(rest) != string(tt.rest) {
				t.Errorf("rest % x, want % x", rest, tt.rest)
			}
			if n := got.Len(); len(got.Elements) > 0 && n != 1+int(tt.in[0]) {
				t.Errorf("Len %d, want %d", n, 1+int(tt.in[0]))
			}
		})
	}
}

func TestParseUDHCopies(t *testing.T) {
	t.Parallel()
	in := []byte{5, 0, 3, 1, 2, 1}
	u, _, err := ParseUDH(in)
	if err != nil {
		t.Fatal(err)
	}
	in[3] = 99
	if u.Elements[0].Data[0] != 1 {
		t.Error("IE data aliases the input")
	}
}
