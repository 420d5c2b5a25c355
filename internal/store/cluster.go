package store

import (
	"context"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// Node is one Herald node of a cluster, as the database knows it.
type Node struct {
	ID          string    `json:"id"`
	Addr        string    `json:"addr,omitempty"` // its HTTP API address, as it announced it
	Version     string    `json:"version,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
	// Alive: its last heartbeat is within the liveness period asked for.
	Alive  bool     `json:"alive"`
	Leases []string `json:"leases"` // names of the leases it holds (bind/CARRIER/N, leader, outbox/ACCOUNT)
	// Owned counts the unfinished messages it dispatches.
	Owned int `json:"owned_messages"`
}

// Lease is a named right held by one node until it expires.
type Lease struct {
	Name       string    `json:"name"`
	Node       string    `json:"node"`
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Cluster is implemented by stores that several nodes share (the
// PostgreSQL store opened with a node id). Times that decide liveness
// and leases are the database's, so that the nodes' clocks need not
// agree.
type Cluster interface {
	// Node is this node's id.
	Node() string
	// Heartbeat records that this node is alive (creating its row).
	Heartbeat(ctx context.Context, addr, version string) error
	// Nodes lists the nodes; Alive means a heartbeat within alive.
	Nodes(ctx context.Context, alive time.Duration) ([]Node, error)
	// LiveNodes counts the nodes with a heartbeat within alive (cheaper
	// than Nodes, which also counts what each owns).
	LiveNodes(ctx context.Context, alive time.Duration) (int, error)
	// DeadNodes returns the nodes whose last heartbeat is older than
	// alive.
	DeadNodes(ctx context.Context, alive time.Duration) ([]string, error)
	// ForgetNode deletes a dead node's row and leases once it owns no
	// unfinished message; it reports whether it did.
	ForgetNode(ctx context.Context, node string) (bool, error)

	// AcquireLease takes the named lease for this node, or renews it, for
	// ttl; it reports false when another node holds it unexpired.
	AcquireLease(ctx context.Context, name string, ttl time.Duration) (bool, error)
	// ReleaseLease gives up the named lease if this node holds it.
	ReleaseLease(ctx context.Context, name string) error
	// Leases lists the unexpired leases whose names start with prefix.
	Leases(ctx context.Context, prefix string) ([]Lease, error)

	// SetDispatching tells the store for which carriers this node can
	// send now: a message created for one of them, due now, is owned by
	// this node from its first commit (no claim needed).
	SetDispatching(can func(carrier string) bool)
	// Claim takes up to n due messages that no node owns, whose carrier
	// is one of carriers, most urgent type first, oldest first; they are
	// returned with their parts and owned by this node.
	Claim(ctx context.Context, carriers []string, n int, now time.Time) ([]*herald.Message, error)
	// Release gives back messages this node owns and will not send now
	// (none of their parts is being sent); it returns how many it gave.
	Release(ctx context.Context, ids []string) (int, error)
	// Recover takes back the unfinished messages of a node that stopped
	// (this node at start-up, or a dead one): parts it left sending are
	// queued again as resent (they may have reached the carrier), then
	// its messages are given back for any node to claim. It returns the
	// parts requeued and the messages given back.
	Recover(ctx context.Context, node string) (requeued, released int, err error)
	// Work is signalled when messages that no node owns were created.
	Work() <-chan struct{}
}
