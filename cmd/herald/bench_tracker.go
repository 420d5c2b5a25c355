package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-sms/herald/internal/smscsim"
)

// tracker holds what the bench knows of each message, indexed by its
// number (the suffix of its destination). The load goroutines, the
// simulator's session readers and the webhook handlers write it at the
// same time: the per-message times are atomics, and the fields a single
// goroutine writes once are read only after it is known to be done.
type tracker struct {
	start  time.Time // the zero of every time below (ns, monotonic)
	digits string    // destination digits before the message number
	width  int       // digits of the message number
	body   []byte    // the JSON string of the body, without its closing quote

	// sched, ids and parts are written by the request that sends the
	// message, and read after the load has ended.
	sched []int64 // request start, or when it was due (open loop)
	ids   []string
	parts []int32

	acceptedAt  []atomic.Int64 // 2xx read; 0: not accepted
	submittedAt []atomic.Int64 // first submit_sm
	submits     []atomic.Int32 // submit_sm seen (parts and duplicates)
	finalAt     []atomic.Int64 // first final webhook

	mu        sync.Mutex
	finalType []string // mu guards finalType and finalID: the first final event
	finalID   []string

	sent, accepted, submitted, finals atomic.Int64
	firstTransportErr                 atomic.Pointer[string]
	errs                              errorCounts
	changed                           chan struct{} // nudged after each submit and webhook
}

func newTracker(n int, digits string, width int, body string) *tracker {
	q, _ := json.Marshal(body)
	return &tracker{
		start: time.Now(), digits: digits, width: width, body: q[:len(q)-1],
		sched: make([]int64, n), ids: make([]string, n), parts: make([]int32, n),
		acceptedAt: make([]atomic.Int64, n), submittedAt: make([]atomic.Int64, n),
		submits: make([]atomic.Int32, n), finalAt: make([]atomic.Int64, n),
		finalType: make([]string, n), finalID: make([]string, n),
		errs:    errorCounts{m: map[string]int{}},
		changed: make(chan struct{}, 1),
	}
}

// now is the tracker's clock: nanoseconds since start, always positive.
func (t *tracker) now() int64 { return max(int64(time.Since(t.start)), 1) }

func (t *tracker) nudge() {
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// dest returns the destination of message i, without "+".
func (t *tracker) dest(i int) string {
	return t.digits + fmt.Sprintf("%0*d", t.width, i)
}

// index returns the number of the message sent to addr (with or without
// "+").
func (t *tracker) index(addr string) (int, bool) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(addr, "+"), t.digits)
	if !ok || len(rest) != t.width {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	if err != nil || i < 0 || i >= len(t.sched) {
		return 0, false
	}
	return i, true
}

// requestBody renders messages lo to hi-1: one message, or a batch.
func (t *tracker) requestBody(lo, hi int, batch bool) []byte {
	b := make([]byte, 0, (hi-lo)*(48+len(t.body))+16)
	if batch {
		b = append(b, `{"messages":[`...)
	}
	for i := lo; i < hi; i++ {
		if i > lo {
			b = append(b, ',')
		}
		b = append(b, `{"to":"+`...)
		b = append(b, t.digits...)
		n := strconv.Itoa(i)
		for range t.width - len(n) {
			b = append(b, '0')
		}
		b = append(b, n...)
		b = append(b, `","body":`...)
		b = append(b, t.body...)
		b = append(b, " #"...)
		b = append(b, n...)
		b = append(b, `"}`...)
	}
	if batch {
		b = append(b, "]}"...)
	}
	return b
}

func (t *tracker) accept(i int, id string, parts int, at int64) {
	t.ids[i], t.parts[i] = id, int32(parts)
	t.acceptedAt[i].Store(at)
	t.accepted.Add(1)
}

// onSubmit is the simulator's OnSubmit. It runs on a session's reader
// goroutine and does not block.
func (t *tracker) onSubmit(s smscsim.Submitted) {
	i, ok := t.index(s.Dest.Addr)
	if !ok {
		t.errs.add("unmatched submit", 1)
		return
	}
	if t.submits[i].Add(1) == 1 {
		t.submittedAt[i].Store(max(int64(s.At.Sub(t.start)), 1))
		t.submitted.Add(1)
		t.nudge()
	}
}

// onFinal records a final webhook received at at.
func (t *tracker) onFinal(typ, to, id string, at int64) {
	i, ok := t.index(to)
	if !ok || !slices.Contains(finalEvents, typ) {
		t.errs.add("unmatched webhook", 1)
		return
	}
	if !t.finalAt[i].CompareAndSwap(0, at) {
		t.errs.add("duplicate webhook", 1)
		return
	}
	t.mu.Lock()
	t.finalType[i], t.finalID[i] = typ, id
	t.mu.Unlock()
	t.finals.Add(1)
	t.nudge()
}

// errorCounts counts errors by name ("503 store_unavailable",
// "transport", "item invalid_phone_number" ...), by message.
type errorCounts struct {
	mu sync.Mutex
	m  map[string]int // mu guards m
}

func (e *errorCounts) add(name string, n int) {
	e.mu.Lock()
	e.m[name] += n
	e.mu.Unlock()
}
