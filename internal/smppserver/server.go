// Package smppserver is Herald's SMPP server for client applications:
// they bind with the system_id and password of an SMPP user of their
// account, submit messages through the same intake as the HTTP API, and
// get their delivery receipts back as deliver_sm on their receiver and
// transceiver binds, from a durable outbox in the store.
//
// See docs/smpp-server.md for binding, the status mapping, receipts and
// durability.
package smppserver

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// Store is what the server needs of the storage seam.
type Store interface {
	SMPPUserBySystemID(ctx context.Context, systemID string) (*herald.SMPPUser, error)
	Message(ctx context.Context, accountID, id string, parts bool) (*herald.Message, error)
	ClientMessages(ctx context.Context, accountID string, after int64, limit int) ([]*herald.ClientMessage, error)
	AckClientMessages(ctx context.Context, accountID string, seqs []int64) error
}

// Intake is what the server needs of the intake.
type Intake interface {
	Submit(ctx context.Context, accountID string, reqs []intake.Request, idem intake.Idempotency, batch bool) ([]intake.Result, error)
	Cancel(ctx context.Context, accountID, id string) (*herald.Message, error)
}

// Options configure a Server.
type Options struct {
	Store  Store
	Intake Intake
	// SystemID is sent in bind responses. Default "herald".
	SystemID string
	// Session configures every session; its InboundWindow is the per-bind
	// window (default 256 here): a client's requests beyond it are answered
	// with ESME_RTHROTTLED.
	Session smpp.Config
	// BindTimeout closes connections that do not bind in time. Default 30s.
	BindTimeout time.Duration
	// MaxBatch caps the submit_sm handed to the intake in one call.
	// Default 512.
	MaxBatch int
	// Flushes is the number of intake calls in flight at once. Default 4.
	Flushes int
	// ReceiptWindow is the number of deliver_sm outstanding on a receiver
	// bind. Default 64.
	ReceiptWindow int
	// PollInterval is how often the outbox of an account with a receiver
	// bind is read when nothing woke the server. Default 1s.
	PollInterval time.Duration
	// RetryDelay is the wait before deliver_sm refused by a client are
	// sent again. Default 1s.
	RetryDelay time.Duration
	// Leases, when set (cluster mode: several nodes share the store),
	// makes one node at a time deliver an account's outbox: the one
	// holding the lease outbox/ACCOUNT, taken while a receiver bind of
	// the account is up on that node. Without it, receivers of one
	// account bound to two nodes would both be sent every row.
	Leases Leases
	Now    func() time.Time
	Logger *slog.Logger
}

// Leases are named leases held by one node (store.Cluster has them).
type Leases interface {
	AcquireLease(ctx context.Context, name string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name string) error
}

// outboxLeaseTTL is how long an outbox lease lasts without renewal: how
// long an account's receipts may wait after the node delivering them
// died, before another node with a receiver bind takes over.
const outboxLeaseTTL = 10 * time.Second

// Server is the SMPP server. Create it with New, run it with Serve, stop
// it with Shutdown.
type Server struct {
	o    Options
	srv  *smpp.Server
	subs chan *submission

	ctx       context.Context // the server's lifetime, ended by Shutdown: batcher and pushers
	cancel    context.CancelFunc
	startOnce sync.Once
	wg        sync.WaitGroup // batcher, flushes, pushers, session watchers, queries

	authMu   sync.Mutex
	verified map[string][32]byte // authMu guards verified: user ID → SHA-256(stored hash, password) of the last good password
	slow     chan struct{}       // bounds the slow password verifications running at once

	mu       sync.Mutex
	reserved map[string]*herald.SMPPUser // remote address → user, from a successful bind check until bound
	clients  map[*smpp.Session]*client   // mu guards reserved, clients, binds, pushers, limits
	binds    map[string]int              // user ID → sessions bound
	pushers  map[string]*pusher          // account ID → its receipt pusher
	limits   map[string]*bucket          // user ID → submit rate limit

	subMu    sync.Mutex
	subN     int           // subMu guards subN, draining: submissions handed to the intake, not yet answered
	draining bool          // Shutdown has begun: no new submissions
	drained  chan struct{} // closed once draining and subN is 0

	stats Stats
}

// Stats are the server's counters since it started.
type Stats struct {
	Submitted      atomic.Uint64 // submit_sm (and submit_multi destinations) accepted
	Refused        atomic.Uint64 // refused with an error status
	ReceiptsSent   atomic.Uint64 // deliver_sm acknowledged by clients
	ReceiptsResent atomic.Uint64 // deliver_sm sent again after a failure, a disconnect or a restart
	BindsRefused   atomic.Uint64
}

// client is one bound session.
type client struct {
	s    *smpp.Session
	user *herald.SMPPUser
	role pdu.Role
	at   time.Time
	asm  *assembler // long messages submitted in parts
}

// New returns a server; call Serve to accept connections. It starts no
// goroutine until Serve.
func New(o Options) *Server {
	if o.SystemID == "" {
		o.SystemID = "herald"
	}
	if o.Session.InboundWindow <= 0 {
		o.Session.InboundWindow = 256
	}
	if o.Session.Window <= 0 {
		o.Session.Window = max(o.ReceiptWindow, 64)
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 512
	}
	if o.Flushes <= 0 {
		o.Flushes = 4
	}
	if o.ReceiptWindow <= 0 {
		o.ReceiptWindow = 64
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Session.Logger == nil {
		o.Session.Logger = o.Logger
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		o: o, subs: make(chan *submission, 4*o.MaxBatch), ctx: ctx, cancel: cancel,
		verified: map[string][32]byte{}, slow: make(chan struct{}, 1),
		reserved: map[string]*herald.SMPPUser{}, clients: map[*smpp.Session]*client{},
		binds: map[string]int{}, pushers: map[string]*pusher{}, limits: map[string]*bucket{},
		drained: make(chan struct{}),
	}
	s.srv = &smpp.Server{SystemID: o.SystemID, Config: o.Session, Authenticate: s.authenticate,
		Handler: smpp.HandlerFunc(s.serve), OnBound: s.onBound, BindTimeout: o.BindTimeout}
	return s
}

// start runs the batcher, once, when the server starts serving.
func (s *Server) start() {
	s.startOnce.Do(func() { s.wg.Go(s.batchLoop) })
}

// Stats returns the server's counters.
func (s *Server) Stats() *Stats { return &s.stats }

// Serve accepts connections on l until Shutdown; it returns
// smpp.ErrServerClosed after a shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.start()
	return s.srv.Serve(l)
}

// ServeConn serves one already-accepted connection (tests, fuzzing).
func (s *Server) ServeConn(c net.Conn) {
	s.start()
	s.srv.ServeConn(c)
}

// Shutdown stops the receipt pushers (what clients acknowledged is
// recorded), refuses new submissions (ESME_RSYSERR) and waits for those
// already handed to the intake to be answered, so that no client loses
// the response of a message that was stored; then it unbinds every
// session and stops the batcher. ctx bounds the wait.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	ps := make([]*pusher, 0, len(s.pushers))
	for _, p := range s.pushers {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	for _, p := range ps {
		p.stop()
	}
	s.subMu.Lock()
	if !s.draining {
		s.draining = true
		if s.subN == 0 {
			close(s.drained)
		}
	}
	s.subMu.Unlock()
	select {
	case <-s.drained:
	case <-ctx.Done():
	}
	err := s.srv.Shutdown(ctx)
	s.cancel()
	s.wg.Wait()
	return err
}

// beginSubmit counts a submission handed to the intake, or reports false
// while shutting down.
func (s *Server) beginSubmit() bool {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if s.draining {
		return false
	}
	s.subN++
	return true
}

// endSubmit counts a submission answered.
func (s *Server) endSubmit() {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.subN--
	if s.draining && s.subN == 0 {
		close(s.drained)
	}
}

// Wake tells the receipt pushers that the outbox may have new rows.
func (s *Server) Wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pushers {
		p.signal()
	}
}

// authenticate checks a bind's credentials, address and bind count. It
// answers every credential problem with ESME_RBINDFAIL, so a client
// cannot tell a wrong system_id from a wrong password.
func (s *Server) authenticate(ctx context.Context, b *pdu.Bind, remote net.Addr) pdu.Status {
	refuse := func(reason string, u *herald.SMPPUser) pdu.Status {
		s.stats.BindsRefused.Add(1)
		attrs := []any{"system_id", b.SystemID, "remote", remote.String(), "reason", reason}
		if u != nil {
			attrs = append(attrs, "account", u.AccountID)
		}
		s.o.Logger.Info("smpp client bind refused", attrs...)
		return pdu.StatusBindFail
	}
	u, err := s.o.Store.SMPPUserBySystemID(ctx, b.SystemID)
	if err != nil {
		if herald.ErrorKind(err) != herald.KindNotFound {
			s.o.Logger.Warn("smpp client bind: store", "err", err)
			return pdu.StatusSysErr
		}
		// Spend the time a verification would, so that an unknown
		// system_id is not told apart by the answer's speed.
		s.verify(&herald.SMPPUser{ID: "", PasswordHash: dummyHash}, b.Password)
		return refuse("unknown system_id", nil)
	}
	if !s.verify(u, b.Password) {
		return refuse("wrong password", u)
	}
	if ap, err := netip.ParseAddrPort(remote.String()); err == nil && !u.AllowsIP(ap.Addr()) {
		return refuse("address not allowed", u)
	}
	limit := u.MaxBinds
	if limit <= 0 {
		limit = herald.DefaultMaxBinds
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.binds[u.ID]
	for _, r := range s.reserved {
		if r.ID == u.ID {
			n++
		}
	}
	if n >= limit {
		return refuse("too many binds", u)
	}
	s.reserved[remote.String()] = u
	return pdu.StatusOK
}

// dummyHash is verified against when the system_id is unknown.
var dummyHash = herald.HashSMPPPassword("-")

// verify checks password against u's stored hash. A password that
// verified once is remembered as a SHA-256, so that a client that binds
// again (or opens several binds) costs one fast hash; wrong passwords
// pay the slow hash, one at a time across the server, so a flood of bad
// binds uses at most one core.
func (s *Server) verify(u *herald.SMPPUser, password string) bool {
	key := sha256.Sum256([]byte(u.PasswordHash + "\x00" + password))
	if u.ID != "" {
		s.authMu.Lock()
		ok := s.verified[u.ID] == key
		s.authMu.Unlock()
		if ok {
			return true
		}
	}
	select {
	case s.slow <- struct{}{}:
	case <-s.ctx.Done():
		return false
	}
	ok := herald.VerifySMPPPassword(u.PasswordHash, password)
	<-s.slow
	if ok && u.ID != "" {
		s.authMu.Lock()
		s.verified[u.ID] = key
		s.authMu.Unlock()
	}
	return ok
}

// onBound registers a session that has just bound (on its reader
// goroutine: it must not block).
func (s *Server) onBound(sess *smpp.Session) {
	addr := sess.RemoteAddr().String()
	s.mu.Lock()
	u := s.reserved[addr]
	delete(s.reserved, addr)
	if u == nil {
		// Cannot happen: every accepted bind was reserved.
		s.mu.Unlock()
		sess.Close()
		return
	}
	c := &client{s: sess, user: u, role: sess.Role(), at: s.o.Now(), asm: newAssembler()}
	s.clients[sess] = c
	s.binds[u.ID]++
	if c.role.CanReceive() {
		p := s.pushers[u.AccountID]
		if p == nil {
			p = newPusher(s, u.AccountID)
			s.pushers[u.AccountID] = p
			s.wg.Go(p.run)
		}
		p.signal()
	}
	s.mu.Unlock()
	s.o.Logger.Info("smpp client bound", "system_id", u.SystemID, "account", u.AccountID, "role", c.role.String(), "remote", addr)
	s.wg.Go(func() {
		<-sess.Done()
		s.mu.Lock()
		delete(s.clients, sess)
		s.binds[u.ID]--
		if s.binds[u.ID] <= 0 {
			delete(s.binds, u.ID)
		}
		if p := s.pushers[u.AccountID]; p != nil {
			p.signal()
		}
		s.mu.Unlock()
		c.asm.close()
	})
}

// clientOf returns the bound client of a session.
func (s *Server) clientOf(sess *smpp.Session) *client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clients[sess]
}

// receiver returns the account's oldest bound receiver or transceiver
// session, or nil.
func (s *Server) receiver(accountID string) *smpp.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *client
	for _, c := range s.clients {
		if c.user.AccountID != accountID || !c.role.CanReceive() || !c.s.Bound() {
			continue
		}
		if best == nil || c.at.Before(best.at) {
			best = c
		}
	}
	if best == nil {
		return nil
	}
	return best.s
}

// errShutdown is the cause of a refusal during shutdown.
var errShutdown = errors.New("smppserver: shutting down")
