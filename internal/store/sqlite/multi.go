package sqlite

import (
	"strings"
)

// multi accumulates the rows of one multi-row statement, so that a commit
// group writes, say, all its events with a few INSERTs instead of one
// statement per event.
type multi struct {
	head, tail string // SQL before and after the list of value tuples
	cols       int
	args       []any
}

func (m *multi) add(vals ...any) { m.args = append(m.args, vals...) }

// maxRows bounds the tuples of one statement (SQLite allows 32,766
// variables).
const maxRows = 400

// flush executes the accumulated rows and empties m.
func (w *wtx) flushMulti(m *multi) error {
	n := len(m.args) / m.cols
	tuple := "(" + strings.Repeat("?,", m.cols-1) + "?)"
	for start := 0; start < n; start += maxRows {
		end := min(n, start+maxRows)
		var sb strings.Builder
		sb.Grow(len(m.head) + len(m.tail) + (end-start)*(len(tuple)+1))
		sb.WriteString(m.head)
		for i := start; i < end; i++ {
			if i > start {
				sb.WriteByte(',')
			}
			sb.WriteString(tuple)
		}
		sb.WriteString(m.tail)
		if _, err := w.tx.ExecContext(w.ctx, sb.String(), m.args[start*m.cols:end*m.cols]...); err != nil {
			return err
		}
	}
	clear(m.args)
	m.args = m.args[:0]
	return nil
}

// The multi-row forms of the batch's writes. Updates use UPDATE … FROM
// (VALUES …), whose columns SQLite names column1, column2, ….
func newPartUpdates() *multi {
	return &multi{cols: 11,
		head: `UPDATE parts SET status = v.column3, carrier_message_id = v.column4, attempts = v.column5,
			submit_status = v.column6, receipt_stat = v.column7, receipt_err = v.column8, submitted_at = v.column9,
			done_at = v.column10, next_attempt_at = v.column11 FROM (VALUES `,
		tail: `) AS v WHERE parts.message_id = v.column1 AND parts.seq = v.column2`}
}

func newMessageUpdates() *multi {
	return &multi{cols: 6,
		head: `UPDATE messages SET status = v.column2, error_code = v.column3, error_message = v.column4,
			resends = v.column5, updated_at = v.column6 FROM (VALUES `,
		tail: `) AS v WHERE messages.id = v.column1`}
}

func newEventInserts() *multi {
	return &multi{cols: 10,
		head: `INSERT INTO events (id, account_id, message_id, type, status, part_seq, at, carrier, carrier_code,
			detail) VALUES `}
}

func newDeliveryInserts() *multi {
	return &multi{cols: 11,
		head: `INSERT INTO deliveries (id, account_id, message_id, event_id, endpoint_id, url, secret, payload,
			next_at, created_at, state) VALUES `}
}

func newCorrelationInserts() *multi {
	return &multi{cols: 4, head: `INSERT OR IGNORE INTO correlation (carrier, key, message_id, seq) VALUES `}
}

func newAttemptUpdates() *multi {
	return &multi{cols: 6,
		head: `UPDATE deliveries SET attempts = attempts + 1, last_status = v.column2, last_error = v.column3,
			next_at = v.column4, state = v.column5, delivered_at = v.column6 FROM (VALUES `,
		tail: `) AS v WHERE deliveries.id = v.column1`}
}
