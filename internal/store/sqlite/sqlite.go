// Package sqlite is Herald's embedded store: SQLite in WAL mode through a
// pure-Go driver (so the binary stays static), with every commit synced
// to disk (synchronous=FULL) and concurrent writes grouped into one
// transaction by a single writer goroutine (group commit).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options configure a Store.
type Options struct {
	// MaxBatch caps the writes grouped into one commit. Default 2048.
	MaxBatch int
	// Readers is the number of read connections. Default 4.
	Readers int
	// Logger receives commit failures. Default: discard.
	Logger *slog.Logger

	// walLimit is the WAL length in frames past which the writer
	// restarts it (tests set it small). Default walLimitFrames.
	walLimit int
}

// Store is the SQLite store. Create it with Open; Close it when done.
type Store struct {
	w, r   *sql.DB
	stmts  map[string]*sql.Stmt // prepared on the single writer connection
	multi  map[*multiKind][]*sql.Stmt
	ops    chan *op
	log    *slog.Logger
	max    int
	done   chan struct{} // closed when the writer has exited
	ckpt   *sql.DB       // the checkpointer's connection (checkpoint.go)
	mu     sync.Mutex
	closed bool // mu guards closed

	// cache holds the state of messages that are still in progress, so
	// that state changes need not read them back inside the write
	// transaction. Only the writer goroutine touches cache and staged:
	// staged has what the current group's successful ops changed, and
	// becomes part of cache once the group has committed.
	cache  map[string]*herald.Message
	staged map[string]*herald.Message

	// receipts holds what the writer knows of correlation keys, so that
	// most submit responses and receipts need no query (receipts.go).
	// Only the writer goroutine touches it.
	receipts receiptKeys

	// smppSourced is false while no message in the database came from
	// an SMPP client, so that state changes need not queue client
	// receipts for the join to discard. Set at open and, for good, by the
	// first such message (writer goroutine only).
	smppSourced bool

	// fresh hands new webhook deliveries to ClaimDeliveries from memory
	// (fresh.go); freshGroup holds those of the committing group's
	// successful ops (writer goroutine only).
	fresh      freshDeliveries
	freshGroup []*herald.Delivery

	// rows are the group's rows written once before its commit (only the
	// writer goroutine touches them), kept from group to group so that
	// their arrays are not grown again for every commit; empty holds their
	// lengths when empty.
	rows  groupRows
	empty []int

	optedNumbers numberFilter // numbers with an opt-out, so OptedOut rarely queries
	consent      consentCache // senders and policies, so the consent check never queries

	// The checkpointer (checkpoint.go): the writer kicks it every
	// checkpointCommits commits (commits is the writer's count) and
	// serves its walRestart requests between groups; ckptNow runs a pass
	// and reports its error (tests); ckptStop stops it, ckptDone is closed
	// when it has exited.
	walLimit   int
	commits    int
	ckptKick   chan struct{}
	ckptNow    chan chan error
	walRestart chan chan error
	ckptStop   chan struct{}
	ckptDone   chan struct{}

	epMu      sync.Mutex
	endpoints map[string][]*herald.WebhookEndpoint // epMu guards endpoints (account → enabled endpoints) and secrets
	secrets   map[string]string                    // account → callback signing secret
}

var _ store.Store = (*Store)(nil)

// op is one write: fn runs inside the group's transaction, under its own
// savepoint, so a failing op is undone alone. after runs once the group
// has committed.
type op struct {
	ctx   context.Context
	fn    func(*wtx) error
	after func()
	err   error
	done  chan struct{}
}

// Open opens (creating if needed) the database in dir/herald.db.
func Open(dir string, opts Options) (*Store, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 2048
	}
	if opts.Readers <= 0 {
		opts.Readers = 4
	}
	if opts.walLimit <= 0 {
		opts.walLimit = walLimitFrames
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w, dsn, err := openWriterDSN(dir)
	if err != nil {
		return nil, err
	}
	if _, err := migrate(w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)
	ckpt, err := openCheckpointer(dsn)
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	s := &Store{
		w: w, r: r, ckpt: ckpt, log: opts.Logger, max: opts.MaxBatch,
		walLimit:   opts.walLimit,
		ckptKick:   make(chan struct{}, 1),
		ckptNow:    make(chan chan error),
		walRestart: make(chan chan error),
		ckptStop:   make(chan struct{}),
		ckptDone:   make(chan struct{}),
		ops:        make(chan *op, 4*opts.MaxBatch),
		done:       make(chan struct{}),
		stmts:      map[string]*sql.Stmt{},
		endpoints:  map[string][]*herald.WebhookEndpoint{},
		cache:      map[string]*herald.Message{},
		staged:     map[string]*herald.Message{},
		rows:       newGroupRows(),
		empty:      make([]int, len(groupKinds)),
		secrets:    map[string]string{},
		receipts:   newReceiptKeys(),
	}
	if s.multi, err = prepareMulti(w); err != nil {
		s.closeDBs()
		return nil, err
	}
	for name, text := range statements {
		st, err := w.Prepare(text)
		if err != nil {
			s.closeDBs()
			return nil, fmt.Errorf("sqlite: prepare %s: %w", name, err)
		}
		s.stmts[name] = st
	}
	if err := s.prepareVerify(); err != nil {
		return nil, err
	}
	if err := s.loadOptedNumbers(); err != nil {
		s.closeDBs()
		return nil, err
	}
	if err := s.consent.load(s); err != nil {
		s.closeDBs()
		return nil, err
	}
	if err := s.w.QueryRow(`SELECT EXISTS (SELECT 1 FROM smpp_sources)`).Scan(&s.smppSourced); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("sqlite: smpp sources: %w", err)
	}
	if err := s.receipts.load(s.w); err != nil {
		s.closeDBs()
		return nil, err
	}
	go s.writer()
	go s.checkpointer()
	return s, nil
}

// openWriterDSN opens the single writer connection to dir/herald.db,
// creating the directory, and returns it with its DSN.
func openWriterDSN(dir string) (*sql.DB, string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("sqlite: data directory: %w", err)
	}
	path := filepath.Join(dir, "herald.db")
	q := url.Values{}
	// No automatic checkpoints: the checkpointer runs them (checkpoint.go).
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", fmt.Sprintf("busy_timeout(%d)", busyTimeout), "foreign_keys(1)",
		"wal_autocheckpoint(0)", fmt.Sprintf("journal_size_limit(%d)", journalSizeLimit)} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	return w, dsn, nil
}

func openWriter(dir string) (*sql.DB, error) {
	w, _, err := openWriterDSN(dir)
	return w, err
}

// Close waits for queued writes to commit, then closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.ops)
	s.mu.Unlock()
	<-s.done
	close(s.ckptStop)
	<-s.ckptDone
	for _, st := range s.stmts {
		st.Close()
	}
	for _, sts := range s.multi {
		for _, st := range sts {
			st.Close()
		}
	}
	return s.closeDBs()
}

// closeDBs closes the connections; the writer's last, so that closing it
// checkpoints the WAL into the database file.
func (s *Store) closeDBs() error {
	return errors.Join(s.ckpt.Close(), s.r.Close(), s.w.Close())
}

// errUnavailable is what writes report when the database cannot commit.
func errUnavailable(err error) error {
	return &herald.Error{Kind: herald.KindTransient, Code: "store_unavailable", Message: "the message store cannot commit; retry later", Err: err}
}

// resourceError reports whether err is SQLite saying it cannot write now
// (disk full, I/O error, busy, out of memory, read-only, cannot open), as
// opposed to a refusal of this particular write.
func resourceError(err error) bool {
	var se interface{ Code() int }
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case 5, 6, 7, 8, 10, 13, 14: // BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN
		return true
	}
	return false
}

// write runs fn in the next group commit and waits until it is durable.
func (s *Store) write(ctx context.Context, fn func(*wtx) error, after func()) error {
	o := &op{ctx: ctx, fn: fn, after: after, done: make(chan struct{})}
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
	// Once queued, the op runs whatever happens to ctx: the caller must
	// learn whether it committed, so wait for it.
	<-o.done
	return o.err
}

// writer is the one goroutine that writes: it takes every queued op (up
// to MaxBatch), runs them in one transaction and commits once. Between
// two groups it restarts the WAL when the checkpointer asks.
func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*op, 0, s.max)
	for {
		var o *op
		select {
		case req := <-s.walRestart:
			req <- s.restartWAL()
			continue
		case next, ok := <-s.ops:
			if !ok {
				return
			}
			o = next
		}
		batch = append(batch[:0], o)
	fill:
		for len(batch) < s.max {
			select {
			case o, ok := <-s.ops:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		s.commit(batch)
		for i := range batch {
			batch[i] = nil
		}
		s.kickCheckpointer()
	}
}

func (s *Store) commit(batch []*op) {
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		s.finish(batch, errUnavailable(err))
		return
	}
	s.rows.truncate(s.empty) // left over by a group that failed
	w := &wtx{ctx: ctx, tx: tx, s: s, rows: s.rows}
	var before []int // lengths of w.rows before the current op
	clear(s.staged)
	s.receipts.group.reset()
	clear(s.freshGroup)
	s.freshGroup = s.freshGroup[:0]
	for _, o := range batch {
		if _, err := w.exec("savepoint"); err != nil {
			tx.Rollback()
			s.finish(batch, errUnavailable(err))
			return
		}
		w.opStaged = w.opStaged[:0]
		w.opKeys.reset()
		w.opFresh = w.opFresh[:0]
		before = w.rows.lengths(before)
		o.err = o.fn(w)
		if o.err != nil && resourceError(o.err) {
			o.err = errUnavailable(o.err)
		}
		if o.err == nil {
			for _, m := range w.opStaged {
				s.staged[m.ID] = m
			}
			s.receipts.group.add(&w.opKeys)
			s.freshGroup = append(s.freshGroup, w.opFresh...)
		}
		if o.err != nil {
			w.rows.truncate(before)
			if _, err := w.exec("rollback"); err != nil {
				// SQLite may have rolled the whole transaction back
				// already (a full disk, an I/O error): report the cause.
				tx.Rollback()
				s.finish(batch, errUnavailable(fmt.Errorf("%w; undoing it: %v", o.err, err)))
				return
			}
		}
		if _, err := w.exec("release"); err != nil {
			tx.Rollback()
			s.finish(batch, errUnavailable(err))
			return
		}
	}
	for _, k := range groupKinds {
		if err := w.flushMulti(w.rows[k]); err != nil {
			tx.Rollback()
			s.finish(batch, errUnavailable(err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		s.log.Error("sqlite commit failed", "ops", len(batch), "err", err)
		s.finish(batch, errUnavailable(err))
		return
	}
	s.remember()
	for _, o := range batch {
		if o.err == nil && o.after != nil {
			o.after()
		}
		close(o.done)
	}
}

// maxCached bounds the message cache; beyond it the cache starts over
// (it is only a shortcut: a miss reads the database).
const maxCached = 200_000

// remember moves the committed group's message states into the cache,
// dropping messages that reached a final state.
func (s *Store) remember() {
	if len(s.cache)+len(s.staged) > maxCached {
		clear(s.cache)
	}
	for id, m := range s.staged {
		if m.Status.Final() {
			delete(s.cache, id)
		} else {
			s.cache[id] = m
		}
	}
	clear(s.staged)
	s.receipts.commit()
	s.fresh.add(s.freshGroup)
	clear(s.freshGroup)
	s.freshGroup = s.freshGroup[:0]
}

// cached returns a private copy of a message's state from the current
// group or the cache, or nil.
func (s *Store) cached(id string) *herald.Message {
	m := s.staged[id]
	if m == nil {
		m = s.cache[id]
	}
	if m == nil {
		return nil
	}
	return copyMessage(m)
}

// copyMessage copies a message and its parts (byte slices are shared:
// they are never modified in place).
func copyMessage(m *herald.Message) *herald.Message {
	cp := *m
	cp.Parts = append([]herald.Part(nil), m.Parts...)
	return &cp
}

// finish fails every op of a group that could not commit.
func (s *Store) finish(batch []*op, err error) {
	clear(s.staged)
	s.receipts.group.reset()
	clear(s.freshGroup)
	s.freshGroup = s.freshGroup[:0]
	for _, o := range batch {
		o.err = err
		close(o.done)
	}
}

// wtx is the group transaction as ops see it.
type wtx struct {
	ctx      context.Context
	tx       *sql.Tx
	s        *Store
	opStaged []*herald.Message  // message states the current op changed
	opKeys   keyChanges         // correlation key changes of the current op, applied once the group commits
	opFresh  []*herald.Delivery // webhook deliveries the current op created leased to this process (fresh.go)
	rows     groupRows          // rows written once for the whole group, before its commit
}

// stage records a message's new state, to be cached if the op succeeds
// and the group commits.
func (w *wtx) stage(m *herald.Message) { w.opStaged = append(w.opStaged, copyMessage(m)) }

func (w *wtx) exec(name string, args ...any) (sql.Result, error) {
	st := w.s.stmts[name]
	if st == nil {
		return nil, fmt.Errorf("sqlite: no statement %q", name)
	}
	res, err := w.tx.StmtContext(w.ctx, st).ExecContext(w.ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", name, err)
	}
	return res, nil
}

func (w *wtx) query(name string, args ...any) (*sql.Rows, error) {
	st := w.s.stmts[name]
	if st == nil {
		return nil, fmt.Errorf("sqlite: no statement %q", name)
	}
	rows, err := w.tx.StmtContext(w.ctx, st).QueryContext(w.ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", name, err)
	}
	return rows, nil
}

func (w *wtx) queryRow(name string, args ...any) *sql.Row {
	return w.tx.StmtContext(w.ctx, w.s.stmts[name]).QueryRowContext(w.ctx, args...)
}

// ns converts a time to the stored integer (0 for the zero time).
func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// tm converts a stored integer back to a time.
func tm(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func notFound(what string) error {
	return &herald.Error{Kind: herald.KindNotFound, Code: "not_found", Message: what + " not found", Err: store.ErrNotFound}
}
