package carrier

import (
	"context"
	"sync"
	"time"
)

// limiter spaces submits to at most rate per second, allowing a burst of
// up to a tenth of a second's worth.
type limiter struct {
	interval time.Duration
	burst    time.Duration
	mu       sync.Mutex
	next     time.Time // mu guards next: when the next submit may go
}

func newLimiter(rate float64) *limiter {
	if rate <= 0 {
		return &limiter{}
	}
	iv := time.Duration(float64(time.Second) / rate)
	return &limiter{interval: iv, burst: max(iv, 100*time.Millisecond)}
}

func (l *limiter) wait(ctx context.Context) error {
	if l.interval == 0 {
		return ctx.Err()
	}
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now.Add(-l.burst)) {
		l.next = now.Add(-l.burst)
	}
	at := l.next
	l.next = l.next.Add(l.interval)
	l.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
