// Package smpptest provides in-process SMPP peers for tests, in the manner
// of net/http/httptest: an SMSC listening on 127.0.0.1:0 with a pluggable
// handler, and helpers to bind an ESME to it.
package smpptest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// Server is an SMSC listening on a loopback port.
type Server struct {
	Addr string // host:port to dial
	SMPP *smpp.Server

	l    net.Listener
	wg   sync.WaitGroup
	once sync.Once
}

// NewServer starts an SMSC on 127.0.0.1:0 that accepts every bind and
// serves requests with h. A nil h is [NewSMSC]'s default behaviour.
func NewServer(h smpp.Handler) *Server {
	s := NewUnstartedServer(h)
	s.Start()
	return s
}

// NewUnstartedServer returns a Server whose SMPP fields may be changed
// (Authenticate, Config, …) before Start.
func NewUnstartedServer(h smpp.Handler) *Server {
	if h == nil {
		h = NewSMSC()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("smpptest: listen: %v", err))
	}
	return &Server{
		Addr: l.Addr().String(),
		SMPP: &smpp.Server{SystemID: "smpptest", Handler: h},
		l:    l,
	}
}

// Start begins accepting connections.
func (s *Server) Start() {
	s.wg.Go(func() { s.SMPP.Serve(s.l) })
}

// Close closes the listener and every session and waits for them.
func (s *Server) Close() {
	s.once.Do(func() {
		s.SMPP.Close()
		s.l.Close()
		s.wg.Wait()
	})
}

// Bind dials the server and binds as a transceiver with system_id "test".
func (s *Server) Bind(ctx context.Context, cfg smpp.Config, h smpp.Handler) (*smpp.Session, error) {
	return smpp.Dial(ctx, s.Addr, pdu.Bind{Role: pdu.Transceiver, SystemID: "test", Password: "secret"}, cfg, h)
}

// SMSC is a minimal SMSC handler: it accepts every submit_sm and data_sm,
// answers with sequential decimal message ids and records what it got.
type SMSC struct {
	next atomic.Uint64

	mu        sync.Mutex
	submitted []*pdu.SubmitSM // mu guards submitted
}

// NewSMSC returns an SMSC handler with an empty record.
func NewSMSC() *SMSC { return &SMSC{} }

// ServeSMPP implements smpp.Handler.
func (m *SMSC) ServeSMPP(r *smpp.Request) {
	switch b := r.Body.(type) {
	case *pdu.SubmitSM:
		id := strconv.FormatUint(m.next.Add(1), 10)
		m.mu.Lock()
		m.submitted = append(m.submitted, b)
		m.mu.Unlock()
		r.Respond(pdu.StatusOK, &pdu.SubmitSMResp{MessageID: id})
	case *pdu.DataSM:
		r.Respond(pdu.StatusOK, &pdu.DataSMResp{MessageID: strconv.FormatUint(m.next.Add(1), 10)})
	default:
		r.Respond(pdu.StatusOK, nil)
	}
}

// Submitted returns the submit_sm bodies received so far.
func (m *SMSC) Submitted() []*pdu.SubmitSM {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*pdu.SubmitSM(nil), m.submitted...)
}
