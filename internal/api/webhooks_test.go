package api

import (
	"strings"
	"testing"
)

func TestWebhookEndpoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp, b := h.send("POST", "/v1/webhooks", `{"url":"https://example.com/hook","events":["message.delivered","message.un*"]}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	created := decode[webhookView](t, b)
	if !strings.HasPrefix(created.ID, "whk_") || !strings.HasPrefix(created.Secret, "whsec_") ||
		created.URL != "https://example.com/hook" || len(created.Events) != 2 || created.Object != "webhook_endpoint" {
		t.Fatalf("created %+v", created)
	}

	resp, b = h.send("POST", "/v1/webhooks", `{"url":"https://example.com/all"}`)
	if resp.StatusCode != 201 || !strings.Contains(string(b), `"events":[]`) {
		t.Fatalf("create without events: %d %s", resp.StatusCode, b)
	}

	h.st.mu.Lock()
	stored := h.st.endpoints[created.ID]
	h.st.mu.Unlock()
	if stored == nil || stored.Secret != created.Secret || stored.AccountID != "acc_a" {
		t.Fatalf("stored %+v", stored)
	}

	resp, b = h.send("GET", "/v1/webhooks", "")
	if resp.StatusCode != 200 || strings.Contains(string(b), "whsec_") || strings.Contains(string(b), "secret") {
		t.Fatalf("list: %d %s", resp.StatusCode, b)
	}
	if got := decode[listOf[webhookView]](t, b); len(got.Data) != 2 {
		t.Fatalf("list: %s", b)
	}
	// Account B sees none of them and cannot delete them.
	resp, b = h.do(req{method: "GET", path: "/v1/webhooks", key: h.keyB})
	if strings.TrimSpace(string(b)) != `{"data":[]}` {
		t.Errorf("account B lists %s", b)
	}
	resp, _ = h.do(req{method: "DELETE", path: "/v1/webhooks/" + created.ID, key: h.keyB})
	if resp.StatusCode != 404 {
		t.Errorf("account B deletes: %d", resp.StatusCode)
	}

	resp, b = h.send("DELETE", "/v1/webhooks/"+created.ID, "")
	if resp.StatusCode != 204 || len(b) != 0 {
		t.Fatalf("delete: %d %q", resp.StatusCode, b)
	}
	resp, _ = h.send("DELETE", "/v1/webhooks/"+created.ID, "")
	if resp.StatusCode != 404 {
		t.Errorf("delete again: %d", resp.StatusCode)
	}
}

func TestWebhookLoopbackOption(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *Options) { o.AllowLoopback = true })
	resp, b := h.send("POST", "/v1/webhooks", `{"url":"http://127.0.0.1:8080/hook"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
}

func TestKnownEventFilter(t *testing.T) {
	t.Parallel()
	for f, want := range map[string]bool{
		"*": true, "message.*": true, "part.*": true, "message.delivered": true, "message.un*": true,
		"message.received": true, "part.sent": true,
		"": false, "message": false, "message.lost": false, "messages.*": false, "delivered": false,
		strings.Repeat("m", 65): false,
	} {
		if got := knownEventFilter(f); got != want {
			t.Errorf("knownEventFilter(%q) = %v", f, got)
		}
	}
}
