package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/intake"
)

func TestCreateAndReadMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp, body := h.send("POST", "/v1/messages", validBody)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	m := decode[herald.MessageView](t, body)
	if m.ID == "" || m.Status != herald.StatusAccepted || m.To != "+14155550100" || m.Object != "message" {
		t.Fatalf("view %+v", m)
	}
	if loc := resp.Header.Get("Location"); loc != "/v1/messages/"+m.ID {
		t.Errorf("Location %q", loc)
	}
	if resp.Header.Get("Idempotent-Replayed") != "" {
		t.Error("first request marked as replayed")
	}

	resp, body = h.send("GET", "/v1/messages/"+m.ID, "")
	if resp.StatusCode != 200 {
		t.Fatalf("get: status %d: %s", resp.StatusCode, body)
	}
	got := decode[herald.MessageView](t, body)
	if got.ID != m.ID || len(got.PartList) != 1 || got.PartList[0].Seq != 1 {
		t.Errorf("get: %+v", got)
	}

	// The other account cannot see it.
	resp, _ = h.do(req{method: "GET", path: "/v1/messages/" + m.ID, key: h.keyB})
	if resp.StatusCode != 404 {
		t.Errorf("account B: status %d", resp.StatusCode)
	}

	resp, body = h.send("GET", "/v1/messages/"+m.ID+"/events", "")
	evs := decode[listOf[eventView]](t, body)
	if resp.StatusCode != 200 || len(evs.Data) != 1 || evs.Data[0].Type != "message.accepted" || evs.Data[0].Data.MessageID != m.ID {
		t.Errorf("events: %d %s", resp.StatusCode, body)
	}

	resp, body = h.send("POST", "/v1/messages/"+m.ID+"/cancel", "")
	if c := decode[herald.MessageView](t, body); resp.StatusCode != 200 || c.Status != herald.StatusCanceled {
		t.Errorf("cancel: %d %s", resp.StatusCode, body)
	}
	resp, body = h.send("POST", "/v1/messages/"+m.ID+"/cancel", "")
	if resp.StatusCode != 409 || apiErrorOf(t, body).Code != "not_cancelable" {
		t.Errorf("cancel again: %d %s", resp.StatusCode, body)
	}
}

func TestContentTypeWithCharset(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp, body := h.do(req{method: "POST", path: "/v1/messages", body: strings.NewReader(validBody), key: h.keyA,
		header: map[string]string{"Content-Type": "Application/JSON; charset=UTF-8"}})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	send := func(key, body string) (*http.Response, []byte) {
		return h.do(req{method: "POST", path: "/v1/messages", body: strings.NewReader(body), key: h.keyA,
			header: map[string]string{"Idempotency-Key": key}})
	}
	r1, b1 := send("order-1", validBody)
	r2, b2 := send("order-1", validBody)
	if r1.StatusCode != 202 || r2.StatusCode != 202 {
		t.Fatalf("statuses %d %d: %s %s", r1.StatusCode, r2.StatusCode, b1, b2)
	}
	if !bytes.Equal(b1, b2) {
		t.Errorf("replay differs:\n%s\n%s", b1, b2)
	}
	if r2.Header.Get("Idempotent-Replayed") != "true" || r2.Header.Get("Location") != r1.Header.Get("Location") {
		t.Errorf("replay headers %v", r2.Header)
	}
	r3, b3 := send("order-1", strings.Replace(validBody, "123456", "654321", 1))
	if r3.StatusCode != 409 || apiErrorOf(t, b3).Code != "idempotency_key_reused" {
		t.Errorf("reuse: %d %s", r3.StatusCode, b3)
	}
	// The key names one request: reusing it on another endpoint is a conflict too.
	r4, b4 := h.do(req{method: "POST", path: "/v1/messages/batch", body: strings.NewReader(`{"messages":[` + validBody + `]}`),
		key: h.keyA, header: map[string]string{"Idempotency-Key": "order-1"}})
	if r4.StatusCode != 409 || apiErrorOf(t, b4).Code != "idempotency_key_reused" {
		t.Errorf("batch with a single-message key: %d %s", r4.StatusCode, b4)
	}
}

func TestBatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := `{"messages":[` + validBody + `,{"to":"nope","from":"x","body":"y"},{"to":5},{"to":"+14155550101","from":"x","body":"z","colour":"red"},` + validBody + `]}`
	send := func() (*http.Response, []byte) {
		return h.do(req{method: "POST", path: "/v1/messages/batch", body: strings.NewReader(body), key: h.keyA,
			header: map[string]string{"Idempotency-Key": "batch-1"}})
	}
	resp, b := send()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	out := decode[batchResponse](t, b)
	if out.Accepted != 2 || out.Rejected != 3 || len(out.Data) != 5 {
		t.Fatalf("answer %s", b)
	}
	wantCodes := []string{"", "invalid_phone_number", "invalid_field_type", "unknown_field", ""}
	for i, it := range out.Data {
		if it.Index != i {
			t.Errorf("item %d has index %d", i, it.Index)
		}
		code := ""
		if it.Error != nil {
			code = it.Error.Code
		}
		if code != wantCodes[i] || (code == "") != (it.Message != nil) {
			t.Errorf("item %d: %+v %+v, want code %q", i, it.Message, it.Error, wantCodes[i])
		}
	}
	if out.Data[0].Message.ID == out.Data[4].Message.ID {
		t.Error("two items, one message")
	}
	resp2, b2 := send()
	if resp2.StatusCode != 202 || !bytes.Equal(b, b2) || resp2.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %d %v\n%s\n%s", resp2.StatusCode, resp2.Header, b, b2)
	}
}

func TestBatchOfAThousand(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp, b := h.send("POST", "/v1/messages/batch", batchOf(intake.MaxBatch))
	if resp.StatusCode != 202 {
		t.Fatalf("status %d: %.300s", resp.StatusCode, b)
	}
	if out := decode[batchResponse](t, b); out.Accepted != intake.MaxBatch {
		t.Errorf("accepted %d", out.Accepted)
	}
}

func TestListMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i := range 7 {
		typ := "otp"
		if i%2 == 1 {
			typ = "marketing"
		}
		body := fmt.Sprintf(`{"to":"+1415555010%d","from":"Herald","body":"m%d","type":%q,"reference":"r%d"}`, i, i, typ, i)
		if resp, b := h.send("POST", "/v1/messages", body); resp.StatusCode != 202 {
			t.Fatalf("create: %d %s", resp.StatusCode, b)
		}
		h.clock.advance(time.Second)
	}
	h.do(req{method: "POST", path: "/v1/messages", body: strings.NewReader(validBody), key: h.keyB})

	var seen []string
	path := "/v1/messages?limit=3"
	for pages := 0; ; pages++ {
		resp, b := h.send("GET", path, "")
		if resp.StatusCode != 200 {
			t.Fatalf("list: %d %s", resp.StatusCode, b)
		}
		page := decode[messageList](t, b)
		for _, m := range page.Data {
			seen = append(seen, m.Reference)
		}
		if page.NextCursor == nil {
			if !strings.Contains(string(b), `"next_cursor":null`) {
				t.Errorf("last page: %s", b)
			}
			break
		}
		if pages > 5 {
			t.Fatal("does not end")
		}
		path = "/v1/messages?limit=3&cursor=" + url.QueryEscape(*page.NextCursor)
	}
	if got := strings.Join(seen, ","); got != "r6,r5,r4,r3,r2,r1,r0" {
		t.Errorf("listed %s", got)
	}

	tests := []struct {
		query string
		want  string
	}{
		{"type=marketing", "r5,r3,r1"},
		{"reference=r2", "r2"},
		{"to=%2B14155550104", "r4"},
		{"status=accepted&limit=2", "r6,r5"},
		{"status=delivered", ""},
		{"created_after=2030-01-02T03:04:09Z", "r6,r5,r4"},
		{"created_before=2030-01-02T04:04:07%2B01:00", "r1,r0"},
		{"created_before=2030-01-02T04:04:07+01:00", "r1,r0"}, // an unescaped + arrives as a space
	}
	for _, tc := range tests {
		resp, b := h.send("GET", "/v1/messages?"+tc.query, "")
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", tc.query, resp.StatusCode, b)
			continue
		}
		var refs []string
		for _, m := range decode[messageList](t, b).Data {
			refs = append(refs, m.Reference)
		}
		if got := strings.Join(refs, ","); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.query, got, tc.want)
		}
	}
	if _, b := h.send("GET", "/v1/messages?status=delivered", ""); !strings.Contains(string(b), `"data":[]`) {
		t.Errorf("empty page: %s", b)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"x", "off:50", strings.Repeat("\xff", 300)} {
		got, ok := decodeCursor(encodeCursor(c))
		if !ok || got != c {
			t.Errorf("%q → %q %v", c, got, ok)
		}
	}
	for _, bad := range []string{"", "!!", "AAAA", encodeCursor("x")[1:], encodeCursor("x") + "A"} {
		if _, ok := decodeCursor(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDeliveriesHideSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	now := h.clock.now()
	m := &herald.Message{ID: "msg_d", AccountID: "acc_a", Status: herald.StatusDelivered, CreatedAt: now}
	h.st.add(m)
	h.st.mu.Lock()
	h.st.deliveries["msg_d"] = []*herald.Delivery{
		{ID: "dlv_1", AccountID: "acc_a", EventID: "evt_1", EndpointID: "whk_1", URL: "https://example.com/h",
			Secret: "whsec_TOPSECRET", Payload: []byte(`{"payload":"PRIVATE"}`), Attempts: 2, LastStatus: 500,
			LastError: "HTTP 500", State: "pending", NextAt: now.Add(time.Minute), CreatedAt: now},
		{ID: "dlv_2", AccountID: "acc_a", EventID: "evt_1", URL: "https://example.com/cb", Secret: "whsec_OTHER",
			Attempts: 1, LastStatus: 204, State: "delivered", NextAt: now, CreatedAt: now, DeliveredAt: now},
	}
	h.st.mu.Unlock()
	resp, b := h.send("GET", "/v1/messages/msg_d/deliveries", "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	for _, leak := range []string{"TOPSECRET", "OTHER", "PRIVATE", "secret", "payload"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("answer contains %q: %s", leak, b)
		}
	}
	var out struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Data) != 2 {
		t.Fatalf("answer %s: %v", b, err)
	}
	d := out.Data[0]
	if d["url"] != "https://example.com/h" || d["state"] != "pending" || d["attempts"] != 2.0 ||
		d["last_status"] != 500.0 || d["last_error"] != "HTTP 500" || d["next_at"] != "2030-01-02T03:05:05Z" {
		t.Errorf("delivery %v", d)
	}
	if _, ok := out.Data[1]["next_at"]; ok {
		t.Errorf("a delivered delivery has next_at: %v", out.Data[1])
	}
}
