package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fuzzServer is a Server over fakes, for handler-level fuzzing, and the
// key of its one account.
func fuzzServer(f *testing.F) (*Server, string) {
	st := newFakeStore()
	key := st.addKey("acc_a")
	now := func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }
	srv, err := New(Options{
		Intake: &fakeIntake{st: st, now: now, idem: map[string]idemRecord{}},
		Store:  st,
		Now:    now,
	})
	if err != nil {
		f.Fatal(err)
	}
	return srv, key
}

// checkAnswer fails on a 5xx and on an answer that is not JSON in the
// shape its status promises.
func checkAnswer(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
	}
	if w.Header().Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}
	if w.Code >= 400 {
		dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
		dec.DisallowUnknownFields()
		var e errorBody
		if err := dec.Decode(&e); err != nil || e.Error.Code == "" {
			t.Fatalf("status %d with a body not in the error shape: %s", w.Code, w.Body.Bytes())
		}
	} else if w.Code != http.StatusNoContent && !json.Valid(w.Body.Bytes()) {
		t.Fatalf("status %d with invalid JSON: %s", w.Code, w.Body.Bytes())
	}
}

var fuzzSeeds = []string{
	validBody,
	`{"to":"+14155550100","from":"Herald","body":"x","type":"otp","send_at":"2030-01-02T03:04:05Z","validity_period":60,"callback_url":"https://e.com","reference":"r","metadata":{"a":[1,2]},"smart_encoding":true}`,
	`{"to":"+14155550100","from":"Herald","body":"\u00e9\ud83d\ude00"}`,
	`{"to":`, `{"to":5}`, `{"send_at":"tomorrow"}`, `{"send_at":5}`, `{"x":1}`, `[]`, `null`, ``, `{}{}`,
	`{"to":"+1","body":"` + strings.Repeat("a", 1000) + `"}`, `{"metadata":` + strings.Repeat("[", 500) + `}`,
	`{"validity_period":1e400}`, `{"type":"otp","type":"spam"}`, "{\"body\":\"\xff\xfe\"}", `{"TO":"+14155550100"}`,
	`  {"to":"+14155550100"}  `, `{"messages":[` + validBody + `]}`,
}

// FuzzMessagesBody posts arbitrary bodies to POST /v1/messages through
// the handler: no input may produce a 5xx, a panic, or an answer that is
// not JSON.
func FuzzMessagesBody(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	srv, key := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/v1/messages", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		checkAnswer(t, w)
		if w.Code == http.StatusAccepted && w.Header().Get("Location") == "" {
			t.Fatal("202 without Location")
		}
	})
}

// FuzzBatchBody does the same for POST /v1/messages/batch.
func FuzzBatchBody(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(`{"messages":[` + s + `]}`))
		f.Add([]byte(s))
	}
	srv, key := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/v1/messages/batch", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		checkAnswer(t, w)
	})
}

// FuzzRequestLine varies the method, path, query and headers.
func FuzzRequestLine(f *testing.F) {
	f.Add("GET", "/v1/messages?limit=5&cursor=abc", "application/json", "k1")
	f.Add("POST", "/v1/messages/x/cancel", "text/plain", "")
	f.Add("DELETE", "/v1/webhooks/whk_1", "", "x y")
	f.Add("PUT", "/v1/messages/batch", "application/json; charset=utf-16", "")
	f.Add("GET", "/v1/messages?created_after=2030-01-02T03:04:05+01:00&status=sent", "", "")
	srv, key := fuzzServer(f)
	f.Fuzz(func(t *testing.T, method, target, contentType, idemKey string) {
		r, err := http.NewRequest(method, "http://h"+target, strings.NewReader(`{}`))
		if err != nil || r.URL.Path == "" || r.URL.Path[0] != '/' {
			return
		}
		r.RequestURI = target
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("Idempotency-Key", idemKey)
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		checkAnswer(t, w)
	})
}
