-- The fraud guard's blocks (prefixes blocked for an account), kept so that
-- they hold across restarts and can be listed and lifted through the API.
CREATE TABLE IF NOT EXISTS fraud_blocks (
  id         TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  scope      TEXT NOT NULL CHECK (scope IN ('prefix')),
  key        TEXT NOT NULL,
  country    TEXT NOT NULL DEFAULT '',
  reason     TEXT NOT NULL DEFAULT '',
  level      INTEGER NOT NULL CHECK (level >= 1),
  monitor    INTEGER NOT NULL DEFAULT 0,
  until      INTEGER NOT NULL DEFAULT 0,
  sent       INTEGER NOT NULL DEFAULT 0,
  approved   INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  ended_at   INTEGER NOT NULL DEFAULT 0,
  ended_by   TEXT NOT NULL DEFAULT '' CHECK (ended_by IN ('', 'expiry', 'manual'))
);
CREATE INDEX IF NOT EXISTS fraud_blocks_account ON fraud_blocks (account_id, created_at);
CREATE INDEX IF NOT EXISTS fraud_blocks_created ON fraud_blocks (created_at);
