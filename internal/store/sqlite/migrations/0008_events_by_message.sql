-- Events are only ever read by message (the message's history, ordered by
-- time), so they are kept in one b-tree keyed that way: an event insert
-- then updates one b-tree instead of three (the rowid table, the index of
-- its id, events_message). Event ids stay unique by construction (random
-- ids; nothing looks an event up by id).
CREATE TABLE events_by_message (
  id           TEXT NOT NULL,
  account_id   TEXT NOT NULL,
  message_id   TEXT NOT NULL,
  type         TEXT NOT NULL,
  status       TEXT NOT NULL,
  part_seq     INTEGER NOT NULL DEFAULT 0,
  at           INTEGER NOT NULL,
  carrier      TEXT NOT NULL DEFAULT '',
  carrier_code TEXT NOT NULL DEFAULT '',
  detail       TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (message_id, at, id)
) WITHOUT ROWID;
INSERT INTO events_by_message (id, account_id, message_id, type, status, part_seq, at, carrier, carrier_code, detail)
  SELECT id, account_id, message_id, type, status, part_seq, at, carrier, carrier_code, detail FROM events;
DROP TABLE events;
ALTER TABLE events_by_message RENAME TO events;
