package smscsim

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// SystemID is the system_id the simulator gives in bind responses.
const SystemID = "herald-smsc-sim"

// Simulator is an SMSC simulator. Create it with New, start it with
// Start, stop it with Shutdown or Close. Its methods are safe for
// concurrent use.
type Simulator struct {
	opts    Options
	seed    uint64
	firstID uint64
	errCum  []float64 // cumulative fractions of opts.Errors
	stats   counters
	rate    rateCap     // Options.MaxRate
	undeliv atomicFloat // Options.Undeliv, changeable by SetUndeliv
	peak    peakRate    // Stats.MaxSubmitsPerSecond
	epoch   time.Time   // set by New: peak counts time.Since(epoch), a monotonic clock read cheaper than time.Now

	srv   *smpp.Server
	sched *scheduler

	nextRef atomic.Uint32 // concatenation references of injected MO

	// sessions maps every bound *smpp.Session to its *account.
	sessions sync.Map

	ctx    context.Context // the simulator's lifetime, set by Start
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the simulator starts

	mu       sync.Mutex
	state    simState
	accounts map[string]*account // mu guards state, accounts, ln, httpSrv, httpLn
	ln       net.Listener
	httpSrv  *http.Server
	httpLn   net.Listener
}

type simState uint8

const (
	stateNew simState = iota
	stateRunning
	stateClosed
)

// ErrClosed is returned by Start and ServeConn on a closed Simulator.
var ErrClosed = errors.New("smscsim: simulator closed")

// New checks opts and returns a Simulator that is not yet running. It
// returns an error naming the first invalid option.
func New(opts Options) (*Simulator, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("smscsim: %w", err)
	}
	opts = opts.withDefaults()
	opts.Errors = append([]ErrorRate(nil), opts.Errors...)
	sim := &Simulator{
		opts:     opts,
		seed:     opts.Seed,
		firstID:  opts.FirstID,
		accounts: map[string]*account{},
		epoch:    time.Now(),
	}
	if sim.seed == 0 {
		sim.seed = rand.Uint64() | 1
	}
	sum := 0.0
	for _, e := range opts.Errors {
		sum += e.Fraction
		sim.errCum = append(sim.errCum, sum)
	}
	sim.stats.responses = make([]atomic.Uint64, len(opts.Errors)+1)
	sim.rate.set(opts.MaxRate)
	sim.SetUndeliv(opts.Undeliv)
	sim.srv = &smpp.Server{
		SystemID:     SystemID,
		Config:       opts.SMPP,
		Authenticate: sim.authenticate,
		Handler:      smpp.HandlerFunc(sim.serve),
		OnBound:      sim.onBound,
	}
	return sim, nil
}

// Start opens the listeners named by Options.Addr and Options.HTTPAddr
// and starts serving. It returns once both are listening; ctx bounds
// only the start itself. The simulator runs until Shutdown or Close.
func (sim *Simulator) Start(ctx context.Context) error {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	switch sim.state {
	case stateRunning:
		return errors.New("smscsim: already started")
	case stateClosed:
		return ErrClosed
	}
	var lc net.ListenConfig
	if sim.opts.Addr != "" {
		ln, err := lc.Listen(ctx, "tcp", sim.opts.Addr)
		if err != nil {
			return fmt.Errorf("smscsim: listen smpp: %w", err)
		}
		sim.ln = ln
	}
	if sim.opts.HTTPAddr != "" {
		ln, err := lc.Listen(ctx, "tcp", sim.opts.HTTPAddr)
		if err != nil {
			if sim.ln != nil {
				sim.ln.Close()
				sim.ln = nil
			}
			return fmt.Errorf("smscsim: listen http: %w", err)
		}
		sim.httpLn = ln
		sim.httpSrv = &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	}
	now := time.Now()
	if sim.firstID == 0 {
		sim.firstID = uint64(now.Unix()) << 20
	}
	sim.sched = newScheduler(now)
	sim.ctx, sim.cancel = context.WithCancel(context.Background())
	sim.state = stateRunning
	sim.wg.Go(func() { sim.sched.run(sim.ctx) })
	if sim.ln != nil {
		ln := sim.ln
		sim.wg.Go(func() { sim.serving("smpp", sim.srv.Serve(ln)) })
		sim.opts.Logger.Info("smsc simulator listening", "smpp_addr", ln.Addr().String())
	}
	if sim.httpLn != nil {
		ln, srv := sim.httpLn, sim.httpSrv
		sim.wg.Go(func() { sim.serving("http", srv.Serve(ln)) })
		sim.opts.Logger.Info("smsc simulator http listening", "http_addr", ln.Addr().String())
	}
	return nil
}

// serving logs why a listener stopped when the simulator was not
// stopping it: the simulator then goes on without that listener.
func (sim *Simulator) serving(what string, err error) {
	sim.mu.Lock()
	stopping := sim.state != stateRunning
	sim.mu.Unlock()
	if !stopping {
		sim.opts.Logger.Error("smsc simulator stopped accepting", "listener", what, "err", err)
	}
}

// Addr returns the address the SMPP listener is bound to, or "" when
// there is none (not started, or Options.Addr empty).
func (sim *Simulator) Addr() string {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	if sim.ln == nil {
		return ""
	}
	return sim.ln.Addr().String()
}

// HTTPAddr returns the address the HTTP API is bound to, or "".
func (sim *Simulator) HTTPAddr() string {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	if sim.httpLn == nil {
		return ""
	}
	return sim.httpLn.Addr().String()
}

// ServeConn serves one SMPP connection accepted elsewhere (a net.Pipe
// in tests). The simulator must be running.
func (sim *Simulator) ServeConn(conn net.Conn) error {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	if sim.state != stateRunning {
		conn.Close()
		if sim.state == stateNew {
			return errors.New("smscsim: not started")
		}
		return ErrClosed
	}
	sim.srv.ServeConn(conn)
	return nil
}

// Shutdown stops accepting connections and requests, unbinds every
// session (letting the deliver_sm in flight be answered), then stops.
// When ctx ends first, the rest is closed at once and ctx's error is
// returned. Receipts not yet delivered are discarded. Shutdown and Close
// may be called more than once.
func (sim *Simulator) Shutdown(ctx context.Context) error {
	httpSrv, running := sim.stop()
	if !running {
		return nil
	}
	var errs []error
	if httpSrv != nil {
		if err := httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http: %w", err))
			httpSrv.Close()
		}
	}
	if err := sim.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("smpp: %w", err))
	}
	sim.cancel()
	sim.wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("smscsim: shutdown: %w", err)
	}
	return nil
}

// Close closes the listeners and every session at once and waits for
// the simulator's goroutines to end.
func (sim *Simulator) Close() error {
	httpSrv, running := sim.stop()
	if !running {
		return nil
	}
	if httpSrv != nil {
		httpSrv.Close()
	}
	sim.srv.Close()
	sim.cancel()
	sim.wg.Wait()
	return nil
}

// stop moves the simulator to stateClosed, closes the SMPP listener and
// reports whether it was running. After it, no goroutine is added to
// sim.wg. (smpp.Server closes the listeners its Serve has registered, but
// a Close right after Start may come before Serve registers one.)
func (sim *Simulator) stop() (*http.Server, bool) {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	was := sim.state
	sim.state = stateClosed
	if was != stateRunning {
		return nil, false
	}
	if sim.ln != nil {
		sim.ln.Close()
	}
	return sim.httpSrv, true
}

// authenticate checks a bind against Options.SystemID and Password.
func (sim *Simulator) authenticate(_ context.Context, b *pdu.Bind, _ net.Addr) pdu.Status {
	if sim.opts.SystemID != "" && b.SystemID != sim.opts.SystemID {
		sim.stats.bindsRefused.Add(1)
		return pdu.StatusInvSysID
	}
	if sim.opts.Password != "" && subtle.ConstantTimeCompare([]byte(b.Password), []byte(sim.opts.Password)) != 1 {
		sim.stats.bindsRefused.Add(1)
		return pdu.StatusInvPaswd
	}
	return pdu.StatusOK
}

// onBound registers a new bind and starts the goroutine that serves it:
// a receipt pump for receivers and transceivers, a watcher for
// transmitters. It runs on the session's reader goroutine before any
// request of the bind is read.
func (sim *Simulator) onBound(s *smpp.Session) {
	sim.mu.Lock()
	if sim.state != stateRunning {
		// Shutting down: the server closes the session. (Closing it here,
		// on its own reader goroutine, would wait for itself.)
		sim.mu.Unlock()
		return
	}
	a := sim.accountLocked(s.SystemID())
	sim.sessions.Store(s, a)
	sim.stats.binds.Add(1)
	storeMax(&sim.stats.maxSessions, sim.stats.sessions.Add(1))
	var p *pump
	if s.Role().CanReceive() {
		p = a.addPump(s)
	}
	sim.wg.Go(func() {
		if p != nil {
			sim.runPump(p)
		} else {
			select {
			case <-s.Done():
			case <-sim.ctx.Done():
			}
		}
		sim.sessions.Delete(s)
		sim.stats.windowThrottled.Add(s.Stats().Throttled)
		sim.stats.sessions.Add(-1)
	})
	sim.mu.Unlock()
}

// accountLocked returns the account of systemID, creating it. sim.mu
// must be held.
func (sim *Simulator) accountLocked(systemID string) *account {
	a := sim.accounts[systemID]
	if a == nil {
		a = &account{systemID: systemID}
		sim.accounts[systemID] = a
	}
	return a
}

// accountOf returns the account of a bound session.
func (sim *Simulator) accountOf(s *smpp.Session) *account {
	if a, ok := sim.sessions.Load(s); ok {
		return a.(*account)
	}
	sim.mu.Lock()
	defer sim.mu.Unlock()
	return sim.accountLocked(s.SystemID())
}
