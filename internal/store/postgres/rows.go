package postgres

import (
	"fmt"
	"strings"
)

// rows accumulates the rows of one multi-row statement as one array per
// column, sent as parameters and expanded by unnest: a commit group
// writes all its events, say, with one statement whatever their number,
// and the statement text (so its prepared form) never changes.
type rows struct {
	kind *rowKind
	cols []any // []string, []int64, []bool or [][]byte per column
	n    int
}

// rowKind is one multi-row statement.
type rowKind struct {
	name  string
	types []string
	sql   string
}

// newKind builds a statement from a template whose %s is replaced by
// unnest($1::T1[], $2::T2[], …) AS v(c1, c2, …); cols are "name type"
// with type text, bigint, boolean or bytea.
func newKind(name, template string, cols ...string) *rowKind {
	k := &rowKind{name: name}
	var args, names []string
	for i, c := range cols {
		n, typ, _ := strings.Cut(c, " ")
		args = append(args, fmt.Sprintf("$%d::%s[]", i+1, typ))
		names = append(names, n)
		k.types = append(k.types, typ)
	}
	k.sql = fmt.Sprintf(template, "unnest("+strings.Join(args, ", ")+") AS v("+strings.Join(names, ", ")+")")
	return k
}

func (k *rowKind) rows() *rows {
	r := &rows{kind: k, cols: make([]any, len(k.types))}
	for i, t := range k.types {
		switch t {
		case "text":
			r.cols[i] = []string(nil)
		case "bigint":
			r.cols[i] = []int64(nil)
		case "boolean":
			r.cols[i] = []bool(nil)
		case "bytea":
			r.cols[i] = [][]byte(nil)
		default:
			panic("postgres: no column type " + t)
		}
	}
	return r
}

// add appends one row; vals are in column order.
func (r *rows) add(vals ...any) {
	if len(vals) != len(r.cols) {
		panic(fmt.Sprintf("postgres: %s: %d values for %d columns", r.kind.name, len(vals), len(r.cols)))
	}
	for i, v := range vals {
		switch c := r.cols[i].(type) {
		case []string:
			r.cols[i] = append(c, v.(string))
		case []int64:
			r.cols[i] = append(c, toInt64(v))
		case []bool:
			r.cols[i] = append(c, v.(bool))
		case [][]byte:
			r.cols[i] = append(c, v.([]byte))
		}
	}
	r.n++
}

// appendRows appends o's rows (of the same kind).
func (r *rows) appendRows(o *rows) {
	for i, c := range o.cols {
		switch c := c.(type) {
		case []string:
			r.cols[i] = append(r.cols[i].([]string), c...)
		case []int64:
			r.cols[i] = append(r.cols[i].([]int64), c...)
		case []bool:
			r.cols[i] = append(r.cols[i].([]bool), c...)
		case [][]byte:
			r.cols[i] = append(r.cols[i].([][]byte), c...)
		}
	}
	r.n += o.n
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case int32:
		return int64(n)
	case uint8:
		return int64(n)
	case uint16:
		return int64(n)
	case uint32:
		return int64(n)
	}
	panic(fmt.Sprintf("postgres: %T is not an integer", v))
}

// The multi-row writes.
var (
	messageInserts = newKind("new messages", `INSERT INTO messages (id, account_id, to_addr, from_addr, body, type,
		status, encoding, part_count, send_at, valid_until, callback_url, reference, metadata, smart_encoding, carrier,
		error_code, error_message, resends, created_at, updated_at, owner, ephemeral)
		SELECT id, account_id, to_addr, from_addr, body, type, status, encoding, part_count, send_at, valid_until,
		callback_url, reference, NULLIF(metadata, ''), smart_encoding, carrier, error_code, error_message, resends,
		created_at, updated_at, owner, ephemeral FROM %s`,
		"id text", "account_id text", "to_addr text", "from_addr text", "body text", "type text", "status text",
		"encoding text", "part_count bigint", "send_at bigint", "valid_until bigint", "callback_url text",
		"reference text", "metadata text", "smart_encoding boolean", "carrier text", "error_code text",
		"error_message text", "resends bigint", "created_at bigint", "updated_at bigint", "owner text", "ephemeral boolean")
	partInserts = newKind("new parts", `INSERT INTO parts (message_id, seq, status, short_message, data_coding,
		esm_class, sar_ref, sar_total, sar_seq, payload, carrier_message_id, attempts, submit_status, receipt_stat,
		receipt_err, submitted_at, done_at, next_attempt_at) SELECT * FROM %s`,
		"message_id text", "seq bigint", "status text", "short_message bytea", "data_coding bigint",
		"esm_class bigint", "sar_ref bigint", "sar_total bigint", "sar_seq bigint", "payload boolean",
		"carrier_message_id text", "attempts bigint", "submit_status bigint", "receipt_stat text", "receipt_err text",
		"submitted_at bigint", "done_at bigint", "next_attempt_at bigint")
	partUpdates = newKind("parts", `UPDATE parts p SET status = v.status, carrier_message_id = v.carrier_message_id,
		attempts = v.attempts, submit_status = v.submit_status, receipt_stat = v.receipt_stat,
		receipt_err = v.receipt_err, submitted_at = v.submitted_at, done_at = v.done_at,
		next_attempt_at = v.next_attempt_at FROM %s WHERE p.message_id = v.message_id AND p.seq = v.seq`,
		"message_id text", "seq bigint", "status text", "carrier_message_id text", "attempts bigint",
		"submit_status bigint", "receipt_stat text", "receipt_err text", "submitted_at bigint", "done_at bigint",
		"next_attempt_at bigint")
	messageUpdates = newKind("messages", `UPDATE messages m SET status = v.status, error_code = v.error_code,
		error_message = v.error_message, resends = v.resends, updated_at = v.updated_at, carrier = v.carrier
		FROM %s WHERE m.id = v.id`,
		"id text", "status text", "error_code text", "error_message text", "resends bigint", "updated_at bigint",
		"carrier text")
	eventInserts = newKind("events", `INSERT INTO events (id, account_id, message_id, type, status, part_seq, at,
		carrier, carrier_code, detail) SELECT * FROM %s`,
		"id text", "account_id text", "message_id text", "type text", "status text", "part_seq bigint", "at bigint",
		"carrier text", "carrier_code text", "detail text")
	deliveryInserts = newKind("deliveries", `INSERT INTO deliveries (id, account_id, message_id, event_id,
		endpoint_id, url, secret, payload, next_at, created_at, state) SELECT * FROM %s`,
		"id text", "account_id text", "message_id text", "event_id text", "endpoint_id text", "url text",
		"secret text", "payload bytea", "next_at bigint", "created_at bigint", "state text")
	correlationInserts = newKind("correlation", `INSERT INTO correlation (carrier, key, message_id, seq)
		SELECT * FROM %s ON CONFLICT DO NOTHING`,
		"carrier text", "key text", "message_id text", "seq bigint")
	idempotencyInserts = newKind("idempotency", `INSERT INTO idempotency (account_id, key, hash, message_id,
		created_at) SELECT * FROM %s ON CONFLICT (account_id, key) DO NOTHING`,
		"account_id text", "key text", "hash bytea", "message_id text", "created_at bigint")
	attemptUpdates = newKind("attempts", `UPDATE deliveries d SET attempts = d.attempts + 1,
		last_status = v.last_status, last_error = v.last_error, next_at = v.next_at, state = v.state,
		delivered_at = v.delivered_at FROM %s WHERE d.id = v.id`,
		"id text", "last_status bigint", "last_error text", "next_at bigint", "state text", "delivered_at bigint")
)
