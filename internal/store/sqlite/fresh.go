package sqlite

import (
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// freshDeliveries hands webhook deliveries created by this process to
// ClaimDeliveries straight from memory, so that the common case (a
// delivery made, claimed and attempted within moments) costs the writer
// no claim: no query for due rows and no lease update.
//
// Such a delivery is written already leased to this process: its next_at
// is its creation time plus freshLease (twice the worker's lease), so no
// database claim takes it while it waits here. It is handed out only
// while that reservation still covers a whole worker lease from the
// moment of the claim; a delivery that waited longer is
// dropped from memory and becomes due in the database when its
// reservation ends, like one whose claimer died. After a crash the
// deliveries waiting here are attempted once their reservation ends.
type freshDeliveries struct {
	mu     sync.Mutex
	q      []*herald.Delivery // mu guards q, lease and lastDB
	lease  time.Duration      // the worker's lease, as last claimed with
	lastDB time.Time          // the last claim that read the database
}

// maxFresh bounds the deliveries waiting in memory; past it new ones are
// written due and claimed from the database.
const maxFresh = 8192

// freshDBEvery is how often, while fresh deliveries are handed out,
// claims also look in the database (for retries that have come due).
const freshDBEvery = 100 * time.Millisecond

// reservation returns how far ahead of its creation a fresh delivery is
// written leased.
func (f *freshDeliveries) reservation() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return 2 * f.leaseLocked()
}

func (f *freshDeliveries) leaseLocked() time.Duration {
	if f.lease <= 0 {
		return time.Minute // the webhook worker's default
	}
	return f.lease
}

// room reports whether pending more deliveries may wait in memory.
func (f *freshDeliveries) room(pending int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.q)+pending < maxFresh
}

// add queues deliveries whose group has committed.
func (f *freshDeliveries) add(ds []*herald.Delivery) {
	if len(ds) == 0 {
		return
	}
	f.mu.Lock()
	f.q = append(f.q, ds...)
	f.mu.Unlock()
}

// take returns up to limit fresh deliveries that may still be claimed at
// now with the lease, dropping those that waited too long, and whether
// the database should be read too.
func (f *freshDeliveries) take(now time.Time, lease time.Duration, limit int) ([]*herald.Delivery, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lease = lease
	var out []*herald.Delivery
	i := 0
	for ; i < len(f.q) && len(out) < limit; i++ {
		d := f.q[i]
		// Written leased until NextAt: claimable while that covers a
		// whole lease from now.
		if !now.Add(lease).After(d.NextAt) {
			out = append(out, d)
		}
	}
	clear(f.q[:i])
	f.q = f.q[i:]
	if len(f.q) == 0 {
		f.q = nil // let the array go
	}
	readDB := len(out) < limit && (len(out) == 0 || now.Sub(f.lastDB) >= freshDBEvery || now.Before(f.lastDB))
	if readDB {
		f.lastDB = now
	}
	return out, readDB
}

// forgetEndpoint drops the waiting deliveries of an endpoint that was
// deleted or disabled.
func (f *freshDeliveries) forgetEndpoint(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	kept := f.q[:0]
	for _, d := range f.q {
		if d.EndpointID != id {
			kept = append(kept, d)
		}
	}
	clear(f.q[len(kept):])
	f.q = kept
}
