package smpp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// BindConn binds over an established connection as an ESME and returns
// the bound session. h serves the requests the SMSC sends (deliver_sm,
// data_sm, alert_notification); nil answers them with ESME_RX_T_APPN so
// the SMSC keeps them for later. On failure conn is closed.
func BindConn(ctx context.Context, conn net.Conn, b pdu.Bind, cfg Config, h Handler) (*Session, error) {
	if b.Role == 0 {
		b.Role = pdu.Transceiver
	}
	if b.InterfaceVersion == 0 {
		b.InterfaceVersion = pdu.InterfaceVersion34
	}
	s := newSession(conn, cfg, h)
	s.start()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ResponseTimeout)
	defer cancel()
	r, err := s.sendInternal(ctx, &b)
	if err == nil {
		err = r.Error()
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("smpp: bind %s as %s: %w", conn.RemoteAddr(), b.Role, err)
	}
	resp, _ := r.Body.(*pdu.BindResp)
	s.mu.Lock()
	if s.state == stateOpen {
		s.state = stateBound
		s.role = b.Role
		if resp != nil {
			s.systemID = resp.SystemID
		}
	}
	s.mu.Unlock()
	if !s.Bound() {
		s.Close()
		return nil, fmt.Errorf("smpp: bind %s: %w", conn.RemoteAddr(), s.closedErr())
	}
	return s, nil
}

// Dial connects to addr over TCP and binds as an ESME; see BindConn.
func Dial(ctx context.Context, addr string, b pdu.Bind, cfg Config, h Handler) (*Session, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smpp: dial %s: %w", addr, err)
	}
	return BindConn(ctx, conn, b, cfg, h)
}

// Client keeps one ESME bind to an SMSC up until its Run's context ends,
// reconnecting after failures with capped exponential backoff and jitter.
// Fill the exported fields before calling Run and do not change them after.
type Client struct {
	Addr    string   // host:port of the SMSC
	Bind    pdu.Bind // system_id, password, system_type, role (default transceiver)
	Config  Config
	Handler Handler // serves deliver_sm; see BindConn
	// DialContext opens the connection; default a net.Dialer over TCP.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// MinBackoff and MaxBackoff bound the wait between attempts
	// (defaults 1s and 60s). The wait doubles after each failure and is
	// drawn at random between half of it and all of it.
	MinBackoff, MaxBackoff time.Duration
	// OnState, when set, is told each time the bind comes up (err nil) or
	// goes down or fails (err set). It runs on Run's goroutine.
	OnState func(s *Session, err error)

	mu    sync.Mutex
	cur   *Session      // mu guards cur and ready
	ready chan struct{} // closed while cur is bound; replaced when it ends
}

func (c *Client) init() {
	c.mu.Lock()
	if c.ready == nil {
		c.ready = make(chan struct{})
	}
	c.mu.Unlock()
}

// Run dials, binds and keeps the bind up until ctx ends, then unbinds
// gracefully (waiting up to Config.ResponseTimeout for outstanding
// requests) and returns ctx's error.
func (c *Client) Run(ctx context.Context) error {
	c.init()
	minB, maxB := c.MinBackoff, c.MaxBackoff
	if minB <= 0 {
		minB = time.Second
	}
	if maxB < minB {
		maxB = max(60*time.Second, minB)
	}
	cfg := c.Config.withDefaults()
	failures := 0
	for {
		s, err := c.connect(ctx)
		if err == nil {
			failures = 0
			c.setCurrent(s)
			if c.OnState != nil {
				c.OnState(s, nil)
			}
			select {
			case <-s.Done():
				err = s.Err()
				c.setCurrent(nil)
			case <-ctx.Done():
				c.setCurrent(nil)
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ResponseTimeout)
				s.Unbind(uctx)
				cancel()
				return ctx.Err()
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cfg.Logger.Warn("smpp bind down", "addr", c.Addr, "system_id", c.Bind.SystemID, "err", err)
		if c.OnState != nil {
			c.OnState(nil, err)
		}
		wait := backoff(minB, maxB, failures)
		failures++
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// backoff returns the wait before attempt n+1: min·2ⁿ capped at max, with
// "equal jitter" (uniform between half and all of it).
func backoff(minB, maxB time.Duration, n int) time.Duration {
	d := minB
	for i := 0; i < n && d < maxB; i++ {
		d *= 2
	}
	d = min(d, maxB)
	half := d / 2
	return half + rand.N(d-half+1)
}

func (c *Client) connect(ctx context.Context) (*Session, error) {
	dial := c.DialContext
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	conn, err := dial(ctx, "tcp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("smpp: dial %s: %w", c.Addr, err)
	}
	return BindConn(ctx, conn, c.Bind, c.Config, c.Handler)
}

func (c *Client) setCurrent(s *Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s != nil {
		c.cur = s
		close(c.ready)
		return
	}
	if c.cur != nil {
		c.cur = nil
		c.ready = make(chan struct{})
	}
}

// Bound reports whether the client has a bound session now.
func (c *Client) Bound() bool {
	c.mu.Lock()
	s := c.cur
	c.mu.Unlock()
	return s != nil && s.Bound()
}

// Session waits until the client is bound and returns the session, or
// returns ctx's error.
func (c *Client) Session(ctx context.Context) (*Session, error) {
	c.init()
	for {
		c.mu.Lock()
		s, ready := c.cur, c.ready
		c.mu.Unlock()
		if s != nil && s.Bound() {
			return s, nil
		}
		if s != nil {
			// Bound a moment ago but ending: wait for the next one.
			select {
			case <-s.Done():
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			continue
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Go sends req on the current bind, waiting for a bind and then for a
// window slot; see Session.Go. A request refused because the bind ended
// before it was queued is retried on the next bind.
func (c *Client) Go(ctx context.Context, req pdu.Body, done func(Response)) error {
	for {
		s, err := c.Session(ctx)
		if err != nil {
			return err
		}
		err = s.Go(ctx, req, done)
		if err == nil || !errors.Is(err, ErrClosed) {
			return err
		}
	}
}

// Send sends req and waits for its outcome; see Session.Send.
func (c *Client) Send(ctx context.Context, req pdu.Body) (Response, error) {
	ch := make(chan Response, 1)
	if err := c.Go(ctx, req, func(r Response) { ch <- r }); err != nil {
		return Response{Request: req}, err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return Response{Request: req}, ctx.Err()
	}
}
