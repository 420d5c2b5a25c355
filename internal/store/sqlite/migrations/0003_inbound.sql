-- Two-way messaging: senders, account policies, inbound messages and
-- their parts, opt-outs and the consent ledger. Times are Unix nanoseconds.
CREATE TABLE IF NOT EXISTS senders (
  id         TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  address    TEXT NOT NULL UNIQUE,
  kind       TEXT NOT NULL CHECK (kind IN ('number', 'short_code', 'alphanumeric')),
  language   TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS senders_account ON senders (account_id, created_at);

CREATE TABLE IF NOT EXISTS account_policies (
  account_id       TEXT PRIMARY KEY,
  allow_any_sender INTEGER NOT NULL DEFAULT 0,
  opt_out_scope    TEXT NOT NULL DEFAULT 'sender' CHECK (opt_out_scope IN ('sender', 'account')),
  exempt           TEXT NOT NULL DEFAULT '',
  updated_at       INTEGER NOT NULL
);

-- Parts of concatenated inbound messages until the whole message is stored.
CREATE TABLE IF NOT EXISTS inbound_parts (
  carrier       TEXT NOT NULL,
  from_addr     TEXT NOT NULL,
  to_addr       TEXT NOT NULL,
  ref           INTEGER NOT NULL,
  total         INTEGER NOT NULL CHECK (total BETWEEN 2 AND 255),
  seq           INTEGER NOT NULL CHECK (seq BETWEEN 1 AND 255),
  data_coding   INTEGER NOT NULL,
  single_shift  INTEGER NOT NULL DEFAULT 0,
  locking_shift INTEGER NOT NULL DEFAULT 0,
  data          BLOB NOT NULL,
  received_at   INTEGER NOT NULL,
  PRIMARY KEY (carrier, from_addr, to_addr, ref, total, seq)
);
CREATE INDEX IF NOT EXISTS inbound_parts_received ON inbound_parts (received_at);

CREATE TABLE IF NOT EXISTS inbound_messages (
  id          TEXT PRIMARY KEY,
  account_id  TEXT NOT NULL,
  from_addr   TEXT NOT NULL,
  to_addr     TEXT NOT NULL,
  body        TEXT NOT NULL,
  encoding    TEXT NOT NULL,
  carrier     TEXT NOT NULL,
  part_count  INTEGER NOT NULL,
  received    INTEGER NOT NULL,
  incomplete  INTEGER NOT NULL DEFAULT 0,
  keyword     TEXT NOT NULL DEFAULT '',
  received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS inbound_account ON inbound_messages (account_id, id);
CREATE INDEX IF NOT EXISTS inbound_from ON inbound_messages (account_id, from_addr, received_at);
CREATE INDEX IF NOT EXISTS messages_to ON messages (account_id, to_addr, created_at);

-- Who must not get an account's messages: sender '' is account-wide.
CREATE TABLE IF NOT EXISTS opt_outs (
  account_id TEXT NOT NULL,
  number     TEXT NOT NULL,
  sender     TEXT NOT NULL,
  at         INTEGER NOT NULL,
  source     TEXT NOT NULL,
  keyword    TEXT NOT NULL DEFAULT '',
  inbound_id TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (account_id, number, sender)
);

-- Append-only evidence of every consent change.
CREATE TABLE IF NOT EXISTS consent_ledger (
  id         TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  number     TEXT NOT NULL,
  sender     TEXT NOT NULL,
  action     TEXT NOT NULL CHECK (action IN ('opt_out', 'opt_in', 'removed', 'policy')),
  at         INTEGER NOT NULL,
  source     TEXT NOT NULL,
  keyword    TEXT NOT NULL DEFAULT '',
  inbound_id TEXT NOT NULL DEFAULT '',
  reason     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS consent_ledger_number ON consent_ledger (account_id, number, at);
