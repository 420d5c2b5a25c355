-- SMPP client applications (PostgreSQL): their credentials, which
-- messages they submitted, and the deliver_sm (receipts, inbound
-- messages) waiting for their receiver binds. It mirrors the SQLite
-- 0004_smpp_clients (same number and name). Times are Unix nanoseconds.

-- A system_id belongs to one user: the UNIQUE constraint decides it,
-- whichever node creates it.
CREATE TABLE IF NOT EXISTS smpp_users (
  id            text PRIMARY KEY,
  account_id    text NOT NULL REFERENCES accounts(id),
  system_id     text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  max_binds     bigint NOT NULL DEFAULT 0,
  rate_limit    double precision NOT NULL DEFAULT 0,
  allowed_ips   text NOT NULL DEFAULT '', -- space-separated addresses and CIDR prefixes
  created_at    bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS smpp_users_account ON smpp_users (account_id);

-- One row per message an SMPP client submitted asking for receipts.
CREATE TABLE IF NOT EXISTS smpp_sources (
  message_id          text PRIMARY KEY,
  account_id          text NOT NULL,
  smpp_user_id        text NOT NULL,
  registered_delivery bigint NOT NULL
);

-- deliver_sm waiting for an account's receiver binds; a row is deleted
-- once a client acknowledged it. The seq comes from an identity (never
-- reused); rows of one account are inserted under an advisory lock held
-- to the commit, so that their seq order is their commit order on every
-- node.
CREATE TABLE IF NOT EXISTS client_outbox (
  seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id text NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('receipt', 'inbound')),
  message_id text NOT NULL,
  status     text NOT NULL DEFAULT '',
  from_addr  text NOT NULL DEFAULT '',
  to_addr    text NOT NULL DEFAULT '',
  body       text NOT NULL DEFAULT '',
  error_code text NOT NULL DEFAULT '',
  parts      bigint NOT NULL DEFAULT 0,
  delivered  bigint NOT NULL DEFAULT 0,
  submit_at  bigint NOT NULL DEFAULT 0,
  done_at    bigint NOT NULL DEFAULT 0,
  created_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS client_outbox_account ON client_outbox (account_id, seq);
