package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

const (
	// snippetLen bounds the part of a failed response kept in
	// Attempt.Error.
	snippetLen = 1024
	// drainLen bounds what is read (and discarded) of a response so that
	// its connection can be reused; a longer body costs the connection.
	drainLen = 64 << 10
	// maxErrorLen bounds the text of a network error kept.
	maxErrorLen = 512
)

// result is what one request produced.
type result struct {
	status     int    // 0: no response
	err        error  // why there was no response, or why none was sent
	body       string // start of a non-2xx response body
	retryAfter string // Retry-After of a 429 or 503
	permanent  bool   // the delivery can never succeed as it is
	aborted    bool   // cancelled because the worker is stopping
	reply      string // the "reply" of a 2xx answer to message.received
}

// attempt makes one attempt at t's delivery and returns its outcome, or
// false when the worker aborted it (then the lease brings it back).
func (w *Worker) attempt(ctx context.Context, t *task) (store.Attempt, bool) {
	d := t.d
	at := w.now()
	r := w.send(ctx, d, at)
	end := w.now()
	t.latency = end.Sub(at)
	if r.aborted {
		w.log.Debug("webhook attempt cancelled: worker stopping", "delivery_id", d.ID, "host", t.host.key)
		return store.Attempt{}, false
	}
	a := w.outcome(d, at, end, r)
	w.logAttempt(d, t.host.key, a)
	if r.reply != "" && a.Done && w.opts.OnReply != nil {
		w.opts.OnReply(ctx, d, r.reply)
	}
	return a, true
}

// send posts d's payload, signed for the attempt time at.
func (w *Worker) send(ctx context.Context, d *herald.Delivery, at time.Time) result {
	sig, err := Sign(d.Secret, d.EventID, at, d.Payload)
	if err != nil {
		return result{err: err, permanent: true}
	}
	rctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return result{err: errors.New("invalid URL: does not parse"), permanent: true}
	}
	if err := checkParsedURL(req.URL, w.opts.AllowLoopback); err != nil {
		return result{err: fmt.Errorf("invalid URL: %w", err), permanent: true}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	h.Set(HeaderID, d.EventID)
	h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(HeaderSignature, sig)

	resp, err := w.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return result{aborted: true}
		}
		return result{err: describe(rctx, err, w.opts.Timeout)}
	}
	defer resp.Body.Close()
	r := result{status: resp.StatusCode}
	if r.status >= 200 && r.status <= 299 && w.opts.OnReply != nil {
		r.reply = readReply(d, resp)
	}
	if r.status < 200 || r.status > 299 {
		buf := make([]byte, snippetLen)
		n, _ := io.ReadFull(resp.Body, buf)
		r.body = snippet(buf[:n])
		if r.status == http.StatusTooManyRequests || r.status == http.StatusServiceUnavailable {
			r.retryAfter = resp.Header.Get("Retry-After")
		}
	}
	io.CopyN(io.Discard, resp.Body, drainLen)
	return r
}

// describe turns a transport error into the text recorded for the
// attempt. It drops the "Post <url>:" prefix of *url.Error: a URL may
// carry a token, and the delivery already names its URL.
func describe(rctx context.Context, err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timeout after %s", timeout)
	}
	if s := err.Error(); len(s) > maxErrorLen {
		return errors.New(truncate(s, maxErrorLen))
	}
	return err
}

// outcome turns the result of the attempt made at at and finished at end
// into the Attempt to record.
func (w *Worker) outcome(d *herald.Delivery, at, end time.Time, r result) store.Attempt {
	o := &w.opts
	a := store.Attempt{DeliveryID: d.ID, At: at, HTTPStatus: r.status}
	switch {
	case r.status >= 200 && r.status <= 299:
		a.Done = true
		return a
	case r.permanent:
		a.Error = r.err.Error()
		a.GiveUp = true
		return a
	case r.status == http.StatusGone:
		a.Error = httpError(r)
		a.GiveUp = true
		a.DisableEndpoint = d.EndpointID != ""
		return a
	case r.status != 0:
		a.Error = httpError(r)
	default:
		a.Error = r.err.Error()
	}
	// The period counts from the delivery's creation; a store that does not
	// set CreatedAt gets retries without end rather than none.
	if !d.CreatedAt.IsZero() && !end.Before(d.CreatedAt.Add(o.RetryPeriod)) {
		a.GiveUp = true
		a.Error += fmt.Sprintf(" (giving up: failing for %s)", o.RetryPeriod)
		return a
	}
	delay := w.backoff(d.Attempts)
	if ra, ok := parseRetryAfter(r.retryAfter, end); ok {
		delay = max(delay, min(ra, o.MaxRetryAfter))
	}
	a.NextAt = end.Add(delay)
	return a
}

// httpError is the recorded text of a non-2xx response.
func httpError(r result) string {
	msg := "HTTP " + strconv.Itoa(r.status)
	if r.status >= 300 && r.status <= 399 {
		return msg + ": redirects are not followed; give the endpoint its final URL"
	}
	if r.body != "" {
		msg += ": " + r.body
	}
	return msg
}

// backoff returns the wait after a failed attempt when prior attempts
// had already been made: the schedule's step, the last one repeating,
// varied by ±20 %.
func (w *Worker) backoff(prior int) time.Duration {
	b := w.opts.Backoff
	step := b[min(max(prior, 0), len(b)-1)]
	return time.Duration(float64(step) * (0.8 + 0.4*w.jitter()))
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP
// date, as a wait from now. A date in the past is no wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return time.Duration(1<<63 - 1), true
			}
			return 0, false
		}
		if n > uint64((1<<63-1)/time.Second) {
			return time.Duration(1<<63 - 1), true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// snippet makes the start of a response body fit for a record: valid
// UTF-8 without a cut rune at the end, control characters as spaces,
// trimmed.
func snippet(b []byte) string {
	// Drop a rune cut by the read limit.
	for j := len(b) - 1; j >= 0 && j >= len(b)-utf8.UTFMax; j-- {
		if utf8.RuneStart(b[j]) {
			if !utf8.FullRune(b[j:]) {
				b = b[:j]
			}
			break
		}
	}
	s := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), "\uFFFD"))
	return strings.TrimSpace(s)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// logAttempt logs a failed attempt (debug) or a give-up (warn). It names
// the delivery and host, never the URL, payload, secret or response.
func (w *Worker) logAttempt(d *herald.Delivery, host string, a store.Attempt) {
	switch {
	case a.Done:
	case a.GiveUp:
		args := []any{"delivery_id", d.ID, "event_id", d.EventID, "host", host, "status", a.HTTPStatus,
			"attempt", d.Attempts + 1, "disable_endpoint", a.DisableEndpoint}
		if a.HTTPStatus == 0 {
			args = append(args, "error", a.Error)
		}
		w.log.Warn("webhook delivery gave up", args...)
	default:
		args := []any{"delivery_id", d.ID, "host", host, "status", a.HTTPStatus,
			"attempt", d.Attempts + 1, "next_at", a.NextAt}
		if a.HTTPStatus == 0 {
			args = append(args, "error", a.Error)
		}
		w.log.Debug("webhook attempt failed", args...)
	}
}
