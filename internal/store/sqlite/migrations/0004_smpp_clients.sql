-- SMPP client applications: their credentials, which messages they
-- submitted, and the deliver_sm (receipts, later inbound messages) waiting
-- for their receiver binds.
CREATE TABLE IF NOT EXISTS smpp_users (
  id            TEXT PRIMARY KEY,
  account_id    TEXT NOT NULL REFERENCES accounts(id),
  system_id     TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  max_binds     INTEGER NOT NULL DEFAULT 0,
  rate_limit    REAL NOT NULL DEFAULT 0,
  allowed_ips   TEXT NOT NULL DEFAULT '', -- space-separated addresses and CIDR prefixes
  created_at    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS smpp_users_account ON smpp_users (account_id);

-- One row per message an SMPP client submitted asking for receipts.
CREATE TABLE IF NOT EXISTS smpp_sources (
  message_id          TEXT PRIMARY KEY,
  account_id          TEXT NOT NULL,
  smpp_user_id        TEXT NOT NULL,
  registered_delivery INTEGER NOT NULL
) WITHOUT ROWID;

-- deliver_sm waiting for an account's receiver binds; a row is deleted
-- once a client acknowledged it. AUTOINCREMENT: a seq is never reused, so
-- an account's rows keep their order across deletions.
CREATE TABLE IF NOT EXISTS client_outbox (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id TEXT NOT NULL,
  kind       TEXT NOT NULL CHECK (kind IN ('receipt', 'inbound')),
  message_id TEXT NOT NULL,
  status     TEXT NOT NULL DEFAULT '',
  from_addr  TEXT NOT NULL DEFAULT '',
  to_addr    TEXT NOT NULL DEFAULT '',
  body       TEXT NOT NULL DEFAULT '',
  error_code TEXT NOT NULL DEFAULT '',
  parts      INTEGER NOT NULL DEFAULT 0,
  delivered  INTEGER NOT NULL DEFAULT 0,
  submit_at  INTEGER NOT NULL DEFAULT 0,
  done_at    INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS client_outbox_account ON client_outbox (account_id, seq);
