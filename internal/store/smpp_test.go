package store

import (
	"testing"

	"github.com/herald-sms/herald/internal/herald"
)

func TestWantsClientReceipt(t *testing.T) {
	for _, c := range []struct {
		rd   int64
		to   herald.Status
		want bool
	}{
		{0, herald.StatusDelivered, false},
		{1, herald.StatusDelivered, true},
		{1, herald.StatusUndelivered, true},
		{2, herald.StatusDelivered, false},
		{2, herald.StatusUndelivered, true},
		{2, herald.StatusExpired, true},
		{1, herald.StatusSent, false},
		{16, herald.StatusSent, true},
		{17, herald.StatusSent, true},
		{16, herald.StatusDelivered, false},
	} {
		if got := WantsClientReceipt(c.rd, c.to); got != c.want {
			t.Errorf("registered_delivery %d, %s: %v, want %v", c.rd, c.to, got, c.want)
		}
	}
}

func TestClientReceiptOf(t *testing.T) {
	m := &herald.Message{Status: herald.StatusUndelivered, Body: "Ünïcode body longer than twenty characters",
		Parts: []herald.Part{{Status: herald.StatusDelivered}, {Status: herald.StatusUndelivered, ReceiptErr: "001"}}}
	delivered, code, body, ok := ClientReceiptOf(m, &Transition{})
	if !ok || delivered != 1 || code != "001" || body != "Ünïcode body longer " {
		t.Fatalf("got %d %q %q %v", delivered, code, body, ok)
	}
	if _, code, _, _ = ClientReceiptOf(m, &Transition{ReceiptErr: "042"}); code != "042" {
		t.Fatalf("the cause's error %q, want 042", code)
	}
	m.Status = herald.StatusQueued
	if _, _, _, ok = ClientReceiptOf(m, &Transition{}); ok {
		t.Fatal("a queued message gets no receipt")
	}
}
