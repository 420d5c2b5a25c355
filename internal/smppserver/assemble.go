package smppserver

import (
	"strings"
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// partTimeout is how long the parts of a long message are held waiting
// for the rest: beyond it the held parts are refused (nothing was stored)
// and the client may submit the message again.
const partTimeout = 60 * time.Second

// partInfo is a submit_sm's place in a long message.
type partInfo struct {
	ref        uint16
	total, seq int
}

type asmKey struct {
	from, to string
	ref      uint16
	total    int
}

// longMsg is a long message whose parts are arriving.
type longMsg struct {
	texts []string
	held  []*smpp.Request
	req   intake.Request // from the first part to arrive
	got   int
	timer *time.Timer
}

// assembler collects the parts of long messages submitted on one bind
// (UDH concatenation or SAR TLVs) and submits each message once, whole:
// the intake splits it again for the carrier. The parts' responses are
// held until the message is durably stored; every part is then answered
// with the one message id, which receipts and query_sm use.
type assembler struct {
	mu     sync.Mutex
	msgs   map[asmKey]*longMsg // mu guards msgs, closed
	closed bool
}

func newAssembler() *assembler { return &assembler{msgs: map[asmKey]*longMsg{}} }

// add holds r, a part of a long message, and submits the message once
// every part has arrived.
func (a *assembler) add(s *Server, c *client, r *smpp.Request, req intake.Request, p *partInfo) {
	if p.seq < 1 || p.seq > p.total {
		s.refuse(r, pdu.StatusInvEsmClass)
		return
	}
	k := asmKey{from: req.From, to: req.To, ref: p.ref, total: p.total}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		s.refuse(r, pdu.StatusSysErr)
		return
	}
	m := a.msgs[k]
	if m == nil {
		m = &longMsg{texts: make([]string, p.total), held: make([]*smpp.Request, p.total), req: req}
		m.timer = time.AfterFunc(partTimeout, func() { a.expire(s, k, m) })
		a.msgs[k] = m
	}
	if m.held[p.seq-1] != nil {
		// The same part again: the earlier copy is refused, this one kept.
		s.refuse(m.held[p.seq-1], pdu.StatusInvEsmClass)
		m.got--
	}
	m.texts[p.seq-1], m.held[p.seq-1] = req.Body, r
	m.got++
	if p.seq == 1 {
		m.req = req
	}
	if m.got < p.total {
		a.mu.Unlock()
		return
	}
	delete(a.msgs, k)
	m.timer.Stop()
	a.mu.Unlock()
	whole := m.req
	whole.Body = strings.Join(m.texts, "")
	s.enqueue(c.user.AccountID, whole, func(res intake.Result, err error) {
		st := resultStatus(res, err)
		for _, h := range m.held {
			if st != pdu.StatusOK {
				s.refuse(h, st)
				continue
			}
			h.Respond(pdu.StatusOK, &pdu.SubmitSMResp{MessageID: res.Message.ID})
		}
		if st == pdu.StatusOK {
			s.stats.Submitted.Add(1)
		}
	})
}

// expire refuses the parts of a message that did not complete in time.
func (a *assembler) expire(s *Server, k asmKey, m *longMsg) {
	a.mu.Lock()
	if a.msgs[k] != m {
		a.mu.Unlock()
		return
	}
	delete(a.msgs, k)
	a.mu.Unlock()
	for _, h := range m.held {
		if h != nil {
			s.refuse(h, pdu.StatusSubmitFail)
		}
	}
}

// close drops every incomplete message (its session has ended).
func (a *assembler) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for k, m := range a.msgs {
		m.timer.Stop()
		delete(a.msgs, k)
	}
}
