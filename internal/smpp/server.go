package smpp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// Server accepts ESME binds (the SMSC side). Fill the exported fields
// before calling Serve and do not change them after.
type Server struct {
	// SystemID is sent in bind responses.
	SystemID string
	Config   Config
	// Authenticate decides a bind: ESME_ROK accepts it; a failure status
	// (ESME_RINVPASWD, ESME_RINVSYSID, ESME_RBINDFAIL …) refuses it and
	// the connection stays open for another try. nil accepts every bind.
	// ctx ends when the server shuts down.
	Authenticate func(ctx context.Context, b *pdu.Bind, remote net.Addr) pdu.Status
	// Handler serves requests on bound sessions; see Handler.
	Handler Handler
	// OnBound, when set, is called once a session has bound (from the
	// session's reader goroutine; it must not block).
	OnBound func(*Session)
	// BindTimeout closes connections that do not bind in time. Default 30s.
	BindTimeout time.Duration

	mu        sync.Mutex
	ctx       context.Context // ctx, cancel: the server's lifetime; guarded by mu until set
	cancel    context.CancelFunc
	listeners map[net.Listener]struct{}
	sessions  map[*Session]struct{} // mu guards listeners, sessions, closed
	closed    bool
	wg        sync.WaitGroup
}

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("smpp: server closed")

func (srv *Server) init() {
	if srv.ctx == nil {
		srv.ctx, srv.cancel = context.WithCancel(context.Background())
		srv.listeners = map[net.Listener]struct{}{}
		srv.sessions = map[*Session]struct{}{}
	}
}

// Serve accepts connections on l until Shutdown or Close, and always
// returns a non-nil error (ErrServerClosed after a shutdown).
func (srv *Server) Serve(l net.Listener) error {
	srv.mu.Lock()
	srv.init()
	if srv.closed {
		srv.mu.Unlock()
		return ErrServerClosed
	}
	srv.listeners[l] = struct{}{}
	srv.wg.Add(1)
	srv.mu.Unlock()
	defer srv.wg.Done()
	defer func() {
		srv.mu.Lock()
		delete(srv.listeners, l)
		srv.mu.Unlock()
	}()
	var tempDelay time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			srv.mu.Lock()
			closed := srv.closed
			srv.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				tempDelay = max(5*time.Millisecond, min(2*tempDelay, time.Second))
				time.Sleep(tempDelay)
				continue
			}
			return fmt.Errorf("smpp: accept: %w", err)
		}
		tempDelay = 0
		srv.serveConn(conn)
	}
}

// ServeConn serves one already-accepted connection (for tests and custom
// listeners). It returns at once; the session runs until it ends.
func (srv *Server) ServeConn(conn net.Conn) {
	srv.mu.Lock()
	srv.init()
	srv.mu.Unlock()
	srv.serveConn(conn)
}

func (srv *Server) serveConn(conn net.Conn) {
	bound := make(chan struct{})
	s := newSession(conn, srv.Config, srv.Handler)
	s.onBind = func(b *pdu.Bind) (pdu.Status, string) {
		st := pdu.StatusOK
		if srv.Authenticate != nil {
			st = srv.Authenticate(srv.ctx, b, conn.RemoteAddr())
		}
		return st, srv.SystemID
	}
	s.onBound = func() {
		close(bound)
		if srv.OnBound != nil {
			srv.OnBound(s)
		}
	}
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		s.Close()
		return
	}
	srv.sessions[s] = struct{}{}
	srv.wg.Add(1)
	srv.mu.Unlock()
	s.start()
	bindTimeout := srv.BindTimeout
	if bindTimeout <= 0 {
		bindTimeout = 30 * time.Second
	}
	go func() {
		defer srv.wg.Done()
		t := time.NewTimer(bindTimeout)
		select {
		case <-bound:
			t.Stop()
		case <-t.C:
			s.cfg.Logger.Info("smpp bind timeout", "remote", conn.RemoteAddr().String())
			s.Close()
		case <-s.Done():
			t.Stop()
		}
		<-s.Done()
		s.wg.Wait()
		srv.mu.Lock()
		delete(srv.sessions, s)
		srv.mu.Unlock()
	}()
}

// Sessions returns the sessions now open, bound or not.
func (srv *Server) Sessions() []*Session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	out := make([]*Session, 0, len(srv.sessions))
	for s := range srv.sessions {
		out = append(out, s)
	}
	return out
}

// Shutdown stops accepting connections, unbinds every session gracefully
// (letting outstanding requests complete) and waits for them to end, or
// for ctx, after which the remaining sessions are closed.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	srv.init()
	srv.closed = true
	for l := range srv.listeners {
		l.Close()
	}
	sessions := make([]*Session, 0, len(srv.sessions))
	for s := range srv.sessions {
		sessions = append(sessions, s)
	}
	srv.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(func() {
			if s.Bound() {
				s.Unbind(ctx)
			} else {
				s.Close()
			}
		})
	}
	wg.Wait()
	srv.cancel()
	done := make(chan struct{})
	go func() { srv.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		srv.closeSessions()
		<-done
		return ctx.Err()
	}
}

// Close closes the listeners and every session at once.
func (srv *Server) Close() error {
	srv.mu.Lock()
	srv.init()
	srv.closed = true
	for l := range srv.listeners {
		l.Close()
	}
	srv.mu.Unlock()
	srv.cancel()
	srv.closeSessions()
	srv.wg.Wait()
	return nil
}

func (srv *Server) closeSessions() {
	for _, s := range srv.Sessions() {
		s.Close()
	}
}
