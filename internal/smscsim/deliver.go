package smscsim

import (
	"sync"

	"github.com/herald-sms/herald/internal/smpp"
)

// account holds the receiver binds of one system_id and the receipts
// waiting for one of them. Receipts never cross system_ids.
type account struct {
	systemID string

	mu      sync.Mutex
	pumps   []*pump // mu guards pumps, backlog, next and every pump's own queue
	backlog queue   // receipts any receiver of this system_id may take
	next    int     // round-robin position for MO
}

// pump delivers receipts on one receiver or transceiver bind. Its
// goroutine (runPump) takes receipts from its own queue (messages
// submitted on the same bind) and then from the account's backlog, and
// keeps up to the session's window of deliver_sm in flight.
type pump struct {
	s    *smpp.Session
	acct *account
	own  queue         // guarded by acct.mu
	wake chan struct{} // capacity 1: there may be receipts to take
}

func (p *pump) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// addPump registers a receiver bind.
func (a *account) addPump(s *smpp.Session) *pump {
	p := &pump{s: s, acct: a, wake: make(chan struct{}, 1)}
	a.mu.Lock()
	a.pumps = append(a.pumps, p)
	if a.backlog.len() > 0 {
		p.signal()
	}
	a.mu.Unlock()
	return p
}

// removePump unregisters a bind that ended and hands its receipts, and
// leftover (taken but not sent), to the other receivers.
func (a *account) removePump(p *pump, leftover []*receipt) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, q := range a.pumps {
		if q == p {
			a.pumps = append(a.pumps[:i], a.pumps[i+1:]...)
			break
		}
	}
	for _, r := range leftover {
		a.backlog.push(r)
	}
	p.own.moveTo(&a.backlog)
	if a.backlog.len() > 0 {
		for _, q := range a.pumps {
			q.signal()
		}
	}
}

// route hands a due receipt to the bind its message came on when that
// bind can still receive, else to the account's backlog, which every
// receiver of the system_id serves (and which keeps it while none is
// bound).
func (a *account) route(r *receipt) {
	a.mu.Lock()
	for _, p := range a.pumps {
		if p.s == r.origin {
			p.own.push(r)
			a.mu.Unlock()
			p.signal()
			return
		}
	}
	a.backlog.push(r)
	for _, p := range a.pumps {
		p.signal()
	}
	a.mu.Unlock()
}

// take appends up to n receipts for p to dst: its own first.
func (a *account) take(p *pump, dst []*receipt, n int) []*receipt {
	a.mu.Lock()
	dst = p.own.pop(dst, n)
	if len(dst) < n {
		dst = a.backlog.pop(dst, n-len(dst))
	}
	a.mu.Unlock()
	return dst
}

// receiver returns a bound receiver, round robin, or nil.
func (a *account) receiver() *smpp.Session {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.pumps) == 0 {
		return nil
	}
	a.next++
	return a.pumps[a.next%len(a.pumps)].s
}

// runPump delivers receipts on p's bind until the bind or the simulator
// ends. Session.Go blocks only while the bind's window is full, so up to
// a window of deliver_sm are in flight at once.
func (sim *Simulator) runPump(p *pump) {
	batch := make([]*receipt, 0, 128)
	for {
		batch = p.acct.take(p, batch[:0], cap(batch))
		if len(batch) == 0 {
			select {
			case <-p.wake:
				continue
			case <-p.s.Done():
			case <-sim.ctx.Done():
			}
			p.acct.removePump(p, nil)
			return
		}
		for i, r := range batch {
			if err := sim.sendReceipt(p.s, r); err != nil {
				p.acct.removePump(p, batch[i:])
				return
			}
			batch[i] = nil
		}
	}
}

// queue is a FIFO of receipts.
type queue struct {
	items []*receipt
	head  int
}

func (q *queue) len() int { return len(q.items) - q.head }

func (q *queue) push(r *receipt) { q.items = append(q.items, r) }

// pop appends up to n receipts to dst.
func (q *queue) pop(dst []*receipt, n int) []*receipt {
	k := min(n, q.len())
	if k == 0 {
		return dst
	}
	dst = append(dst, q.items[q.head:q.head+k]...)
	clear(q.items[q.head : q.head+k])
	q.head += k
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head >= 4096 && q.head*2 >= len(q.items):
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return dst
}

// moveTo appends every receipt of q to dst and empties q.
func (q *queue) moveTo(dst *queue) {
	dst.items = append(dst.items, q.items[q.head:]...)
	clear(q.items)
	q.items, q.head = nil, 0
}
