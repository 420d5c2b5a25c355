package webhook

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/herald-sms/herald/internal/herald"
)

func TestReadReply(t *testing.T) {
	t.Parallel()
	received := &herald.Delivery{Payload: []byte(`{"id":"evt_1","type":"message.received","data":{"id":"inb_1"}}`)}
	delivered := &herald.Delivery{Payload: []byte(`{"id":"evt_2","type":"message.delivered","data":{"id":"msg_1"}}`)}
	tests := []struct {
		name string
		d    *herald.Delivery
		ct   string
		body string
		want string
	}{
		{"reply", received, "application/json", `{"reply":"Hi back"}`, "Hi back"},
		{"charset", received, "application/json; charset=utf-8", `{"reply":"é"}`, "é"},
		{"no reply field", received, "application/json", `{"ok":true}`, ""},
		{"not JSON", received, "text/plain", `{"reply":"x"}`, ""},
		{"malformed", received, "application/json", `{"reply":`, ""},
		{"not a received event", delivered, "application/json", `{"reply":"x"}`, ""},
		{"huge", received, "application/json", `{"reply":"` + strings.Repeat("x", maxReply) + `"}`, ""},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", tc.ct)
		rec.WriteHeader(http.StatusOK)
		rec.WriteString(tc.body)
		if got := readReply(tc.d, rec.Result()); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
