package routing

import (
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// AccountLimit is an account's quota at dispatch: at most PerSecond parts
// a second (0: no limit) and PerDay parts a UTC day (0: no limit).
type AccountLimit struct {
	PerSecond float64
	PerDay    int
}

// Limits spaces parts by their sender's limit and their account's quota:
// Slot reserves the time a part may be submitted. Parts beyond a day's
// quota wait for the next UTC day (their validity may end first: they
// then expire). It is safe for concurrent use.
type Limits struct {
	Senders  *SenderLimits           // nil: no sender limits
	Accounts map[string]AccountLimit // by account id
	Default  AccountLimit            // for accounts not in Accounts

	mu   sync.Mutex
	next map[string]time.Time // mu guards next and days: each limited account's next slot
	days map[string]dayCount  // parts reserved per account on its current day
}

type dayCount struct {
	day time.Time // UTC midnight
	n   int
}

// Slot reserves the time m's next part may be submitted at, no earlier
// than now.
func (l *Limits) Slot(m *herald.Message, now time.Time) time.Time {
	at := now
	if l.Senders != nil {
		at = l.Senders.Slot(m.From, now)
	}
	q, ok := l.Accounts[m.AccountID]
	if !ok {
		q = l.Default
	}
	if q.PerSecond <= 0 && q.PerDay <= 0 {
		return at
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next == nil {
		l.next, l.days = map[string]time.Time{}, map[string]dayCount{}
	}
	if q.PerSecond > 0 {
		if n := l.next[m.AccountID]; n.After(at) {
			at = n
		}
		l.next[m.AccountID] = at.Add(time.Duration(float64(time.Second) / q.PerSecond))
	}
	if q.PerDay > 0 {
		d := l.days[m.AccountID]
		day := at.UTC().Truncate(24 * time.Hour)
		switch {
		case d.day.Before(day):
			d = dayCount{day: day}
		case d.day.After(day):
			at = d.day // already reserving on a later day
		}
		if d.n >= q.PerDay {
			d = dayCount{day: d.day.Add(24 * time.Hour)}
			at = d.day
		}
		d.n++
		l.days[m.AccountID] = d
	}
	return at
}

// Prune forgets idle senders and accounts.
func (l *Limits) Prune(now time.Time) {
	if l.Senders != nil {
		l.Senders.Prune(now)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, at := range l.next {
		if at.Before(now) {
			delete(l.next, k)
		}
	}
	today := now.UTC().Truncate(24 * time.Hour)
	for k, d := range l.days {
		if d.day.Before(today) {
			delete(l.days, k)
		}
	}
}
