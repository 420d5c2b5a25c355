package inbound

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// fakeStore keeps parts and messages in memory, with the store's
// semantics for what the service relies on.
type fakeStore struct {
	mu      sync.Mutex
	parts   map[store.InboundGroup]map[int]*store.InboundPart
	stored  []*store.NewInbound
	senders map[string]*herald.Sender
	optOut  map[string]bool // account|number|sender
	scope   herald.OptOutScope
	fail    error
}

func newFakeStore() *fakeStore {
	return &fakeStore{parts: map[store.InboundGroup]map[int]*store.InboundPart{}, senders: map[string]*herald.Sender{},
		optOut: map[string]bool{}}
}

func (f *fakeStore) sorted(g store.InboundGroup) []*store.InboundPart {
	var out []*store.InboundPart
	for _, p := range f.parts[g] {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *store.InboundPart) int { return a.Seq - b.Seq })
	return out
}

func (f *fakeStore) AddInboundParts(_ context.Context, ps []*store.InboundPart) ([][]*store.InboundPart, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	var done [][]*store.InboundPart
	for _, p := range ps {
		g := p.Group()
		if f.parts[g] == nil {
			f.parts[g] = map[int]*store.InboundPart{}
		}
		if f.parts[g][p.Seq] != nil {
			continue
		}
		f.parts[g][p.Seq] = p
		if len(f.parts[g]) == p.Total {
			done = append(done, f.sorted(g))
		}
	}
	return done, nil
}

func (f *fakeStore) StaleInboundParts(_ context.Context, before time.Time, limit int) ([][]*store.InboundPart, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out [][]*store.InboundPart
	for g := range f.parts {
		ps := f.sorted(g)
		if len(ps) > 0 && ps[0].ReceivedAt.Before(before) && len(out) < limit {
			out = append(out, ps)
		}
	}
	return out, nil
}

func (f *fakeStore) ReceiveInbound(_ context.Context, ms []*store.NewInbound) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	for _, it := range ms {
		if it.Group != nil {
			if len(f.parts[*it.Group]) == 0 {
				it.Skipped = true
				continue
			}
			delete(f.parts, *it.Group)
		}
		if c := it.Consent; c != nil && it.Message.AccountID != "" {
			k := c.AccountID + "|" + c.Number + "|" + c.Sender
			switch c.Action {
			case herald.ConsentOptOut:
				it.Changed = !f.optOut[k]
				f.optOut[k] = true
			case herald.ConsentOptIn:
				it.Changed = f.optOut[k]
				delete(f.optOut, k)
			}
		}
		if it.Reply != nil && it.Message.AccountID != "" && (it.Consent == nil || it.Changed) {
			it.Replied = true
		}
		f.stored = append(f.stored, it)
	}
	return nil
}

func (f *fakeStore) SenderByAddress(_ context.Context, a string) (*herald.Sender, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.senders[a]; s != nil {
		return s, nil
	}
	return nil, herald.Errorf(herald.KindNotFound, "not_found", "sender not found")
}

func (f *fakeStore) Policy(_ context.Context, accountID string) (*herald.Policy, error) {
	return &herald.Policy{AccountID: accountID, OptOutScope: f.scope}, nil
}

func (f *fakeStore) messages() []*herald.InboundMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*herald.InboundMessage
	for _, it := range f.stored {
		out = append(out, it.Message)
	}
	return out
}
