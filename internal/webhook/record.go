package webhook

import (
	"context"
	"log/slog"
	"time"

	"github.com/herald-sms/herald/internal/store"
)

// maxRecordRetry caps the wait between two tries to record a batch.
const maxRecordRetry = 5 * time.Second

// maxBacklog is how many batches of unrecorded outcomes the recorder
// holds before it stops taking more.
const maxBacklog = 16

// recorder writes attempt outcomes to the store in batches. It runs in
// one goroutine; lost and lastErr are read after it returns.
type recorder struct {
	store    Store
	log      *slog.Logger
	size     int           // flush at this many outcomes
	interval time.Duration // or this long after the first one

	lost    int   // outcomes still unrecorded when ctx ended
	lastErr error // the store's last error
}

// run records what arrives on in until in is closed and everything is
// recorded, or ctx ends (which Run does only after closing in). A failed
// batch is kept and tried again, with backoff, together with what arrived
// meanwhile; while maxBacklog batches are waiting it stops reading in,
// which blocks the delivering goroutines and so the claiming of more
// work.
func (r *recorder) run(ctx context.Context, in <-chan store.Attempt) {
	var pending []store.Attempt
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	armed := false
	retry := time.Duration(0) // wait before the next try after a failure; 0 while healthy
	for {
		recv := in
		if len(pending) >= maxBacklog*r.size {
			recv = nil
		}
		select {
		case <-ctx.Done(): // only after in was closed, at the end of the stop
			r.giveUp(ctx, pending, in)
			return
		case a, ok := <-recv:
			if !ok {
				r.drain(ctx, pending, retry)
				return
			}
			pending = append(pending, a)
			if retry == 0 && len(pending) >= r.size {
				armed = false
				timer.Stop()
				pending, retry = r.flush(ctx, pending, retry)
			}
			if len(pending) > 0 && !armed {
				timer.Reset(max(r.interval, retry))
				armed = true
			}
		case <-timer.C:
			armed = false
			pending, retry = r.flush(ctx, pending, retry)
			if len(pending) > 0 {
				timer.Reset(max(r.interval, retry))
				armed = true
			}
		}
	}
}

// flush records pending. It returns what is left (nothing on success) and
// the wait before the next try.
func (r *recorder) flush(ctx context.Context, pending []store.Attempt, retry time.Duration) ([]store.Attempt, time.Duration) {
	if len(pending) == 0 {
		return pending, retry
	}
	if err := r.store.RecordAttempts(ctx, pending); err != nil {
		r.lastErr = err
		retry = min(max(2*retry, r.interval), maxRecordRetry)
		r.log.Warn("record webhook attempts", "count", len(pending), "retry_in", retry, "error", err)
		return pending, retry
	}
	clear(pending)
	return pending[:0], 0
}

// drain records what is left after in was closed, retrying until ctx ends.
func (r *recorder) drain(ctx context.Context, pending []store.Attempt, retry time.Duration) {
	for len(pending) > 0 {
		if retry > 0 {
			t := time.NewTimer(retry)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			r.giveUp(ctx, pending, nil)
			return
		}
		pending, retry = r.flush(ctx, pending, retry)
	}
}

// giveUp counts the outcomes that will not be recorded: pending, and
// whatever is still buffered in the closed channel in (nil if drained).
func (r *recorder) giveUp(ctx context.Context, pending []store.Attempt, in <-chan store.Attempt) {
	r.lost = len(pending)
	for in != nil {
		select {
		case _, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			r.lost++
		default:
			in = nil
		}
	}
	if r.lastErr == nil {
		r.lastErr = ctx.Err()
	}
	if r.lost > 0 {
		r.log.Error("webhook attempts not recorded; those deliveries will be sent again when their lease ends",
			"count", r.lost, "error", r.lastErr)
	}
}
