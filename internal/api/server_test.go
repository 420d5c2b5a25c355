package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-sms/herald/internal/herald"
)

// badInput is a request a client gets wrong, and the answer it must get.
type badInput struct {
	name      string
	rq        func(h *harness) req
	status    int
	code      string
	field     string
	preMsgFor string // add a message of this account first; its id replaces {id}
}

func post(path, body string) func(h *harness) req {
	return func(h *harness) req {
		return req{method: "POST", path: path, body: strings.NewReader(body), key: h.keyA}
	}
}

func get(path string) func(h *harness) req {
	return func(h *harness) req { return req{method: "GET", path: path, key: h.keyA} }
}

// chunked hides a reader's length so that the request is sent chunked.
type chunked struct{ io.Reader }

func batchOf(n int) string {
	item := `{"to":"+14155550100","from":"Herald","body":"hi"}`
	return `{"messages":[` + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + `]}`
}

var badInputs = []badInput{
	{name: "malformed JSON", rq: post("/v1/messages", `{"to":`), status: 400, code: "invalid_json"},
	{name: "syntax error", rq: post("/v1/messages", `{"to":"+14155550100",}`), status: 400, code: "invalid_json"},
	{name: "not an object", rq: post("/v1/messages", `["to"]`), status: 400, code: "invalid_json"},
	{name: "null body", rq: post("/v1/messages", `null`), status: 400, code: "invalid_json"},
	{name: "empty body", rq: post("/v1/messages", ``), status: 400, code: "invalid_json"},
	{name: "trailing data", rq: post("/v1/messages", validBody+` {}`), status: 400, code: "invalid_json"},
	{name: "trailing garbage", rq: post("/v1/messages", validBody+`x`), status: 400, code: "invalid_json"},
	{name: "unknown field", rq: post("/v1/messages", `{"to":"+14155550100","tO_be":"x"}`), status: 400, code: "unknown_field", field: "tO_be"},
	{name: "wrong type", rq: post("/v1/messages", `{"to":14155550100}`), status: 400, code: "invalid_field_type", field: "to"},
	{name: "wrong type bool", rq: post("/v1/messages", `{"smart_encoding":"yes"}`), status: 400, code: "invalid_field_type", field: "smart_encoding"},
	{name: "fractional int", rq: post("/v1/messages", `{"validity_period":1.5}`), status: 400, code: "invalid_field_type", field: "validity_period"},
	{name: "bad timestamp", rq: post("/v1/messages", `{"to":"+14155550100","send_at":"tomorrow"}`), status: 400, code: "invalid_field_type", field: "send_at"},
	{name: "timestamp not a string", rq: post("/v1/messages", `{"send_at":5}`), status: 400, code: "invalid_field_type", field: "send_at"},
	{name: "invalid phone number", rq: post("/v1/messages", `{"to":"12","from":"Herald","body":"hi"}`), status: 422, code: "invalid_phone_number", field: "to"},
	{name: "wrong content type", rq: func(h *harness) req {
		return req{method: "POST", path: "/v1/messages", body: strings.NewReader(validBody), key: h.keyA,
			header: map[string]string{"Content-Type": "text/plain"}}
	}, status: 415, code: "unsupported_media_type"},
	{name: "missing content type", rq: func(h *harness) req {
		return req{method: "POST", path: "/v1/messages", body: strings.NewReader(validBody), key: h.keyA,
			header: map[string]string{"Content-Type": ""}}
	}, status: 415, code: "unsupported_media_type"},
	{name: "foreign charset", rq: func(h *harness) req {
		return req{method: "POST", path: "/v1/messages", body: strings.NewReader(validBody), key: h.keyA,
			header: map[string]string{"Content-Type": "application/json; charset=latin1"}}
	}, status: 415, code: "unsupported_media_type"},
	{name: "form body", rq: func(h *harness) req {
		return req{method: "POST", path: "/v1/webhooks", body: strings.NewReader("url=x"), key: h.keyA,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
	}, status: 415, code: "unsupported_media_type"},
	{name: "10 MB body", rq: func(h *harness) req {
		return req{method: "POST", path: "/v1/messages", body: bytes.NewReader(make([]byte, 10<<20)), key: h.keyA}
	}, status: 413, code: "request_too_large"},
	{name: "10 MB body chunked", rq: func(h *harness) req {
		return req{method: "POST", path: "/v1/messages", body: chunked{bytes.NewReader(bytes.Repeat([]byte(" "), 10<<20))}, key: h.keyA}
	}, status: 413, code: "request_too_large"},
	{name: "batch over 4 MiB", rq: func(h *harness) req {
		return req{method: "POST", path: "/v1/messages/batch", body: chunked{bytes.NewReader(bytes.Repeat([]byte(" "), 5<<20))}, key: h.keyA}
	}, status: 413, code: "request_too_large"},
	{name: "missing key", rq: func(h *harness) req { return req{method: "GET", path: "/v1/messages"} }, status: 401, code: "unauthorized"},
	{name: "bad key", rq: func(h *harness) req {
		return req{method: "GET", path: "/v1/messages", key: "hk" + strings.Repeat("a", 42)}
	}, status: 401, code: "unauthorized"},
	{name: "garbage key", rq: func(h *harness) req { return req{method: "GET", path: "/v1/messages", key: "hunter2"} }, status: 401, code: "unauthorized"},
	{name: "right prefix wrong secret", rq: func(h *harness) req {
		return req{method: "GET", path: "/v1/messages", key: h.keyA[:12] + strings.Repeat("Z", 32)}
	}, status: 401, code: "unauthorized"},
	{name: "other scheme", rq: func(h *harness) req {
		return req{method: "GET", path: "/v1/messages", header: map[string]string{"Authorization": "Token " + h.keyA}}
	}, status: 401, code: "unauthorized"},
	{name: "basic auth wrong password", rq: func(h *harness) req {
		r := req{method: "GET", path: "/v1/messages", header: map[string]string{}}
		r.header["Authorization"] = basic("acc_a", "nope")
		return r
	}, status: 401, code: "unauthorized"},
	{name: "bad key before bad body", rq: func(h *harness) req {
		return req{method: "POST", path: "/v1/messages", body: strings.NewReader("{"), key: "nope"}
	}, status: 401, code: "unauthorized"},
	{name: "unknown message id", rq: get("/v1/messages/msg_00000000000000000000000000"), status: 404, code: "not_found"},
	{name: "another account's id", rq: get("/v1/messages/{id}"), preMsgFor: "acc_b", status: 404, code: "not_found"},
	{name: "another account's events", rq: get("/v1/messages/{id}/events"), preMsgFor: "acc_b", status: 404, code: "not_found"},
	{name: "another account's deliveries", rq: get("/v1/messages/{id}/deliveries"), preMsgFor: "acc_b", status: 404, code: "not_found"},
	{name: "cancel another account's", rq: post("/v1/messages/{id}/cancel", ""), preMsgFor: "acc_b", status: 404, code: "not_found"},
	{name: "id with control characters", rq: get("/v1/messages/%00%01"), status: 404, code: "not_found"},
	{name: "batch of 1,001", rq: post("/v1/messages/batch", batchOf(1001)), status: 422, code: "batch_too_large", field: "messages"},
	{name: "empty batch", rq: post("/v1/messages/batch", `{"messages":[]}`), status: 422, code: "batch_empty", field: "messages"},
	{name: "batch without messages", rq: post("/v1/messages/batch", `{}`), status: 422, code: "batch_empty", field: "messages"},
	{name: "batch messages not an array", rq: post("/v1/messages/batch", `{"messages":{}}`), status: 400, code: "invalid_field_type", field: "messages"},
	{name: "batch unknown top-level field", rq: post("/v1/messages/batch", `{"messages":[],"extra":1}`), status: 400, code: "unknown_field", field: "extra"},
	{name: "cursor garbage", rq: get("/v1/messages?cursor=%27%3B%20DROP%20TABLE"), status: 400, code: "invalid_cursor", field: "cursor"},
	{name: "cursor plausible base64", rq: get("/v1/messages?cursor=b2ZmOjUw"), status: 400, code: "invalid_cursor", field: "cursor"},
	{name: "cursor checksummed but refused by store", rq: get("/v1/messages?cursor=" + encodeCursor("nope")), status: 400, code: "invalid_cursor", field: "cursor"},
	{name: "limit zero", rq: get("/v1/messages?limit=0"), status: 400, code: "invalid_parameter", field: "limit"},
	{name: "limit too big", rq: get("/v1/messages?limit=1001"), status: 400, code: "invalid_parameter", field: "limit"},
	{name: "limit not a number", rq: get("/v1/messages?limit=ten"), status: 400, code: "invalid_parameter", field: "limit"},
	{name: "limit twice", rq: get("/v1/messages?limit=1&limit=2"), status: 400, code: "invalid_parameter", field: "limit"},
	{name: "bad status filter", rq: get("/v1/messages?status=lost"), status: 400, code: "invalid_parameter", field: "status"},
	{name: "bad type filter", rq: get("/v1/messages?type=spam"), status: 400, code: "invalid_parameter", field: "type"},
	{name: "bad created_after", rq: get("/v1/messages?created_after=yesterday"), status: 400, code: "invalid_parameter", field: "created_after"},
	{name: "unknown query parameter", rq: get("/v1/messages?stauts=sent"), status: 400, code: "unknown_parameter", field: "stauts"},
	{name: "malformed query", rq: get("/v1/messages?limit=%zz"), status: 400, code: "invalid_parameter"},
	{name: "idempotency key too long", rq: func(h *harness) req {
		return req{method: "POST", path: "/v1/messages", body: strings.NewReader(validBody), key: h.keyA,
			header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}}
	}, status: 400, code: "invalid_idempotency_key", field: "Idempotency-Key"},
	{name: "idempotency key with space", rq: func(h *harness) req {
		return req{method: "POST", path: "/v1/messages", body: strings.NewReader(validBody), key: h.keyA,
			header: map[string]string{"Idempotency-Key": "a b"}}
	}, status: 400, code: "invalid_idempotency_key", field: "Idempotency-Key"},
	{name: "method not allowed", rq: func(h *harness) req { return req{method: "DELETE", path: "/v1/messages", key: h.keyA} }, status: 405, code: "method_not_allowed"},
	{name: "method not allowed on id", rq: func(h *harness) req { return req{method: "PUT", path: "/v1/messages/x", key: h.keyA} }, status: 405, code: "method_not_allowed"},
	{name: "unknown route", rq: get("/v1/nope"), status: 404, code: "not_found"},
	{name: "trailing slash", rq: get("/v1/messages/"), status: 404, code: "not_found"},
	{name: "webhook ftp URL", rq: post("/v1/webhooks", `{"url":"ftp://example.com/hook"}`), status: 422, code: "invalid_url", field: "url"},
	{name: "webhook private URL", rq: post("/v1/webhooks", `{"url":"http://10.1.2.3/hook"}`), status: 422, code: "invalid_url", field: "url"},
	{name: "webhook metadata URL", rq: post("/v1/webhooks", `{"url":"http://169.254.169.254/latest"}`), status: 422, code: "invalid_url", field: "url"},
	{name: "webhook loopback URL", rq: post("/v1/webhooks", `{"url":"http://127.0.0.1:9/hook"}`), status: 422, code: "invalid_url", field: "url"},
	{name: "webhook without URL", rq: post("/v1/webhooks", `{"events":["message.*"]}`), status: 422, code: "invalid_url", field: "url"},
	{name: "webhook unknown event", rq: post("/v1/webhooks", `{"url":"https://example.com/h","events":["message.delivered","mesage.sent"]}`), status: 422, code: "invalid_event_type", field: "events[1]"},
	{name: "webhook description not stored", rq: post("/v1/webhooks", `{"url":"https://example.com/h","description":"x"}`), status: 400, code: "unknown_field", field: "description"},
	{name: "delete unknown webhook", rq: func(h *harness) req { return req{method: "DELETE", path: "/v1/webhooks/whk_nope", key: h.keyA} }, status: 404, code: "not_found"},
	{name: "cancel unknown", rq: post("/v1/messages/msg_nope/cancel", ""), status: 404, code: "not_found"},
	{name: "analyze wrong type", rq: post("/v1/text/analyze", `{"body":["hi"]}`), status: 400, code: "invalid_field_type", field: "body"},
	{name: "analyze too many parts", rq: post("/v1/text/analyze", `{"body":"`+strings.Repeat("x", 153*255+1)+`"}`), status: 422, code: "too_many_parts", field: "body"},
}

func basic(user, pass string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

func (h *harness) prepare(c badInput) req {
	rq := c.rq(h)
	if c.preMsgFor != "" {
		m := &herald.Message{ID: herald.NewID("msg", h.clock.now().UnixMilli()), AccountID: c.preMsgFor,
			Status: herald.StatusAccepted, CreatedAt: h.clock.now()}
		h.st.add(m)
		rq.path = strings.ReplaceAll(rq.path, "{id}", m.ID)
	}
	return rq
}

func TestBadInputs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, c := range badInputs {
		t.Run(c.name, func(t *testing.T) {
			resp, body := h.do(h.prepare(c))
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			e := apiErrorOf(t, body)
			if e.Code != c.code || e.Field != c.field {
				t.Errorf("error %+v, want code %q field %q", e, c.code, c.field)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			switch c.status {
			case 401:
				if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
				}
			case 405:
				if resp.Header.Get("Allow") == "" {
					t.Error("405 without Allow")
				}
			}
		})
	}
	// Nothing a client sends may surface in the logs: no bodies, no keys.
	logs := h.logs.String()
	for _, secret := range []string{h.keyA, h.keyB, "Your code is", "tO_be", "DROP TABLE"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

// TestNoServerErrorForBadInput sends every bad input, also through the
// handler directly and with variations, and checks nothing answers 5xx.
func TestNoServerErrorForBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, c := range badInputs {
		for _, method := range []string{"", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} {
			rq := h.prepare(c)
			if method != "" {
				rq.method = method
			}
			if method != "" && (strings.Contains(c.name, "MB") || strings.Contains(c.name, "MiB")) {
				continue // slow, and TestBadInputs sends those already
			}
			resp, body := h.do(rq)
			if resp.StatusCode >= 500 {
				t.Errorf("%s (%s): status %d: %s", c.name, rq.method, resp.StatusCode, body)
			}
		}
	}
	// Every route, unauthenticated and with an empty JSON object.
	for _, rt := range routes {
		path := strings.ReplaceAll(rt.path, "{id}", "x")
		for _, key := range []string{"", h.keyA} {
			resp, body := h.do(req{method: rt.method, path: path, body: strings.NewReader("{}"), key: key})
			if resp.StatusCode >= 500 {
				t.Errorf("%s %s: status %d: %s", rt.method, path, resp.StatusCode, body)
			}
		}
	}
}

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for name, auth := range map[string]string{
		"key as password": basic("acc_a", h.keyA),
		"key as user":     basic(h.keyA, ""),
	} {
		resp, body := h.do(req{method: "POST", path: "/v1/messages", body: strings.NewReader(validBody),
			header: map[string]string{"Authorization": auth}})
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("%s: status %d: %s", name, resp.StatusCode, body)
		}
	}
}

func TestStoreUnavailable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.in.setFail(errors.New("commit: disk full"))
	resp, body := h.send("POST", "/v1/messages", validBody)
	if resp.StatusCode != 503 || apiErrorOf(t, body).Code != "store_unavailable" || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("status %d Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	resp, body = h.send("POST", "/v1/messages/batch", batchOf(2))
	if resp.StatusCode != 503 || apiErrorOf(t, body).Code != "store_unavailable" {
		t.Fatalf("batch: status %d: %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "disk full") {
		t.Errorf("cause leaked: %s", body)
	}
	if !strings.Contains(h.logs.String(), "disk full") {
		t.Error("cause not logged")
	}

	// A key that is not cached yet cannot be checked while the store is
	// down: 503, not 401, so that the client retries.
	h2 := newHarness(t)
	h2.st.setDown(true)
	resp, body = h2.send("GET", "/v1/messages", "")
	if resp.StatusCode != 503 || apiErrorOf(t, body).Code != "store_unavailable" {
		t.Fatalf("auth with store down: status %d: %s", resp.StatusCode, body)
	}
}

func TestPanicRecovered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp, body := h.do(req{method: "GET", path: "/v1/messages/msg_panic", key: h.keyA,
		header: map[string]string{"X-Request-Id": "trace-42"}})
	if resp.StatusCode != 500 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if e := apiErrorOf(t, body); e.Code != "internal_error" || e.Message != "internal error" {
		t.Errorf("error %+v", e)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, `"request_id":"trace-42"`) || !strings.Contains(logs, "msg_panic") {
		t.Errorf("panic not logged with its request id:\n%s", logs)
	}
	// The server is still serving.
	if resp, _ := h.send("GET", "/healthz", ""); resp.StatusCode != 200 {
		t.Fatalf("after panic: status %d", resp.StatusCode)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := []struct {
		sent string
		echo bool
	}{
		{"", false},
		{"abc-123_x.y:z", true},
		{"has space", false},
		{"<script>", false},
		{strings.Repeat("a", 129), false},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		resp, _ := h.do(req{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": tc.sent}})
		got := resp.Header.Get("X-Request-Id")
		if tc.echo && got != tc.sent || !tc.echo && (got == tc.sent || !strings.HasPrefix(got, "req_")) {
			t.Errorf("sent %q, got %q", tc.sent, got)
		}
		if seen[got] {
			t.Errorf("request id %q repeated", got)
		}
		seen[got] = true
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp, body := h.do(req{method: "GET", path: "/healthz"})
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
}

func TestNewRequiresDependencies(t *testing.T) {
	t.Parallel()
	full := Options{Intake: &fakeIntake{}, Store: newFakeStore()}
	for _, drop := range []func(*Options){
		func(o *Options) { o.Intake = nil },
		func(o *Options) { o.Store = nil },
	} {
		o := full
		drop(&o)
		if _, err := New(o); err == nil {
			t.Error("New accepted incomplete options")
		}
	}
	if _, err := New(full); err != nil {
		t.Fatal(err)
	}
}
