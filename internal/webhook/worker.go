package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// Store is what the Worker needs of the storage seam; store.Store
// satisfies it. Both methods must be safe for concurrent use.
type Store interface {
	// ClaimDeliveries returns up to limit pending deliveries due at now
	// and pushes their next attempt to now+lease.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*herald.Delivery, error)
	// RecordAttempts records outcomes in one commit.
	RecordAttempts(ctx context.Context, as []store.Attempt) error
}

// UserAgent is sent with every webhook request.
const UserAgent = "Herald-Webhooks/1"

// Defaults of Options.
const (
	DefaultConcurrency   = 64
	DefaultPerHost       = 8
	DefaultTimeout       = 10 * time.Second
	DefaultPollInterval  = time.Second
	DefaultLease         = time.Minute
	DefaultRetryPeriod   = 72 * time.Hour
	DefaultMaxRetryAfter = 24 * time.Hour
	DefaultFlushInterval = 50 * time.Millisecond
	DefaultFlushSize     = 256
	DefaultStopGrace     = 10 * time.Second
)

// DefaultBackoff returns the default retry schedule: the wait after the
// first failed attempt, the second, and so on; the last step repeats
// until the retry period is over. Each wait is varied by ±20 % (jitter).
// With the default 72 h retry period a failing delivery is attempted
// about 30 times.
func DefaultBackoff() []time.Duration {
	return []time.Duration{
		5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
		30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour,
	}
}

// Options configures a Worker. The zero value is usable: every field
// has a default.
type Options struct {
	// Transport sends the requests. Default: NewTransport(AllowLoopback)
	// with MaxIdleConnsPerHost = PerHost. A Transport given here replaces
	// the SSRF guard: refusing internal addresses is then its job (URLs
	// are still checked with CheckURL's rules before each request).
	// Redirects are never followed whatever the transport.
	Transport http.RoundTripper
	// AllowLoopback lets webhooks go to 127.0.0.0/8, ::1 and "localhost",
	// for development and tests. Never set it in production.
	AllowLoopback bool

	// Concurrency bounds the deliveries the worker holds at once: in
	// flight, or claimed and waiting for a free per-host slot. Default 64.
	Concurrency int
	// PerHost bounds the requests in flight to one host, so that a slow
	// or dead endpoint cannot take every slot. Default 8 (at most
	// Concurrency).
	PerHost int
	// Timeout bounds one attempt, from connecting to reading the response.
	// Default 10 s.
	Timeout time.Duration
	// PollInterval is how often the store is asked for due deliveries when
	// nothing else prompts it (Wake, or a full claim). Default 1 s.
	PollInterval time.Duration
	// Lease is how long a claimed delivery is reserved for this worker;
	// if the worker dies it becomes due again afterwards. It must be at
	// least twice Timeout. Default 1 min.
	Lease time.Duration

	// OnReply is called when an application answers a message.received
	// delivery with 2xx and {"reply":"…"}: it sends the reply (through the
	// intake, so the normal rules apply). It may be called again for the
	// same delivery after a crash, so it must be idempotent (the reply
	// uses the inbound message's id as its idempotency key).
	OnReply func(ctx context.Context, d *herald.Delivery, reply string)

	// RetryPeriod is how long, from the delivery's creation, a failing
	// delivery is retried: an attempt that fails once this period is over
	// gives up. Default 72 h.
	RetryPeriod time.Duration
	// Backoff is the retry schedule (see DefaultBackoff, the default).
	Backoff []time.Duration
	// MaxRetryAfter caps the wait a receiver can ask for with Retry-After.
	// Default 24 h.
	MaxRetryAfter time.Duration

	// FlushInterval and FlushSize batch the recording of outcomes: a batch
	// is written when it holds FlushSize outcomes or FlushInterval after
	// its first one. Defaults 50 ms and 256.
	FlushInterval time.Duration
	FlushSize     int
	// StopGrace bounds the stop: after Run's context ends, requests in
	// flight get StopGrace to finish before they are cancelled, and the
	// last outcomes get StopGrace to be recorded. Default 10 s.
	StopGrace time.Duration

	// Now is the clock (claims, signature timestamps, retry times).
	// Default time.Now.
	Now func() time.Time
	// Logger receives one line per failed attempt (debug), per give-up
	// and store error (warn). Lines name delivery ids and hosts, never
	// payloads, secrets or URL paths. Default: discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.PerHost == 0 {
		o.PerHost = DefaultPerHost
	}
	o.PerHost = min(o.PerHost, o.Concurrency)
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Lease == 0 {
		o.Lease = max(DefaultLease, 2*o.Timeout)
	}
	if o.RetryPeriod == 0 {
		o.RetryPeriod = DefaultRetryPeriod
	}
	if len(o.Backoff) == 0 {
		o.Backoff = DefaultBackoff()
	} else {
		o.Backoff = slices.Clone(o.Backoff)
	}
	if o.MaxRetryAfter == 0 {
		o.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.FlushSize == 0 {
		o.FlushSize = DefaultFlushSize
	}
	if o.StopGrace == 0 {
		o.StopGrace = DefaultStopGrace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// validate names the first bad field; it runs after withDefaults.
func (o *Options) validate() error {
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"timeout", o.Timeout}, {"poll interval", o.PollInterval}, {"lease", o.Lease},
		{"retry period", o.RetryPeriod}, {"max retry-after", o.MaxRetryAfter},
		{"flush interval", o.FlushInterval}, {"stop grace", o.StopGrace},
	} {
		if f.v < 0 {
			return fmt.Errorf("%s: negative (%s)", f.name, f.v)
		}
	}
	switch {
	case o.Concurrency < 0:
		return fmt.Errorf("concurrency: negative (%d)", o.Concurrency)
	case o.PerHost < 0:
		return fmt.Errorf("per host: negative (%d)", o.PerHost)
	case o.FlushSize < 0:
		return fmt.Errorf("flush size: negative (%d)", o.FlushSize)
	case o.Lease < 2*o.Timeout:
		return fmt.Errorf("lease: %s is less than twice the timeout (%s)", o.Lease, o.Timeout)
	}
	for i, b := range o.Backoff {
		if b <= 0 {
			return fmt.Errorf("backoff[%d]: not positive (%s)", i, b)
		}
	}
	return nil
}

// Worker delivers webhooks: it claims due deliveries from a Store, posts
// them, and records every attempt's outcome. Create it with NewWorker and
// run it with Run; Wake may be called from any goroutine. Several workers
// (in one process or several) may share a store: the lease keeps them
// from sending the same delivery at the same time.
type Worker struct {
	store     Store
	opts      Options
	client    *http.Client
	transport *http.Transport // the guarded transport, when the worker made it
	log       *slog.Logger
	wake      chan struct{}
	jitter    func() float64 // in [0, 1); tests replace it
	started   atomic.Bool
}

// NewWorker checks opts and returns a Worker that is not yet running. The
// error names the first invalid option.
func NewWorker(s Store, opts Options) (*Worker, error) {
	if s == nil {
		return nil, errors.New("webhook: nil store")
	}
	opts = opts.withDefaults() // replaces only zero values: negative ones stay for validate
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	w := &Worker{
		store:  s,
		opts:   opts,
		log:    opts.Logger,
		wake:   make(chan struct{}, 1),
		jitter: rand.Float64,
	}
	rt := opts.Transport
	if rt == nil {
		w.transport = NewTransport(opts.AllowLoopback)
		w.transport.MaxIdleConnsPerHost = opts.PerHost
		w.transport.MaxIdleConns = max(w.transport.MaxIdleConns, 2*opts.Concurrency)
		rt = w.transport
	}
	w.client = &http.Client{
		Transport: rt,
		// 3xx is a failure (Standard Webhooks): following it would send the
		// event to an address nobody checked.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return w, nil
}

// Wake makes the worker look for due deliveries now rather than at its
// next poll; call it after committing new deliveries. It never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then stops: it claims nothing more, leaves
// deliveries that were claimed but not started to their lease, gives the
// requests in flight StopGrace to finish (then cancels them; those are
// not recorded and are sent again once their lease runs out), and gives
// the outcomes not yet recorded StopGrace to be written. It returns ctx's
// error, or an error counting the outcomes it could not record. Store
// errors while running are logged and retried, never returned. Run may be
// called once.
func (w *Worker) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("webhook: Worker.Run called twice")
	}
	if w.transport != nil {
		defer w.transport.CloseIdleConnections()
	}
	o := &w.opts
	// Requests and recording outlive ctx by the grace periods.
	reqCtx, abortRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer abortRequests()
	recCtx, stopRecording := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRecording()

	work := make(chan *task, o.Concurrency) // never full: at most Concurrency in flight
	done := make(chan *task, o.Concurrency)
	outcomes := make(chan store.Attempt, o.FlushSize)

	rec := &recorder{store: w.store, log: w.log, size: o.FlushSize, interval: o.FlushInterval}
	var recording, workers sync.WaitGroup
	var unsent atomic.Int64 // outcomes dropped when the stop cancelled their hand-over
	recording.Go(func() { rec.run(recCtx, outcomes) })
	for range o.Concurrency {
		workers.Go(func() {
			for t := range work {
				if a, ok := w.attempt(reqCtx, t); ok {
					select {
					case outcomes <- a:
					case <-reqCtx.Done(): // the recorder is stuck on a failing store
						unsent.Add(1)
					}
				}
				done <- t
			}
		})
	}

	s := newScheduler(w, work)
	s.loop(ctx, done)

	// Drain: wait for the requests in flight, cancelling them after the
	// grace period.
	if s.inFlight > 0 {
		w.log.Info("webhook worker stopping", "in_flight", s.inFlight)
	}
	grace := time.NewTimer(o.StopGrace)
	defer grace.Stop()
	graceC := grace.C
	for s.inFlight > 0 {
		select {
		case t := <-done:
			s.finish(t, w.opts.Now(), false)
		case <-graceC:
			graceC = nil
			w.log.Warn("webhook worker: cancelling requests still in flight", "in_flight", s.inFlight)
			abortRequests()
		}
	}
	close(work)
	workers.Wait()

	close(outcomes)
	stopTimer := time.AfterFunc(o.StopGrace, stopRecording)
	defer stopTimer.Stop()
	recording.Wait()
	if lost := rec.lost + int(unsent.Load()); lost > 0 {
		cause := rec.lastErr
		if cause == nil {
			cause = errors.New("the store did not take them within the stop grace period")
		}
		if unsent.Load() > 0 {
			w.log.Error("webhook attempts not recorded; those deliveries will be sent again when their lease ends",
				"count", unsent.Load(), "error", cause)
		}
		return fmt.Errorf("webhook: %d attempt outcomes not recorded: %w", lost, cause)
	}
	return ctx.Err()
}

// now reads the worker's clock.
func (w *Worker) now() time.Time { return w.opts.Now() }
