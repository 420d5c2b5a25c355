package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// changes is what ops did in a transaction that is still to be written:
// a group's committed-to-be state, or one op's, which joins its group's
// only if the op succeeds. Its messages are locked by the transaction
// (read FOR UPDATE) or created in it, so for the rest of the
// transaction they are the truth, whatever other nodes do; none of this
// outlives the transaction.
type changes struct {
	msgs       map[string]*herald.Message
	created    []string // messages to insert, in order
	dirtyParts []store.PartRef
	dirtyMsgs  []string
	events     []herald.Event
	dels       []delivery
	corr       []correlation
	more       moreRows    // rows of the other tables (inbound messages, ledger entries …)
	later      []statement // other writes, run with the rows
}

// moreRows holds the multi-row writes of the tables outside the message
// path, by kind, in the order each kind was first used: a new table's
// writes need a rowKind and w.add, nothing here.
type moreRows struct {
	order []*rowKind
	rows  map[*rowKind]*rows
}

// add appends one row of kind k.
func (m *moreRows) add(k *rowKind, vals ...any) {
	m.of(k).add(vals...)
}

func (m *moreRows) of(k *rowKind) *rows {
	r := m.rows[k]
	if r == nil {
		if m.rows == nil {
			m.rows = map[*rowKind]*rows{}
		}
		r = k.rows()
		m.rows[k] = r
		m.order = append(m.order, k)
	}
	return r
}

// merge appends o's rows.
func (m *moreRows) merge(o *moreRows) {
	for _, k := range o.order {
		m.of(k).appendRows(o.rows[k])
	}
}

// group is a transaction's state: its changes, and what it read and
// locked. Reads stay valid to the end of the transaction: the rows and
// keys are locked, and endpoints added meanwhile by another node count
// as added after it.
type group struct {
	changes
	keyed   map[string]bool                      // "carrier\nkey" whose receipt lock the transaction holds
	known   map[string][]store.PartRef           // their correlations in the database
	orphans map[string][]int64                   // receipts kept for them (orphan_receipts ids)
	eps     map[string][]*herald.WebhookEndpoint // accounts' enabled endpoints
	idem    map[string]idempotency               // "account\nkey" → its idempotency record
	inbound map[string]bool                      // inbound groups whose lock the transaction holds
	// srcs: registered_delivery of the SMPP-submitted messages the
	// transaction locked or created (smpp_sources); a message absent
	// asked for no receipt.
	srcs map[string]int64
	// numbers: "account\nnumber" whose verification lock the transaction holds
	numbers map[string]bool
}

type opState struct {
	changes
	notified bool // a notification of unowned work is queued (once per op)
}

type delivery struct {
	id, accountID, messageID, eventID, endpointID, url, secret string
	payload                                                    []byte
	at                                                         int64
}

type correlation struct {
	carrier, key string
	ref          store.PartRef
}

type statement struct {
	sql  string
	args []any
}

func newGroup() *group {
	return &group{changes: changes{msgs: map[string]*herald.Message{}}, keyed: map[string]bool{},
		known: map[string][]store.PartRef{}, orphans: map[string][]int64{}, eps: map[string][]*herald.WebhookEndpoint{},
		idem: map[string]idempotency{}, inbound: map[string]bool{}, srcs: map[string]int64{},
		numbers: map[string]bool{}}
}
func newOpState() *opState { return &opState{changes: changes{msgs: map[string]*herald.Message{}}} }

// merge adds a successful op's changes to the group.
func (g *group) merge(o *opState) {
	for id, m := range o.msgs {
		g.msgs[id] = m
	}
	g.created = append(g.created, o.created...)
	for _, r := range o.dirtyParts {
		if !slices.Contains(g.dirtyParts, r) {
			g.dirtyParts = append(g.dirtyParts, r)
		}
	}
	for _, id := range o.dirtyMsgs {
		if !slices.Contains(g.dirtyMsgs, id) {
			g.dirtyMsgs = append(g.dirtyMsgs, id)
		}
	}
	g.events = append(g.events, o.events...)
	g.dels = append(g.dels, o.dels...)
	g.corr = append(g.corr, o.corr...)
	g.more.merge(&o.more)
	g.later = append(g.later, o.later...)
}

// markPart records that a part's state changed.
func (o *opState) markPart(r store.PartRef) {
	if !slices.Contains(o.dirtyParts, r) {
		o.dirtyParts = append(o.dirtyParts, r)
	}
}

func (o *opState) markMessage(id string) {
	if !slices.Contains(o.dirtyMsgs, id) {
		o.dirtyMsgs = append(o.dirtyMsgs, id)
	}
}

// add buffers one row of kind k, written with the group's rows if the op
// succeeds.
func (w *wtx) add(k *rowKind, vals ...any) { w.op.more.add(k, vals...) }

// later queues a write to run with the group's rows, before the commit.
func (w *wtx) later(sql string, args ...any) {
	w.op.later = append(w.op.later, statement{sql, args})
}

// commit writes everything the group did with one pipelined batch that
// ends with COMMIT (see txConn.commit for its errors).
func (g *group) commit(ctx context.Context, tx *txConn) error {
	created := map[string]bool{}
	newMsgs, newParts := messageInserts.rows(), partInserts.rows()
	for _, id := range g.created {
		created[id] = true
		m := g.msgs[id]
		newMsgs.add(m.ID, m.AccountID, m.To, m.From, m.Body, string(m.Type), string(m.Status), m.Encoding, m.PartCount,
			ns(m.SendAt), ns(m.ValidUntil), m.CallbackURL, m.Reference, string(m.Metadata), m.SmartEncoding, m.Carrier,
			m.ErrorCode, m.ErrorMessage, m.Resends, ns(m.CreatedAt), ns(m.UpdatedAt), m.Owner, m.Ephemeral)
		for _, p := range m.Parts {
			newParts.add(m.ID, p.Seq, string(p.Status), nonNil(p.ShortMessage), p.DataCoding, p.ESMClass, p.SARRef,
				p.SARTotal, p.SARSeq, p.Payload, p.CarrierMessageID, p.Attempts, p.SubmitStatus, p.ReceiptStat,
				p.ReceiptErr, ns(p.SubmittedAt), ns(p.DoneAt), ns(p.NextAttemptAt))
		}
	}
	parts := partUpdates.rows()
	for _, r := range g.dirtyParts {
		if created[r.MessageID] {
			continue // inserted as it is now
		}
		m := g.msgs[r.MessageID]
		for _, p := range m.Parts {
			if p.Seq == r.Seq {
				parts.add(m.ID, p.Seq, string(p.Status), p.CarrierMessageID, p.Attempts, p.SubmitStatus, p.ReceiptStat,
					p.ReceiptErr, ns(p.SubmittedAt), ns(p.DoneAt), ns(p.NextAttemptAt))
			}
		}
	}
	msgs := messageUpdates.rows()
	for _, id := range g.dirtyMsgs {
		if created[id] {
			continue
		}
		m := g.msgs[id]
		msgs.add(m.ID, string(m.Status), m.ErrorCode, m.ErrorMessage, m.Resends, ns(m.UpdatedAt), m.Carrier)
	}
	events := eventInserts.rows()
	for _, e := range g.events {
		events.add(e.ID, e.AccountID, e.MessageID, e.Type, string(e.Status), e.PartSeq, ns(e.At), e.Carrier,
			e.CarrierCode, e.Detail)
	}
	dels := deliveryInserts.rows()
	for _, d := range g.dels {
		dels.add(d.id, d.accountID, d.messageID, d.eventID, d.endpointID, d.url, d.secret, d.payload, d.at, d.at, "pending")
	}
	corr := correlationInserts.rows()
	for _, c := range g.corr {
		corr.add(c.carrier, c.key, c.ref.MessageID, c.ref.Seq)
	}

	b := &pgx.Batch{}
	var names []string
	for _, r := range []*rows{newMsgs, newParts, parts, msgs, events, dels, corr} {
		if r.n > 0 {
			b.Queue(r.kind.sql, r.cols...)
			names = append(names, r.kind.name)
		}
	}
	for _, k := range g.more.order {
		if k == outboxInserts {
			continue // last, below
		}
		r := g.more.rows[k]
		b.Queue(k.sql, r.cols...)
		names = append(names, k.name)
	}
	for _, st := range g.later {
		b.Queue(st.sql, st.args...)
		names = append(names, "write")
	}
	if r := g.more.rows[outboxInserts]; r != nil {
		// The client outbox rows come last, under their accounts' locks
		// (smpp.go): nothing is waited for between taking them and the
		// commit.
		b.Queue(outboxLockSQL, r.cols[0], r.cols[len(r.cols)-1])
		b.Queue(outboxInserts.sql, r.cols...)
		names = append(names, "client outbox locks", outboxInserts.name)
	}
	return tx.commit(ctx, b, names)
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
