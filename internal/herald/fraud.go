package herald

import (
	"encoding/json"
	"time"
)

// FraudBlock is a block the fraud guard put on an account's destinations:
// a prefix (the number minus its last digits) whose verification
// conversion collapsed while its volume spiked. Blocks escalate: each one
// of the same prefix within a day lasts longer, the last until lifted by
// hand (Until zero).
type FraudBlock struct {
	ID        string
	AccountID string
	Scope     string // "prefix"
	Key       string // the prefix, e.g. "+44791112"
	Country   string // ISO 3166 region of the prefix
	Reason    string
	Level     int       // 1, 2, … (escalation)
	Monitor   bool      // reported only: messages are not refused
	Until     time.Time // zero: until lifted by hand
	Sent      int       // verifications sent in the window when blocked
	Approved  int       // of which approved
	CreatedAt time.Time
	EndedAt   time.Time // zero while in force
	EndedBy   string    // "expiry" or "manual"
}

// Active reports whether b is in force at t.
func (b *FraudBlock) Active(t time.Time) bool {
	return b.EndedAt.IsZero() && (b.Until.IsZero() || t.Before(b.Until))
}

// Fraud event types, sent to webhooks.
const (
	EventFraudBlocked   = "fraud.blocked"
	EventFraudUnblocked = "fraud.unblocked"
)

// FraudBlockView is a block as the API and webhooks show it.
type FraudBlockView struct {
	ID        string     `json:"id"`
	Object    string     `json:"object"` // "fraud_block"
	Scope     string     `json:"scope"`
	Prefix    string     `json:"prefix"`
	Country   string     `json:"country"`
	Reason    string     `json:"reason"`
	Level     int        `json:"level"`
	Monitor   bool       `json:"monitor"`
	Active    bool       `json:"active"`
	Until     *time.Time `json:"until"` // null: until lifted by hand
	Sent      int        `json:"sent"`
	Approved  int        `json:"approved"`
	CreatedAt time.Time  `json:"created_at"`
	EndedAt   *time.Time `json:"ended_at"`
	EndedBy   string     `json:"ended_by,omitempty"`
}

// View returns the API view of b at time now.
func (b *FraudBlock) View(now time.Time) FraudBlockView {
	v := FraudBlockView{ID: b.ID, Object: "fraud_block", Scope: b.Scope, Prefix: b.Key, Country: b.Country, Reason: b.Reason,
		Level: b.Level, Monitor: b.Monitor, Active: b.Active(now), Sent: b.Sent, Approved: b.Approved,
		CreatedAt: b.CreatedAt.UTC(), EndedBy: b.EndedBy}
	if !b.Until.IsZero() {
		u := b.Until.UTC()
		v.Until = &u
	}
	if !b.EndedAt.IsZero() {
		e := b.EndedAt.UTC()
		v.EndedAt = &e
	}
	return v
}

// FraudPayload is the webhook body of a fraud event, in the shape of the
// message events (id, type, timestamp, data).
func FraudPayload(eventID, typ string, at time.Time, b *FraudBlock) []byte {
	out, _ := json.Marshal(struct {
		ID        string         `json:"id"`
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      FraudBlockView `json:"data"`
	}{eventID, typ, at.UTC(), b.View(at)})
	return out
}
