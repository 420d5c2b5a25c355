package smpp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-sms/herald/internal/smpp/pdu"
)

type state uint8

const (
	stateOpen      state = iota // connected, not bound
	stateBound                  // bound: every command allowed
	stateUnbinding              // unbind sent or received: no new requests
	stateClosed
)

// call is one outstanding request.
type call struct {
	seq      uint32
	req      pdu.Body
	done     func(Response)
	deadline time.Time
	written  atomic.Bool // set by the writer before the bytes go out
	windowed bool        // holds a window slot
}

// frame is one encoded PDU waiting for the writer.
type frame struct {
	buf       *[]byte
	c         *call // request whose bytes these are; nil for responses
	closeWith error // when set, end the session with it once this frame is flushed
}

// Session is one SMPP connection. Create it with Dial, Client or Server.
// All methods are safe for concurrent use.
type Session struct {
	conn    net.Conn
	cfg     Config
	handler Handler
	onBind  func(*pdu.Bind) (pdu.Status, string) // server side: authenticate a bind
	onBound func()                               // server side: called once bound

	window   chan struct{} // one token per outstanding windowed request
	inbound  atomic.Int32  // peer requests not yet answered
	seq      atomic.Uint32
	lastRecv atomic.Int64 // unix nanoseconds of the tick that last saw a PDU received
	received atomic.Bool  // a PDU arrived since the last tick
	clock    atomic.Int64 // unix nanoseconds, updated every tick: a cheap "now" for deadlines
	enquiry  atomic.Bool  // an enquire_link of ours is outstanding
	bufs     sync.Pool
	wake     chan struct{} // capacity 1: the queue has frames
	closing  chan struct{} // closed when the session ends
	wg       sync.WaitGroup
	stats    counters

	mu       sync.Mutex
	pending  map[uint32]*call // mu guards pending, queue, state, err, role, systemID
	queue    []frame
	state    state
	draining bool // Unbind is waiting for the window to empty: no new requests
	err      error
	role     pdu.Role
	systemID string // the peer's system_id once bound
}

type counters struct {
	requestsSent, responsesReceived, timeouts, lateResponses atomic.Uint64
	requestsReceived, throttled, malformed                   atomic.Uint64
}

// Stats are a session's counters since it started.
type Stats struct {
	RequestsSent      uint64 // requests written, enquire_link included
	ResponsesReceived uint64
	Timeouts          uint64 // requests that got no response in time
	LateResponses     uint64 // responses that matched no outstanding request
	RequestsReceived  uint64
	Throttled         uint64 // peer requests refused with ESME_RTHROTTLED
	Malformed         uint64 // PDUs that failed to decode
	Outstanding       int    // requests now waiting for a response
}

// newSession prepares a session over conn; start runs it.
func newSession(conn net.Conn, cfg Config, h Handler) *Session {
	cfg = cfg.withDefaults()
	s := &Session{
		conn:    conn,
		cfg:     cfg,
		handler: h,
		window:  make(chan struct{}, cfg.Window),
		wake:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		pending: make(map[uint32]*call, cfg.Window),
	}
	s.bufs.New = func() any { b := make([]byte, 0, 256); return &b }
	return s
}

// start runs the reader and writer goroutines.
func (s *Session) start() {
	now := time.Now().UnixNano()
	s.lastRecv.Store(now)
	s.clock.Store(now)
	s.wg.Add(2)
	go s.readLoop()
	go s.writeLoop()
}

// Role is the bind role, once bound.
func (s *Session) Role() pdu.Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.role
}

// SystemID is the peer's system_id, once bound.
func (s *Session) SystemID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.systemID
}

// RemoteAddr is the peer's network address.
func (s *Session) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }

// Done is closed when the session has ended; Err then says why.
func (s *Session) Done() <-chan struct{} { return s.closing }

// Err returns why the session ended (ErrUnbound after a clean unbind), or
// nil while it is running.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Bound reports whether the session is bound and accepting requests.
func (s *Session) Bound() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateBound
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	n := len(s.pending)
	s.mu.Unlock()
	return Stats{
		RequestsSent:      s.stats.requestsSent.Load(),
		ResponsesReceived: s.stats.responsesReceived.Load(),
		Timeouts:          s.stats.timeouts.Load(),
		LateResponses:     s.stats.lateResponses.Load(),
		RequestsReceived:  s.stats.requestsReceived.Load(),
		Throttled:         s.stats.throttled.Load(),
		Malformed:         s.stats.malformed.Load(),
		Outstanding:       n,
	}
}

// Send sends req and waits for its response, or for ctx. When ctx ends
// after the request was queued, Send returns ctx.Err() and the request's
// outcome is not reported; use Go to follow every outcome.
func (s *Session) Send(ctx context.Context, req pdu.Body) (Response, error) {
	ch := make(chan Response, 1)
	if err := s.Go(ctx, req, func(r Response) { ch <- r }); err != nil {
		return Response{Request: req}, err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return Response{Request: req}, ctx.Err()
	}
}

// Go sends req without waiting for the response. It blocks only while the
// window is full, until a slot frees or ctx ends. When Go returns nil,
// done is called exactly once with the outcome: the response, a timeout,
// or the link's failure (ErrNotSent or ErrUnacknowledged). done runs on a
// session goroutine and must not block. When Go returns an error, done is
// never called and req was not sent.
func (s *Session) Go(ctx context.Context, req pdu.Body, done func(Response)) error {
	id := req.CommandID()
	if id.IsResponse() || id == pdu.OutbindID || id == pdu.AlertNotificationID {
		return fmt.Errorf("smpp: %s is not a request with a response; use Notify", id)
	}
	select {
	case s.window <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return s.closedErr()
	}
	if err := s.enqueue(req, done, true); err != nil {
		<-s.window
		return err
	}
	return nil
}

// Notify sends a request that has no response: outbind or
// alert_notification.
func (s *Session) Notify(req pdu.Body) error {
	id := req.CommandID()
	if id != pdu.OutbindID && id != pdu.AlertNotificationID {
		return fmt.Errorf("smpp: %s expects a response; use Send", id)
	}
	buf := s.bufs.Get().(*[]byte)
	b, err := pdu.Append((*buf)[:0], s.nextSeq(), pdu.StatusOK, req)
	if err != nil {
		s.bufs.Put(buf)
		return err
	}
	*buf = b
	return s.push(frame{buf: buf})
}

func (s *Session) nextSeq() uint32 {
	for {
		// Sequence numbers run from 1 to 0x7FFFFFFF.
		n := s.seq.Add(1) & 0x7FFFFFFF
		if n != 0 {
			return n
		}
	}
}

// enqueue encodes req, registers it as pending and queues it for writing.
func (s *Session) enqueue(req pdu.Body, done func(Response), windowed bool) error {
	c := &call{seq: s.nextSeq(), req: req, done: done, windowed: windowed}
	buf := s.bufs.Get().(*[]byte)
	b, err := pdu.Append((*buf)[:0], c.seq, pdu.StatusOK, req)
	if err != nil {
		s.bufs.Put(buf)
		return err
	}
	*buf = b
	// The tick clock lags real time by up to one tick, and timers are
	// checked once per tick anyway; add the tick so a deadline is never
	// early.
	c.deadline = time.Unix(0, s.clock.Load()).Add(s.cfg.ResponseTimeout + s.cfg.tick())
	id := req.CommandID()
	s.mu.Lock()
	switch {
	case s.state == stateClosed:
		s.mu.Unlock()
		s.bufs.Put(buf)
		return s.closedErr()
	case (s.state == stateUnbinding || s.draining) && id != pdu.UnbindID && id != pdu.EnquireLinkID:
		s.mu.Unlock()
		s.bufs.Put(buf)
		return ErrClosed
	case s.state == stateOpen && !isSessionCommand(id):
		s.mu.Unlock()
		s.bufs.Put(buf)
		return ErrNotBound
	}
	s.pending[c.seq] = c
	s.queue = append(s.queue, frame{buf: buf, c: c})
	s.mu.Unlock()
	s.signal()
	return nil
}

func isSessionCommand(id pdu.CommandID) bool {
	switch id {
	case pdu.BindTransmitterID, pdu.BindReceiverID, pdu.BindTransceiverID,
		pdu.EnquireLinkID, pdu.UnbindID, pdu.GenericNackID:
		return true
	}
	return false
}

// respond queues a response to the peer's request seq.
func (s *Session) respond(seq uint32, status pdu.Status, body pdu.Body, closeWith error) error {
	buf := s.bufs.Get().(*[]byte)
	b, err := pdu.Append((*buf)[:0], seq, status, body)
	if err != nil {
		s.bufs.Put(buf)
		return err
	}
	*buf = b
	return s.push(frame{buf: buf, closeWith: closeWith})
}

func (s *Session) push(f frame) error {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		s.bufs.Put(f.buf)
		return s.closedErr()
	}
	s.queue = append(s.queue, f)
	s.mu.Unlock()
	s.signal()
	return nil
}

func (s *Session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Session) closedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, s.err)
	}
	return ErrClosed
}

// writeLoop owns the write side of the connection and the timers. It
// writes every queued frame in one batch and flushes once per batch.
func (s *Session) writeLoop() {
	defer s.wg.Done()
	bw := bufio.NewWriterSize(s.conn, 64<<10)
	tick := time.NewTicker(s.cfg.tick())
	defer tick.Stop()
	var batch []frame
	for {
		select {
		case <-s.wake:
		case now := <-tick.C:
			s.checkTimers(now)
			continue
		case <-s.closing:
			return
		}
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		s.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		var closeWith, err error
		s.conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		for i := range batch {
			f := &batch[i]
			if f.c != nil {
				f.c.written.Store(true)
				s.stats.requestsSent.Add(1)
			}
			if err == nil {
				_, err = bw.Write(*f.buf)
			}
			if f.closeWith != nil {
				closeWith = f.closeWith
			}
			s.bufs.Put(f.buf)
			*f = frame{}
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			s.fail(fmt.Errorf("smpp: write: %w", err))
			return
		}
		if closeWith != nil {
			s.fail(closeWith)
			return
		}
	}
}

// checkTimers expires requests past their deadline, sends enquire_link
// after EnquireLinkInterval of silence and declares the peer dead after
// EnquireLinkInterval+ResponseTimeout of silence.
func (s *Session) checkTimers(now time.Time) {
	s.clock.Store(now.UnixNano())
	if s.received.Swap(false) {
		s.lastRecv.Store(now.UnixNano())
	}
	var expired []*call
	s.mu.Lock()
	for seq, c := range s.pending {
		if now.After(c.deadline) {
			delete(s.pending, seq)
			expired = append(expired, c)
		}
	}
	s.mu.Unlock()
	for _, c := range expired {
		s.stats.timeouts.Add(1)
		if c.windowed {
			<-s.window
		}
		c.done(Response{Request: c.req, Seq: c.seq, Err: fmt.Errorf("%w: %w", ErrResponseTimeout, ErrUnacknowledged)})
	}
	if len(expired) > 0 {
		s.cfg.Logger.Warn("smpp response timeout", "remote", s.conn.RemoteAddr().String(), "expired", len(expired))
	}

	silent := now.Sub(time.Unix(0, s.lastRecv.Load()))
	if silent >= s.cfg.EnquireLinkInterval+s.cfg.ResponseTimeout {
		s.cfg.Logger.Warn("smpp peer not responding", "remote", s.conn.RemoteAddr().String(), "silent", silent.String())
		s.fail(ErrDeadPeer)
		return
	}
	if silent >= s.cfg.EnquireLinkInterval && s.enquiry.CompareAndSwap(false, true) {
		err := s.enqueue(&pdu.EnquireLink{}, func(Response) { s.enquiry.Store(false) }, false)
		if err != nil {
			s.enquiry.Store(false)
		}
	}
}

// readLoop owns the read side of the connection.
func (s *Session) readLoop() {
	defer s.wg.Done()
	br := bufio.NewReaderSize(s.conn, 64<<10)
	var buf []byte
	for {
		frame, err := pdu.ReadFrame(br, buf, s.cfg.MaxPDULength)
		if err != nil {
			var de *pdu.DecodeError
			if errors.As(err, &de) {
				// The stream is out of step: answer and hang up.
				s.stats.malformed.Add(1)
				s.cfg.Logger.Warn("smpp bad frame", "remote", s.conn.RemoteAddr().String(), "err", err)
				if s.respond(de.Header.Seq, de.Status, &pdu.GenericNack{}, fmt.Errorf("smpp: read: %w", err)) == nil {
					return
				}
			}
			s.mu.Lock()
			unbinding := s.state == stateUnbinding
			s.mu.Unlock()
			if unbinding {
				// The peer hung up after (or instead of) unbind_resp.
				s.fail(ErrUnbound)
				return
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			s.fail(fmt.Errorf("smpp: read: %w", err))
			return
		}
		buf = frame[:0]
		s.received.Store(true)
		h, body, err := pdu.Decode(frame)
		if err != nil {
			s.malformed(h, err)
			continue
		}
		if h.Command.IsResponse() {
			s.complete(h, body)
			continue
		}
		s.serve(h, body)
	}
}

// malformed answers a PDU whose body could not be decoded.
func (s *Session) malformed(h pdu.Header, err error) {
	s.stats.malformed.Add(1)
	s.cfg.Logger.Warn("smpp malformed pdu", "remote", s.conn.RemoteAddr().String(), "command", h.Command.String(), "seq", h.Seq, "err", err)
	status := pdu.StatusSysErr
	var de *pdu.DecodeError
	if errors.As(err, &de) {
		status = de.Status
	}
	if h.Command.IsResponse() {
		// A response we cannot read still ends its request.
		s.finish(h.Seq, func(c *call) Response {
			return Response{Request: c.req, Seq: c.seq, Header: h, Err: err}
		})
		return
	}
	resp := h.Command.Response()
	if !h.Command.Known() || resp == pdu.GenericNackID {
		s.respond(h.Seq, status, &pdu.GenericNack{}, nil)
		return
	}
	s.respond(h.Seq, status, pdu.NewBody(resp), nil)
}

// complete matches a response to its request.
func (s *Session) complete(h pdu.Header, body pdu.Body) {
	s.finish(h.Seq, func(c *call) Response {
		r := Response{Request: c.req, Seq: c.seq, Header: h, Body: body}
		if want := c.req.CommandID().Response(); h.Command != want && h.Command != pdu.GenericNackID {
			r.Body = nil
			r.Err = fmt.Errorf("smpp: %s in answer to %s", h.Command, c.req.CommandID())
			return r
		}
		if b, ok := c.req.(*pdu.Bind); ok && h.Status == pdu.StatusOK {
			// Bound from this PDU on: set here, on the reader goroutine,
			// before the next PDU is read, because SMSCs send queued
			// deliver_sm right after bind_resp.
			resp, _ := body.(*pdu.BindResp)
			s.mu.Lock()
			if s.state == stateOpen {
				s.state, s.role = stateBound, b.Role
				if resp != nil {
					s.systemID = resp.SystemID
				}
			}
			s.mu.Unlock()
		}
		return r
	})
}

func (s *Session) finish(seq uint32, outcome func(*call) Response) {
	s.mu.Lock()
	c := s.pending[seq]
	delete(s.pending, seq)
	s.mu.Unlock()
	if c == nil {
		s.stats.lateResponses.Add(1)
		return
	}
	s.stats.responsesReceived.Add(1)
	if c.windowed {
		<-s.window
	}
	c.done(outcome(c))
}

// serve handles a request from the peer.
func (s *Session) serve(h pdu.Header, body pdu.Body) {
	s.stats.requestsReceived.Add(1)
	switch b := body.(type) {
	case *pdu.EnquireLink:
		s.respond(h.Seq, pdu.StatusOK, &pdu.EnquireLinkResp{}, nil)
		return
	case *pdu.Unbind:
		s.mu.Lock()
		if s.state != stateClosed {
			s.state = stateUnbinding
		}
		s.mu.Unlock()
		s.respond(h.Seq, pdu.StatusOK, &pdu.UnbindResp{}, ErrUnbound)
		return
	case *pdu.Bind:
		s.bind(h, b)
		return
	}
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	// Until unbind_resp the session is still bound (SMPP 3.4 §2.3): the
	// peer may go on delivering while we drain or unbind, and those
	// requests reach the handler like any other.
	if st == stateOpen && h.Command != pdu.OutbindID {
		s.respond(h.Seq, pdu.StatusInvBndSts, pdu.NewBody(h.Command.Response()), nil)
		return
	}
	hasResp := h.Command.Response() != pdu.GenericNackID
	if hasResp && int(s.inbound.Add(1)) > s.cfg.InboundWindow {
		s.inbound.Add(-1)
		s.stats.throttled.Add(1)
		s.respond(h.Seq, pdu.StatusThrottled, pdu.NewBody(h.Command.Response()), nil)
		return
	}
	r := &Request{Header: h, Body: body, Session: s}
	if s.handler == nil {
		// Nobody to take it: ask the peer to try again later rather than
		// acknowledge something that would be lost.
		r.Respond(pdu.StatusXTAppn, nil)
		return
	}
	s.handler.ServeSMPP(r)
}

// bind answers a bind request (SMSC side).
func (s *Session) bind(h pdu.Header, b *pdu.Bind) {
	resp := &pdu.BindResp{Role: b.Role}
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	if s.onBind == nil {
		s.respond(h.Seq, pdu.StatusInvCmdID, &pdu.GenericNack{}, nil)
		return
	}
	if st != stateOpen {
		s.respond(h.Seq, pdu.StatusAlyBnd, resp, nil)
		return
	}
	status, ourID := s.onBind(b)
	if status != pdu.StatusOK {
		s.cfg.Logger.Info("smpp bind refused", "remote", s.conn.RemoteAddr().String(), "system_id", b.SystemID, "status", status.String())
		s.respond(h.Seq, status, resp, nil)
		return
	}
	resp.SystemID = ourID
	if b.InterfaceVersion >= pdu.InterfaceVersion34 {
		resp.TLVs.SetUint8(pdu.TagScInterfaceVersion, pdu.InterfaceVersion34)
	}
	s.mu.Lock()
	s.state = stateBound
	s.role = b.Role
	s.systemID = b.SystemID
	s.mu.Unlock()
	s.cfg.Logger.Info("smpp bound", "remote", s.conn.RemoteAddr().String(), "system_id", b.SystemID, "role", b.Role.String())
	s.respond(h.Seq, pdu.StatusOK, resp, nil)
	if s.onBound != nil {
		s.onBound()
	}
}

// Unbind ends the session gracefully: it stops taking new requests, waits
// for the outstanding ones to complete, sends unbind, waits for
// unbind_resp and closes the connection. When ctx ends first the session
// is closed at once and outstanding requests are handed back as failed.
func (s *Session) Unbind(ctx context.Context) error {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return s.closedErr()
	}
	s.draining = true
	s.mu.Unlock()
	err := s.drain(ctx)
	if err == nil {
		s.mu.Lock()
		if s.state == stateBound {
			s.state = stateUnbinding
		}
		s.mu.Unlock()
		var r Response
		r, err = s.sendInternal(ctx, &pdu.Unbind{})
		if err == nil {
			err = r.Error()
		}
	}
	s.fail(ErrUnbound)
	s.wg.Wait()
	return err
}

// drain waits until every window slot is free.
func (s *Session) drain(ctx context.Context) error {
	for range cap(s.window) {
		select {
		case s.window <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closing:
			return s.closedErr()
		}
	}
	for range cap(s.window) {
		<-s.window
	}
	return nil
}

// sendInternal sends a session-level request outside the window.
func (s *Session) sendInternal(ctx context.Context, req pdu.Body) (Response, error) {
	ch := make(chan Response, 1)
	if err := s.enqueue(req, func(r Response) { ch <- r }, false); err != nil {
		return Response{Request: req}, err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return Response{Request: req}, ctx.Err()
	case <-s.closing:
		// The link failed; the outcome is delivered to ch by fail.
		return <-ch, nil
	}
}

// Close closes the connection at once; outstanding requests are handed
// back with ErrNotSent or ErrUnacknowledged. It waits for the session's
// goroutines to exit.
func (s *Session) Close() error {
	s.fail(ErrClosed)
	s.wg.Wait()
	return nil
}

// fail ends the session with cause and hands back every pending request.
func (s *Session) fail(cause error) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	s.state = stateClosed
	s.err = cause
	pending := s.pending
	s.pending = map[uint32]*call{}
	queue := s.queue
	s.queue = nil
	s.mu.Unlock()
	close(s.closing)
	// Close before reading the written flags: after this no write can
	// reach the peer, so a request not yet marked written never will be.
	s.conn.Close()
	for _, f := range queue {
		s.bufs.Put(f.buf)
	}
	for _, c := range pending {
		kind := ErrNotSent
		if c.written.Load() {
			kind = ErrUnacknowledged
		}
		c.done(Response{Request: c.req, Seq: c.seq, Err: fmt.Errorf("%w: %w", kind, cause)})
	}
	if !errors.Is(cause, ErrUnbound) && !errors.Is(cause, ErrClosed) {
		s.cfg.Logger.Warn("smpp session ended", "remote", s.conn.RemoteAddr().String(), "err", cause, "handed_back", len(pending))
	}
}
