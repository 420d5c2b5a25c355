package sqlite

import (
	"database/sql"
	"fmt"
	"strings"
)

// multi accumulates the rows of one multi-row statement, so that a commit
// group writes, say, all its events with a few INSERTs instead of one
// statement per event.
type multi struct {
	kind *multiKind
	args []any
}

func (m *multi) add(vals ...any) { m.args = append(m.args, vals...) }

// multiKind is one multi-row statement. Its forms for 1, 2, 4 … 256 rows
// are prepared once on the writer connection; n rows are written with
// the forms whose sizes add up to n (at most nine statements).
type multiKind struct {
	name       string
	head, tail string // SQL before and after the list of value tuples
	cols       int
}

// multiSizes is the number of prepared forms: 1 << (multiSizes-1) rows at
// most per statement (256 × 11 columns stays far below SQLite's 32,766
// variables).
const multiSizes = 9

// The multi-row writes. Updates use UPDATE … FROM (VALUES …), whose
// columns SQLite names column1, column2, ….
var (
	partUpdates = &multiKind{name: "parts", cols: 11,
		head: `UPDATE parts SET status = v.column3, carrier_message_id = v.column4, attempts = v.column5,
			submit_status = v.column6, receipt_stat = v.column7, receipt_err = v.column8, submitted_at = v.column9,
			done_at = v.column10, next_attempt_at = v.column11 FROM (VALUES `,
		tail: `) AS v WHERE parts.message_id = v.column1 AND parts.seq = v.column2`}
	messageUpdates = &multiKind{name: "messages", cols: 7,
		head: `UPDATE messages SET status = v.column2, error_code = v.column3, error_message = v.column4,
			resends = v.column5, updated_at = v.column6, carrier = v.column7 FROM (VALUES `,
		tail: `) AS v WHERE messages.id = v.column1`}
	eventInserts = &multiKind{name: "events", cols: 10,
		head: `INSERT INTO events (id, account_id, message_id, type, status, part_seq, at, carrier, carrier_code,
			detail) VALUES `}
	deliveryInserts = &multiKind{name: "deliveries", cols: 11,
		head: `INSERT INTO deliveries (id, account_id, message_id, event_id, endpoint_id, url, secret, payload,
			next_at, created_at, state) VALUES `}
	correlationInserts = &multiKind{name: "correlation", cols: 4,
		head: `INSERT OR IGNORE INTO correlation (carrier, key, message_id, seq) VALUES `}
	attemptUpdates = &multiKind{name: "attempts", cols: 6,
		head: `UPDATE deliveries SET attempts = attempts + 1, last_status = v.column2, last_error = v.column3,
			next_at = v.column4, state = v.column5, delivered_at = v.column6 FROM (VALUES `,
		tail: `) AS v WHERE deliveries.id = v.column1`}
	leaseUpdates = &multiKind{name: "leases", cols: 2,
		head: `UPDATE deliveries SET next_at = v.column2 FROM (VALUES `,
		tail: `) AS v WHERE deliveries.id = v.column1`}

	messageInserts = &multiKind{name: "new messages", cols: 21,
		head: `INSERT INTO messages (id, account_id, to_addr, from_addr, body, type, status, encoding, part_count,
			send_at, valid_until, callback_url, reference, metadata, smart_encoding, carrier, error_code,
			error_message, resends, created_at, updated_at) VALUES `}
	partInserts = &multiKind{name: "new parts", cols: 11,
		head: `INSERT INTO parts (message_id, seq, status, short_message, data_coding, esm_class, sar_ref, sar_total,
			sar_seq, payload, next_attempt_at) VALUES `}

	multiKinds = []*multiKind{partUpdates, messageUpdates, eventInserts, deliveryInserts, correlationInserts,
		attemptUpdates, leaseUpdates, messageInserts, partInserts, sourceInserts, receiptInserts}

	// groupKinds are written once per commit group, just before the commit,
	// for every op that succeeded.
	groupKinds = []*multiKind{messageInserts, partInserts, eventInserts, sourceInserts}
)

func (k *multiKind) rows() *multi { return &multi{kind: k} }

// sql returns the statement for n rows.
func (k *multiKind) sql(n int) string {
	tuple := "(" + strings.Repeat("?,", k.cols-1) + "?)"
	var sb strings.Builder
	sb.WriteString(k.head)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(tuple)
	}
	sb.WriteString(k.tail)
	return sb.String()
}

// prepareMulti prepares every form of every multi-row statement.
func prepareMulti(db *sql.DB) (map[*multiKind][]*sql.Stmt, error) {
	out := map[*multiKind][]*sql.Stmt{}
	for _, k := range multiKinds {
		for p := range multiSizes {
			st, err := db.Prepare(k.sql(1 << p))
			if err != nil {
				return out, fmt.Errorf("sqlite: prepare %s×%d: %w", k.name, 1<<p, err)
			}
			out[k] = append(out[k], st)
		}
	}
	return out, nil
}

// flushMulti executes the accumulated rows and empties m.
func (w *wtx) flushMulti(m *multi) error {
	k := m.kind
	n := len(m.args) / k.cols
	off := 0
	for p := multiSizes - 1; p >= 0; p-- {
		size := 1 << p
		for n-off >= size {
			args := m.args[off*k.cols : (off+size)*k.cols]
			if _, err := w.tx.StmtContext(w.ctx, w.s.multi[k][p]).ExecContext(w.ctx, args...); err != nil {
				return fmt.Errorf("sqlite: write %s: %w", k.name, err)
			}
			off += size
		}
	}
	if cap(m.args) > maxKeptArgs {
		m.args = nil // a rare large group: let its array go
	} else {
		clear(m.args)
		m.args = m.args[:0]
	}
	return nil
}

// maxKeptArgs bounds the arguments array a multi keeps for the next rows
// (1 MiB of interface values).
const maxKeptArgs = 1 << 16

// groupRows holds rows written once per commit group, just before the
// commit. Ops append to them directly; the rows of an op that fails are
// cut off again (truncate to the lengths noted before it ran).
type groupRows map[*multiKind]*multi

func newGroupRows() groupRows {
	g := groupRows{}
	for _, k := range groupKinds {
		g[k] = k.rows()
	}
	return g
}

// lengths returns, in dst, the number of arguments of each of groupKinds.
func (g groupRows) lengths(dst []int) []int {
	dst = dst[:0]
	for _, k := range groupKinds {
		dst = append(dst, len(g[k].args))
	}
	return dst
}

// truncate cuts the rows back to lengths noted by lengths.
func (g groupRows) truncate(lengths []int) {
	for i, k := range groupKinds {
		m := g[k]
		clear(m.args[lengths[i]:])
		m.args = m.args[:lengths[i]]
	}
}
