package smscsim

import (
	"testing"

	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smstext"
)

func TestReceiptText(t *testing.T) {
	t.Parallel()
	encode := func(text string, opts smstext.Options) *message {
		segs, err := smstext.Split(text, opts)
		if err != nil {
			t.Fatal(err)
		}
		m := &message{payload: segs[0].ShortMessage, dataCoding: segs[0].DataCoding}
		if segs[0].UDHI {
			m.esmClass = pdu.ESMClassUDHI
		}
		return m
	}
	long := "Grüße @ $5 [x] {€} and then a great deal more text than fits one part of a message, which needs 2 parts"
	tests := []struct {
		name string
		m    *message
		want string
	}{
		{"ascii fast path", encode("Your code is 123456, valid 5 minutes", smstext.Options{}), "Your code is 123456,"},
		{"gsm7 specials", encode("Grüße @ $5 [x] {€}", smstext.Options{}), "Grüße @ $5 [x] {€}"},
		{"gsm7 cut at 20", encode("@@@@@@@@@@@@@@@@@@@@@@@@", smstext.Options{}), "@@@@@@@@@@@@@@@@@@@@"},
		{"concatenated part", encode(long, smstext.Options{Ref: 3}), "Grüße @ $5 [x] {€} a"},
		{"ucs2", encode("Привет, мир! Как дела сегодня?", smstext.Options{}), "Привет, мир! Как дел"},
		{"latin1", &message{payload: []byte("caf\xe9 au lait"), dataCoding: 0x03}, "café au lait"},
		{"ia5", &message{payload: []byte("plain ascii"), dataCoding: 0x01}, "plain ascii"},
		{"binary", &message{payload: []byte{1, 2, 3}, dataCoding: 0x04}, ""},
		{"empty", &message{}, ""},
	}
	for _, tt := range tests {
		if got := receiptText(tt.m); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
