// Package store is the storage seam of Herald: the interface every
// backend implements (SQLite embedded, PostgreSQL for clusters) and the
// types that cross it. Backends live in subpackages; only cmd imports
// them. storetest holds the conformance suite every backend passes.
//
// Durability contract: a write method returns nil only after its effects
// are committed and synced to stable storage. Backends group concurrent
// writes into one transaction (group commit); a failed commit fails every
// write in it and leaves none of them half-applied.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// ErrNotFound is returned (wrapped in a *herald.Error of KindNotFound) when
// a record does not exist or belongs to another account.
var ErrNotFound = errors.New("store: not found")

// Store is implemented by every backend. All methods are safe for
// concurrent use.
type Store interface {
	Accounts
	Messages
	Dispatch
	Webhooks
	SMPPUsers
	ClientOutbox
	Close() error
}

// Accounts holds accounts and API keys.
type Accounts interface {
	// EnsureAccount returns the account with this name, creating it.
	EnsureAccount(ctx context.Context, name string) (*herald.Account, error)
	CreateAPIKey(ctx context.Context, k *herald.APIKey) error
	// APIKeyByPrefix finds a key by its public prefix.
	APIKeyByPrefix(ctx context.Context, prefix string) (*herald.APIKey, error)
}

// NewMessage is one message to create, with its idempotency record.
type NewMessage struct {
	Message *herald.Message // with Parts; IDs and times set by the caller
	// IdempotencyKey, when set, makes the create idempotent per account:
	// a second create with the same key and the same RequestHash returns
	// the first message (Replayed); with another hash it fails with
	// KindConflict, code "idempotency_key_reused".
	IdempotencyKey string
	RequestHash    []byte
	// SMPP, when set, records that an SMPP client submitted the message
	// (see ClientOutbox).
	SMPP *SMPPSource

	// Set by CreateMessages.
	Replayed bool            // an earlier message was returned instead
	Existing *herald.Message // that earlier message, when Replayed
	Err      error           // this item failed (others may have succeeded)
}

// MessageFilter selects messages for ListMessages.
type MessageFilter struct {
	Status    herald.Status
	To        string
	Type      herald.MessageType
	Reference string
	After     time.Time // created at or after
	Before    time.Time // created before
	Cursor    string    // opaque, from a previous page
	Limit     int       // 1-1000, default 50
}

// Messages is the intake and read side.
type Messages interface {
	// CreateMessages stores every item (message, parts, idempotency
	// record, first event and work) in one durable commit. A per-item
	// problem is reported in item.Err; the returned error means nothing
	// was stored.
	CreateMessages(ctx context.Context, items []*NewMessage) error
	// Message returns one of the account's messages, with its parts when
	// parts is true.
	Message(ctx context.Context, accountID, id string, parts bool) (*herald.Message, error)
	// ListMessages returns a page, newest first, and the cursor of the
	// next page ("" at the end).
	ListMessages(ctx context.Context, accountID string, f MessageFilter) ([]*herald.Message, string, error)
	// Events returns a message's events, oldest first.
	Events(ctx context.Context, accountID, messageID string) ([]herald.Event, error)
	// CancelMessage cancels a message that is accepted, scheduled or
	// queued; otherwise it fails with KindConflict "not_cancelable".
	CancelMessage(ctx context.Context, accountID, id string, at time.Time) (*herald.Message, error)
	// PurgeIdempotencyKeys deletes idempotency records older than before.
	PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int, error)
}

// PartRef names one part.
type PartRef struct {
	MessageID string
	Seq       int
}

// Transition is a change of one part's state, with what caused it.
type Transition struct {
	PartRef
	To               herald.Status
	At               time.Time
	Carrier          string
	CarrierMessageID string   // with To=sent (or a receipt before the response)
	CorrelationKeys  []string // keys under which receipts for this part are looked up
	SubmitStatus     uint32   // with results of a submit
	CarrierCode      string   // human name of the carrier code (ESME_RTHROTTLED, DELIVRD/err:000)
	ReceiptStat      string
	ReceiptErr       string
	NextAttemptAt    time.Time // with To=queued (a retry)
	ErrorCode        string    // Herald error code for failed/expired/rejected
	ErrorMessage     string
	Resent           bool   // this submit repeats one that may have reached the carrier
	Detail           string // a human explanation kept in the event history
}

// Applied reports what a Transition did.
type Applied struct {
	Changed       bool          // false: not allowed from the current state (a late or duplicate report)
	MessageStatus herald.Status // the message's status afterwards
	MessageFinal  bool          // the message reached a final state with this change
}

// Receipt is a delivery receipt that arrived for a carrier message id.
type Receipt struct {
	Carrier         string
	CorrelationKeys []string
	To              herald.Status // delivered, undelivered, expired, unknown …
	At              time.Time
	CarrierCode     string
	ReceiptStat     string
	ReceiptErr      string
}

// Dispatch is the dispatcher's and carrier links' side.
type Dispatch interface {
	// Pending returns the messages that still have work to do before
	// submission (accepted, scheduled, queued or sending), with parts,
	// for recovery at start-up.
	Pending(ctx context.Context) ([]*herald.Message, error)
	// Apply applies part transitions in one commit: it checks each against
	// the state machine, records part fields, events, the derived message
	// status and webhook deliveries. out[i] reports ts[i]. The dispatcher
	// records queued → sending with it before a submit_sm is written, so
	// that after a crash the parts that may have reached the carrier are
	// known.
	Apply(ctx context.Context, ts []Transition) (out []Applied, err error)
	// ApplyReceipts resolves each receipt's correlation keys to a part and
	// applies it; a receipt that matches no part yet is kept and applied
	// when a Transition with a matching key is recorded. The returned
	// error means none was stored; nil means all are durable.
	ApplyReceipts(ctx context.Context, rs []Receipt) error
	// ExpireOverdue moves messages whose validity has passed while not yet
	// sent to expired, and parts sent before sentBefore with no receipt to
	// unknown. It returns how many parts changed.
	ExpireOverdue(ctx context.Context, now, sentBefore time.Time) (int, error)
}

// Attempt is the outcome of one webhook delivery attempt.
type Attempt struct {
	DeliveryID string
	At         time.Time
	HTTPStatus int    // 0 on a network error
	Error      string // network error or a short response snippet
	Done       bool   // delivered (2xx)
	GiveUp     bool   // stop retrying (410, or the retry period is over)
	NextAt     time.Time
	// DisableEndpoint disables the delivery's endpoint (HTTP 410).
	DisableEndpoint bool
}

// Webhooks holds webhook endpoints and the delivery outbox.
type Webhooks interface {
	CreateEndpoint(ctx context.Context, e *herald.WebhookEndpoint) error
	Endpoints(ctx context.Context, accountID string) ([]*herald.WebhookEndpoint, error)
	DeleteEndpoint(ctx context.Context, accountID, id string) error
	// ClaimDeliveries returns up to limit pending deliveries due at now and
	// pushes their next attempt to now+lease, so that a crashed worker's
	// claims become due again.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*herald.Delivery, error)
	// RecordAttempts records outcomes in one commit.
	RecordAttempts(ctx context.Context, as []Attempt) error
	// Deliveries lists the deliveries of one message's events, for the API.
	Deliveries(ctx context.Context, accountID, messageID string) ([]*herald.Delivery, error)
}
