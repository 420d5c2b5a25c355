package herald

import (
	"encoding/json"
	"time"
)

// MessageView is the JSON form of a message, shared by the HTTP API and
// webhook payloads so that both always say the same thing.
type MessageView struct {
	ID           string          `json:"id"`
	Object       string          `json:"object"` // "message"
	Status       Status          `json:"status"`
	To           string          `json:"to"`
	From         string          `json:"from"`
	Body         string          `json:"body,omitempty"`
	Type         MessageType     `json:"type"`
	Encoding     string          `json:"encoding"`
	Parts        int             `json:"parts"`
	SendAt       *time.Time      `json:"send_at,omitempty"`
	ValidUntil   *time.Time      `json:"valid_until,omitempty"`
	CallbackURL  string          `json:"callback_url,omitempty"`
	Reference    string          `json:"reference,omitempty"`
	Metadata     json.RawMessage `json:"metadata,omitempty"`
	Carrier      string          `json:"carrier,omitempty"`
	ErrorCode    string          `json:"error_code,omitempty"`
	ErrorMessage string          `json:"error_message,omitempty"`
	Resends      int             `json:"resends"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	PartList     []PartView      `json:"part_list,omitempty"`
}

// PartView is the JSON form of a part.
type PartView struct {
	Seq              int        `json:"seq"`
	Status           Status     `json:"status"`
	CarrierMessageID string     `json:"carrier_message_id,omitempty"`
	Attempts         int        `json:"attempts"`
	SubmitStatus     string     `json:"submit_status,omitempty"`
	ReceiptStat      string     `json:"receipt_stat,omitempty"`
	ReceiptErr       string     `json:"receipt_err,omitempty"`
	SubmittedAt      *time.Time `json:"submitted_at,omitempty"`
	DoneAt           *time.Time `json:"done_at,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// View returns the JSON form of m. Bodies are included: the API shows a
// message's own body to its account; webhook payloads leave it out.
func (m *Message) View() MessageView {
	v := MessageView{
		ID: m.ID, Object: "message", Status: m.Status, To: m.To, From: m.From, Body: m.Body,
		Type: m.Type, Encoding: m.Encoding, Parts: m.PartCount,
		SendAt: timePtr(m.SendAt), ValidUntil: timePtr(m.ValidUntil),
		CallbackURL: m.CallbackURL, Reference: m.Reference, Metadata: m.Metadata,
		Carrier: m.Carrier, ErrorCode: m.ErrorCode, ErrorMessage: m.ErrorMessage,
		Resends: m.Resends, CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
	}
	for _, p := range m.Parts {
		v.PartList = append(v.PartList, PartView{
			Seq: p.Seq, Status: p.Status, CarrierMessageID: p.CarrierMessageID,
			Attempts: p.Attempts, SubmitStatus: p.submitStatusName(),
			ReceiptStat: p.ReceiptStat, ReceiptErr: p.ReceiptErr,
			SubmittedAt: timePtr(p.SubmittedAt), DoneAt: timePtr(p.DoneAt),
		})
	}
	return v
}

func (p *Part) submitStatusName() string {
	if p.SubmitStatus == 0 {
		return ""
	}
	return SMPPStatusName(p.SubmitStatus)
}

// SMPPStatusName renders an SMPP command_status as 0x-prefixed hex (this
// package cannot name them; the event history carries the SMPP names).
func SMPPStatusName(s uint32) string {
	const hex = "0123456789ABCDEF"
	b := []byte("0x00000000")
	for i := 9; i >= 2; i-- {
		b[i] = hex[s&0xF]
		s >>= 4
	}
	return string(b)
}

// EventView is the JSON body of a webhook and of an item of a message's
// event list (Standard Webhooks shape: type, timestamp, data).
type EventView struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      EventData `json:"data"`
}

// EventData is the data of an event: the message as it was when the
// event happened, without its body, plus what caused the change.
type EventData struct {
	MessageView
	PartSeq     int    `json:"part_seq,omitempty"`
	CarrierCode string `json:"carrier_code,omitempty"`
	Detail      string `json:"detail,omitempty"`
}

// Payload renders the webhook body for ev about m (m's state after the
// change). The body is fixed when the event is recorded, so every retry
// sends the same bytes.
func Payload(ev *Event, m *Message) []byte {
	mv := m.View()
	mv.Body = ""
	mv.PartList = nil
	b, err := json.Marshal(EventView{
		ID: ev.ID, Type: ev.Type, Timestamp: ev.At.UTC(),
		Data: EventData{MessageView: mv, PartSeq: ev.PartSeq, CarrierCode: ev.CarrierCode, Detail: ev.Detail},
	})
	if err != nil {
		// Every field is a plain value; Marshal cannot fail except on
		// invalid Metadata, which intake validates.
		b, _ = json.Marshal(EventView{ID: ev.ID, Type: ev.Type, Timestamp: ev.At.UTC()})
	}
	return b
}
