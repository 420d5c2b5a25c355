package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/herald-sms/herald/internal/herald"
)

// startBench opens a bench with args (its simulator and receiver on port
// 0), starts a platform whose only carrier is the bench's simulator, and
// points the bench at it.
func startBench(t *testing.T, args ...string) (*Bench, *syncBuffer, *testPlatform) {
	t.Helper()
	m, stdout, stderr := newTestMain()
	b := m.NewBench()
	args = append([]string{"--sim", "127.0.0.1:0", "--webhook", "127.0.0.1:0", "--binds", "2", "--timeout", "60s"}, args...)
	if err := b.ParseFlags(args, func(string) string { return "" }); err != nil {
		t.Fatalf("parse flags: %v\n%s", err, stderr)
	}
	if err := b.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Registered before the platform's clean-up, so it runs after it.
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	host, port, _ := net.SplitHostPort(b.SimListenAddr())
	n, _ := strconv.Atoi(port)
	tp := startPlatform(t, func(c *Config) {
		off := false
		c.Simulator.Enabled = &off
		c.Carriers = []CarrierConfig{{Name: "bench", Host: host, Port: n, SystemID: "bench", Password: "bench", Binds: 2, Window: 200}}
	})
	b.URL, b.Key = tp.url, tp.key
	return b, stdout, tp
}

// TestBench runs a small load through a whole platform and checks that
// the counts add up: every message accepted, submitted once and
// delivered once, nothing else counted.
func TestBench(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"closed loop, single requests", []string{"--batch", "1", "--concurrency", "8"}},
		{"closed loop, batches of 50", []string{"--batch", "50", "--concurrency", "2"}},
		{"open loop, batches of 7", []string{"--batch", "7", "--rate", "2000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const n = 500
			b, stdout, tp := startBench(t, append([]string{"--messages", strconv.Itoa(n)}, tc.args...)...)
			res, err := b.Run(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != n || res.Accepted != n || res.Submitted != n || res.Delivered != n || res.ErrorCount != 0 || res.TimedOut {
				t.Fatalf("sent %d, accepted %d, submitted %d, delivered %d, timed out %v, errors %v; want %d each and none",
					res.Sent, res.Accepted, res.Submitted, res.Delivered, res.TimedOut, res.Errors, n)
			}
			for name, l := range map[string]*Latencies{"accept": res.Accept, "accept→submit": res.AcceptToSubmit, "accept→delivered": res.AcceptToDelivered} {
				if l == nil || l.Count != n || !(l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
					t.Errorf("%s latencies %+v: want %d samples in order", name, l, n)
				}
			}
			if st := b.sim.Stats(); st.Submits != n || st.Messages != n {
				t.Errorf("the simulator saw %d submits of %d messages, want %d", st.Submits, st.Messages, n)
			}
			out := stdout.String()
			want := "bench: messages=500 batch=" + strconv.Itoa(b.Batch) + " mode=" + res.Mode
			if !strings.Contains(out, want) || !strings.Contains(out, "accepted=500 submitted=500 delivered=500") || !strings.HasSuffix(out, "errors=0\n") {
				t.Errorf("summary does not say %q ... accepted=500 submitted=500 delivered=500 ... errors=0:\n%s", want, out)
			}
			// The endpoint was deleted at the end of the run.
			status, body := tp.do(t, "GET", "/v1/webhooks", "", nil)
			if status != 200 || !strings.Contains(string(body), `"data":[]`) {
				t.Errorf("webhook endpoints after the run: %d %s", status, body)
			}
		})
	}
}

// cancelAfter is a RoundTripper that cancels a context once n requests
// have been answered, as a Ctrl-C in the middle of the load would.
type cancelAfter struct {
	n      int64
	seen   atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/messages") && c.seen.Add(1) == c.n {
		c.cancel()
	}
	return resp, err
}

// TestBenchInterrupted: when the context ends during the load, the load
// stops, the requests in flight finish, and the summary of what was done
// is printed.
func TestBenchInterrupted(t *testing.T) {
	t.Parallel()
	b, stdout, tp := startBench(t, "--messages", "2000", "--concurrency", "4", "--json")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	b.Client = &http.Client{Transport: &cancelAfter{n: 50, cancel: cancel}}
	res, err := b.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Accepted < 50 || res.Accepted > 53 || res.Sent != res.Accepted || res.ErrorCount != 0 {
		t.Fatalf("interrupted %v, sent %d, accepted %d, errors %v; want interrupted after 50 to 53 accepted, no errors",
			res.Interrupted, res.Sent, res.Accepted, res.Errors)
	}
	var printed BenchResult
	if err := json.Unmarshal([]byte(stdout.String()), &printed); err != nil || printed.Accepted != res.Accepted || !printed.Interrupted {
		t.Fatalf("--json printed %q (%v)", stdout, err)
	}
	status, body := tp.do(t, "GET", "/v1/webhooks", "", nil)
	if status != 200 || !strings.Contains(string(body), `"data":[]`) {
		t.Errorf("webhook endpoints after an interrupted run: %d %s", status, body)
	}
}

func TestBenchFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{"HERALD_URL": "http://herald.test:9000", "HERALD_API_KEY": "hk_from_env"}
	m, _, stderr := newTestMain()
	b := m.NewBench()
	if err := b.ParseFlags([]string{"--batch", "100", "--rate", "500"}, func(k string) string { return env[k] }); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if b.URL != env["HERALD_URL"] || b.Key != env["HERALD_API_KEY"] || b.Batch != 100 || b.Rate != 500 || b.Messages != 20000 {
		t.Fatalf("parsed %+v", b)
	}
	for _, args := range [][]string{
		{"--batch", "0"}, {"--batch", "1001"}, {"--messages", "0"}, {"--rate", "-1"},
		{"--to-prefix", "447911"}, {"--to-prefix", "+4479111", "--messages", "200000"},
		{"--sim-receipt-delay", "soon"}, {"extra"},
	} {
		m, _, stderr := newTestMain()
		if err := m.NewBench().ParseFlags(args, func(string) string { return "" }); m.exitCode(err) != 2 {
			t.Errorf("ParseFlags(%q) = %v, want a usage error", args, err)
		}
		if !strings.Contains(stderr.String(), "Usage: herald bench") {
			t.Errorf("ParseFlags(%q) printed no usage:\n%s", args, stderr)
		}
	}
	// -h must not show a key taken from the environment.
	m, _, stderr = newTestMain()
	m.NewBench().ParseFlags([]string{"-h"}, func(k string) string { return env[k] })
	if strings.Contains(stderr.String(), "hk_from_env") {
		t.Errorf("-h shows the API key:\n%s", stderr)
	}
}

func TestDestinationWidth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix string
		n      int
		digits string
		width  int
	}{
		{"+4479111", 20000, "4479111", 5},
		{"+4479111", 100000, "4479111", 5},
		{"+447911", 500, "447911", 6}, // widths 3 to 5 make numbers too short
		{"+447911", 300000, "447911", 6},
	}
	for _, tc := range tests {
		digits, width, err := destinationWidth(tc.prefix, tc.n)
		if err != nil || digits != tc.digits || width != tc.width {
			t.Errorf("destinationWidth(%q, %d) = %q, %d, %v; want %q, %d", tc.prefix, tc.n, digits, width, err, tc.digits, tc.width)
		}
	}
	for _, bad := range []struct {
		prefix string
		n      int
	}{{"+4479111", 100001}, {"+447911", 1000000} /* 4479113… are not valid */, {"4479111", 10}, {"+44 7911", 10}, {"+", 10}} {
		if _, _, err := destinationWidth(bad.prefix, bad.n); err == nil {
			t.Errorf("destinationWidth(%q, %d) succeeded", bad.prefix, bad.n)
		}
	}
}

func TestTrackerRequestBody(t *testing.T) {
	t.Parallel()
	tr := newTracker(200, "4479111", 5, `say "hi" <now>`)
	if got, want := string(tr.requestBody(7, 8, false)), `{"to":"+447911100007","body":"say \"hi\" \u003cnow\u003e #7"}`; got != want {
		t.Errorf("single body\n got %s\nwant %s", got, want)
	}
	var batch struct {
		Messages []struct{ To, Body string } `json:"messages"`
	}
	if err := json.Unmarshal(tr.requestBody(98, 101, true), &batch); err != nil {
		t.Fatal(err)
	}
	for k, m := range batch.Messages {
		i, ok := tr.index(m.To)
		if !ok || i != 98+k || m.Body != `say "hi" <now> #`+strconv.Itoa(i) {
			t.Errorf("batch item %d: %+v (index %d, %v)", k, m, i, ok)
		}
	}
	if len(batch.Messages) != 3 {
		t.Errorf("batch of %d, want 3", len(batch.Messages))
	}
	for _, addr := range []string{"447911100200", "44791110000", "4479111000000", "447911200001", "+44791110000x"} {
		if i, ok := tr.index(addr); ok {
			t.Errorf("index(%q) = %d, want no message", addr, i)
		}
	}
}

// TestHistogramError: every value reads back within 1% through its bucket,
// and buckets are contiguous and ordered.
func TestHistogramError(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	values := []int64{0, 1, 255, 256, 257, 511, 512, 1000, 1e6, 1e9, 3600e9, math.MaxInt64 / 2}
	for range 100000 {
		values = append(values, int64(math.Exp(r.Float64()*40))) // 1 ns to 7 ks, log-uniform
	}
	for _, v := range values {
		got := histValue(histIndex(v))
		if diff := math.Abs(float64(got - v)); diff > 0.01*float64(v) && diff > 1 {
			t.Fatalf("value %d reads back as %d (bucket %d)", v, got, histIndex(v))
		}
	}
	for i := 1; i < 5000; i++ {
		if histValue(i) <= histValue(i-1) {
			t.Fatalf("bucket %d (%d) is not above bucket %d (%d)", i, histValue(i), i-1, histValue(i-1))
		}
		if histIndex(histValue(i)) != i {
			t.Fatalf("the middle of bucket %d (%d) falls in bucket %d", i, histValue(i), histIndex(histValue(i)))
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	t.Parallel()
	var h histogram
	if s := h.summary(); s.Count != 0 || s.P99 != 0 || s.Max != 0 {
		t.Fatalf("empty: %+v", s)
	}
	r := rand.New(rand.NewPCG(3, 4))
	var vs []int64
	for range 10000 {
		v := int64(r.ExpFloat64() * 5e6) // exponential, mean 5 ms
		vs = append(vs, v)
		h.record(v)
	}
	h.record(-5) // a clock step: counts as 0
	vs = append(vs, 0)
	slices.Sort(vs)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		exact := vs[int(math.Ceil(q*float64(len(vs))))-1]
		if got := h.quantile(q); math.Abs(float64(got-exact)) > 0.01*float64(exact) {
			t.Errorf("quantile %v = %d, exact %d", q, got, exact)
		}
	}
	if h.max != vs[len(vs)-1] || h.quantile(1) != h.max {
		t.Errorf("max %d, quantile(1) %d, want %d", h.max, h.quantile(1), vs[len(vs)-1])
	}
	s := h.summary()
	if s.Count != len(vs) || s.Max != float64(h.max)/1e6 {
		t.Errorf("summary %+v", s)
	}
}

func TestBenchResultLine(t *testing.T) {
	t.Parallel()
	r := &BenchResult{Messages: 100, Batch: 10, Mode: "open", Rate: 50, Sent: 100, Accepted: 98, Submitted: 98, Delivered: -1,
		AcceptedPerSec: 49.6, SubmittedPerSec: 49.2,
		Accept:         &Latencies{Count: 98, P50: 1.234, P90: 12.34, P99: 123.4, P999: 1234, Max: 12345},
		AcceptToSubmit: &Latencies{},
		ErrorCount:     2, Errors: map[string]int{"503 store_unavailable": 1, "item invalid_phone_number": 1}}
	want := "bench: messages=100 batch=10 mode=open rate=50/s sent=100 accepted=98 submitted=98 delivered=- " +
		"accepted/s=50 submitted/s=49 delivered/s=- | accept p50=1.23ms p90=12.3ms p99=123ms p99.9=1.23s max=12.3s | " +
		"accept→submit no samples | accept→delivered not measured | errors=2 (503 store_unavailable=1, item invalid_phone_number=1)"
	if got := r.Line(); got != want {
		t.Errorf("line\n got %s\nwant %s", got, want)
	}
}

// BenchmarkPlatform runs `herald bench` against a whole platform in
// process (b.N messages, each a single request or in batches of 100), so
// that the platform can be profiled with the test flags:
//
//	go test ./cmd/herald -run '^$' -bench Platform/batch=1 -benchtime 20000x -cpuprofile cpu.out
//
// With HERALD_BENCH_STORE=postgres://… it runs on that (empty) database.
//
// The figures are of the client and the server on the same CPUs; docs/bench.md
// describes the two-process run whose figures are published.
func BenchmarkPlatform(b *testing.B) {
	tuneGC(os.Getenv) // as `herald serve` does
	for _, batch := range []int{1, 100} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			m := &Main{Stdout: io.Discard, Stderr: io.Discard}
			bench := m.NewBench()
			bench.Messages, bench.Batch, bench.SimAddr, bench.Binds = b.N, batch, "127.0.0.1:0", 2
			if err := bench.Open(b.Context()); err != nil {
				b.Fatal(err)
			}
			defer bench.Close()
			host, port, _ := net.SplitHostPort(bench.SimListenAddr())
			n, _ := strconv.Atoi(port)
			cfg := defaultConfig()
			cfg.Data = b.TempDir()
			cfg.Store = os.Getenv("HERALD_BENCH_STORE") // a postgres:// URL to run on PostgreSQL
			cfg.HTTP = "127.0.0.1:0"
			cfg.WebhookAllowLoopback = true
			off := false
			cfg.Simulator.Enabled = &off
			cfg.Carriers = []CarrierConfig{{Name: "bench", Host: host, Port: n, Binds: 2, Window: 200}}
			if err := cfg.validate(); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			ready, done := make(chan *Platform, 1), make(chan error, 1)
			go func() {
				done <- RunPlatform(ctx, cfg, slog.New(slog.DiscardHandler), func(p *Platform) { ready <- p })
			}()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					b.Error(err)
				}
			}()
			var p *Platform
			select {
			case p = <-ready:
			case err := <-done:
				b.Fatal(err)
			}
			acc, err := p.Store.EnsureAccount(b.Context(), "bench")
			if err != nil {
				b.Fatal(err)
			}
			secret, k := herald.NewAPIKey(acc.ID)
			if err := p.Store.CreateAPIKey(b.Context(), k); err != nil {
				b.Fatal(err)
			}
			bench.URL, bench.Key = "http://"+p.HTTPAddr, secret

			b.ResetTimer()
			res, err := bench.Run(b.Context())
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if res.ErrorCount > 0 || res.Delivered != b.N {
				b.Fatalf("%d of %d delivered; errors %v", res.Delivered, b.N, res.Errors)
			}
			b.ReportMetric(res.AcceptedPerSec, "accepted/s")
			b.ReportMetric(res.SubmittedPerSec, "submitted/s")
			b.ReportMetric(res.DeliveredPerSec, "delivered/s")
			b.ReportMetric(res.Accept.P99, "accept-p99-ms")
		})
	}
}
