-- Verifications (one-time codes) and the per-number counters that bound
-- them (PostgreSQL; mirrors the SQLite 0005_verify). Only an HMAC of the
-- current code is kept (code_hash), never the code. Times are Unix
-- nanoseconds; ttl is nanoseconds.
CREATE TABLE IF NOT EXISTS verifications (
  id           text PRIMARY KEY,
  account_id   text NOT NULL,
  to_addr      text NOT NULL,
  channel      text NOT NULL,
  locale       text NOT NULL,
  status       text NOT NULL CHECK (status IN ('pending', 'approved', 'canceled', 'expired',
                 'max_attempts_reached', 'failed')),
  code_hash    bytea,
  code_length  bigint NOT NULL CHECK (code_length BETWEEN 4 AND 10),
  ttl          bigint NOT NULL,
  checks       bigint NOT NULL DEFAULT 0 CHECK (checks >= 0),
  sends        bigint NOT NULL DEFAULT 1 CHECK (sends >= 1),
  expires_at   bigint NOT NULL,
  last_sent_at bigint NOT NULL,
  created_at   bigint NOT NULL,
  updated_at   bigint NOT NULL,
  CHECK ((status = 'pending') = (code_hash IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS verifications_pending ON verifications (account_id, to_addr) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS verifications_updated ON verifications (updated_at);

-- One row per code sent, for the sends-per-number window.
CREATE TABLE IF NOT EXISTS verify_sends (
  account_id text NOT NULL,
  to_addr    text NOT NULL,
  at         bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS verify_sends_number ON verify_sends (account_id, to_addr, at);

-- Consecutive failed checks per (account, number), across verifications.
CREATE TABLE IF NOT EXISTS verify_failures (
  account_id text NOT NULL,
  to_addr    text NOT NULL,
  failures   bigint NOT NULL CHECK (failures >= 0),
  updated_at bigint NOT NULL,
  PRIMARY KEY (account_id, to_addr)
);

-- Checks against unknown ids, counted like real ones (anti-enumeration).
CREATE TABLE IF NOT EXISTS verify_decoys (
  account_id text NOT NULL,
  id         text NOT NULL,
  checks     bigint NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (account_id, id)
);
CREATE INDEX IF NOT EXISTS verify_decoys_created ON verify_decoys (created_at);
