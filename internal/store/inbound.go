package store

import (
	"context"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// Senders holds the addresses accounts send from and receive at, and
// each account's two-way policy.
type Senders interface {
	// CreateSender registers s.Address for s.AccountID. An address belongs
	// to one account: KindConflict "sender_taken" when any account has it.
	CreateSender(ctx context.Context, s *herald.Sender) error
	// Senders lists an account's senders, oldest first.
	Senders(ctx context.Context, accountID string) ([]*herald.Sender, error)
	// DeleteSender removes one of the account's senders (KindNotFound).
	DeleteSender(ctx context.Context, accountID, id string) error
	// SenderByAddress returns the sender with this canonical address,
	// whatever its account (KindNotFound when nobody owns it).
	SenderByAddress(ctx context.Context, address string) (*herald.Sender, error)
	// Policy returns the account's policy, or the defaults (owned senders
	// only, sender scope, no exemption) when it never set one.
	Policy(ctx context.Context, accountID string) (*herald.Policy, error)
	// SetPolicy replaces the account's policy and appends a ledger entry
	// (action policy) describing it, in one commit.
	SetPolicy(ctx context.Context, p *herald.Policy) error
}

// InboundPart is one received part of a concatenated inbound message.
// Parts with the same Carrier, From, To, Ref and Total form one message,
// whatever bind they came on.
type InboundPart struct {
	Carrier    string
	From, To   string
	Ref        int // concatenation reference (8 or 16 bits, or SAR)
	Total, Seq int // 1 ≤ Seq ≤ Total
	DataCoding uint8
	// Shift tables (GSM 7-bit national languages) named in the part's UDH.
	SingleShift, LockingShift uint8
	Data                      []byte // user data after any UDH; GSM 7-bit as unpacked septets
	ReceivedAt                time.Time
}

// InboundGroup names the parts of one concatenated inbound message.
type InboundGroup struct {
	Carrier, From, To string
	Ref, Total        int
}

// Group returns the group p belongs to.
func (p *InboundPart) Group() InboundGroup {
	return InboundGroup{Carrier: p.Carrier, From: p.From, To: p.To, Ref: p.Ref, Total: p.Total}
}

// NewInbound is an inbound message to store, with what it changes.
type NewInbound struct {
	Message *herald.InboundMessage // ID and times set by the caller
	// Group, when set, names the stored parts it was assembled from; they
	// are removed in the same commit. When they are already gone (another
	// assembly stored the message first) the item is skipped.
	Group *InboundGroup
	// Consent, when set (an opt_out or opt_in keyword), is applied in the
	// same commit and appended to the ledger. A new opt-out also moves the
	// account's messages to the number that are not sent yet (accepted,
	// scheduled, queued; from the opt-out's sender, or any for an
	// account-wide one; not of a type the policy exempts) to rejected,
	// error code recipient_opted_out.
	Consent *herald.ConsentEntry
	// Reply, when set, is a message to the person (a keyword's
	// confirmation or help text) created in the same commit — when there
	// is no Consent, or when Consent changed the recipient's state, so a
	// repeated STOP is not confirmed twice. A per-item problem with it is
	// reported in Reply.Err and does not stop the inbound message.
	Reply *NewMessage

	// Set by ReceiveInbound.
	Skipped bool // Group's parts were already gone: nothing was stored
	Changed bool // Consent changed the recipient's state (new opt-out, or an opt-out removed)
	Replied bool // Reply was created
}

// InboundFilter selects inbound messages.
type InboundFilter struct {
	From   string
	To     string
	Cursor string // opaque, from a previous page
	Limit  int    // 1-1000, default 50
}

// ConversationItem is one message of a conversation: Outbound or Inbound
// is set.
type ConversationItem struct {
	Outbound *herald.Message
	Inbound  *herald.InboundMessage
}

// Inbound holds inbound messages and the parts of those not yet complete.
type Inbound interface {
	// AddInboundParts stores parts durably (a part already stored is
	// ignored) and returns the groups this call completed (every Seq from 1
	// to Total present), each with all its parts in Seq order. A group is
	// returned by exactly one call.
	AddInboundParts(ctx context.Context, parts []*InboundPart) ([][]*InboundPart, error)
	// StaleInboundParts returns up to limit groups whose first part
	// arrived before before, each with its parts in Seq order.
	StaleInboundParts(ctx context.Context, before time.Time, limit int) ([][]*InboundPart, error)
	// ReceiveInbound stores messages in one commit: each message, its
	// consent change, its message.received event and webhook deliveries,
	// and the removal of its parts.
	ReceiveInbound(ctx context.Context, ms []*NewInbound) error
	// InboundMessage returns one of the account's inbound messages.
	InboundMessage(ctx context.Context, accountID, id string) (*herald.InboundMessage, error)
	// ListInbound returns a page of the account's inbound messages, newest
	// first, and the next cursor ("" at the end).
	ListInbound(ctx context.Context, accountID string, f InboundFilter) ([]*herald.InboundMessage, string, error)
	// Conversation returns a page of the messages between the account and
	// one person (sent to number, or received from it), oldest first, and
	// the next cursor.
	Conversation(ctx context.Context, accountID, number, cursor string, limit int) ([]ConversationItem, string, error)
}

// OptOuts holds who opted out of an account's messages and the ledger
// of consent changes.
type OptOuts interface {
	// OptedOut reports whether number opted out of the account's messages
	// from sender: an account-wide opt-out or one for that sender.
	OptedOut(ctx context.Context, accountID, number, sender string) (bool, error)
	// OptOuts returns a page of the account's opt-outs, by number, and the
	// next cursor.
	OptOuts(ctx context.Context, accountID, cursor string, limit int) ([]*herald.OptOut, string, error)
	// AddOptOuts records opt-outs (an existing one is kept) with a ledger
	// entry each, in one commit, and rejects the pending messages each new
	// one covers (as NewInbound.Consent does); it returns how many were new.
	AddOptOuts(ctx context.Context, os []*herald.OptOut) (int, error)
	// RemoveOptOut removes an opt-out and appends e (action removed, with
	// its reason) to the ledger; KindNotFound when there is none.
	RemoveOptOut(ctx context.Context, e *herald.ConsentEntry) error
	// ConsentLedger returns the ledger entries of one number (all numbers
	// when number is ""), oldest first, at most limit.
	ConsentLedger(ctx context.Context, accountID, number string, limit int) ([]*herald.ConsentEntry, error)
}
