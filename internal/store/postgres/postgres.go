// Package postgres is Herald's cluster store: PostgreSQL through pgx,
// shared by several Herald nodes. It implements store.Store with the
// same semantics as the embedded SQLite store, and everything that must
// hold across nodes is decided by the database: idempotency by a primary
// key and ON CONFLICT, state changes under row locks (SELECT … FOR
// UPDATE), webhook claims with FOR UPDATE SKIP LOCKED.
//
// Writes are group-committed: a writer goroutine takes every queued
// write (up to MaxBatch), locks and reads what they all declared they
// need in two pipelined round trips, runs them in one transaction,
// buffers their rows and writes them with one pipelined batch of
// multi-row (unnest) statements just before the single commit. There are no
// savepoints: an operation either fails before it writes (an error
// that belongs to that item only), or the group is rolled back and its
// operations are run again, each in a transaction of its own.
// docs/architecture.md explains the choice.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// Options configure a Store.
type Options struct {
	// MaxBatch caps the writes grouped into one transaction. Default 1024.
	MaxBatch int
	// Writers is the number of group-committing writer goroutines, each
	// with a connection while it commits. Default 1: one writer per node
	// never waits for its own node's row locks, and a group grows with
	// the load while the previous one commits. More writers overlap
	// commits but their groups may wait on each other's locks, and,
	// locking in different orders, deadlock (PostgreSQL then aborts one
	// after deadlock_timeout and its operations are run again singly).
	Writers int
	// Timeout bounds one commit group, from BEGIN to COMMIT (lock waits
	// included); its writes then fail with store_unavailable. Default 30s.
	// A group also ends by its callers' earliest context deadline (but
	// has at least a second), and a caller whose context ends before a
	// writer took its write gets store_unavailable at once.
	Timeout time.Duration
	// Logger receives commit failures. Default: discard.
	Logger *slog.Logger
	// Node, when set, is this node's id in a cluster of Herald nodes on
	// the database (store.Cluster): messages are owned by the node that
	// dispatches them, and only the owner marks them sending. Letters,
	// digits, '.', '_' and '-'; unique among the nodes.
	Node string
}

// Store is the PostgreSQL store. Create it with Open; Close it when done.
type Store struct {
	pool *pgxpool.Pool
	ops  chan *op
	log  *slog.Logger
	max  int
	// timeout bounds a group's transaction.
	timeout time.Duration
	wg      sync.WaitGroup // the writers

	mu     sync.Mutex
	closed bool // mu guards closed and sending on ops

	secretMu sync.Mutex
	secrets  map[string]string // secretMu guards secrets: account → callback signing secret (never changes)

	cl clusterState
}

var _ store.Store = (*Store)(nil)

// op is one write. fn runs inside a group's transaction; it may return
// a *herald.Error only before it has written anything (wtx.wrote), so
// that dropping its buffered rows undoes it.
type op struct {
	need needs
	fn   func(*wtx) error
	err  error
	done chan struct{}
	// deadline is the caller's (zero: none): the op's transaction does
	// not outlive it.
	deadline time.Time
	// state: opQueued until a writer takes the op (opTaken) or its
	// caller gives up waiting for one (opAbandoned).
	state atomic.Int32
}

// The states of an op.
const (
	opQueued int32 = iota
	opTaken
	opAbandoned
)

// Open connects to the database at url (a postgres:// URL or a libpq
// keyword string), applies the migrations it lacks under an advisory
// lock, and starts the writers.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1024
	}
	if opts.Writers <= 0 {
		opts.Writers = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Node != "" {
		if err := validNode(opts.Node); err != nil {
			return nil, err
		}
	}
	pool, err := connect(ctx, url, opts.Writers+5)
	if err != nil {
		return nil, err
	}
	if _, err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, log: opts.Logger, max: opts.MaxBatch, timeout: opts.Timeout,
		ops: make(chan *op, 4*opts.MaxBatch), secrets: map[string]string{}}
	for range opts.Writers {
		s.wg.Go(s.writer)
	}
	s.cl.node, s.cl.work, s.cl.opened = opts.Node, make(chan struct{}, 1), time.Now()
	if opts.Node != "" {
		lctx, stop := context.WithCancel(context.Background())
		s.cl.stopListen, s.cl.listenDone = stop, make(chan struct{})
		go s.listen(lctx)
	}
	return s, nil
}

// connect opens a pool with at least minConns connections allowed
// (pool_max_conns in the URL may raise it) and checks that the server
// answers.
func connect(ctx context.Context, url string, minConns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors may quote the URL; say nothing of it.
		return nil, errors.New("postgres: cannot parse the connection URL")
	}
	if cfg.MaxConns < int32(minConns) {
		cfg.MaxConns = int32(minConns)
	}
	// A database cut off by the network answers nothing: a new
	// connection gives up after connect_timeout (default here 10s), and
	// TCP keepalives end an open one about 25s after the server went
	// silent, for the waits without a deadline (LISTEN).
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	cfg.ConnConfig.DialFunc = (&net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true,
		Idle: 10 * time.Second, Interval: 5 * time.Second, Count: 3}}).DialContext
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return pool, nil
}

// Close waits for queued writes to commit, stops the writers and closes
// the connections. It is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.ops)
	s.mu.Unlock()
	s.wg.Wait()
	if s.cl.stopListen != nil {
		s.cl.stopListen()
		<-s.cl.listenDone
	}
	s.pool.Close()
	return nil
}

// errUnavailable is what writes report when the database cannot commit.
func errUnavailable(err error) error {
	return &herald.Error{Kind: herald.KindTransient, Code: "store_unavailable", Message: "the message store cannot commit; retry later", Err: err}
}

func notFound(what string) error {
	return &herald.Error{Kind: herald.KindNotFound, Code: "not_found", Message: what + " not found", Err: store.ErrNotFound}
}

// write runs fn in the next group commit and waits until it is durable.
func (s *Store) write(ctx context.Context, need needs, fn func(*wtx) error) error {
	o := &op{need: need, fn: fn, done: make(chan struct{})}
	o.deadline, _ = ctx.Deadline()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errUnavailable(errors.New("store closed"))
	}
	select {
	case s.ops <- o:
		s.mu.Unlock()
	case <-ctx.Done():
		s.mu.Unlock()
		return ctx.Err()
	}
	// Once a writer has taken it, the op runs whatever happens to ctx
	// (within ctx's deadline): the caller must learn whether it
	// committed, so wait for it. Until then the caller may give up.
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
		if o.state.CompareAndSwap(opQueued, opAbandoned) {
			return errUnavailable(ctx.Err())
		}
		<-o.done
		return o.err
	}
}

// take claims o for a writer; false if its caller gave up on it.
func (o *op) take() bool {
	if o.state.CompareAndSwap(opQueued, opTaken) {
		return true
	}
	close(o.done)
	return false
}

// groupDeadline is when the transaction of ops must end: Timeout from
// now, or sooner if a caller's deadline is sooner, but not within a
// second (so that a caller nearly out of time does not fail the others'
// writes of its group at once).
func (s *Store) groupDeadline(ops []*op) time.Time {
	now := time.Now()
	d := now.Add(s.timeout)
	for _, o := range ops {
		if !o.deadline.IsZero() && o.deadline.Before(d) {
			d = o.deadline
		}
	}
	return maxTime(d, now.Add(min(time.Second, s.timeout)))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// writer takes every queued op (up to MaxBatch) and commits them as one
// group, until Close.
func (s *Store) writer() {
	batch := make([]*op, 0, s.max)
	for o := range s.ops {
		if !o.take() {
			continue
		}
		batch = append(batch[:0], o)
	fill:
		for len(batch) < s.max {
			select {
			case o, ok := <-s.ops:
				if !ok {
					break fill
				}
				if o.take() {
					batch = append(batch, o)
				}
			default:
				break fill
			}
		}
		s.run(batch)
		for _, o := range batch {
			close(o.done)
		}
		clear(batch)
	}
}

// errRetrySingly marks a group that failed before its commit because of
// one of its ops: the transaction was rolled back, so each op can be run
// again on its own.
var errRetrySingly = errors.New("postgres: group rolled back")

// run commits batch as one group; when the group fails before its
// commit, each op runs again in a transaction of its own, so that one
// op's failure (a constraint, a deadlock with another node) is its own.
func (s *Store) run(batch []*op) {
	// Once taken, an op runs whatever its caller's context does, until
	// the earliest of its callers' deadlines or Timeout: this bounds a
	// database that hangs. A group that ran out of time is not rerun.
	ctx, cancel := context.WithDeadline(context.Background(), s.groupDeadline(batch))
	defer cancel()
	if len(batch) > 1 {
		err := s.group(ctx, batch)
		if !errors.Is(err, errRetrySingly) || ctx.Err() != nil {
			if err != nil {
				s.log.Error("postgres commit failed", "ops", len(batch), "err", err)
				for _, o := range batch {
					o.err = errUnavailable(err)
				}
			}
			return
		}
		s.log.Debug("postgres commit group rolled back; running its writes one by one", "ops", len(batch), "err", err)
	}
	for _, o := range batch {
		ctx, cancel := context.WithDeadline(context.Background(), s.groupDeadline([]*op{o}))
		o.err = s.single(ctx, o)
		cancel()
	}
}

// group runs batch in one transaction. It returns errRetrySingly (the
// group is undone; rerun its ops) or the commit's error (the outcome is
// not known: a lost connection during COMMIT may have committed).
func (s *Store) group(ctx context.Context, batch []*op) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", errRetrySingly, err)
	}
	defer tx.release(ctx)
	g := newGroup()
	ns := make([]needs, len(batch))
	for i, o := range batch {
		ns[i] = o.need
	}
	if err := (&wtx{ctx: ctx, tx: tx, s: s, g: g, op: newOpState()}).prefetch(ns); err != nil {
		return fmt.Errorf("%w: %w", errRetrySingly, err)
	}
	for _, o := range batch {
		w := &wtx{ctx: ctx, tx: tx, s: s, g: g, op: newOpState()}
		o.err = o.fn(w)
		if o.err == nil {
			g.merge(w.op)
			continue
		}
		var he *herald.Error
		if w.wrote || !errors.As(o.err, &he) {
			return fmt.Errorf("%w: %w", errRetrySingly, o.err)
		}
	}
	err = g.commit(ctx, tx)
	if err != nil && !errors.Is(err, errCommitUnknown) {
		return fmt.Errorf("%w: %w", errRetrySingly, err)
	}
	return err
}

// single runs one op in its own transaction, again after a deadlock.
func (s *Store) single(ctx context.Context, o *op) error {
	for attempt := 1; ; attempt++ {
		err := s.singleOnce(ctx, o)
		if attempt < 5 && retryable(err) {
			continue
		}
		return err
	}
}

func (s *Store) singleOnce(ctx context.Context, o *op) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return errUnavailable(err)
	}
	defer tx.release(ctx)
	g := newGroup()
	w := &wtx{ctx: ctx, tx: tx, s: s, g: g, op: newOpState()}
	if err := w.prefetch([]needs{o.need}); err != nil {
		return dbError(err)
	}
	if err := o.fn(w); err != nil {
		return dbError(err)
	}
	g.merge(w.op)
	if err := g.commit(ctx, tx); err != nil {
		if errors.Is(err, errCommitUnknown) {
			s.log.Error("postgres commit failed", "ops", 1, "err", err)
			return errUnavailable(err)
		}
		return dbError(err)
	}
	return nil
}

// retryable reports a failure that running the transaction again can
// cure: a deadlock with another transaction, or a serialization failure.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// dbError passes an op's own error on; a failure of the database is
// reported as store_unavailable, except a violated constraint, which no
// retry will cure.
func dbError(err error) error {
	var he *herald.Error
	if errors.As(err, &he) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && len(pe.Code) == 5 && pe.Code[:2] == "23" {
		return err
	}
	return errUnavailable(err)
}

// wtx is the transaction as one op sees it.
type wtx struct {
	ctx   context.Context
	tx    *txConn
	s     *Store
	g     *group   // what the group's earlier successful ops did
	op    *opState // what this op does; joins g if it succeeds
	wrote bool     // this op wrote through tx (only a rollback undoes it)
}

// exec runs a statement that writes.
func (w *wtx) exec(what, sql string, args ...any) (pgconn.CommandTag, error) {
	w.wrote = true
	tag, err := w.tx.Exec(w.ctx, sql, args...)
	if err != nil {
		return tag, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return tag, nil
}

// query runs a statement that reads (or locks rows) and writes nothing.
func (w *wtx) query(what, sql string, args ...any) (pgx.Rows, error) {
	rows, err := w.tx.Query(w.ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return rows, nil
}

func (w *wtx) queryRow(sql string, args ...any) pgx.Row { return w.tx.QueryRow(w.ctx, sql, args...) }
