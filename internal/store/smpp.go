package store

import (
	"context"
	"unicode/utf8"

	"github.com/herald-sms/herald/internal/herald"
)

// SMPPSource records which SMPP user submitted a message and which
// receipts it asked for.
type SMPPSource struct {
	UserID string
	// RegisteredDelivery is the submit_sm field as the client sent it:
	// bits 0-1 select final receipts (1: any final state, 2: failures
	// only), bit 4 asks for an intermediate notification (ENROUTE) when
	// the carrier accepted the message.
	RegisteredDelivery uint8
}

// SMPPUsers holds the credentials of SMPP client applications.
type SMPPUsers interface {
	// CreateSMPPUser stores u (ID, AccountID, SystemID and PasswordHash
	// set by the caller); a system_id already in use fails with
	// KindConflict "system_id_taken".
	CreateSMPPUser(ctx context.Context, u *herald.SMPPUser) error
	// SMPPUserBySystemID finds a user of any account (for binds).
	SMPPUserBySystemID(ctx context.Context, systemID string) (*herald.SMPPUser, error)
	// SMPPUsers lists an account's users, oldest first.
	SMPPUsers(ctx context.Context, accountID string) ([]*herald.SMPPUser, error)
	// DeleteSMPPUser deletes one of the account's users.
	DeleteSMPPUser(ctx context.Context, accountID, id string) error
}

// ClientOutbox holds the deliver_sm waiting for an account's SMPP
// receiver binds. Apply adds a receipt row, in the same commit as the
// transition, when a message submitted over SMPP with a
// registered_delivery request reaches a final state (or sent, for an
// intermediate notification); AddClientMessages adds other rows
// (inbound messages). A row stays until acknowledged, so nothing is lost
// while no client is bound or across a restart.
type ClientOutbox interface {
	// AddClientMessages queues ms (Seq and CreatedAt are set) in one commit.
	AddClientMessages(ctx context.Context, ms []*herald.ClientMessage) error
	// ClientMessages returns up to limit (1-1000) of the account's rows with
	// Seq greater than after, in Seq order.
	ClientMessages(ctx context.Context, accountID string, after int64, limit int) ([]*herald.ClientMessage, error)
	// AckClientMessages removes delivered rows of the account. Unknown
	// sequence numbers are ignored.
	AckClientMessages(ctx context.Context, accountID string, seqs []int64) error
	// ClientOutboxAccounts returns the accounts that have rows waiting.
	ClientOutboxAccounts(ctx context.Context) ([]string, error)
}

// ReceiptBodyLen is how much of the body an SMPP client receipt carries
// (its text: field shows 20 characters).
const ReceiptBodyLen = 20

// ClientReceiptOf returns what an SMPP client receipt says of m after the
// change cause, when m's status calls for one (final, or sent for an
// intermediate notification): the parts delivered, the carrier error
// (the cause's, else the first part's) and the start of the body. Both
// stores queue it in the client outbox; whether the client asked for it
// is WantsClientReceipt.
func ClientReceiptOf(m *herald.Message, cause *Transition) (delivered int, errCode, body string, ok bool) {
	if !m.Status.Final() && m.Status != herald.StatusSent {
		return 0, "", "", false
	}
	for _, p := range m.Parts {
		if p.Status == herald.StatusDelivered {
			delivered++
		}
		if p.ReceiptErr != "" && errCode == "" {
			errCode = p.ReceiptErr
		}
	}
	if cause.ReceiptErr != "" {
		errCode = cause.ReceiptErr
	}
	body = m.Body
	if utf8.RuneCountInString(body) > ReceiptBodyLen {
		body = string([]rune(body)[:ReceiptBodyLen])
	}
	return delivered, errCode, body, true
}

// WantsClientReceipt reports whether a message whose SMPP source asked
// registered_delivery rd gets a receipt for status to: bit 4 for the
// intermediate "sent", bits 0-1 for final states (1 any, 2 failures
// only). SQLite's receiptInserts states the same rule in SQL.
func WantsClientReceipt(rd int64, to herald.Status) bool {
	if to == herald.StatusSent {
		return rd&16 != 0
	}
	switch rd & 3 {
	case 1:
		return true
	case 2:
		return to != herald.StatusDelivered
	}
	return false
}
