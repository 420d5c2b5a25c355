package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-sms/herald/internal/smscsim"
	"github.com/herald-sms/herald/internal/webhook"
)

// Bench is `herald bench`: it drives a running Herald through its HTTP
// API, sees every submit_sm arrive at its own SMSC simulator (the carrier
// Herald was started with) and every final webhook arrive at its own
// receiver, and prints the rates and latency percentiles in one line.
//
// Use it as ParseFlags (or set the fields), Open, Run, Close. Open starts
// the simulator and the webhook receiver, so that a test can point a
// platform at SimAddr before calling Run. A Bench runs once.
type Bench struct {
	URL string // Herald API base URL
	Key string // API key

	Messages int // messages to send
	Batch    int // messages per request: 1 uses POST /v1/messages, more POST /v1/messages/batch
	// Rate, when positive, makes the load open: Rate messages a second
	// on a fixed timetable, each latency counted from the scheduled
	// start (so a slow server cannot hide its queueing by slowing the
	// client down). Zero is the closed loop.
	Rate float64
	// Concurrency is the number of requests in flight in the closed loop
	// (default 64), and the cap on them in the open loop (default 1000).
	Concurrency int

	// SimAddr is where the bench simulator listens ("" for none: Herald
	// is bound to an external carrier, and submits are not timed).
	SimAddr         string
	SimReceiptDelay smscsim.Delay
	// Binds is how many binds to the simulator to wait for before the
	// load starts (Herald reconnects with a backoff of up to a minute).
	Binds int
	// WebhookAddr is where the webhook receiver listens ("" for none:
	// delivery is not timed).
	WebhookAddr string
	// Timeout bounds the wait for the last submits and webhooks after the
	// load, and the wait for the binds before it.
	Timeout  time.Duration
	Body     string // message text; " #<n>" is appended to each
	ToPrefix string // destinations are ToPrefix + zero-padded message number
	JSON     bool   // print the result as JSON (the header goes to Stderr)

	// Client sends the requests. Default: one with connections enough for
	// Concurrency and a 30 s timeout per request.
	Client *http.Client

	Stdout io.Writer
	Stderr io.Writer

	tr      *tracker
	sim     *smscsim.Simulator
	hookLn  net.Listener
	hookSrv *http.Server
	hookWG  sync.WaitGroup
	// hookSecret is the endpoint's signing secret, set once registered.
	hookSecret atomic.Pointer[string]
}

// NewBench returns the bench subcommand with its defaults, writing to m's
// streams.
func (m *Main) NewBench() *Bench {
	return &Bench{
		Messages:    20000,
		Batch:       1,
		SimAddr:     "127.0.0.1:2775",
		Binds:       1,
		WebhookAddr: "127.0.0.1:0",
		Timeout:     2 * time.Minute,
		Body:        "Herald bench",
		ToPrefix:    "+4479111",
		Stdout:      m.Stdout,
		Stderr:      m.Stderr,
	}
}

func (m *Main) runBench(ctx context.Context, args []string) error {
	b := m.NewBench()
	if err := b.ParseFlags(args, os.Getenv); err != nil {
		return err
	}
	if err := b.Open(ctx); err != nil {
		return err
	}
	_, err := b.Run(ctx)
	return errors.Join(err, b.Close())
}

// ParseFlags reads the command line (and HERALD_URL, HERALD_API_KEY
// through getenv) into b. A bad value is reported with the usage on
// Stderr and returns errUsage.
func (b *Bench) ParseFlags(args []string, getenv func(string) string) error {
	m := &Main{Stdout: b.Stdout, Stderr: b.Stderr}
	fs := m.flagSet("bench", "[flags]")
	var cf clientFlags
	cf.add(fs)
	fs.IntVar(&b.Messages, "messages", b.Messages, "`number` of messages to send")
	fs.Float64Var(&b.Rate, "rate", 0, "open loop: send this many `messages/s` on a fixed timetable (0: closed loop)")
	fs.IntVar(&b.Concurrency, "concurrency", 0, "`requests` in flight: closed loop (default 64); open loop: at most (default 1000)")
	fs.IntVar(&b.Batch, "batch", b.Batch, "`messages` per request: 1 posts /v1/messages, more /v1/messages/batch (at most 1000)")
	fs.StringVar(&b.SimAddr, "sim", b.SimAddr, "run the SMSC simulator Herald submits to on this `address` (\"\": an external one; submits not timed)")
	receiptDelay := fs.String("sim-receipt-delay", "0s", "simulator: delay from submit to receipt, `duration` or range (1s-5s)")
	fs.IntVar(&b.Binds, "binds", b.Binds, "wait for this `many` binds to the simulator before the load (the carrier's binds=)")
	fs.StringVar(&b.WebhookAddr, "webhook", b.WebhookAddr, "receive the final webhooks on this `address` (\"\": none; delivery not timed)")
	fs.DurationVar(&b.Timeout, "timeout", b.Timeout, "how long to wait for the binds before the load and for the last deliveries after it")
	fs.StringVar(&b.Body, "body", b.Body, "message `text`; each message gets \" #<n>\" appended")
	fs.StringVar(&b.ToPrefix, "to-prefix", b.ToPrefix, "destinations are this `prefix` and the zero-padded message number")
	fs.BoolVar(&b.JSON, "json", false, "print the result as JSON (the header goes to stderr)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cf.resolve(getenv)
	b.URL, b.Key = cf.url, cf.key
	var err error
	if b.SimReceiptDelay, err = smscsim.ParseDelay(*receiptDelay); err != nil {
		return usageErrorf(fs, "--sim-receipt-delay: %v", err)
	}
	switch {
	case b.Messages < 1:
		return usageErrorf(fs, "--messages: %d is not positive", b.Messages)
	case b.Batch < 1 || b.Batch > 1000:
		return usageErrorf(fs, "--batch: %d is not between 1 and 1000", b.Batch)
	case b.Rate < 0 || math.IsInf(b.Rate, 0) || math.IsNaN(b.Rate):
		return usageErrorf(fs, "--rate: %v is not a rate", b.Rate)
	case b.Concurrency < 0:
		return usageErrorf(fs, "--concurrency: %d is negative", b.Concurrency)
	case b.Timeout <= 0:
		return usageErrorf(fs, "--timeout: %v is not positive", b.Timeout)
	}
	if _, _, err := destinationWidth(b.ToPrefix, b.Messages); err != nil {
		return usageErrorf(fs, "--to-prefix: %v", err)
	}
	return nil
}

// Open checks the settings, then starts the simulator and the webhook
// receiver (those not disabled). Close stops them.
func (b *Bench) Open(ctx context.Context) error {
	if b.Concurrency == 0 {
		b.Concurrency = 64
		if b.Rate > 0 {
			b.Concurrency = 1000
		}
	}
	b.Batch = max(b.Batch, 1)
	digits, width, err := destinationWidth(b.ToPrefix, b.Messages)
	if err != nil {
		return fmt.Errorf("bench: --to-prefix: %w", err)
	}
	b.tr = newTracker(b.Messages, digits, width, b.Body)
	if b.SimAddr != "" {
		sim, err := smscsim.New(smscsim.Options{
			Addr:         b.SimAddr,
			ReceiptDelay: b.SimReceiptDelay,
			OnSubmit:     b.tr.onSubmit,
		})
		if err != nil {
			return fmt.Errorf("bench: simulator: %w", err)
		}
		if err := sim.Start(ctx); err != nil {
			return fmt.Errorf("bench: simulator on %s: %w (with --sim \"\" an external one is used)", b.SimAddr, err)
		}
		b.sim = sim
	}
	if b.WebhookAddr != "" {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", b.WebhookAddr)
		if err != nil {
			b.Close()
			return fmt.Errorf("bench: webhook receiver: %w", err)
		}
		b.hookLn = ln
		b.hookSrv = &http.Server{Handler: http.HandlerFunc(b.serveHook), ReadHeaderTimeout: 10 * time.Second}
		b.hookWG.Go(func() { b.hookSrv.Serve(ln) })
	}
	return nil
}

// SimListenAddr returns the address the simulator listens on ("" without
// one): SimAddr with the port it got when SimAddr's was 0.
func (b *Bench) SimListenAddr() string {
	if b.sim == nil {
		return ""
	}
	return b.sim.Addr()
}

// hookURL is the URL Herald is given for the receiver. A wildcard listen
// address is reached on loopback.
func (b *Bench) hookURL() string {
	host, port, _ := net.SplitHostPort(b.hookLn.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/hook"
}

// Close stops the webhook receiver and the simulator and waits for them.
// It may be called more than once.
func (b *Bench) Close() error {
	var errs []error
	if b.hookSrv != nil {
		b.stopReceiver()
	}
	if b.sim != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.sim.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("bench: simulator: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (b *Bench) stopReceiver() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if b.hookSrv.Shutdown(ctx) != nil {
		b.hookSrv.Close()
	}
	b.hookWG.Wait()
}

// finalEvents are the webhook events the bench subscribes to.
var finalEvents = []string{"message.delivered", "message.undelivered", "message.expired", "message.failed"}

// Run sends the load, waits for the submits and webhooks (up to Timeout),
// prints the header and the summary, and returns the result. When ctx
// ends, the load stops, nothing more is waited for, and the summary of
// what was done is printed all the same; Run then returns no error.
func (b *Bench) Run(ctx context.Context) (*BenchResult, error) {
	if b.tr == nil {
		return nil, errors.New("bench: Run before Open")
	}
	hc := b.Client
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = b.Concurrency + 16
		tr.MaxIdleConnsPerHost = b.Concurrency + 16
		hc = &http.Client{Transport: tr, Timeout: 30 * time.Second}
		defer tr.CloseIdleConnections()
	}
	// Several URLs (comma-separated: the nodes of a cluster) take the
	// requests in turn; the first also registers the webhook receiver.
	var cs []*apiClient
	for _, u := range strings.Split(b.URL, ",") {
		c, err := newAPIClient(u, b.Key, hc)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		cs = append(cs, c)
	}
	c := cs[0]
	// The clean-up runs whether or not ctx has ended.
	cleanup := context.WithoutCancel(ctx)

	// Preflight: the server answers, the key works, no stale endpoint
	// of an earlier run is competing for the webhook worker.
	for _, c := range cs {
		if _, _, err := c.do(ctx, http.MethodGet, "/healthz", nil, nil); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", c.base, err)
		}
	}
	var hooks struct {
		Data []struct{ ID, URL string } `json:"data"`
	}
	if err := c.doJSON(ctx, http.MethodGet, "/v1/webhooks", nil, &hooks); err != nil {
		return nil, fmt.Errorf("bench: list webhooks: %w", err)
	}
	if n := len(hooks.Data); n > 0 {
		fmt.Fprintf(b.Stderr, "bench: warning: the account has %d other webhook endpoint(s) (%s ...); they get these events too\n", n, hooks.Data[0].URL)
	}
	hookDesc := "none (--webhook \"\": delivery not timed)"
	if b.hookLn != nil {
		var ep struct{ ID, Secret string }
		err := c.doJSON(ctx, http.MethodPost, "/v1/webhooks", map[string]any{"url": b.hookURL(), "events": finalEvents}, &ep)
		if ae, ok := errors.AsType[*apiError](err); ok && ae.Code == "invalid_url" {
			return nil, fmt.Errorf("bench: register the webhook receiver: %w (start herald serve with --webhook-allow-loopback, or run bench with --webhook \"\")", err)
		} else if err != nil {
			return nil, fmt.Errorf("bench: register the webhook receiver: %w", err)
		}
		b.hookSecret.Store(&ep.Secret)
		defer func() {
			dctx, cancel := context.WithTimeout(cleanup, 10*time.Second)
			defer cancel()
			if err := c.doJSON(dctx, http.MethodDelete, "/v1/webhooks/"+ep.ID, nil, nil); err != nil {
				fmt.Fprintf(b.Stderr, "bench: warning: delete webhook endpoint %s: %v\n", ep.ID, err)
			}
		}()
		hookDesc = fmt.Sprintf("%s (endpoint %s, events %s)", b.hookURL(), ep.ID, strings.Join(finalEvents, ","))
	}
	simDesc := "external (--sim \"\": submits not timed)"
	if b.sim != nil {
		up, err := b.waitBinds(ctx)
		if err != nil {
			return nil, err
		}
		simDesc = fmt.Sprintf("%s (%d binds up, receipt delay %s)", b.sim.Addr(), up, b.SimReceiptDelay)
	}

	head := b.Stdout
	if b.JSON {
		head = b.Stderr
	}
	t := b.tr
	mode := fmt.Sprintf("closed loop, %d requests in flight", b.Concurrency)
	if b.Rate > 0 {
		mode = fmt.Sprintf("open loop, %g messages/s, at most %d requests in flight", b.Rate, b.Concurrency)
	}
	fmt.Fprintf(head, "bench: %s: %d messages to +%s…+%s, batch %d, %s\n",
		b.URL, b.Messages, t.dest(0), t.dest(b.Messages-1), b.Batch, mode)
	fmt.Fprintf(head, "bench: simulator %s; webhooks %s\n", simDesc, hookDesc)
	fmt.Fprintf(head, "bench: client %s %s %s/%s, %d CPUs, GOMAXPROCS %d%s\n", version, runtime.Version(),
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), loadAverage())

	loadDur := b.load(ctx, cs)
	timedOut := false
	if ctx.Err() == nil {
		timedOut = !b.waitDone(ctx)
	}
	res := b.result(loadDur, ctx.Err() != nil, timedOut)
	if b.JSON {
		printJSON(b.Stdout, res)
	} else {
		fmt.Fprintln(b.Stdout, res.Line())
	}
	if e := t.firstTransportErr.Load(); e != nil {
		fmt.Fprintf(b.Stderr, "bench: first transport error: %s\n", *e)
	}
	return res, nil
}

// waitBinds waits until Binds sessions are bound to the simulator and
// returns how many are.
func (b *Bench) waitBinds(ctx context.Context) (int64, error) {
	if up := b.sim.Stats().Sessions; up >= int64(b.Binds) {
		return up, nil
	}
	fmt.Fprintf(b.Stderr, "bench: waiting for %d bind(s) to the simulator on %s (herald serve --simulator off --carrier 'smpp://bench:bench@%s?binds=%d&window=200')\n",
		b.Binds, b.sim.Addr(), b.sim.Addr(), b.Binds)
	deadline := time.NewTimer(b.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("bench: waiting for binds: %w", ctx.Err())
		case <-deadline.C:
			return 0, fmt.Errorf("bench: no %d bind(s) to the simulator on %s within %v", b.Binds, b.sim.Addr(), b.Timeout)
		case <-tick.C:
			if up := b.sim.Stats().Sessions; up >= int64(b.Binds) {
				return up, nil
			}
		}
	}
}

// load sends every message (or stops when ctx ends) and returns how long
// it took, from the first request's start to the last request's end.
// Requests already sent when ctx ends are let finish.
func (b *Bench) load(ctx context.Context, cs []*apiClient) time.Duration {
	t := b.tr
	reqCtx := context.WithoutCancel(ctx)
	jobs := (b.Messages + b.Batch - 1) / b.Batch
	begin := t.now()
	var wg sync.WaitGroup
	if b.Rate <= 0 {
		var next atomic.Int64
		for range min(b.Concurrency, jobs) {
			wg.Go(func() {
				for ctx.Err() == nil {
					j := int(next.Add(1) - 1)
					if j >= jobs {
						return
					}
					b.send(reqCtx, cs[j%len(cs)], j, t.now())
				}
			})
		}
		wg.Wait()
		return time.Duration(t.now() - begin)
	}

	// Open loop: request j is due at begin + j·Batch/Rate, whatever
	// happened to the earlier ones. When Concurrency requests are in
	// flight the next waits, late, and its latency shows it.
	perRequest := float64(b.Batch) / b.Rate * float64(time.Second)
	sem := make(chan struct{}, b.Concurrency)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
loop:
	for j := range jobs {
		due := begin + int64(float64(j)*perRequest)
		if d := due - t.now(); d > 0 {
			timer.Reset(time.Duration(d))
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Go(func() {
			defer func() { <-sem }()
			b.send(reqCtx, cs[j%len(cs)], j, due)
		})
	}
	wg.Wait()
	return time.Duration(t.now() - begin)
}

// send posts request j (messages j·Batch onwards) and records its outcome.
// start is when the request started or was due, in tracker time.
func (b *Bench) send(ctx context.Context, c *apiClient, j int, start int64) {
	t := b.tr
	lo := j * b.Batch
	hi := min(lo+b.Batch, b.Messages)
	for i := lo; i < hi; i++ {
		t.sched[i] = start
	}
	t.sent.Add(int64(hi - lo))
	path := "/v1/messages"
	if b.Batch > 1 {
		path = "/v1/messages/batch"
	}
	_, out, err := c.do(ctx, http.MethodPost, path, t.requestBody(lo, hi, b.Batch > 1), nil)
	at := t.now()
	if err != nil {
		if ae, ok := errors.AsType[*apiError](err); ok {
			t.errs.add(fmt.Sprintf("%d %s", ae.Status, ae.Code), hi-lo)
			return
		}
		t.errs.add("transport", hi-lo)
		msg := err.Error()
		t.firstTransportErr.CompareAndSwap(nil, &msg)
		return
	}
	type message struct {
		ID    string `json:"id"`
		Parts int    `json:"parts"`
	}
	if b.Batch == 1 {
		var m message
		if json.Unmarshal(out, &m) != nil || m.ID == "" {
			t.errs.add("unreadable answer", 1)
			return
		}
		t.accept(lo, m.ID, m.Parts, at)
		return
	}
	var batch struct {
		Data []struct {
			Index   int      `json:"index"`
			Message *message `json:"message"`
			Error   *struct {
				Code string `json:"code"`
			} `json:"error"`
		} `json:"data"`
	}
	if json.Unmarshal(out, &batch) != nil || len(batch.Data) != hi-lo {
		t.errs.add("unreadable answer", hi-lo)
		return
	}
	for _, it := range batch.Data {
		switch {
		case it.Index < 0 || it.Index >= hi-lo:
			t.errs.add("unreadable answer", 1)
		case it.Error != nil:
			t.errs.add("item "+it.Error.Code, 1)
		case it.Message != nil && it.Message.ID != "":
			t.accept(lo+it.Index, it.Message.ID, it.Message.Parts, at)
		default:
			t.errs.add("unreadable answer", 1)
		}
	}
}

// waitDone waits until every accepted message has been submitted (with a
// simulator) and has a final webhook (with a receiver), printing progress
// every 5 s. It returns false when Timeout passed first; it also returns
// when ctx ends.
func (b *Bench) waitDone(ctx context.Context) bool {
	t := b.tr
	done := func() bool {
		acc := t.accepted.Load()
		return (b.sim == nil || t.submitted.Load() >= acc) && (b.hookLn == nil || t.finals.Load() >= acc)
	}
	deadline := time.NewTimer(b.Timeout)
	defer deadline.Stop()
	progress := time.NewTicker(5 * time.Second)
	defer progress.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return true
		case <-deadline.C:
			return false
		case <-t.changed:
		case <-progress.C:
			fmt.Fprintf(b.Stderr, "bench: waiting: %d accepted, %d submitted, %d final webhooks\n",
				t.accepted.Load(), t.submitted.Load(), t.finals.Load())
		}
	}
	return true
}

// serveHook is the webhook receiver: it verifies the signature and
// records the first final event of each message.
func (b *Bench) serveHook(w http.ResponseWriter, r *http.Request) {
	t := b.tr
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	at := t.now()
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	if sec := b.hookSecret.Load(); sec == nil || webhook.Verify(*sec, r.Header, body, time.Now(), 5*time.Minute) != nil {
		t.errs.add("bad webhook signature", 1)
	}
	var ev struct {
		Type string `json:"type"`
		Data struct {
			ID string `json:"id"`
			To string `json:"to"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &ev) != nil {
		t.errs.add("unreadable webhook", 1)
	} else {
		t.onFinal(ev.Type, ev.Data.To, ev.Data.ID, at)
	}
	// Always 2xx: a refused webhook would only come back later.
	w.WriteHeader(http.StatusNoContent)
}
