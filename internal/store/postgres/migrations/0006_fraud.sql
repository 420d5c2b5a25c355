-- The fraud guard's blocks (prefixes blocked for an account), kept so
-- that they hold across restarts and nodes and can be listed and lifted
-- through the API (PostgreSQL; mirrors the SQLite 0006_fraud).
CREATE TABLE IF NOT EXISTS fraud_blocks (
  id         text PRIMARY KEY,
  account_id text NOT NULL,
  scope      text NOT NULL CHECK (scope IN ('prefix')),
  key        text NOT NULL,
  country    text NOT NULL DEFAULT '',
  reason     text NOT NULL DEFAULT '',
  level      bigint NOT NULL CHECK (level >= 1),
  monitor    boolean NOT NULL DEFAULT false,
  until      bigint NOT NULL DEFAULT 0,
  sent       bigint NOT NULL DEFAULT 0,
  approved   bigint NOT NULL DEFAULT 0,
  created_at bigint NOT NULL,
  ended_at   bigint NOT NULL DEFAULT 0,
  ended_by   text NOT NULL DEFAULT '' CHECK (ended_by IN ('', 'expiry', 'manual'))
);
CREATE INDEX IF NOT EXISTS fraud_blocks_account ON fraud_blocks (account_id, created_at);
CREATE INDEX IF NOT EXISTS fraud_blocks_created ON fraud_blocks (created_at);
