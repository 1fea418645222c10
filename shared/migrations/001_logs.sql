-- The stored events (CONTRACT §4). `id` is the cursor; it is assigned by the processor at insert time under a
-- transaction-level advisory lock so that id order is commit order (see processor/src/store-batch.ts).
CREATE SEQUENCE IF NOT EXISTS logs_id_seq AS bigint;

CREATE TABLE IF NOT EXISTS logs (
  id          bigint      PRIMARY KEY,
  stream_id   text        NOT NULL,
  event_id    uuid,
  "timestamp" timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  level       smallint    NOT NULL,
  service     text        NOT NULL,
  message     text        NOT NULL,
  attributes  jsonb       NOT NULL DEFAULT '{}'
);

ALTER SEQUENCE logs_id_seq OWNED BY logs.id;

-- A redelivered stream entry, or an XADD resent by the client library after a reconnect, never makes a second row.
CREATE UNIQUE INDEX IF NOT EXISTS logs_stream_id_key ON logs (stream_id);
CREATE UNIQUE INDEX IF NOT EXISTS logs_event_id_key ON logs (event_id);

-- Filters of GET /logs and /live, each paired with id for cursor order.
CREATE INDEX IF NOT EXISTS logs_service_id_idx ON logs (service, id);
CREATE INDEX IF NOT EXISTS logs_level_id_idx ON logs (level, id);
CREATE INDEX IF NOT EXISTS logs_timestamp_idx ON logs ("timestamp");
