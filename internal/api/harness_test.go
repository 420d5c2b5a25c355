package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is a Server over fakes, behind a real httptest.Server. keyA and
// keyB are keys of accounts acc_a and acc_b.
type harness struct {
	t     *testing.T
	st    *fakeStore
	in    *fakeIntake
	clock *clock
	logs  *logBuffer
	srv   *Server
	ts    *httptest.Server
	keyA  string
	keyB  string
}

func newHarness(t *testing.T, mod ...func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, st: newFakeStore(), logs: &logBuffer{},
		clock: &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}}
	h.in = &fakeIntake{st: h.st, now: h.clock.now, idem: map[string]idemRecord{}}
	h.keyA = h.st.addKey("acc_a")
	h.keyB = h.st.addKey("acc_b")
	opts := Options{
		Intake: h.in,
		Store:  h.st,
		Logger: slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    h.clock.now,
	}
	for _, m := range mod {
		m(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	h.ts = httptest.NewServer(srv)
	t.Cleanup(h.ts.Close)
	return h
}

// req describes one request; header values "" delete the default.
type req struct {
	method string
	path   string
	body   io.Reader
	header map[string]string
	key    string // bearer key; "" for none
}

// do sends rq and returns the response with its body read.
func (h *harness) do(rq req) (*http.Response, []byte) {
	h.t.Helper()
	r, err := http.NewRequestWithContext(h.t.Context(), rq.method, h.ts.URL+rq.path, rq.body)
	if err != nil {
		h.t.Fatal(err)
	}
	if rq.body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if rq.key != "" {
		r.Header.Set("Authorization", "Bearer "+rq.key)
	}
	for k, v := range rq.header {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	resp, err := h.ts.Client().Do(r)
	if err != nil {
		h.t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, b
}

// send is do with a JSON string body and account A's key.
func (h *harness) send(method, path, body string) (*http.Response, []byte) {
	h.t.Helper()
	rq := req{method: method, path: path, key: h.keyA}
	if body != "" {
		rq.body = strings.NewReader(body)
	}
	return h.do(rq)
}

// decode unmarshals b into a fresh T.
func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// apiErrorOf decodes an error body strictly: exactly the one shape.
func apiErrorOf(t *testing.T, b []byte) errorObject {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e errorBody
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("not an error body: %s: %v", b, err)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body without code or message: %s", b)
	}
	return e.Error
}

const validBody = `{"to":"+14155550100","from":"Herald","body":"Your code is 123456"}`
