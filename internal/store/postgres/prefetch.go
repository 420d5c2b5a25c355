package postgres

import (
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// needs is what an op will read and lock: the group takes it for all its
// ops at once, before running them, so that a group costs a fixed number
// of round trips rather than a few per op. What an op needs beyond what
// it declared it still reads itself.
type needs struct {
	ids  []string      // messages to lock
	keys []correlation // receipt keys to lock, with their correlations and kept receipts
	idem []idempotency // idempotency records to insert (or find)
	// inbound groups whose parts the op adds or removes: their locks
	// (see lockInbound) are taken for the whole group at once, in order.
	inbound []store.InboundGroup
	// numbers (numberKey) whose verification locks the op takes.
	numbers []string
}

// prefetch locks and reads what the ops of a group need (each step only
// when some op needs it): the
// idempotency records (one round trip), the receipt keys (one more),
// the inbound groups' locks (one more), the verification numbers' locks
// (one more), then the messages, including those the keys name, with
// their parts, their accounts' endpoints and their smpp_sources rows
// (one more).
func (w *wtx) prefetch(ns []needs) error {
	var ids []string
	var keys []correlation
	var idem []idempotency
	var inbound []store.InboundGroup
	var numbers []string
	for _, n := range ns {
		numbers = append(numbers, n.numbers...)
		ids = append(ids, n.ids...)
		keys = append(keys, n.keys...)
		idem = append(idem, n.idem...)
		inbound = append(inbound, n.inbound...)
	}
	if err := w.claimKeys(idem); err != nil {
		return err
	}
	if err := w.lockKeys(keys); err != nil {
		return err
	}
	if err := w.lockInbound(inbound); err != nil {
		return err
	}
	if err := w.lockNumbers(numbers); err != nil {
		return err
	}
	for _, k := range keys {
		for _, ref := range w.g.known[k.carrier+"\n"+k.key] {
			ids = append(ids, ref.MessageID)
		}
	}
	if err := w.lock(ids); err != nil {
		return err
	}
	w.g.merge(w.op) // the locked messages become the group's
	w.op = newOpState()
	return nil
}

// receiptLocks is the class of the advisory locks taken on (carrier,
// key): a receipt looking for its part and a submit response recording
// that part's keys take the same lock, so that one of them always sees
// the other (the receipt the correlation, or the response the kept
// receipt), on any node. 1213350724 is "HRCD".
const receiptLocks = "1213350724"

// inboundLocks is the class of the advisory locks taken on an inbound
// group (carrier, from, to, ref, total): adding its parts, and storing
// the message assembled from them, take turns across nodes, so that the
// call adding its last missing part sees every other part (and completes
// it, exactly once), and a message stored from it sees every part to
// remove. 1213352270 is "HRIN".
const inboundLocks = "1213352270"

func inboundKey(g store.InboundGroup) string {
	return fmt.Sprintf("%s\n%s\n%s\n%d\n%d", g.Carrier, g.From, g.To, g.Ref, g.Total)
}

// lockInbound makes sure the transaction holds the locks of the inbound
// groups gs (taken in a fixed order, so that two transactions do not
// deadlock on them); one round trip for those it did not have.
func (w *wtx) lockInbound(gs []store.InboundGroup) error {
	var names []string
	for _, g := range gs {
		k := inboundKey(g)
		if !w.g.inbound[k] && !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil
	}
	if _, err := w.tx.Exec(w.ctx, `SELECT count(pg_advisory_xact_lock(`+inboundLocks+`, h)) FROM
		(SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY 1) AS l`, names); err != nil {
		return fmt.Errorf("postgres: inbound locks: %w", err)
	}
	for _, k := range names {
		w.g.inbound[k] = true
	}
	return nil
}

// lockKeys makes sure the transaction holds the receipt locks of keys
// (taken in a fixed order, so that two transactions locking the same
// keys do not deadlock) and knows their correlations and kept receipts;
// one round trip for all the keys it did not have.
func (w *wtx) lockKeys(keys []correlation) error {
	var carriers, ks, names []string
	for _, c := range keys {
		ck := c.carrier + "\n" + c.key
		if w.g.keyed[ck] || slices.Contains(names, ck) {
			continue
		}
		names = append(names, ck)
		carriers, ks = append(carriers, c.carrier), append(ks, c.key)
	}
	if len(names) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT count(pg_advisory_xact_lock(`+receiptLocks+`, h)) FROM
		(SELECT DISTINCT hashtext(c || E'\n' || k) AS h FROM unnest($1::text[], $2::text[]) AS v(c, k) ORDER BY 1) AS l`,
		carriers, ks)
	b.Queue(`SELECT carrier, key, message_id, seq FROM correlation
		WHERE (carrier, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, carriers, ks)
	b.Queue(`SELECT carrier, key, orphan_id FROM orphan_keys
		WHERE (carrier, key) IN (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY orphan_id`, carriers, ks)
	br := w.tx.SendBatch(w.ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("postgres: receipt locks: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("postgres: correlation: %w", err)
	}
	for rows.Next() {
		var carrier, key string
		var ref store.PartRef
		if err := rows.Scan(&carrier, &key, &ref.MessageID, &ref.Seq); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: correlation: %w", err)
		}
		w.g.known[carrier+"\n"+key] = append(w.g.known[carrier+"\n"+key], ref)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: correlation: %w", err)
	}
	if rows, err = br.Query(); err != nil {
		return fmt.Errorf("postgres: kept receipts: %w", err)
	}
	for rows.Next() {
		var carrier, key string
		var id int64
		if err := rows.Scan(&carrier, &key, &id); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: kept receipts: %w", err)
		}
		w.g.orphans[carrier+"\n"+key] = append(w.g.orphans[carrier+"\n"+key], id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: kept receipts: %w", err)
	}
	for _, ck := range names {
		w.g.keyed[ck] = true
	}
	return nil
}

// lock makes the messages ids (those that exist) part of this op's
// state, reading them FOR UPDATE unless the transaction already has
// them, with their parts and the enabled webhook endpoints of accounts
// the transaction has not seen yet, in one round trip. The endpoints are
// read FOR SHARE: DeleteEndpoint waits until this transaction's
// deliveries to them are committed, then disables them. Rows are locked
// in id order, which keeps two nodes that lock the same messages from
// deadlocking.
func (w *wtx) lock(ids []string) error {
	var need []string
	for _, id := range ids {
		if w.op.msgs[id] != nil || slices.Contains(need, id) {
			continue
		}
		if m := w.g.msgs[id]; m != nil {
			w.op.msgs[id] = copyMessage(m)
			continue
		}
		need = append(need, id)
	}
	if len(need) == 0 {
		return nil
	}
	slices.Sort(need)
	seen := []string{}
	for acc := range w.g.eps {
		seen = append(seen, acc)
	}
	b := &pgx.Batch{}
	queueMessages(b, need, " FOR UPDATE")
	b.Queue(`SELECT `+endpointColumns+` FROM webhook_endpoints WHERE NOT disabled
		AND account_id IN (SELECT account_id FROM messages WHERE id = ANY($1)) AND account_id <> ALL($2)
		ORDER BY id FOR SHARE`,
		need, seen)
	b.Queue(`SELECT message_id, registered_delivery FROM smpp_sources WHERE message_id = ANY($1)`, need)
	br := w.tx.SendBatch(w.ctx, b)
	defer br.Close()
	ms, err := collectMessages(br)
	if err != nil {
		return err
	}
	for _, m := range ms {
		w.op.msgs[m.ID] = m
		if _, ok := w.g.eps[m.AccountID]; !ok {
			w.g.eps[m.AccountID] = []*herald.WebhookEndpoint{}
		}
	}
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("postgres: endpoints: %w", err)
	}
	eps, err := collectEndpoints(rows)
	if err != nil {
		return err
	}
	for _, e := range eps {
		w.g.eps[e.AccountID] = append(w.g.eps[e.AccountID], e)
	}
	if rows, err = br.Query(); err != nil {
		return fmt.Errorf("postgres: smpp sources: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var rd int64
		if err := rows.Scan(&id, &rd); err != nil {
			return fmt.Errorf("postgres: smpp sources: %w", err)
		}
		w.g.srcs[id] = rd
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: smpp sources: %w", err)
	}
	return nil
}
