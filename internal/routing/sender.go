package routing

import (
	"strings"
	"sync"
	"time"
)

// SenderLimit caps how fast one sender may send: each sender of the class
// whose digits start with Prefix gets its own rate of TPS parts per
// second (for example one per second per US long code: long_code, "1",
// 1).
type SenderLimit struct {
	Class  SenderClass
	Prefix string // of the sender's digits, without "+"; empty: any
	TPS    float64
}

// SenderLimits spaces each sender's parts by its limit. Parts are given
// slots in the order they ask, so a sender's parts keep their order. It
// is safe for concurrent use.
type SenderLimits struct {
	limits []SenderLimit
	mu     sync.Mutex
	next   map[string]time.Time // mu guards next: each limited sender's next free slot
}

// NewSenderLimits returns the limits; the first that matches a sender
// applies.
func NewSenderLimits(limits []SenderLimit) *SenderLimits {
	return &SenderLimits{limits: limits, next: map[string]time.Time{}}
}

// Slot reserves the time a part from sender may be submitted at: now
// when the sender is not limited or is idle, later when it is sending
// faster than its limit.
func (s *SenderLimits) Slot(from string, now time.Time) time.Time {
	l := s.match(from)
	if l == nil {
		return now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.next[from]
	if at.Before(now) {
		at = now
	}
	s.next[from] = at.Add(time.Duration(float64(time.Second) / l.TPS))
	return at
}

// Prune forgets senders idle since before now, so the table does not grow
// with every sender ever seen.
func (s *SenderLimits) Prune(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, at := range s.next {
		if at.Before(now) {
			delete(s.next, k)
		}
	}
}

func (s *SenderLimits) match(from string) *SenderLimit {
	class := ClassOf(from)
	digits := strings.TrimPrefix(from, "+")
	for i := range s.limits {
		l := &s.limits[i]
		if l.TPS > 0 && l.Class == class && strings.HasPrefix(digits, l.Prefix) {
			return l
		}
	}
	return nil
}
