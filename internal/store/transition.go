package store

import (
	"fmt"

	"github.com/herald-sms/herald/internal/herald"
)

// The state changes every backend records the same way: what a
// Transition sets on a part, and what a message's status, events and
// webhooks become after its parts changed.

// ApplyTransition applies t to part i of m if the state machine allows
// it (herald.CanTransition) and reports whether it did. It sets the
// part's fields that t carries, and m's error when t has one; the
// message's status is derived later, by Settle, once all of a batch's
// changes to its parts are applied.
func ApplyTransition(m *herald.Message, i int, t Transition) bool {
	p := &m.Parts[i]
	if !herald.CanTransition(p.Status, t.To) {
		return false
	}
	p.Status = t.To
	if t.SubmitStatus != 0 || t.To == herald.StatusSent {
		p.SubmitStatus = t.SubmitStatus
	}
	if t.CarrierMessageID != "" {
		p.CarrierMessageID = t.CarrierMessageID
	}
	switch t.To {
	case herald.StatusSending:
		p.Attempts++
		if t.Carrier != "" {
			// The carrier is decided at dispatch time: the message records
			// the one its parts are being sent through.
			m.Carrier = t.Carrier
		}
	case herald.StatusSent:
		p.SubmittedAt = t.At
	case herald.StatusQueued:
		p.NextAttemptAt = t.NextAttemptAt
	default:
		if t.To.Final() {
			p.DoneAt = t.At
		}
	}
	if t.ReceiptStat != "" || t.ReceiptErr != "" {
		p.ReceiptStat, p.ReceiptErr = t.ReceiptStat, t.ReceiptErr
	}
	if t.ErrorCode != "" {
		m.ErrorCode, m.ErrorMessage = t.ErrorCode, t.ErrorMessage
	}
	return true
}

// PartEvent is the history event of a part's change, recorded for
// messages of more than one part.
func PartEvent(m *herald.Message, seq int, t Transition) herald.Event {
	return herald.Event{
		ID: herald.NewID("evt", t.At.UnixMilli()), AccountID: m.AccountID, MessageID: m.ID,
		Type: "part." + string(t.To), Status: t.To, PartSeq: seq, At: t.At,
		Carrier: t.Carrier, CarrierCode: t.CarrierCode, Detail: t.Detail,
	}
}

// Settle derives m's status from its parts after changes whose last was
// cause, adds resent to its resend count, and returns the message-level
// events to record: message.resent when resent > 0, then the new status
// when it changed. notify is that status event when webhooks are sent
// for it, else nil. write reports whether the message row changed.
func Settle(m *herald.Message, resent int, cause *Transition) (events []herald.Event, notify *herald.Event, write bool) {
	statuses := make([]herald.Status, len(m.Parts))
	for i, p := range m.Parts {
		statuses[i] = p.Status
	}
	next := herald.DeriveStatus(statuses)
	changed := next != m.Status
	if !changed && resent == 0 {
		return nil, nil, false
	}
	m.Status = next
	m.Resends += resent
	m.UpdatedAt = cause.At
	if m.Status == herald.StatusDelivered || m.Status == herald.StatusSent {
		// An error code describes a failure; a later success clears it.
		m.ErrorCode, m.ErrorMessage = "", ""
	}
	if resent > 0 {
		events = append(events, herald.Event{ID: herald.NewID("evt", cause.At.UnixMilli()), AccountID: m.AccountID,
			MessageID: m.ID, Type: "message.resent", Status: m.Status, At: cause.At, Carrier: cause.Carrier,
			Detail: fmt.Sprintf("submitted again (%d in all): an earlier submit_sm may have reached the carrier without its response being recorded", m.Resends)})
	}
	if !changed {
		return events, nil, true
	}
	events = append(events, herald.Event{ID: herald.NewID("evt", cause.At.UnixMilli()), AccountID: m.AccountID,
		MessageID: m.ID, Type: herald.EventType(m.Status), Status: m.Status, At: cause.At, Carrier: cause.Carrier,
		CarrierCode: cause.CarrierCode, Detail: cause.Detail})
	if Notifies(m.Status) {
		notify = &events[len(events)-1]
	}
	return events, notify, true
}

// Notifies reports whether a message status change is pushed to
// webhooks. queued and sending are dispatch-internal steps taken within
// milliseconds of each other; they are kept in the event history but not
// pushed (as Twilio does not push its initial status).
func Notifies(s herald.Status) bool {
	return s != herald.StatusQueued && s != herald.StatusSending && s != herald.StatusAccepted
}
