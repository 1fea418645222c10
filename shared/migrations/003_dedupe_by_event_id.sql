-- Rows are unique by event id alone (issue 11.3). The unique index on stream_id made one table safe for one stream
-- only: entry ids are per stream ("1764000000000-0" is made by every stream written in that millisecond), so with
-- two streams (two Redis servers, one table: the README's scale-out) the second event with a given id was dropped
-- as a "redelivery" (2,640 of 112,650 events lost in 15 s). Every event has an event id now: the producer sets one
-- (random, or derived from an Idempotency-Key), and for entries written by other tools the processor derives it
-- from the stream's identity and the entry id (processor/src/stream-entries.ts). So logs_event_id_key alone keeps
-- a redelivered entry (same event id) and a resent XADD (same event id, new entry id) to one row, for any number of
-- streams. stream_id stays as a column (where a row came from); nothing looks rows up by it, so it has no index,
-- which also saves that index's ~40 bytes per row.
DROP INDEX IF EXISTS logs_stream_id_key;
