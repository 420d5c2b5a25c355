// Package api serves Herald's JSON REST API under /v1: sending messages
// (one or a batch, idempotently), reading them with their parts, events
// and webhook deliveries, canceling, analysing a text's encoding and
// parts, and managing webhook endpoints. It is an edge: it authenticates,
// decodes and bounds requests, calls the intake service and the store
// through the small interfaces declared here, and maps application errors
// (*herald.Error kinds) to HTTP statuses and one JSON error shape.
//
// docs/api.md is the reference for clients; openapi.json (served at
// /v1/openapi.json) describes the same API and is kept in step with the
// routes by a test.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/webhook"
)

// Intake accepts and cancels messages. The intake service implements it.
type Intake interface {
	// Submit validates and stores reqs for the account in one durable
	// commit. idem carries the Idempotency-Key header ("" when absent) and
	// a SHA-256 of the request (method, path and raw body); batch is true
	// for /v1/messages/batch. Per-request problems are reported in
	// Result.Err as *herald.Error, one Result per request in order; the
	// returned error means nothing could be committed.
	Submit(ctx context.Context, accountID string, reqs []intake.Request, idem intake.Idempotency, batch bool) ([]intake.Result, error)
	// Cancel cancels one of the account's messages and returns it.
	Cancel(ctx context.Context, accountID, id string) (*herald.Message, error)
}

// Store is the part of store.Store the API reads and writes directly.
// Errors of KindNotFound (or wrapping store.ErrNotFound) mean the record
// does not exist or belongs to another account.
type Store interface {
	APIKeyByPrefix(ctx context.Context, prefix string) (*herald.APIKey, error)
	Message(ctx context.Context, accountID, id string, parts bool) (*herald.Message, error)
	ListMessages(ctx context.Context, accountID string, f store.MessageFilter) ([]*herald.Message, string, error)
	Events(ctx context.Context, accountID, messageID string) ([]herald.Event, error)
	Deliveries(ctx context.Context, accountID, messageID string) ([]*herald.Delivery, error)
	CreateEndpoint(ctx context.Context, e *herald.WebhookEndpoint) error
	Endpoints(ctx context.Context, accountID string) ([]*herald.WebhookEndpoint, error)
	DeleteEndpoint(ctx context.Context, accountID, id string) error
}

// Options configures a Server. Intake and Store are required; the rest
// have defaults.
type Options struct {
	Intake Intake
	Store  Store
	// TwoWay serves senders, policies, inbound messages, conversations and
	// opt-outs; nil answers those endpoints with 404.
	TwoWay TwoWay
	// SMPPUsers serves /v1/smpp-users; nil answers them with 404.
	SMPPUsers SMPPUsers

	// NewSecret returns a fresh webhook signing secret. Default:
	// webhook.NewSecret.
	NewSecret func() string
	// CheckURL refuses webhook URLs Herald must not call. Default:
	// webhook.CheckURL.
	CheckURL func(raw string, allowLoopback bool) error
	// AllowLoopback lets webhook endpoints point at loopback addresses
	// (for development and tests); it is passed to CheckURL.
	AllowLoopback bool

	// Verify serves /v1/verifications; nil answers them 404.
	Verify Verifier
	// Fraud serves /v1/fraud/blocks; nil: no blocks.
	Fraud FraudGuard

	// Logger receives errors behind 5xx answers, panics and, at debug
	// level, one line per request. Bodies and keys are never logged.
	// Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// KeyCacheTTL is how long a successfully verified API key record is
	// kept in memory, so that the hot path does not read the store on
	// every request; a revoked key keeps working for up to this long.
	// Zero means 30 seconds; negative disables the cache.
	KeyCacheTTL time.Duration
	// RequestTimeout bounds the store work of one request (its context's
	// deadline), so that a store that does not answer (a database cut
	// off by the network) gets a 503 store_unavailable in time rather
	// than a request that hangs. The opt-out export and import, which
	// may be long, are not bounded. Zero means 10 seconds; negative: no
	// bound.
	RequestTimeout time.Duration
}

// longRoutes are the routes RequestTimeout does not bound.
var longRoutes = map[string]bool{"GET /v1/opt-outs/export": true, "POST /v1/opt-outs/import": true}

// Server is the HTTP handler of the API. It is safe for concurrent use
// and starts no goroutines.
type Server struct {
	intake        Intake
	store         Store
	twoway        TwoWay
	newSecret     func() string
	checkURL      func(string, bool) error
	allowLoopback bool
	log           *slog.Logger
	now           func() time.Time
	keys          *keyCache
	mux           *http.ServeMux
	verify        Verifier
	fraud         FraudGuard
	smppUsers     SMPPUsers // nil: no SMPP users
	timeout       time.Duration
}

// New returns a Server for opts, or an error naming a missing option.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Intake == nil:
		return nil, errors.New("api: Options.Intake is required")
	case opts.Store == nil:
		return nil, errors.New("api: Options.Store is required")
	}
	s := &Server{
		intake:        opts.Intake,
		store:         opts.Store,
		twoway:        opts.TwoWay,
		newSecret:     opts.NewSecret,
		checkURL:      opts.CheckURL,
		allowLoopback: opts.AllowLoopback,
		log:           opts.Logger,
		now:           opts.Now,
		mux:           http.NewServeMux(),
		verify:        opts.Verify,
		fraud:         opts.Fraud,
		smppUsers:     opts.SMPPUsers,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newSecret == nil {
		s.newSecret = webhook.NewSecret
	}
	if s.checkURL == nil {
		s.checkURL = webhook.CheckURL
	}
	s.timeout = opts.RequestTimeout
	if s.timeout == 0 {
		s.timeout = 10 * time.Second
	}
	ttl := opts.KeyCacheTTL
	if ttl == 0 {
		ttl = 30 * time.Second
	}
	s.keys = newKeyCache(ttl)
	for _, rt := range routes {
		s.mux.HandleFunc(rt.method+" "+rt.path, s.handler(rt))
	}
	s.mux.HandleFunc("/", s.fallback)
	return s, nil
}

// ServeHTTP gives every response an X-Request-Id, routes the request and
// turns a panic into a logged 500 JSON answer.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	id := r.Header.Get("X-Request-Id")
	if !saneRequestID(id) {
		id = herald.NewID("req", start.UnixMilli())
	}
	rw := &responseWriter{ResponseWriter: w}
	h := rw.Header()
	h.Set("X-Request-Id", id)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "api: panic", "request_id", id, "method", r.Method,
				"route", r.Pattern, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !rw.wrote {
				s.writeErrorObject(rw, http.StatusInternalServerError,
					errorObject{Code: codeInternal, Message: "internal error"})
			}
		}
		s.log.DebugContext(r.Context(), "api: request", "request_id", id, "method", r.Method,
			"route", r.Pattern, "status", rw.status, "duration", s.now().Sub(start))
	}()
	if p := r.URL.Path; !canonicalPath(p) {
		// ServeMux would answer a non-canonical path ("/.", "//x") with an
		// HTML redirect; the API has no such routes.
		s.writeErrorObject(rw, http.StatusNotFound, errorObject{Code: codeNotFound, Message: "no route for this path"})
		return
	}
	s.mux.ServeHTTP(rw, r)
}

// canonicalPath reports whether ServeMux would route p as it is rather
// than redirect it: absolute, no "." or ".." segments, no empty segments
// (a single trailing slash is allowed).
func canonicalPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	return c == p || c != "/" && c+"/" == p
}

// saneRequestID accepts a client's X-Request-Id of 1 to 128 characters
// from [A-Za-z0-9._:-], so that it is safe to echo and to log.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func requestID(w http.ResponseWriter) string { return w.Header().Get("X-Request-Id") }

// handler wraps a route: authentication (unless public), then the route's
// function, whose error becomes the answer.
func (s *Server) handler(rt route) http.HandlerFunc {
	bounded := s.timeout > 0 && !longRoutes[rt.method+" "+rt.path]
	return func(w http.ResponseWriter, r *http.Request) {
		if bounded {
			ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		var account string
		if !rt.public {
			a, err := s.authenticate(r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			account = a
		}
		if err := rt.serve(s, w, r, account); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// fallback answers requests no route matches: 405 with Allow when the
// path exists with other methods, else 404. Both in the JSON error shape.
func (s *Server) fallback(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range routeMethods() {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	if len(allow) == 0 {
		s.writeError(w, r, notFound("route "+r.URL.Path))
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.writeErrorObject(w, http.StatusMethodNotAllowed, errorObject{
		Code:    codeMethodNotAllowed,
		Message: fmt.Sprintf("method %s is not allowed here; allowed: %s", r.Method, strings.Join(allow, ", ")),
	})
}

// responseWriter records whether and what the handler wrote, for panic
// recovery and the request log.
type responseWriter struct {
	http.ResponseWriter
	wrote  bool
	status int
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote, w.status = true, code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.wrote, w.status = true, http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeJSON answers with v as JSON. v must be marshalable; the only
// values that are not are messages whose stored metadata is not valid
// JSON, which writeJSON reports as an internal error.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	writeRaw(w, status, b)
	return nil
}

// writeJSONValue is writeJSON for values that always marshal (error bodies).
func writeJSONValue(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		b = []byte(`{"error":{"code":"internal_error","message":"internal error"}}` + "\n")
		status = http.StatusInternalServerError
	}
	writeRaw(w, status, b)
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
