-- Herald's cluster schema (PostgreSQL). It mirrors the SQLite 0001_core:
-- the same tables, columns and state-machine CHECKs, with PostgreSQL
-- types. Times are Unix nanoseconds in bigint, as in SQLite: one
-- representation for both stores, exact to the nanosecond (timestamptz
-- keeps microseconds), 0 for "not set".
CREATE TABLE IF NOT EXISTS accounts (
  id             text PRIMARY KEY,
  name           text NOT NULL UNIQUE,
  webhook_secret text NOT NULL,
  created_at     bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS api_keys (
  id         text PRIMARY KEY,
  account_id text NOT NULL REFERENCES accounts(id),
  prefix     text NOT NULL UNIQUE,
  hash       bytea NOT NULL,
  created_at bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS messages (
  id             text PRIMARY KEY,
  account_id     text NOT NULL,
  to_addr        text NOT NULL,
  from_addr      text NOT NULL,
  body           text NOT NULL,
  type           text NOT NULL CHECK (type IN ('otp', 'transactional', 'marketing')),
  status         text NOT NULL CHECK (status IN ('accepted', 'scheduled', 'queued', 'sending', 'sent',
                   'delivered', 'undelivered', 'expired', 'failed', 'rejected', 'canceled', 'unknown')),
  encoding       text NOT NULL,
  part_count     integer NOT NULL CHECK (part_count BETWEEN 1 AND 255),
  send_at        bigint NOT NULL DEFAULT 0,
  valid_until    bigint NOT NULL DEFAULT 0,
  callback_url   text NOT NULL DEFAULT '',
  reference      text NOT NULL DEFAULT '',
  metadata       text, -- the client's JSON, byte for byte (jsonb would reformat it)
  smart_encoding boolean NOT NULL DEFAULT false,
  carrier        text NOT NULL DEFAULT '',
  error_code     text NOT NULL DEFAULT '',
  error_message  text NOT NULL DEFAULT '',
  resends        integer NOT NULL DEFAULT 0,
  created_at     bigint NOT NULL,
  updated_at     bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_account ON messages (account_id, id);
CREATE INDEX IF NOT EXISTS messages_pending ON messages (status)
  WHERE status IN ('accepted', 'scheduled', 'queued', 'sending');
CREATE INDEX IF NOT EXISTS messages_reference ON messages (account_id, reference) WHERE reference <> '';

CREATE TABLE IF NOT EXISTS parts (
  message_id         text NOT NULL,
  seq                integer NOT NULL,
  status             text NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'undelivered',
                       'expired', 'failed', 'rejected', 'canceled', 'unknown', 'scheduled', 'accepted')),
  short_message      bytea NOT NULL,
  data_coding        smallint NOT NULL,
  esm_class          smallint NOT NULL,
  sar_ref            integer NOT NULL DEFAULT 0,
  sar_total          smallint NOT NULL DEFAULT 0,
  sar_seq            smallint NOT NULL DEFAULT 0,
  payload            boolean NOT NULL DEFAULT false,
  carrier_message_id text NOT NULL DEFAULT '',
  attempts           integer NOT NULL DEFAULT 0,
  submit_status      bigint NOT NULL DEFAULT 0, -- a uint32
  receipt_stat       text NOT NULL DEFAULT '',
  receipt_err        text NOT NULL DEFAULT '',
  submitted_at       bigint NOT NULL DEFAULT 0,
  done_at            bigint NOT NULL DEFAULT 0,
  next_attempt_at    bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (message_id, seq)
);
CREATE INDEX IF NOT EXISTS parts_sent ON parts (submitted_at) WHERE status = 'sent';

-- Receipts are looked up by (carrier, key); one carrier id may yield several keys.
CREATE TABLE IF NOT EXISTS correlation (
  carrier    text NOT NULL,
  key        text NOT NULL,
  message_id text NOT NULL,
  seq        integer NOT NULL,
  PRIMARY KEY (carrier, key, message_id, seq)
);

-- Receipts that arrived before the submit response they belong to was recorded.
CREATE TABLE IF NOT EXISTS orphan_receipts (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  carrier      text NOT NULL,
  keys         text NOT NULL,
  to_status    text NOT NULL,
  at           bigint NOT NULL,
  carrier_code text NOT NULL,
  receipt_stat text NOT NULL,
  receipt_err  text NOT NULL
);
CREATE TABLE IF NOT EXISTS orphan_keys (
  carrier   text NOT NULL,
  key       text NOT NULL,
  orphan_id bigint NOT NULL,
  PRIMARY KEY (carrier, key, orphan_id)
);

CREATE TABLE IF NOT EXISTS idempotency (
  account_id text NOT NULL,
  key        text NOT NULL,
  hash       bytea NOT NULL,
  message_id text NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (account_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency (created_at);

CREATE TABLE IF NOT EXISTS events (
  id           text PRIMARY KEY,
  account_id   text NOT NULL,
  message_id   text NOT NULL,
  type         text NOT NULL,
  status       text NOT NULL,
  part_seq     integer NOT NULL DEFAULT 0,
  at           bigint NOT NULL,
  carrier      text NOT NULL DEFAULT '',
  carrier_code text NOT NULL DEFAULT '',
  detail       text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_message ON events (message_id, at);

CREATE TABLE IF NOT EXISTS webhook_endpoints (
  id         text PRIMARY KEY,
  account_id text NOT NULL,
  url        text NOT NULL,
  secret     text NOT NULL,
  events     text NOT NULL DEFAULT '[]',
  disabled   boolean NOT NULL DEFAULT false,
  created_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_endpoints_account ON webhook_endpoints (account_id);

CREATE TABLE IF NOT EXISTS deliveries (
  id           text PRIMARY KEY,
  account_id   text NOT NULL,
  message_id   text NOT NULL,
  event_id     text NOT NULL,
  endpoint_id  text NOT NULL DEFAULT '',
  url          text NOT NULL,
  secret       text NOT NULL,
  payload      bytea NOT NULL,
  attempts     integer NOT NULL DEFAULT 0,
  next_at      bigint NOT NULL,
  last_status  integer NOT NULL DEFAULT 0,
  last_error   text NOT NULL DEFAULT '',
  state        text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'disabled')),
  created_at   bigint NOT NULL,
  delivered_at bigint NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_message ON deliveries (message_id);
