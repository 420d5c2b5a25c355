-- Cluster mode: several Herald nodes on one database (docs/cluster.md).
--
-- messages.owner is the node that dispatches a message: it holds the
-- message's queued parts in memory and is the only node allowed to mark
-- them sending. '' means no node has it: due unowned messages are
-- claimed with FOR UPDATE SKIP LOCKED by nodes that hold a bind of the
-- message's carrier. A dead node's messages are given back ('') after
-- its parts left sending are queued again as resent.
ALTER TABLE messages ADD COLUMN IF NOT EXISTS owner text NOT NULL DEFAULT '';
-- An ephemeral message's text exists only in its owner's memory (a
-- one-time code, stored masked): it is never claimed by another node,
-- and fails when its owner stops before sending it.
ALTER TABLE messages ADD COLUMN IF NOT EXISTS ephemeral boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS messages_unclaimed ON messages (carrier, type, id)
  WHERE owner = '' AND status IN ('accepted', 'scheduled', 'queued', 'sending');
CREATE INDEX IF NOT EXISTS messages_owned ON messages (owner)
  WHERE owner <> '' AND status IN ('accepted', 'scheduled', 'queued', 'sending');

-- The nodes of the cluster, with their heartbeats (database time, so
-- that nodes' clocks need not agree).
CREATE TABLE IF NOT EXISTS nodes (
  id           text PRIMARY KEY,
  addr         text NOT NULL DEFAULT '',
  version      text NOT NULL DEFAULT '',
  started_at   timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL
);

-- Named leases held by one node until expires_at (database time): a
-- carrier's bind slots (bind/CARRIER/N), the leader (leader), an
-- account's SMPP client outbox (outbox/ACCOUNT).
CREATE TABLE IF NOT EXISTS leases (
  name        text PRIMARY KEY,
  node        text NOT NULL,
  acquired_at timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS leases_node ON leases (node);
