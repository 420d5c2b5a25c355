package webhook

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

func TestOutcome(t *testing.T) {
	t.Parallel()
	w, err := NewWorker(newFakeStore(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	at := created.Add(time.Hour)
	end := at.Add(300 * time.Millisecond)
	d := &herald.Delivery{ID: "d1", EndpointID: "ep_1", CreatedAt: created, Attempts: 2}
	refused := errors.New("connect: connection refused")

	tests := []struct {
		name      string
		r         result
		jitter    float64
		giveUp    bool
		disable   bool
		done      bool
		wantError string
		wantNext  time.Duration // from end; 0 for none
	}{
		{name: "200", r: result{status: 200}, done: true},
		{name: "204", r: result{status: 204}, done: true},
		{name: "299", r: result{status: 299}, done: true},
		{name: "500, third attempt: 2 min", r: result{status: 500, body: "boom"}, jitter: 0.5,
			wantError: "HTTP 500: boom", wantNext: 2 * time.Minute},
		{name: "jitter low", r: result{status: 500}, jitter: 0, wantError: "HTTP 500", wantNext: 96 * time.Second},
		{name: "404 is retried", r: result{status: 404}, jitter: 0.5, wantError: "HTTP 404", wantNext: 2 * time.Minute},
		{name: "301 is a failure", r: result{status: 301}, jitter: 0.5,
			wantError: "HTTP 301: redirects are not followed; give the endpoint its final URL", wantNext: 2 * time.Minute},
		{name: "410", r: result{status: 410, body: "gone"}, giveUp: true, disable: true, wantError: "HTTP 410: gone"},
		{name: "network error", r: result{err: refused}, jitter: 0.5, wantError: refused.Error(), wantNext: 2 * time.Minute},
		{name: "permanent", r: result{err: errors.New("invalid URL: no host"), permanent: true}, giveUp: true, wantError: "invalid URL: no host"},
		{name: "429 Retry-After longer", r: result{status: 429, retryAfter: "3600"}, jitter: 0.5, wantError: "HTTP 429", wantNext: time.Hour},
		{name: "429 Retry-After shorter", r: result{status: 429, retryAfter: "10"}, jitter: 0.5, wantError: "HTTP 429", wantNext: 2 * time.Minute},
		{name: "503 Retry-After capped", r: result{status: 503, retryAfter: "31536000"}, jitter: 0.5, wantError: "HTTP 503", wantNext: 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.jitter = func() float64 { return tt.jitter }
			a := w.outcome(d, at, end, tt.r)
			if a.DeliveryID != "d1" || !a.At.Equal(at) || a.HTTPStatus != tt.r.status {
				t.Errorf("attempt identity = %+v", a)
			}
			if a.Done != tt.done || a.GiveUp != tt.giveUp || a.DisableEndpoint != tt.disable {
				t.Errorf("done %v give up %v disable %v, want %v %v %v", a.Done, a.GiveUp, a.DisableEndpoint, tt.done, tt.giveUp, tt.disable)
			}
			if a.Error != tt.wantError {
				t.Errorf("error %q, want %q", a.Error, tt.wantError)
			}
			var next time.Duration
			if !a.NextAt.IsZero() {
				next = a.NextAt.Sub(end)
			}
			if next != tt.wantNext {
				t.Errorf("next attempt in %s, want %s", next, tt.wantNext)
			}
		})
	}
}

func TestOutcomeRetryPeriod(t *testing.T) {
	t.Parallel()
	w, err := NewWorker(newFakeStore(), Options{RetryPeriod: 72 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	d := &herald.Delivery{ID: "d1", CreatedAt: created, Attempts: 40}
	r := result{status: 500}

	justBefore := created.Add(72*time.Hour - time.Nanosecond)
	if a := w.outcome(d, justBefore, justBefore, r); a.GiveUp || a.NextAt.IsZero() {
		t.Errorf("just before the period ends: %+v, want a retry", a)
	}
	over := created.Add(72 * time.Hour)
	a := w.outcome(d, over, over, r)
	if !a.GiveUp || !a.NextAt.IsZero() || a.Error != "HTTP 500 (giving up: failing for 72h0m0s)" {
		t.Errorf("once the period is over: %+v", a)
	}
	// 410 and 2xx do not depend on the period.
	if a := w.outcome(d, over, over, result{status: 200}); !a.Done {
		t.Errorf("200 after the period: %+v", a)
	}
	// Without a creation time the delivery is retried rather than dropped.
	if a := w.outcome(&herald.Delivery{ID: "d2"}, over, over, r); a.GiveUp {
		t.Errorf("no CreatedAt: %+v", a)
	}
}

// TestSchedule walks the default schedule and checks that it keeps
// retrying for at least the retry period, at most every 4 h at the end.
func TestSchedule(t *testing.T) {
	t.Parallel()
	for _, jitter := range []float64{0, 0.5, 0.999999} {
		w, err := NewWorker(newFakeStore(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		w.jitter = func() float64 { return jitter }
		created := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		d := &herald.Delivery{ID: "d1", CreatedAt: created}
		now := created
		var gaps []time.Duration
		for {
			a := w.outcome(d, now, now, result{status: 500})
			d.Attempts++
			if a.GiveUp {
				break
			}
			gaps = append(gaps, a.NextAt.Sub(now))
			now = a.NextAt
			if d.Attempts > 100 {
				t.Fatal("never gives up")
			}
		}
		if now.Sub(created) < DefaultRetryPeriod {
			t.Errorf("jitter %v: gave up after %s", jitter, now.Sub(created))
		}
		for i := 1; i < len(gaps); i++ {
			if gaps[i] < gaps[i-1]*8/10 || gaps[i] > 4*time.Hour {
				t.Errorf("jitter %v: gap %d is %s after %s", jitter, i, gaps[i], gaps[i-1])
			}
		}
		t.Logf("jitter %.1f: %d attempts over %s; first gaps %v", jitter, d.Attempts, now.Sub(created).Round(time.Minute), gaps[:7])
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	max := time.Duration(1<<63 - 1)
	for _, tt := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"120", 120 * time.Second, true},
		{" 120 ", 120 * time.Second, true},
		{"0", 0, true},
		{"Sun, 01 Mar 2026 13:00:00 GMT", time.Hour, true},
		{"Sunday, 01-Mar-26 12:00:30 GMT", 30 * time.Second, true},
		{"Sun Mar  1 12:10:00 2026", 10 * time.Minute, true},
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true},
		{"99999999999999999999999", max, true},
		{"9223372036", 9223372036 * time.Second, true},
		{"9223372037", max, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"12abc", 0, false},
		{"tomorrow", 0, false},
	} {
		got, ok := parseRetryAfter(tt.v, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSnippet(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"  internal error\r\n", "internal error"},
		{"a\tb\x00c\x7fd", "a b c d"},
		{"caf\xc3\xa9", "café"},
		{"caf\xc3", "caf"},           // é cut by the read limit
		{"ok \xe2\x82", "ok"},        // € cut
		{"\xff\xfebad", "\uFFFDbad"}, // invalid, not cut
		{"x\xf0\x9f\x98", "x"},       // emoji cut
		{"x\xf0\x9f\x98\x80", "x😀"},  // emoji whole
	} {
		if got := snippet([]byte(tt.in)); got != tt.want {
			t.Errorf("snippet(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHostKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ url, want string }{
		{"https://Hooks.Example.com/x", "hooks.example.com"},
		{"https://hooks.example.com:8443/x?y", "hooks.example.com"},
		{"http://127.0.0.1:8080", "127.0.0.1"},
		{"http://[::1]:8080/x", "[::1]"},
		{"http://[::1]/x", "[::1]"},
		{"http://user:pw@host.test:1/x", "host.test"},
		{"https://host.test#frag", "host.test"},
		{"not a url", ""},
	} {
		if got := hostKey(tt.url); got != tt.want {
			t.Errorf("hostKey(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestDescribeDropsURL(t *testing.T) {
	t.Parallel()
	w, err := NewWorker(newFakeStore(), Options{AllowLoopback: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	d := &herald.Delivery{ID: "d1", EventID: "evt_1", Secret: testSecret, URL: "http://127.0.0.1:1/path?token=s3cr3t"}
	r := w.send(t.Context(), d, time.Now())
	if r.err == nil || r.status != 0 || r.permanent {
		t.Fatalf("send to a closed port = %+v", r)
	}
	if strings.Contains(r.err.Error(), "s3cr3t") || strings.Contains(r.err.Error(), "/path") {
		t.Errorf("error names the URL: %v", r.err)
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	t.Parallel()
	w, err := NewWorker(newFakeStore(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []float64{0, 0.999999999} {
		w.jitter = func() float64 { return j }
		for n, step := range DefaultBackoff() {
			got := w.backoff(n)
			if got < step*8/10 || got >= step*12/10 {
				t.Errorf("backoff(%d) with jitter %v = %s, want within ±20%% of %s", n, j, got, step)
			}
		}
	}
	if got := w.backoff(1000); got < 144*time.Minute || got >= 216*time.Minute {
		t.Errorf("backoff past the schedule = %s, want the last step (3 h ± 20%%)", got)
	}
	if got := w.backoff(-1); got < 4*time.Second || got > 6*time.Second {
		t.Errorf("backoff(-1) = %s", got)
	}
}
