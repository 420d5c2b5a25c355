-- Herald's embedded schema (SQLite, WAL). Times are Unix nanoseconds.
CREATE TABLE IF NOT EXISTS accounts (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  webhook_secret TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS api_keys (
  id         TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  prefix     TEXT NOT NULL UNIQUE,
  hash       BLOB NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS messages (
  id             TEXT PRIMARY KEY,
  account_id     TEXT NOT NULL,
  to_addr        TEXT NOT NULL,
  from_addr      TEXT NOT NULL,
  body           TEXT NOT NULL,
  type           TEXT NOT NULL CHECK (type IN ('otp', 'transactional', 'marketing')),
  status         TEXT NOT NULL CHECK (status IN ('accepted', 'scheduled', 'queued', 'sending', 'sent',
                   'delivered', 'undelivered', 'expired', 'failed', 'rejected', 'canceled', 'unknown')),
  encoding       TEXT NOT NULL,
  part_count     INTEGER NOT NULL CHECK (part_count BETWEEN 1 AND 255),
  send_at        INTEGER NOT NULL DEFAULT 0,
  valid_until    INTEGER NOT NULL DEFAULT 0,
  callback_url   TEXT NOT NULL DEFAULT '',
  reference      TEXT NOT NULL DEFAULT '',
  metadata       TEXT,
  smart_encoding INTEGER NOT NULL DEFAULT 0,
  carrier        TEXT NOT NULL DEFAULT '',
  error_code     TEXT NOT NULL DEFAULT '',
  error_message  TEXT NOT NULL DEFAULT '',
  resends        INTEGER NOT NULL DEFAULT 0,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_account ON messages (account_id, id);
CREATE INDEX IF NOT EXISTS messages_pending ON messages (status)
  WHERE status IN ('accepted', 'scheduled', 'queued', 'sending');
CREATE INDEX IF NOT EXISTS messages_reference ON messages (account_id, reference) WHERE reference != '';

CREATE TABLE IF NOT EXISTS parts (
  message_id         TEXT NOT NULL,
  seq                INTEGER NOT NULL,
  status             TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'undelivered',
                       'expired', 'failed', 'rejected', 'canceled', 'unknown', 'scheduled', 'accepted')),
  short_message      BLOB NOT NULL,
  data_coding        INTEGER NOT NULL,
  esm_class          INTEGER NOT NULL,
  sar_ref            INTEGER NOT NULL DEFAULT 0,
  sar_total          INTEGER NOT NULL DEFAULT 0,
  sar_seq            INTEGER NOT NULL DEFAULT 0,
  payload            INTEGER NOT NULL DEFAULT 0,
  carrier_message_id TEXT NOT NULL DEFAULT '',
  attempts           INTEGER NOT NULL DEFAULT 0,
  submit_status      INTEGER NOT NULL DEFAULT 0,
  receipt_stat       TEXT NOT NULL DEFAULT '',
  receipt_err        TEXT NOT NULL DEFAULT '',
  submitted_at       INTEGER NOT NULL DEFAULT 0,
  done_at            INTEGER NOT NULL DEFAULT 0,
  next_attempt_at    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (message_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS parts_sent ON parts (submitted_at) WHERE status = 'sent';

-- Receipts are looked up by (carrier, key); one carrier id may yield several keys.
CREATE TABLE IF NOT EXISTS correlation (
  carrier    TEXT NOT NULL,
  key        TEXT NOT NULL,
  message_id TEXT NOT NULL,
  seq        INTEGER NOT NULL,
  PRIMARY KEY (carrier, key, message_id, seq)
) WITHOUT ROWID;

-- Receipts that arrived before the submit response they belong to was recorded.
CREATE TABLE IF NOT EXISTS orphan_receipts (
  id           INTEGER PRIMARY KEY,
  carrier      TEXT NOT NULL,
  keys         TEXT NOT NULL,
  to_status    TEXT NOT NULL,
  at           INTEGER NOT NULL,
  carrier_code TEXT NOT NULL,
  receipt_stat TEXT NOT NULL,
  receipt_err  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orphan_keys (
  carrier   TEXT NOT NULL,
  key       TEXT NOT NULL,
  orphan_id INTEGER NOT NULL,
  PRIMARY KEY (carrier, key, orphan_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS idempotency (
  account_id TEXT NOT NULL,
  key        TEXT NOT NULL,
  hash       BLOB NOT NULL,
  message_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency (created_at);

CREATE TABLE IF NOT EXISTS events (
  id           TEXT PRIMARY KEY,
  account_id   TEXT NOT NULL,
  message_id   TEXT NOT NULL,
  type         TEXT NOT NULL,
  status       TEXT NOT NULL,
  part_seq     INTEGER NOT NULL DEFAULT 0,
  at           INTEGER NOT NULL,
  carrier      TEXT NOT NULL DEFAULT '',
  carrier_code TEXT NOT NULL DEFAULT '',
  detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_message ON events (message_id, at);

CREATE TABLE IF NOT EXISTS webhook_endpoints (
  id         TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  url        TEXT NOT NULL,
  secret     TEXT NOT NULL,
  events     TEXT NOT NULL DEFAULT '[]',
  disabled   INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_endpoints_account ON webhook_endpoints (account_id);

CREATE TABLE IF NOT EXISTS deliveries (
  id           TEXT PRIMARY KEY,
  account_id   TEXT NOT NULL,
  message_id   TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  endpoint_id  TEXT NOT NULL DEFAULT '',
  url          TEXT NOT NULL,
  secret       TEXT NOT NULL,
  payload      BLOB NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  next_at      INTEGER NOT NULL,
  last_status  INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT NOT NULL DEFAULT '',
  state        TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'disabled')),
  created_at   INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_message ON deliveries (message_id);
