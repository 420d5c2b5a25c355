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
	Senders
	Inbound
	OptOuts
	Verifications
	FraudBlocks
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

// StartVerification asks to send a code: a new verification, or a new
// code for one that is still pending.
type StartVerification struct {
	// New is the verification to create when none is pending for
	// (New.AccountID, New.To); ID, times and TTL set by the caller.
	New *herald.Verification
	// ResendID, when set, resends that verification instead (it must be
	// the account's and pending, else KindNotFound / KindConflict).
	ResendID string
	// Hash returns the hash of the new code for the verification that
	// receives it (the code is bound to the verification's id).
	Hash   func(id string) []byte
	Now    time.Time
	Limits herald.VerifyLimits
	// Message, when set, is the code's message, stored in the same
	// commit when the send is allowed (with Reference set to the
	// verification's id); Message.Err reports a refusal of it alone.
	Message *NewMessage
}

// CheckVerification asks to check a code.
type CheckVerification struct {
	AccountID, ID string
	// Match compares the presented code with a stored hash in constant
	// time; it is called with nil when there is no such verification.
	Match  func(hash []byte) bool
	Now    time.Time
	Limits herald.VerifyLimits
}

// CheckResult is the outcome of a check.
type CheckResult struct {
	// Verification as it is after the check; nil when the id is unknown
	// (or another account's): a decoy answered, whose checks are counted
	// like a real verification's so that the answers look the same.
	Verification *herald.Verification
	Evaluated    bool // the code was compared with a real verification's hash
	Approved     bool
	ChecksLeft   int
}

// Verifications holds one-time-code verifications and the per-number
// counters that bound them (sends in a window, consecutive failed
// checks). Each method is one atomic step: the decisions
// (herald.DecideSend, herald.DecideCheck) are made inside the same
// transaction as the writes they lead to, so concurrent checks cannot
// both pass a limit.
type Verifications interface {
	// StartVerification records a send (a new verification or a new code
	// for a pending one) if the limits allow it; a refusal is a
	// KindRateLimited *herald.Error with RetryAfter.
	StartVerification(ctx context.Context, s StartVerification) (*herald.Verification, error)
	// CheckVerification counts and decides one check.
	CheckVerification(ctx context.Context, c CheckVerification) (CheckResult, error)
	// Verification returns one of the account's verifications.
	Verification(ctx context.Context, accountID, id string) (*herald.Verification, error)
	// FinishVerification moves a pending verification to a final status
	// (canceled, failed) and returns it; KindConflict
	// "verification_not_pending" when it is not pending.
	FinishVerification(ctx context.Context, accountID, id string, to herald.VerificationStatus, at time.Time) (*herald.Verification, error)
	// ResetVerificationFailures clears the consecutive-failure count of
	// an (account, number), lifting a lock; it returns the count cleared.
	ResetVerificationFailures(ctx context.Context, accountID, to string) (int, error)
	// PurgeVerifications deletes send records and decoys older than
	// before, and verifications that ended (or expired) before it.
	PurgeVerifications(ctx context.Context, before time.Time) (int, error)
}

// FraudBlocks keeps the fraud guard's blocks and queues their events
// (fraud.blocked, fraud.unblocked) for the account's webhook endpoints
// that want them, in the same commit.
type FraudBlocks interface {
	// SaveFraudBlock inserts or updates b (by ID) and queues the event of
	// type event for the account's endpoints.
	SaveFraudBlock(ctx context.Context, b *herald.FraudBlock, event string, at time.Time) error
	// FraudBlocks returns the blocks created at or after since, of one
	// account or ("") of all, oldest first.
	FraudBlocks(ctx context.Context, accountID string, since time.Time) ([]*herald.FraudBlock, error)
}
