package dlr

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestApplyTLVs(t *testing.T) {
	t.Parallel()
	text := "id:6699 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:DELIVRD err:000 text:x"
	tests := []struct {
		name    string
		body    string // "" for a receipt carried only in TLVs
		tlvs    TLVs
		want    func(r *Receipt)
		wantErr int // number of ErrInvalidTLV errors
	}{
		{
			name: "no tlvs changes nothing",
			body: text,
			want: func(*Receipt) {},
		},
		{
			name: "tlvs win over text, text values kept",
			body: text,
			tlvs: TLVs{
				ReceiptedMessageID: "1A2B\x00",
				MessageState:       5, HasMessageState: true,
				NetworkErrorCode: []byte{3, 0x00, 0x1B},
			},
			want: func(r *Receipt) {
				r.ID = "1A2B"
				r.State = StateUndeliverable
				r.NetworkError = NetworkError{Type: NetworkGSM, Code: 27}
			},
		},
		{
			name: "empty receipted id keeps text id",
			body: text,
			tlvs: TLVs{ReceiptedMessageID: " \x00", MessageState: 2, HasMessageState: true},
			want: func(*Receipt) {},
		},
		{
			name: "message_state 0 is not applied but HasMessageState false is silent",
			body: text,
			tlvs: TLVs{MessageState: 0, HasMessageState: false},
			want: func(*Receipt) {},
		},
		{
			name: "invalid state and short network error are skipped and reported",
			body: text,
			tlvs: TLVs{
				ReceiptedMessageID: "FF",
				MessageState:       42, HasMessageState: true,
				NetworkErrorCode: []byte{3, 0},
			},
			want:    func(r *Receipt) { r.ID = "FF" },
			wantErr: 2,
		},
		{
			name: "receipt only in tlvs",
			tlvs: TLVs{
				ReceiptedMessageID: "0A1B2C",
				MessageState:       2, HasMessageState: true,
				NetworkErrorCode: []byte{8, 0xFF, 0xFF},
			},
			want: func(r *Receipt) {
				r.ID = "0A1B2C"
				r.State = StateDelivered
				r.NetworkError = NetworkError{Type: NetworkMessageCenter, Code: 0xFFFF}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r Receipt
			if tt.body != "" {
				var err error
				if r, err = Parse([]byte(tt.body)); err != nil {
					t.Fatal(err)
				}
			}
			want := r
			tt.want(&want)
			err := r.ApplyTLVs(tt.tlvs)
			if !reflect.DeepEqual(r, want) {
				t.Errorf("after ApplyTLVs\n got %+v\nwant %+v", r, want)
			}
			if tt.wantErr == 0 {
				if err != nil {
					t.Errorf("ApplyTLVs: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidTLV) {
				t.Fatalf("ApplyTLVs error %v, want ErrInvalidTLV", err)
			}
			if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != tt.wantErr {
				t.Errorf("ApplyTLVs reported %d errors (%v), want %d", n, err, tt.wantErr)
			}
		})
	}
}

func TestNetworkError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []byte
		want NetworkError
		str  string
		ok   bool
	}{
		{[]byte{3, 0, 1}, NetworkError{NetworkGSM, 1}, "gsm:1", true},
		{[]byte{1, 0x01, 0x00}, NetworkError{NetworkANSI136Access, 256}, "ansi-136-access:256", true},
		{[]byte{7, 0, 0x45}, NetworkError{NetworkSMPP, 0x45}, "smpp:69", true},
		{[]byte{9, 0, 1}, NetworkError{9, 1}, "network(9):1", true},
		{[]byte{0, 0, 0}, NetworkError{}, "none", true},
		{nil, NetworkError{}, "", false},
		{[]byte{3, 0}, NetworkError{}, "", false},
		{[]byte{3, 0, 1, 0}, NetworkError{}, "", false},
	}
	for _, tt := range tests {
		got, err := ParseNetworkError(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseNetworkError(% x) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
			continue
		}
		if !tt.ok {
			if !errors.Is(err, ErrInvalidTLV) {
				t.Errorf("ParseNetworkError(% x) error %v does not wrap ErrInvalidTLV", tt.in, err)
			}
			continue
		}
		if s := got.String(); s != tt.str {
			t.Errorf("%#v.String() = %q, want %q", got, s, tt.str)
		}
		if b := AppendNetworkError(nil, got); !bytes.Equal(b, tt.in) {
			t.Errorf("AppendNetworkError(%v) = % x, want % x", got, b, tt.in)
		}
	}
}

func TestIsReceipt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		esm     uint8
		typ     MessageType
		receipt bool
	}{
		{0x00, MessageDefault, false},
		{0x04, MessageDeliveryReceipt, true},
		{0x08, MessageDeliveryAck, false},
		{0x0C, 0x0C, false}, // reserved, not receipt+ack
		{0x10, MessageUserAck, false},
		{0x18, MessageConversationAbort, false},
		{0x20, MessageIntermediate, true},
		{0x24, 0x24, false},                  // reserved
		{0x44, MessageDeliveryReceipt, true}, // UDHI set
		{0xC7, MessageDeliveryReceipt, true}, // GSM bits and mode bits set
		{0x40, MessageDefault, false},
	}
	for _, tt := range tests {
		if got := MessageTypeOf(tt.esm); got != tt.typ {
			t.Errorf("MessageTypeOf(%#02x) = %v, want %v", tt.esm, got, tt.typ)
		}
		if got := IsReceipt(tt.esm); got != tt.receipt {
			t.Errorf("IsReceipt(%#02x) = %v, want %v", tt.esm, got, tt.receipt)
		}
	}
	if got := MessageType(0x0C).String(); got != "message-type(0x0c)" {
		t.Errorf("MessageType(0x0C).String() = %q", got)
	}
	if got := MessageDeliveryReceipt.String(); got != "delivery-receipt" {
		t.Errorf("MessageDeliveryReceipt.String() = %q", got)
	}
}
