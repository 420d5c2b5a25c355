package herald

import (
	"encoding/json"
	"time"
)

// MessageType says what a message is for; it picks the priority lane.
type MessageType string

// Message types, from the most urgent lane to the least.
const (
	TypeOTP           MessageType = "otp"
	TypeTransactional MessageType = "transactional"
	TypeMarketing     MessageType = "marketing"
)

// Lane is the dispatch priority of t: 0 is served first.
func (t MessageType) Lane() int {
	switch t {
	case TypeOTP:
		return 0
	case TypeTransactional:
		return 1
	}
	return 2
}

// Valid reports whether t is a defined type.
func (t MessageType) Valid() bool {
	return t == TypeOTP || t == TypeTransactional || t == TypeMarketing
}

// Lanes is the number of priority lanes.
const Lanes = 3

// Message is one outbound message as the API shows it.
type Message struct {
	ID        string
	AccountID string
	To        string // E.164
	// Country is the destination's ISO 3166 region as the intake found it
	// when validating To ("GB"), for the fraud guard; not stored (empty
	// on messages read back).
	Country       string
	From          string // numeric or alphanumeric sender
	Body          string
	Type          MessageType
	Status        Status
	Encoding      string // "gsm7", "ucs2", …
	PartCount     int
	SendAt        time.Time // zero: send now
	ValidUntil    time.Time // zero: no validity limit of our own
	CallbackURL   string
	Reference     string
	Metadata      json.RawMessage // a small JSON object, or nil
	SmartEncoding bool
	Carrier       string // the route the message was assigned to
	ErrorCode     string // why it failed, when it did
	ErrorMessage  string
	Resends       int // submits repeated after a crash or an unanswered submit
	// Owner is the cluster node that dispatches the message (PostgreSQL
	// store in cluster mode); empty when no node has claimed it, and
	// always empty with the embedded store.
	Owner string
	// Ephemeral: the text sent is not the one stored (a one-time code,
	// stored masked): only the process that created the message can send
	// it, so it is never handed to another node, and it fails rather than
	// be sent masked when that process is gone.
	Ephemeral bool
	CreatedAt time.Time
	UpdatedAt time.Time
	Parts     []Part // filled by reads that ask for parts
}

// Part is one SMS of a message: what is submitted to the carrier and
// what the carrier reports about it.
type Part struct {
	MessageID        string
	Seq              int // 1-based
	Status           Status
	ShortMessage     []byte // the short_message octets (UDH included) or payload
	DataCoding       uint8
	ESMClass         uint8
	SARRef           uint16 // SAR concatenation values when the carrier uses SAR TLVs
	SARTotal         uint8
	SARSeq           uint8
	Payload          bool // send as message_payload rather than short_message
	CarrierMessageID string
	Attempts         int
	SubmitStatus     uint32 // last submit_sm_resp command_status
	ReceiptStat      string // raw stat of the receipt (DELIVRD, UNDELIV …)
	ReceiptErr       string // err field / network error of the receipt
	SubmittedAt      time.Time
	DoneAt           time.Time
	NextAttemptAt    time.Time
}

// Event is one state change of a message (or of one of its parts) as
// recorded in its history and sent to webhooks.
type Event struct {
	ID          string
	AccountID   string
	MessageID   string
	Type        string // "message.sent", "message.delivered", "part.sent" …
	Status      Status
	PartSeq     int // 0 for message-level events
	At          time.Time
	Carrier     string
	CarrierCode string // SMPP command_status name or receipt stat/err, kept as sent
	Detail      string
}

// EventType returns the event type name for a message status.
func EventType(s Status) string { return "message." + string(s) }

// Account owns messages, keys and webhook endpoints. One account never
// sees another's data.
type Account struct {
	ID   string
	Name string
	// WebhookSecret signs the webhooks sent to messages' callback_url
	// (account endpoints have secrets of their own).
	WebhookSecret string
	CreatedAt     time.Time
}

// APIKey authenticates API calls for an account. Only a hash of the
// secret is stored; Prefix identifies the key in listings and logs.
type APIKey struct {
	ID        string
	AccountID string
	Prefix    string
	Hash      []byte
	CreatedAt time.Time
}

// WebhookEndpoint receives an account's events. Events lists the event
// types it wants ("message.delivered", "message.*"); empty means all.
type WebhookEndpoint struct {
	ID        string
	AccountID string
	URL       string
	Secret    string // signing secret, "whsec_" + base64
	Events    []string
	Disabled  bool
	CreatedAt time.Time
}

// Wants reports whether the endpoint subscribes to event type t.
func (e *WebhookEndpoint) Wants(t string) bool {
	if len(e.Events) == 0 {
		return true
	}
	for _, f := range e.Events {
		if f == t || f == "*" {
			return true
		}
		if n := len(f); n > 1 && f[n-1] == '*' && len(t) >= n-1 && t[:n-1] == f[:n-1] {
			return true
		}
	}
	return false
}

// Delivery is one event to be delivered to one webhook URL, with its
// attempts so far.
type Delivery struct {
	ID          string
	AccountID   string
	EventID     string
	EndpointID  string // empty for a message's callback_url
	URL         string
	Secret      string
	Payload     []byte // the JSON body, fixed at creation so retries are identical
	Attempts    int
	NextAt      time.Time
	LastStatus  int    // HTTP status of the last attempt, 0 if none or a network error
	LastError   string // network error or response snippet of the last attempt
	State       string // "pending", "delivered", "failed" (gave up), "disabled"
	CreatedAt   time.Time
	DeliveredAt time.Time
}
