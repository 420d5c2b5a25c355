package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/webhook"
)

// A receiver checks every request before acting on it, with the raw body
// exactly as received, and answers 2xx only once the event is safely
// stored. It deduplicates on webhook-id: delivery is at least once.
func ExampleVerify() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // the endpoint's secret, from Herald
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(secret, r.Header, body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		// Process body once per r.Header.Get("webhook-id"), then:
		w.WriteHeader(http.StatusNoContent)
	})

	// What Herald sends, signed now.
	body := `{"id":"evt_1","type":"message.delivered"}`
	now := time.Now()
	sig, _ := webhook.Sign(secret, "evt_1", now, []byte(body))
	req := httptest.NewRequest("POST", "/hooks/herald", strings.NewReader(body))
	req.Header.Set("webhook-id", "evt_1")
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code)

	// The same request with a changed body is refused.
	req = httptest.NewRequest("POST", "/hooks/herald", strings.NewReader(strings.Replace(body, "delivered", "failed", 1)))
	req.Header.Set("webhook-id", "evt_1")
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output:
	// 204
	// 401
}
