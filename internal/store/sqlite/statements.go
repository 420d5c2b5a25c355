package sqlite

// statements are prepared once on the writer connection and reused by
// every transaction. All SQL of the write path is here.
var statements = map[string]string{
	"savepoint": `SAVEPOINT op`,
	"release":   `RELEASE op`,
	"rollback":  `ROLLBACK TO op`,

	"account.byName": `SELECT id, name, webhook_secret, created_at FROM accounts WHERE name = ?`,
	"account.insert": `INSERT INTO accounts (id, name, webhook_secret, created_at) VALUES (?, ?, ?, ?)`,
	"key.insert":     `INSERT INTO api_keys (id, account_id, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?)`,

	"message.get": `SELECT ` + messageColumns + ` FROM messages WHERE id = ?`,
	"part.list":   `SELECT ` + partColumns + ` FROM parts WHERE message_id = ? ORDER BY seq`,
	"idem.get":    `SELECT hash, message_id FROM idempotency WHERE account_id = ? AND key = ?`,
	"idem.insert": `INSERT INTO idempotency (account_id, key, hash, message_id, created_at) VALUES (?, ?, ?, ?, ?)`,
	"idem.purge":  `DELETE FROM idempotency WHERE created_at < ?`,

	"corr.find": `SELECT message_id, seq FROM correlation WHERE carrier = ? AND key = ?`,
	"orphan.insert": `INSERT INTO orphan_receipts (carrier, keys, to_status, at, carrier_code, receipt_stat,
		receipt_err) VALUES (?, ?, ?, ?, ?, ?, ?)`,
	"orphan.key":       `INSERT OR IGNORE INTO orphan_keys (carrier, key, orphan_id) VALUES (?, ?, ?)`,
	"orphan.find":      `SELECT orphan_id FROM orphan_keys WHERE carrier = ? AND key = ?`,
	"orphan.get":       `SELECT keys, to_status, at, carrier_code, receipt_stat, receipt_err FROM orphan_receipts WHERE id = ?`,
	"orphan.delete":    `DELETE FROM orphan_receipts WHERE id = ?`,
	"orphan.unkey":     `DELETE FROM orphan_keys WHERE orphan_id = ?`,
	"orphan.old":       `SELECT carrier, keys FROM orphan_receipts WHERE at < ?`,
	"orphan.purgeKeys": `DELETE FROM orphan_keys WHERE orphan_id IN (SELECT id FROM orphan_receipts WHERE at < ?)`,
	"orphan.purge":     `DELETE FROM orphan_receipts WHERE at < ?`,

	"expire.unsent": `SELECT id FROM messages WHERE ` + pendingStatus + ` AND status != 'sending'
		AND valid_until != 0 AND valid_until < ? LIMIT 10000`,
	"expire.sent": `SELECT message_id, seq FROM parts WHERE status = 'sent' AND submitted_at < ? LIMIT 10000`,

	"endpoint.insert": `INSERT INTO webhook_endpoints (id, account_id, url, secret, events, disabled, created_at)
		VALUES (?, ?, ?, ?, ?, 0, ?)`,
	"endpoint.delete":  `DELETE FROM webhook_endpoints WHERE account_id = ? AND id = ?`,
	"endpoint.disable": `UPDATE webhook_endpoints SET disabled = 1 WHERE id = ?`,
	"delivery.due": `SELECT id, account_id, event_id, endpoint_id, url, secret, payload, attempts, next_at,
		last_status, last_error, state, created_at FROM deliveries
		WHERE state = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?`,
	"delivery.endpoint":        `SELECT endpoint_id FROM deliveries WHERE id = ?`,
	"delivery.disableEndpoint": `UPDATE deliveries SET state = 'disabled' WHERE endpoint_id = ? AND state = 'pending'`,
}

// pendingStatus selects the messages that are not final, in the very
// form of the WHERE clause of the partial index messages_pending
// (migration 0009): SQLite uses a partial index only for a query whose
// WHERE clause contains that term.
const pendingStatus = `(status = 'accepted' OR status = 'scheduled' OR status = 'queued' OR status = 'sending')`

const messageColumns = `id, account_id, to_addr, from_addr, body, type, status, encoding, part_count,
	send_at, valid_until, callback_url, reference, metadata, smart_encoding, carrier, error_code,
	error_message, resends, created_at, updated_at`

const partColumns = `message_id, seq, status, short_message, data_coding, esm_class, sar_ref, sar_total,
	sar_seq, payload, carrier_message_id, attempts, submit_status, receipt_stat, receipt_err,
	submitted_at, done_at, next_attempt_at`
