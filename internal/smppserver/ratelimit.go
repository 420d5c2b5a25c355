package smppserver

import (
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// bucket is a token bucket: rate tokens a second, at most one second's
// worth saved up.
type bucket struct {
	tokens float64
	last   time.Time
}

// allow takes n tokens from the user's bucket, or reports false (the
// request is answered with ESME_RTHROTTLED). Users without a rate limit
// always pass.
func (s *Server) allow(u *herald.SMPPUser, n int) bool {
	if u.RateLimit <= 0 {
		return true
	}
	now := s.o.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.limits[u.ID]
	if b == nil {
		b = &bucket{tokens: max(u.RateLimit, 1), last: now}
		s.limits[u.ID] = b
	}
	b.tokens = min(max(u.RateLimit, 1), b.tokens+now.Sub(b.last).Seconds()*u.RateLimit)
	b.last = now
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}
