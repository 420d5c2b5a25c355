package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// Cluster mode (Options.Node set): the store knows which node it serves,
// owns the messages this node dispatches, and offers the leases and
// heartbeats the nodes coordinate with. docs/cluster.md describes the
// design.

var _ store.Cluster = (*Store)(nil)

// workChannel is the NOTIFY channel of "messages nobody owns were
// created".
const workChannel = "herald_work"

// notifyWork is the statement that announces work. Channels are per
// database: the payload names the schema (one Herald cluster's tables),
// so that clusters in other schemas of the database are not woken.
const notifyWork = "SELECT pg_notify('" + workChannel + "', current_schema())"

// pendingStatuses are the message statuses with work left before the
// carrier's answer.
const pendingStatuses = `('accepted', 'scheduled', 'queued', 'sending')`

// clusterState is the cluster-mode part of a Store.
type clusterState struct {
	node        string
	opened      time.Time // when the store was opened
	dispatching atomic.Pointer[func(string) bool]
	work        chan struct{}
	stopListen  context.CancelFunc
	listenDone  chan struct{}
}

// Node implements store.Cluster.
func (s *Store) Node() string { return s.cl.node }

// owns reports whether a new message is dispatched by this node from
// its creation: cluster mode, due now, and a carrier this node sends to.
func (s *Store) owns(m *herald.Message, now time.Time) bool {
	switch {
	case s.cl.node == "" || m.Status.Final():
		return false
	case m.Ephemeral:
		return true // no other node could send it
	case !m.SendAt.IsZero() && m.SendAt.After(now.Add(claimAhead)):
		return false
	}
	can := s.cl.dispatching.Load()
	return can != nil && (*can)(m.Carrier)
}

// claimAhead: messages due within it are claimed (and owned at
// creation), so that a node's scheduler holds them for their send_at.
const claimAhead = time.Second

// SetDispatching implements store.Cluster.
func (s *Store) SetDispatching(can func(string) bool) { s.cl.dispatching.Store(&can) }

// Work implements store.Cluster.
func (s *Store) Work() <-chan struct{} { return s.cl.work }

// signal wakes Work's reader without blocking.
func (s *Store) signal() {
	select {
	case s.cl.work <- struct{}{}:
	default:
	}
}

// listen keeps a connection LISTENing on workChannel and signals Work
// for each notification (and after each reconnection, since
// notifications may have been missed meanwhile).
func (s *Store) listen(ctx context.Context) {
	defer close(s.cl.listenDone)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("postgres: work notifications interrupted; reconnecting", "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context) error {
	pooled, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection has session state (LISTEN): never give it back.
	// (Hijacked here, not in the defer: a deferred call's receiver is
	// evaluated at once, which would leave pooled empty below.)
	conn := pooled.Hijack()
	defer conn.Close(context.Background())
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+workChannel); err != nil {
		return err
	}
	s.signal()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload == schema {
			s.signal()
		}
	}
}

// Heartbeat implements store.Cluster.
func (s *Store) Heartbeat(ctx context.Context, addr, version string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO nodes (id, addr, version, started_at, heartbeat_at)
		VALUES ($1, $2, $3, now(), now())
		ON CONFLICT (id) DO UPDATE SET addr = EXCLUDED.addr, version = EXCLUDED.version, heartbeat_at = now()`,
		s.cl.node, addr, version)
	if err != nil {
		return fmt.Errorf("postgres: heartbeat: %w", err)
	}
	return nil
}

// Nodes implements store.Cluster.
func (s *Store) Nodes(ctx context.Context, alive time.Duration) ([]store.Node, error) {
	rows, err := s.pool.Query(ctx, `SELECT n.id, n.addr, n.version, n.started_at, n.heartbeat_at,
			n.heartbeat_at >= now() - $1 * interval '1 millisecond',
			COALESCE((SELECT array_agg(l.name ORDER BY l.name) FROM leases l
				WHERE l.node = n.id AND l.expires_at > now()), '{}'),
			(SELECT count(*) FROM messages m WHERE m.owner = n.id AND m.status IN `+pendingStatuses+`)
		FROM nodes n ORDER BY n.id`, alive.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("postgres: nodes: %w", err)
	}
	return collect(rows, func(r scanner) (store.Node, error) {
		var n store.Node
		err := r.Scan(&n.ID, &n.Addr, &n.Version, &n.StartedAt, &n.HeartbeatAt, &n.Alive, &n.Leases, &n.Owned)
		n.StartedAt, n.HeartbeatAt = n.StartedAt.UTC(), n.HeartbeatAt.UTC()
		return n, err
	})
}

// LiveNodes implements store.Cluster.
func (s *Store) LiveNodes(ctx context.Context, alive time.Duration) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE heartbeat_at >= now() - $1 * interval '1 millisecond'`,
		alive.Milliseconds()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: live nodes: %w", err)
	}
	return n, nil
}

// DeadNodes implements store.Cluster.
func (s *Store) DeadNodes(ctx context.Context, alive time.Duration) ([]string, error) {
	ids, err := strs(s.pool.Query(ctx, `SELECT id FROM nodes WHERE heartbeat_at < now() - $1 * interval '1 millisecond'
		ORDER BY id`, alive.Milliseconds()))
	if err != nil {
		return nil, fmt.Errorf("postgres: dead nodes: %w", err)
	}
	return ids, nil
}

// ForgetNode implements store.Cluster.
func (s *Store) ForgetNode(ctx context.Context, node string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM nodes WHERE id = $1
		AND NOT EXISTS (SELECT 1 FROM messages WHERE owner = $1 AND status IN `+pendingStatuses+`)`, node)
	if err != nil {
		return false, fmt.Errorf("postgres: forget node: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE node = $1`, node); err != nil {
		return true, fmt.Errorf("postgres: forget node: %w", err)
	}
	return true, nil
}

// AcquireLease implements store.Cluster.
func (s *Store) AcquireLease(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	if s.cl.node == "" {
		return false, errors.New("postgres: leases need a node id (cluster mode)")
	}
	rows, err := s.pool.Query(ctx, `INSERT INTO leases (name, node, acquired_at, expires_at)
		VALUES ($1, $2, now(), now() + $3 * interval '1 millisecond')
		ON CONFLICT (name) DO UPDATE SET node = EXCLUDED.node, expires_at = EXCLUDED.expires_at,
			acquired_at = CASE WHEN leases.node = EXCLUDED.node THEN leases.acquired_at ELSE now() END
		WHERE leases.node = EXCLUDED.node OR leases.expires_at < now()
		RETURNING node`, name, s.cl.node, ttl.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("postgres: lease %s: %w", name, err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return false, fmt.Errorf("postgres: lease %s: %w", name, err)
	}
	return len(got) == 1, nil
}

// ReleaseLease implements store.Cluster.
func (s *Store) ReleaseLease(ctx context.Context, name string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND node = $2`, name, s.cl.node); err != nil {
		return fmt.Errorf("postgres: release lease %s: %w", name, err)
	}
	return nil
}

// Leases implements store.Cluster.
func (s *Store) Leases(ctx context.Context, prefix string) ([]store.Lease, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, node, acquired_at, expires_at FROM leases
		WHERE expires_at > now() AND starts_with(name, $1) ORDER BY name`, prefix)
	if err != nil {
		return nil, fmt.Errorf("postgres: leases: %w", err)
	}
	return collect(rows, func(r scanner) (store.Lease, error) {
		var l store.Lease
		err := r.Scan(&l.Name, &l.Node, &l.AcquiredAt, &l.ExpiresAt)
		l.AcquiredAt, l.ExpiresAt = l.AcquiredAt.UTC(), l.ExpiresAt.UTC()
		return l, err
	})
}

// claimOrder is the order in which types are claimed: the most urgent
// lane first.
var claimOrder = []herald.MessageType{herald.TypeOTP, herald.TypeTransactional, herald.TypeMarketing}

// Claim implements store.Cluster.
func (s *Store) Claim(ctx context.Context, carriers []string, n int, now time.Time) ([]*herald.Message, error) {
	if s.cl.node == "" || len(carriers) == 0 || n <= 0 {
		return nil, nil
	}
	var ids []string
	for _, typ := range claimOrder {
		if len(ids) >= n {
			break
		}
		got, err := strs(s.pool.Query(ctx, `WITH c AS (SELECT id FROM messages
				WHERE owner = '' AND status IN `+pendingStatuses+` AND NOT ephemeral AND carrier = ANY($1) AND type = $2
				AND send_at <= $3 ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
			UPDATE messages m SET owner = $5 FROM c WHERE m.id = c.id RETURNING m.id`,
			carriers, string(typ), ns(now.Add(claimAhead)), n-len(ids), s.cl.node))
		if err != nil {
			return nil, fmt.Errorf("postgres: claim: %w", err)
		}
		ids = append(ids, got...)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(ids)
	ms, err := readMessages(ctx, s.pool, ids, "")
	if err != nil {
		// The claim stands: Recover at the next start, or Release, gives
		// them back; say so rather than lose them.
		return nil, fmt.Errorf("postgres: claimed %d messages but cannot read them: %w", len(ids), err)
	}
	return ms, nil
}

// Release implements store.Cluster.
func (s *Store) Release(ctx context.Context, ids []string) (int, error) {
	if s.cl.node == "" || len(ids) == 0 {
		return 0, nil
	}
	n, err := s.unown(ctx, `m.id = ANY($1) AND m.owner = $2`, ids, s.cl.node)
	if err != nil {
		return 0, fmt.Errorf("postgres: release: %w", err)
	}
	return n, nil
}

// unown gives back the unfinished messages m that match where (over
// args) and have no part being sent, and wakes the nodes if it gave
// any. The messages are locked by a statement of their own before the
// parts are looked at: a part is marked sending by a transaction that
// locked its message first, and one statement sees only what was
// committed when it began, even after waiting for a row lock; so the
// check for parts in sending, made once the locks are held, sees such a
// transaction's part.
func (s *Store) unown(ctx context.Context, where string, args ...any) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.Background())
	where = where + ` AND m.status IN ` + pendingStatuses
	if _, err := tx.Exec(ctx, `SELECT m.id FROM messages m WHERE `+where+` ORDER BY m.id FOR UPDATE`, args...); err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `UPDATE messages m SET owner = '' WHERE `+where+`
		AND NOT EXISTS (SELECT 1 FROM parts p WHERE p.message_id = m.id AND p.status = 'sending')`, args...)
	if err != nil {
		return 0, err
	}
	if tag.RowsAffected() > 0 {
		if _, err := tx.Exec(ctx, notifyWork); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// Recover implements store.Cluster.
func (s *Store) Recover(ctx context.Context, node string) (requeued, released int, err error) {
	// This node recovering itself at start-up leaves alone what it
	// accepted since it opened the store: that is live work.
	before := int64(math.MaxInt64)
	if node == s.cl.node {
		before = ns(s.cl.opened)
	}
	ids, err := strs(s.pool.Query(ctx, `SELECT m.id FROM messages m WHERE m.owner = $1 AND m.status IN `+pendingStatuses+`
		AND m.created_at < $2
		AND (m.ephemeral OR EXISTS (SELECT 1 FROM parts p WHERE p.message_id = m.id AND p.status = 'sending'))
		ORDER BY 1`, node, before))
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: recover %s: %w", node, err)
	}
	why := "node " + node + " stopped while this part's submit was unanswered; it is sent again and may arrive twice"
	if node == s.cl.node {
		why = "Herald restarted while this part's submit was unanswered; it is sent again and may arrive twice"
	}
	now := time.Now().UTC()
	for chunk := range slices.Chunk(ids, 500) {
		ms, err := readMessages(ctx, s.pool, chunk, "")
		if err != nil {
			return requeued, 0, fmt.Errorf("postgres: recover %s: %w", node, err)
		}
		var ts []store.Transition
		for _, m := range ms {
			for _, p := range m.Parts {
				ref := store.PartRef{MessageID: m.ID, Seq: p.Seq}
				if m.Ephemeral && !p.Status.Final() && p.Status != herald.StatusSent {
					// Its text was only in the stopped node's memory.
					ts = append(ts, store.Transition{PartRef: ref, To: herald.StatusFailed, At: now, Carrier: m.Carrier,
						ErrorCode: "verification_code_lost", Detail: "one-time code not sent: its node stopped before the submit",
						ErrorMessage: "the node holding this one-time code stopped before submitting it; the code is not stored, so it cannot be sent"})
					continue
				}
				if p.Status == herald.StatusSending {
					ts = append(ts, store.Transition{PartRef: ref, To: herald.StatusQueued, At: now, Carrier: m.Carrier, Resent: true, Detail: why})
				}
			}
		}
		out, err := s.Apply(ctx, ts)
		if err != nil {
			return requeued, 0, fmt.Errorf("postgres: recover %s: %w", node, err)
		}
		for i, a := range out {
			if a.Changed && ts[i].Resent { // not the ephemeral parts failed
				requeued++
			}
		}
	}
	// A message the node marked sending since (a node declared dead may
	// still run) stays its own.
	released, err = s.unown(ctx, `m.owner = $1 AND m.created_at < $2 AND NOT m.ephemeral`, node, before)
	if err != nil {
		return requeued, 0, fmt.Errorf("postgres: recover %s: %w", node, err)
	}
	return requeued, released, nil
}

// fenced reports whether t may not be applied by this node: in cluster
// mode only a message's owner marks its parts sending or queues them
// (for a retry), so a node that lost a message (it gave it back, or was
// declared dead and is back) can neither send it again nor disturb the
// new owner's send. Recovery's requeues (Resent) are exempt: they are
// how a dead node's parts are taken back.
func (s *Store) fenced(m *herald.Message, t store.Transition) bool {
	if s.cl.node == "" || m.Owner == s.cl.node {
		return false
	}
	return t.To == herald.StatusSending || (t.To == herald.StatusQueued && !t.Resent)
}

// validNode checks a node id: letters, digits, '.', '_' and '-', at most
// 64 characters.
func validNode(id string) error {
	if id == "" || len(id) > 64 || strings.IndexFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) >= 0 {
		return fmt.Errorf("postgres: node id %q: want 1-64 letters, digits, '.', '_' or '-'", id)
	}
	return nil
}
