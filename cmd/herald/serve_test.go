package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/postgres/pgtest"
	"github.com/herald-sms/herald/internal/webhook"
)

// platform starts a whole Herald on loopback ports with a temporary store
// and the built-in simulator, and returns it with an API key.
type testPlatform struct {
	*Platform
	url     string
	key     string
	account *herald.Account
}

func startPlatform(t testing.TB, mutate func(*Config)) *testPlatform {
	t.Helper()
	cfg := defaultConfig()
	cfg.Data = t.TempDir()
	cfg.HTTP = "127.0.0.1:0"
	cfg.WebhookAllowLoopback = true
	cfg.Simulator.ReceiptDelay = "0s"
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *Platform, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- RunPlatform(ctx, cfg, log, func(p *Platform) { ready <- p }) }()
	var p *Platform
	select {
	case p = <-ready:
	case err := <-done:
		t.Fatalf("platform did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("platform stopped with %v", err)
		}
	})
	acc, err := p.Store.EnsureAccount(t.Context(), "test")
	if err != nil {
		t.Fatal(err)
	}
	secret, k := herald.NewAPIKey(acc.ID)
	if err := p.Store.CreateAPIKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	return &testPlatform{Platform: p, url: "http://" + p.HTTPAddr, key: secret, account: acc}
}

func (tp *testPlatform) do(t *testing.T, method, path, body string, header map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, tp.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tp.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestFirstMessageDeliveredWithSignedWebhook is the README's promise: a
// message sent over HTTP reaches delivered through the built-in
// simulator, and its webhook carries a Standard Webhooks signature that
// verifies.
func TestFirstMessageDeliveredWithSignedWebhook(t *testing.T) {
	t.Parallel()
	firstMessageDelivered(t, nil)
}

// TestFirstMessageDeliveredOnPostgres is the same promise with the
// messages in PostgreSQL (HERALD_TEST_POSTGRES_URL).
func TestFirstMessageDeliveredOnPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	firstMessageDelivered(t, func(c *Config) { c.Store = url })
}

// firstMessageDelivered sends a message through a platform configured by
// mutate and waits for its delivered webhook.
func firstMessageDelivered(t *testing.T, mutate func(*Config)) {
	t.Helper()
	type hook struct {
		typ string
		err error
	}
	hooks := make(chan hook, 10)
	var secret string
	var mu sync.Mutex
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		sec := secret
		mu.Unlock()
		err := webhook.Verify(sec, r.Header, body, time.Now(), 5*time.Minute)
		var ev herald.EventView
		json.Unmarshal(body, &ev)
		hooks <- hook{typ: ev.Type, err: err}
	}))
	defer receiver.Close()
	tp := startPlatform(t, mutate)
	mu.Lock()
	secret = tp.account.WebhookSecret
	mu.Unlock()

	status, body := tp.do(t, "POST", "/v1/messages",
		`{"to":"+447911123456","body":"Your code is 123456","type":"otp","callback_url":"`+receiver.URL+`/hook"}`, nil)
	if status != http.StatusAccepted {
		t.Fatalf("POST /v1/messages: %d %s", status, body)
	}
	var m herald.MessageView
	if err := json.Unmarshal(body, &m); err != nil || m.ID == "" {
		t.Fatalf("response %s: %v", body, err)
	}
	deadline := time.After(30 * time.Second)
	for seen := map[string]bool{}; !seen["message.delivered"]; {
		select {
		case h := <-hooks:
			if h.err != nil {
				t.Fatalf("webhook %s: signature does not verify: %v", h.typ, h.err)
			}
			seen[h.typ] = true
		case <-deadline:
			t.Fatal("no delivered webhook within 30s")
		}
	}
	status, body = tp.do(t, "GET", "/v1/messages/"+m.ID, "", nil)
	if status != 200 || !bytes.Contains(body, []byte(`"status":"delivered"`)) {
		t.Fatalf("GET message: %d %s", status, body)
	}
}

// TestIdempotentConcurrentRequests: 100 concurrent identical requests with
// one Idempotency-Key create exactly one message.
func TestIdempotentConcurrentRequests(t *testing.T) {
	t.Parallel()
	idempotentConcurrentRequests(t, nil)
}

func TestIdempotentConcurrentRequestsOnPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	idempotentConcurrentRequests(t, func(c *Config) { c.Store = url })
}

func idempotentConcurrentRequests(t *testing.T, mutate func(*Config)) {
	t.Helper()
	tp := startPlatform(t, mutate)
	const n = 100
	var wg sync.WaitGroup
	ids := make(chan string, n)
	for range n {
		wg.Go(func() {
			status, body := tp.do(t, "POST", "/v1/messages", `{"to":"+447911123456","body":"once"}`,
				map[string]string{"Idempotency-Key": "order-42"})
			if status != http.StatusAccepted {
				t.Errorf("status %d %s", status, body)
				return
			}
			var m herald.MessageView
			json.Unmarshal(body, &m)
			ids <- m.ID
		})
	}
	wg.Wait()
	close(ids)
	distinct := map[string]bool{}
	for id := range ids {
		distinct[id] = true
	}
	list, _, err := tp.Store.ListMessages(t.Context(), tp.account.ID, store.MessageFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(distinct) != 1 || len(list) != 1 {
		t.Fatalf("%d distinct ids answered, %d messages stored; want 1 and 1", len(distinct), len(list))
	}
	// Same key, different body: refused.
	status, body := tp.do(t, "POST", "/v1/messages", `{"to":"+447911123456","body":"twice"}`,
		map[string]string{"Idempotency-Key": "order-42"})
	if status != http.StatusConflict || !bytes.Contains(body, []byte("idempotency_key_reused")) {
		t.Fatalf("reused key with another body: %d %s", status, body)
	}
}

// TestBadInputs: each bad request gets its documented 4xx and code, none
// a 5xx, and nothing is stored for any of them.
func TestBadInputs(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t, func(c *Config) { c.MaxParts = 3 })
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	batch := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = `{"to":"+447911123456","body":"x"}`
		}
		return `{"messages":[` + strings.Join(items, ",") + `]}`
	}
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		code                     string
	}{
		{"invalid number", "POST", "/v1/messages", `{"to":"+44123","body":"x"}`, nil, 422, "invalid_phone_number"},
		{"empty body", "POST", "/v1/messages", `{"to":"+447911123456","body":""}`, nil, 422, "empty_body"},
		{"body over the part limit", "POST", "/v1/messages", `{"to":"+447911123456","body":"` + strings.Repeat("a", 153*3+1) + `"}`, nil, 422, "body_too_long"},
		{"unknown type", "POST", "/v1/messages", `{"to":"+447911123456","body":"x","type":"spam"}`, nil, 422, "invalid_type"},
		{"malformed JSON", "POST", "/v1/messages", `{"to":`, nil, 400, "invalid_json"},
		{"wrong content type", "POST", "/v1/messages", `to=1`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"10 MB request", "POST", "/v1/messages", `{"to":"+447911123456","body":"` + strings.Repeat("a", 10<<20) + `"}`, nil, 413, "request_too_large"},
		{"bad key", "GET", "/v1/messages", "", map[string]string{"Authorization": "Bearer hk0000000000000000000000000000000000000000"}, 401, "unauthorized"},
		{"unknown message id", "GET", "/v1/messages/msg_01m8eek2m64tm8b2mcy3fcvcdh", "", nil, 404, "not_found"},
		{"send_at in the past", "POST", "/v1/messages", `{"to":"+447911123456","body":"x","send_at":"` + past + `"}`, nil, 422, "invalid_send_at"},
		{"batch of 1001", "POST", "/v1/messages/batch", batch(1001), nil, 422, "batch_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := tp.do(t, tc.method, tc.path, tc.body, tc.header)
			var e struct {
				Error struct{ Code, Field string } `json:"error"`
			}
			json.Unmarshal(body, &e)
			if status >= 500 {
				t.Fatalf("5xx: %d %s", status, body)
			}
			if status != tc.status || e.Error.Code != tc.code {
				t.Fatalf("got %d %q, want %d %q (%.200s)", status, e.Error.Code, tc.status, tc.code, body)
			}
		})
	}
	list, _, err := tp.Store.ListMessages(t.Context(), tp.account.ID, store.MessageFilter{})
	if err != nil || len(list) != 0 {
		t.Fatalf("%d messages stored after bad requests (%v)", len(list), err)
	}
}
