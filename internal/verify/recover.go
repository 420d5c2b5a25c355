package verify

import (
	"context"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// DispatchStore is the dispatcher's view of the store.
type DispatchStore interface {
	Pending(ctx context.Context) ([]*herald.Message, error)
	Apply(ctx context.Context, ts []store.Transition) ([]store.Applied, error)
	ExpireOverdue(ctx context.Context, now, sentBefore time.Time) (int, error)
}

// Recovering wraps the dispatcher's store for start-up. A code message is
// stored with its code masked, and the code itself exists only in memory
// until it is submitted; after a restart, what was not submitted yet can
// no longer be sent as it was. Pending therefore fails such messages
// (error code verification_code_lost) instead of handing the masked text
// to the dispatcher; the application asks for a new code, which the
// limits allow after the cooldown.
type Recovering struct {
	DispatchStore
	Now func() time.Time
}

// Pending implements the dispatcher's Store.
func (r Recovering) Pending(ctx context.Context) ([]*herald.Message, error) {
	ms, err := r.DispatchStore.Pending(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	keep := ms[:0]
	var ts []store.Transition
	for _, m := range ms {
		if !IsVerificationMessage(m) {
			keep = append(keep, m)
			continue
		}
		for _, p := range m.Parts {
			if p.Status.Final() || p.Status == herald.StatusSent {
				continue
			}
			ts = append(ts, store.Transition{PartRef: store.PartRef{MessageID: m.ID, Seq: p.Seq}, To: herald.StatusFailed,
				At: now().UTC(), Carrier: m.Carrier, ErrorCode: "verification_code_lost",
				ErrorMessage: "Herald restarted before this one-time code was submitted; the code is not stored, so it cannot be sent",
				Detail:       "one-time code not sent: Herald restarted before the submit"})
		}
	}
	if len(ts) > 0 {
		if _, err := r.Apply(ctx, ts); err != nil {
			return nil, err
		}
	}
	return keep, nil
}
