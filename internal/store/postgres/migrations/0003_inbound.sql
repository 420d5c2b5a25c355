-- Two-way messaging (PostgreSQL): senders, account policies, inbound
-- messages and their parts, opt-outs and the consent ledger. It mirrors
-- the SQLite 0003_inbound (same version number: the two series stay
-- aligned; 0002 is kept for a branch not merged yet). Times are Unix
-- nanoseconds in bigint, as in 0001_core.

-- An address belongs to one account: the UNIQUE constraint decides it,
-- whichever node registers it.
CREATE TABLE IF NOT EXISTS senders (
  id         text PRIMARY KEY,
  account_id text NOT NULL,
  address    text NOT NULL UNIQUE,
  kind       text NOT NULL CHECK (kind IN ('number', 'short_code', 'alphanumeric')),
  language   text NOT NULL DEFAULT '',
  created_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS senders_account ON senders (account_id, created_at);

CREATE TABLE IF NOT EXISTS account_policies (
  account_id       text PRIMARY KEY,
  allow_any_sender boolean NOT NULL DEFAULT false,
  opt_out_scope    text NOT NULL DEFAULT 'sender' CHECK (opt_out_scope IN ('sender', 'account')),
  exempt           text NOT NULL DEFAULT '', -- message types, comma-separated
  updated_at       bigint NOT NULL
);

-- Parts of concatenated inbound messages until the whole message is stored.
CREATE TABLE IF NOT EXISTS inbound_parts (
  carrier       text NOT NULL,
  from_addr     text NOT NULL,
  to_addr       text NOT NULL,
  ref           integer NOT NULL,
  total         integer NOT NULL CHECK (total BETWEEN 2 AND 255),
  seq           integer NOT NULL CHECK (seq BETWEEN 1 AND 255),
  data_coding   smallint NOT NULL,
  single_shift  smallint NOT NULL DEFAULT 0,
  locking_shift smallint NOT NULL DEFAULT 0,
  data          bytea NOT NULL,
  received_at   bigint NOT NULL,
  PRIMARY KEY (carrier, from_addr, to_addr, ref, total, seq)
);
CREATE INDEX IF NOT EXISTS inbound_parts_received ON inbound_parts (received_at);

CREATE TABLE IF NOT EXISTS inbound_messages (
  id          text PRIMARY KEY,
  account_id  text NOT NULL,
  from_addr   text NOT NULL,
  to_addr     text NOT NULL,
  body        text NOT NULL,
  encoding    text NOT NULL,
  carrier     text NOT NULL,
  part_count  integer NOT NULL,
  received    integer NOT NULL,
  incomplete  boolean NOT NULL DEFAULT false,
  keyword     text NOT NULL DEFAULT '',
  received_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS inbound_account ON inbound_messages (account_id, id);
CREATE INDEX IF NOT EXISTS inbound_from ON inbound_messages (account_id, from_addr, received_at);
CREATE INDEX IF NOT EXISTS messages_to ON messages (account_id, to_addr, created_at);

-- Who must not get an account's messages: sender '' is account-wide.
CREATE TABLE IF NOT EXISTS opt_outs (
  account_id text NOT NULL,
  number     text NOT NULL,
  sender     text NOT NULL,
  at         bigint NOT NULL,
  source     text NOT NULL,
  keyword    text NOT NULL DEFAULT '',
  inbound_id text NOT NULL DEFAULT '',
  PRIMARY KEY (account_id, number, sender)
);
-- The pages of OptOuts, in SQLite's (byte) order of number|sender.
CREATE INDEX IF NOT EXISTS opt_outs_page ON opt_outs (account_id, (number || '|' || sender) COLLATE "C");

-- Append-only evidence of every consent change.
CREATE TABLE IF NOT EXISTS consent_ledger (
  id         text PRIMARY KEY,
  account_id text NOT NULL,
  number     text NOT NULL,
  sender     text NOT NULL,
  action     text NOT NULL CHECK (action IN ('opt_out', 'opt_in', 'removed', 'policy')),
  at         bigint NOT NULL,
  source     text NOT NULL,
  keyword    text NOT NULL DEFAULT '',
  inbound_id text NOT NULL DEFAULT '',
  reason     text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS consent_ledger_number ON consent_ledger (account_id, number, at);
CREATE INDEX IF NOT EXISTS consent_ledger_account ON consent_ledger (account_id, at);
