package intake

import (
	"encoding/json"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// Request is one message to send, as a client asks for it (the fields of
// POST /v1/messages). Zero values mean "not given".
type Request struct {
	To             string             `json:"to"`
	From           string             `json:"from"`
	Body           string             `json:"body"`
	Type           herald.MessageType `json:"type,omitempty"`
	SendAt         *time.Time         `json:"send_at,omitempty"`
	ValidityPeriod int                `json:"validity_period,omitempty"` // seconds
	CallbackURL    string             `json:"callback_url,omitempty"`
	Reference      string             `json:"reference,omitempty"`
	Metadata       json.RawMessage    `json:"metadata,omitempty"`
	SmartEncoding  bool               `json:"smart_encoding,omitempty"`
	// Compliance marks Herald's own keyword replies (STOP confirmation,
	// HELP text): sent even to a number that opted out. Never from clients.
	Compliance bool `json:"-"`

	// Redacted, when set, is stored in place of Body, which is then only
	// handed to the dispatcher (in memory) and never written: the Verify
	// API keeps one-time codes out of the database this way. It must
	// split into as many parts as Body (same length, digits masked).
	Redacted string `json:"-"`
	// SMPP is set by the SMPP server: which SMPP user submitted the
	// message and which receipts it asked for.
	SMPP *store.SMPPSource `json:"-"`
}

// Result is the outcome of one Request.
type Result struct {
	Message  *herald.Message // the stored (or, on replay, the earlier) message
	Replayed bool            // an idempotent replay of an earlier request
	Err      error           // *herald.Error: why this request was refused
}
