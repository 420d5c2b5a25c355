-- Verifications (one-time codes) and the per-number counters that bound them.
-- Only an HMAC of the current code is kept (code_hash), never the code.
CREATE TABLE IF NOT EXISTS verifications (
  id           TEXT PRIMARY KEY,
  account_id   TEXT NOT NULL,
  to_addr      TEXT NOT NULL,
  channel      TEXT NOT NULL,
  locale       TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'canceled', 'expired',
                 'max_attempts_reached', 'failed')),
  code_hash    BLOB,
  code_length  INTEGER NOT NULL CHECK (code_length BETWEEN 4 AND 10),
  ttl          INTEGER NOT NULL,
  checks       INTEGER NOT NULL DEFAULT 0 CHECK (checks >= 0),
  sends        INTEGER NOT NULL DEFAULT 1 CHECK (sends >= 1),
  expires_at   INTEGER NOT NULL,
  last_sent_at INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  CHECK ((status = 'pending') = (code_hash IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS verifications_pending ON verifications (account_id, to_addr) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS verifications_updated ON verifications (updated_at);

-- One row per code sent, for the sends-per-number window.
CREATE TABLE IF NOT EXISTS verify_sends (
  account_id TEXT NOT NULL,
  to_addr    TEXT NOT NULL,
  at         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS verify_sends_number ON verify_sends (account_id, to_addr, at);

-- Consecutive failed checks per (account, number), across verifications.
CREATE TABLE IF NOT EXISTS verify_failures (
  account_id TEXT NOT NULL,
  to_addr    TEXT NOT NULL,
  failures   INTEGER NOT NULL CHECK (failures >= 0),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, to_addr)
) WITHOUT ROWID;

-- Checks against unknown ids, counted like real ones (anti-enumeration).
CREATE TABLE IF NOT EXISTS verify_decoys (
  account_id TEXT NOT NULL,
  id         TEXT NOT NULL,
  checks     INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, id)
) WITHOUT ROWID;
