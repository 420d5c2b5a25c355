package store

import (
	"context"

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
