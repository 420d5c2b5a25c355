package herald

import (
	"encoding/json"
	"strings"
	"time"
)

// Direction says which way a message travelled.
type Direction string

// Directions.
const (
	Outbound Direction = "outbound"
	Inbound  Direction = "inbound"
)

// InboundMessage is a message a person sent to one of an account's
// senders (mobile originated), reassembled from its parts.
type InboundMessage struct {
	ID        string
	AccountID string // the owner of To; "" when no account owns it
	From      string // the person, E.164 when the carrier gave an international number
	To        string // the sender it was sent to (number, short code)
	Body      string
	Encoding  string // gsm7, ucs2, latin1, binary (body base64), ia5
	Carrier   string
	PartCount int // parts the message announced
	Received  int // parts that arrived
	// Incomplete: the reassembly timeout passed before every part arrived;
	// Body holds the parts that did, in order.
	Incomplete bool
	Keyword    string // the compliance keyword it matched: stop, start, help, or ""
	ReceivedAt time.Time
}

// InboundView is the JSON form of an inbound message.
type InboundView struct {
	ID         string    `json:"id"`
	Object     string    `json:"object"` // "message"
	Direction  Direction `json:"direction"`
	Status     Status    `json:"status"` // received
	From       string    `json:"from"`
	To         string    `json:"to"`
	Body       string    `json:"body"`
	Encoding   string    `json:"encoding"`
	Parts      int       `json:"parts"`
	Received   int       `json:"parts_received"`
	Incomplete bool      `json:"incomplete,omitempty"`
	Keyword    string    `json:"keyword,omitempty"`
	Carrier    string    `json:"carrier,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// View returns the JSON form of m.
func (m *InboundMessage) View() InboundView {
	return InboundView{ID: m.ID, Object: "message", Direction: Inbound, Status: StatusReceived, From: m.From, To: m.To,
		Body: m.Body, Encoding: m.Encoding, Parts: m.PartCount, Received: m.Received, Incomplete: m.Incomplete,
		Keyword: m.Keyword, Carrier: m.Carrier, CreatedAt: m.ReceivedAt.UTC()}
}

// EventMessageReceived is the webhook event type of an inbound message.
const EventMessageReceived = "message.received"

// InboundPayload renders the message.received webhook body. Unlike status
// events it carries the body: the application needs the text to answer.
func InboundPayload(eventID string, m *InboundMessage) []byte {
	b, _ := json.Marshal(struct {
		ID        string      `json:"id"`
		Type      string      `json:"type"`
		Timestamp time.Time   `json:"timestamp"`
		Data      InboundView `json:"data"`
	}{eventID, EventMessageReceived, m.ReceivedAt.UTC(), m.View()})
	return b
}

// SenderKind classifies a sender.
type SenderKind string

// Sender kinds.
const (
	SenderNumber       SenderKind = "number"       // E.164 long number
	SenderShortCode    SenderKind = "short_code"   // 3 to 8 digits
	SenderAlphanumeric SenderKind = "alphanumeric" // 1 to 11 characters, one letter at least
)

// Sender is an address an account sends from and receives at. An address
// belongs to at most one account, so inbound messages can be routed.
type Sender struct {
	ID        string
	AccountID string
	Address   string // canonical: "+" and digits, digits, or the alphanumeric id
	Kind      SenderKind
	Language  string // language of keyword replies ("" = default)
	CreatedAt time.Time
}

// ParseSender validates a sender address and returns its canonical form
// and kind: "+" and 8 to 15 digits is a number, 3 to 8 digits a short
// code, 1 to 11 of [A-Za-z0-9 .-] with a letter an alphanumeric id.
func ParseSender(addr string) (string, SenderKind, error) {
	a := strings.TrimSpace(addr)
	digits := strings.TrimPrefix(a, "+")
	numeric := digits != ""
	for _, c := range digits {
		if c < '0' || c > '9' {
			numeric = false
			break
		}
	}
	switch {
	case numeric && strings.HasPrefix(a, "+"):
		if len(digits) < 8 || len(digits) > 15 {
			return "", "", FieldError("address", "invalid_sender", "a number is + and 8 to 15 digits (E.164)")
		}
		return a, SenderNumber, nil
	case numeric:
		if len(digits) < 3 || len(digits) > 8 {
			return "", "", FieldError("address", "invalid_sender", "a short code has 3 to 8 digits; give numbers in E.164 (+ and country code)")
		}
		return a, SenderShortCode, nil
	}
	if a == "" || len([]rune(a)) > 11 {
		return "", "", FieldError("address", "invalid_sender", "an alphanumeric sender has 1 to 11 characters")
	}
	letter := false
	for _, c := range a {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
			letter = true
		case c >= '0' && c <= '9', c == ' ', c == '.', c == '-':
		default:
			return "", "", FieldError("address", "invalid_sender", "an alphanumeric sender may use only letters, digits, space, '.' and '-'")
		}
	}
	if !letter {
		return "", "", FieldError("address", "invalid_sender", "an alphanumeric sender needs at least one letter")
	}
	return a, SenderAlphanumeric, nil
}

// OptOutScope says what an opt-out covers.
type OptOutScope string

// Opt-out scopes.
const (
	ScopeSender  OptOutScope = "sender"  // messages from the sender the person wrote to
	ScopeAccount OptOutScope = "account" // every message of the account
)

// Policy is an account's two-way and compliance settings.
type Policy struct {
	AccountID string
	// AllowAnySender lets the account send from addresses it has not
	// registered (the platform's default sender is always allowed).
	AllowAnySender bool
	// OptOutScope is what an inbound STOP covers. Default ScopeSender.
	OptOutScope OptOutScope
	// Exempt lists message types sent even to opted-out recipients (for
	// example otp). Empty: nobody who opted out gets anything.
	Exempt    []MessageType
	UpdatedAt time.Time
}

// Exempts reports whether messages of type t bypass opt-outs.
func (p *Policy) Exempts(t MessageType) bool {
	for _, e := range p.Exempt {
		if e == t {
			return true
		}
	}
	return false
}

// ConsentAction is what a ledger entry records.
type ConsentAction string

// Ledger actions.
const (
	ConsentOptOut ConsentAction = "opt_out" // the person (or the account for them) opted out
	ConsentOptIn  ConsentAction = "opt_in"  // the person opted back in (START)
	ConsentRemove ConsentAction = "removed" // the account removed an opt-out, with a reason
	ConsentPolicy ConsentAction = "policy"  // the account changed its exemptions or scope
)

// OptOut is a recipient who must not get the account's messages (from
// Sender, or from any sender when Sender is "").
type OptOut struct {
	AccountID string
	Number    string // the person, E.164
	Sender    string // "" for account scope
	At        time.Time
	Source    string // keyword, api, import
	Keyword   string // the word that opted out, when Source is keyword
	InboundID string // the inbound message that opted out, when there was one
}

// Scope returns the opt-out's scope.
func (o *OptOut) Scope() OptOutScope {
	if o.Sender == "" {
		return ScopeAccount
	}
	return ScopeSender
}

// ConsentEntry is one line of an account's consent ledger, append-only:
// the evidence of every opt-out, opt-in and removal.
type ConsentEntry struct {
	ID        string
	AccountID string
	Number    string
	Sender    string
	Action    ConsentAction
	At        time.Time
	Source    string // keyword, api, import, policy
	Keyword   string
	InboundID string
	Reason    string
}
