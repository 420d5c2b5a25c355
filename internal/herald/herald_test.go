package herald

import (
	"strings"
	"testing"
)

func TestAPIKeyRoundTrip(t *testing.T) {
	t.Parallel()
	secret, k := NewAPIKey("acc_1")
	if len(secret) != 44 || !strings.HasPrefix(secret, "hk") {
		t.Fatalf("key %q", secret)
	}
	p, ok := APIKeyPrefix(secret)
	if !ok || p != k.Prefix {
		t.Fatalf("prefix %q %v, want %q", p, ok, k.Prefix)
	}
	if !k.Matches(secret) {
		t.Fatal("key does not match its own record")
	}
	other, _ := NewAPIKey("acc_1")
	last := byte('x')
	if secret[43] == last {
		last = 'y'
	}
	if k.Matches(other) || k.Matches(secret[:43]+string(last)) {
		t.Fatal("a different key matches")
	}
	for _, bad := range []string{"", "hk", secret + "a", "xx" + secret[2:], secret[:20] + "-" + secret[21:]} {
		if _, ok := APIKeyPrefix(bad); ok {
			t.Errorf("APIKeyPrefix(%q) accepted", bad)
		}
	}
}

func TestNewIDOrdered(t *testing.T) {
	t.Parallel()
	a, b := NewID("msg", 1000), NewID("msg", 1001)
	if len(a) != 30 || !strings.HasPrefix(a, "msg_") || a >= b {
		t.Fatalf("ids %q %q", a, b)
	}
}

func TestCanTransition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, to Status
		ok       bool
	}{
		{StatusAccepted, StatusQueued, true},
		{StatusQueued, StatusSending, true},
		{StatusSending, StatusSent, true},
		{StatusSending, StatusQueued, true}, // retry after a temporary refusal
		{StatusSending, StatusDelivered, true},
		{StatusSent, StatusDelivered, true},
		{StatusSent, StatusUnknown, true},
		{StatusUnknown, StatusDelivered, true},
		{StatusDelivered, StatusUndelivered, false},
		{StatusDelivered, StatusSent, false},
		{StatusSent, StatusQueued, false},
		{StatusFailed, StatusQueued, false},
		{StatusCanceled, StatusQueued, false},
		{StatusSent, StatusSent, false},
	}
	for _, tc := range tests {
		if got := CanTransition(tc.from, tc.to); got != tc.ok {
			t.Errorf("%s → %s: %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
	for _, s := range AllStatuses {
		if s.Final() && s != StatusUnknown && len(transitions[s]) > 0 {
			t.Errorf("final state %s has outgoing transitions", s)
		}
	}
}

func TestDeriveStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		parts []Status
		want  Status
	}{
		{[]Status{StatusDelivered}, StatusDelivered},
		{[]Status{StatusDelivered, StatusSent}, StatusSent},
		{[]Status{StatusSent, StatusSending}, StatusSending},
		{[]Status{StatusQueued, StatusSent}, StatusQueued},
		{[]Status{StatusDelivered, StatusUndelivered}, StatusUndelivered},
		{[]Status{StatusDelivered, StatusExpired}, StatusExpired},
		{[]Status{StatusDelivered, StatusUnknown}, StatusUnknown},
		{[]Status{StatusUndelivered, StatusSent}, StatusSent},
		{[]Status{StatusFailed, StatusSent}, StatusFailed},
		{[]Status{StatusCanceled, StatusCanceled}, StatusCanceled},
		{nil, ""},
	}
	for _, tc := range tests {
		if got := DeriveStatus(tc.parts); got != tc.want {
			t.Errorf("DeriveStatus(%v) = %s, want %s", tc.parts, got, tc.want)
		}
	}
}

func TestEndpointWants(t *testing.T) {
	t.Parallel()
	e := WebhookEndpoint{Events: []string{"message.delivered", "message.un*"}}
	for ev, want := range map[string]bool{
		"message.delivered": true, "message.undelivered": true, "message.unknown": true,
		"message.sent": false, "message.deliveredx": false,
	} {
		if e.Wants(ev) != want {
			t.Errorf("Wants(%s) = %v", ev, !want)
		}
	}
	if !(&WebhookEndpoint{}).Wants("anything") {
		t.Error("an endpoint without filters wants everything")
	}
}
