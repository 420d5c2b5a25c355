package carrier

import (
	"sync"
	"time"
)

// maxTimed bounds the submits whose time a link remembers for receipt
// latency; beyond it new submits are not timed (their latency is
// reported as 0, unknown).
const maxTimed = 200_000

// submitTimes remembers when each accepted submit was answered, by its
// first correlation key, until its receipt arrives.
type submitTimes struct {
	mu sync.Mutex
	at map[string]time.Time // mu guards at
}

func (s *submitTimes) add(key string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at == nil {
		s.at = map[string]time.Time{}
	}
	if len(s.at) < maxTimed {
		s.at[key] = t
	}
}

// take returns the latency since the submit of any of keys, and forgets
// it; 0 when unknown.
func (s *submitTimes) take(keys []string, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if t, ok := s.at[k]; ok {
			delete(s.at, k)
			return max(now.Sub(t), time.Nanosecond)
		}
	}
	return 0
}

// prune forgets submits older than before (their receipts are not
// coming, or came under another key).
func (s *submitTimes) prune(before time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.at {
		if t.Before(before) {
			delete(s.at, k)
		}
	}
}
