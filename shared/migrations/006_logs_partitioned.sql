-- logs becomes a partitioned table (issue 15), step 3 of 3: one partition per PARTITION_INTERVAL (1 day by default),
-- created ahead of time by logs_create_partitions() (any number of processors call it: an advisory lock serializes
-- them), dropped whole by logs_apply_retention() (never a row-by-row DELETE).
--
-- The partition key is id, by RANGE, and ids encode their commit second: id = second × 2^20 + n.
-- * id is the cursor: catch-up, /logs?after= and ?before=, /live since= and the gateway's fetch of new rows are all
--   id ranges, so they prune to the partitions they touch by the key itself, and each partition's primary key
--   serves them (test/partitions.test.ts shows both with EXPLAIN).
-- * A partition is then an interval of commit time ([t, t + interval) ⇔ ids [t·2^20, (t + interval)·2^20)), so
--   partitions can be created before their time comes, retention drops what was stored more than RETENTION ago,
--   and a closed partition never receives another row (ids only grow: a batch takes max(sequence, now·2^20)).
-- * "timestamp" is not the key: it is the client's clock. Keyed by it, a late or backfilled event would land in an
--   old (or dropped) partition, every id range of the cursor would touch every partition, and a resent event could
--   land anywhere. Reads by time (since/until, /stats) stay index-backed by each partition's "timestamp" index and
--   are pruned through logs_ids_for_time(): a closed partition records the "timestamp" range of its rows.
-- 2^20 ids per second: up to 1,048,576 rows/s before the ids run ahead of the clock (then rows land early in the next
-- partition, which is harmless). Ids stay below 2^53 (JavaScript numbers) until the year 2242.
--
-- Today's table is attached, as it is, as the first partition (logs_legacy: ids below 2^40). 004/005 proved its ids
-- are in that range without a long lock, and the indexes below are the ones it already has, so ATTACH neither scans
-- it nor builds an index: this migration holds its lock on logs for milliseconds, whatever its size.
--
-- Dedupe (CONTRACT: stored once). A unique index on a partitioned table must contain the partition key, and a copy
-- of an event (a redelivered entry, a resent XADD or Idempotency-Key request) gets a new id, possibly in another
-- partition. So each partition has its own unique index on event_id (same partition: ON CONFLICT DO NOTHING, as
-- before), and logs_begin_batch() looks the batch's event ids up in the partitions of the last PARTITION_INTERVAL
-- (and in logs_legacy for one interval after this migration) before the insert, after taking the id-order lock, in
-- a snapshot of its own, so a copy committed by the batch just before is seen. Window: a copy is stored once when it
-- arrives within PARTITION_INTERVAL (1 day by default) of the original, or anywhere in the same partition.

ALTER TABLE logs RENAME TO logs_legacy;
ALTER TABLE logs_legacy RENAME CONSTRAINT logs_pkey TO logs_legacy_pkey;
ALTER INDEX logs_service_id_idx RENAME TO logs_legacy_service_id_idx;
ALTER INDEX logs_level_id_idx RENAME TO logs_legacy_level_id_idx;
ALTER INDEX logs_timestamp_idx RENAME TO logs_legacy_timestamp_idx;
ALTER INDEX logs_event_id_key RENAME TO logs_legacy_event_id_key;
ALTER INDEX IF EXISTS logs_message_trgm_idx RENAME TO logs_legacy_message_trgm_idx;
-- Transition-table triggers cannot be on a partition: they move to the partitioned table below.
DROP TRIGGER logs_rollup_insert ON logs_legacy;
DROP TRIGGER logs_rollup_delete ON logs_legacy;
DROP TRIGGER logs_rollup_truncate ON logs_legacy;

CREATE TABLE logs (
  id          bigint      NOT NULL,
  stream_id   text        NOT NULL,
  event_id    uuid,
  "timestamp" timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  level       smallint    NOT NULL,
  service     text        NOT NULL,
  message     text        NOT NULL,
  attributes  jsonb       NOT NULL DEFAULT '{}',
  CONSTRAINT logs_pkey PRIMARY KEY (id)
) PARTITION BY RANGE (id);
CREATE INDEX logs_service_id_idx ON logs (service, id);
CREATE INDEX logs_level_id_idx ON logs (level, id);
CREATE INDEX logs_timestamp_idx ON logs ("timestamp");
DO $$
BEGIN
  -- A deployment that turned the optional search index on keeps it (partitioned; shared/src/search-index.ts).
  IF to_regclass('logs_legacy_message_trgm_idx') IS NOT NULL THEN
    CREATE INDEX logs_message_trgm_idx ON ONLY logs USING gin (message gin_trgm_ops);
  END IF;
END $$;

ALTER TABLE logs ATTACH PARTITION logs_legacy FOR VALUES FROM (MINVALUE) TO (1099511627776);
DO $$
BEGIN
  IF to_regclass('logs_legacy_message_trgm_idx') IS NOT NULL THEN
    ALTER INDEX logs_message_trgm_idx ATTACH PARTITION logs_legacy_message_trgm_idx;
  END IF;
END $$;
ALTER TABLE logs_legacy DROP CONSTRAINT logs_legacy_id_range;
-- Owned by the partitioned table, so that dropping logs_legacy one day does not drop the sequence with it.
ALTER SEQUENCE logs_id_seq OWNED BY logs.id;

CREATE TRIGGER logs_rollup_insert AFTER INSERT ON logs REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION logs_rollup_insert();
CREATE TRIGGER logs_rollup_delete AFTER DELETE ON logs REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION logs_rollup_delete();
CREATE TRIGGER logs_rollup_truncate AFTER TRUNCATE ON logs
  FOR EACH STATEMENT EXECUTE FUNCTION logs_rollup_truncate();

-- Settings the processors share (written from PARTITION_INTERVAL by shared/src/storage.ts).
CREATE TABLE logs_storage_settings (
  only_row           boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
  partition_interval interval    NOT NULL DEFAULT '1 day',
  -- Until one interval after this, logs_begin_batch() also looks for copies in logs_legacy.
  legacy_until       timestamptz NOT NULL DEFAULT now()
);
INSERT INTO logs_storage_settings DEFAULT VALUES;

-- The partitions, with their ranges; ts_min/ts_max ("timestamp" of their rows) are set once a partition is closed.
CREATE TABLE logs_partitions (
  name       text        PRIMARY KEY,
  id_from    bigint      NOT NULL,
  id_to      bigint      NOT NULL,
  time_from  timestamptz,
  time_to    timestamptz NOT NULL,
  ts_min     timestamptz,
  ts_max     timestamptz,
  closed     boolean     NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO logs_partitions (name, id_from, id_to, time_from, time_to) VALUES ('logs_legacy', -9223372036854775808, 1099511627776, NULL, now());

-- What retention removed, so that a /live client whose cursor points into it is told (a "dropped" frame).
CREATE TABLE logs_dropped (
  name       text        PRIMARY KEY,
  id_from    bigint      NOT NULL,
  id_to      bigint      NOT NULL,
  time_from  timestamptz,
  time_to    timestamptz NOT NULL,
  rows       bigint      NOT NULL,
  bytes      bigint      NOT NULL,
  reason     text        NOT NULL,
  dropped_at timestamptz NOT NULL DEFAULT now()
);

-- The first id of a commit second (and so of a partition starting then).
CREATE FUNCTION logs_id_floor(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN floor(extract(epoch FROM t))::bigint * 1048576;

-- Called by every store batch (processor/src/store-batch.ts), first: take the id-order lock, move the sequence up to
-- this second's first id, and return the event ids of the batch already stored within the dedupe window. VOLATILE
-- plpgsql: each statement here takes a new snapshot, after the lock, so a batch committed while this one waited for
-- the lock is seen.
CREATE FUNCTION logs_begin_batch(lock_key bigint, eids uuid[]) RETURNS uuid[] LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  first_id bigint;
  s logs_storage_settings;
  window_from bigint;
  seen uuid[];
BEGIN
  PERFORM pg_advisory_xact_lock(lock_key);
  SELECT setval('logs_id_seq', greatest(last_value, logs_id_floor(clock_timestamp()))) INTO first_id FROM logs_id_seq;
  SELECT * INTO s FROM logs_storage_settings;
  window_from := CASE WHEN s.legacy_until > clock_timestamp() - s.partition_interval THEN -9223372036854775808
                      ELSE first_id - (extract(epoch FROM s.partition_interval)::bigint * 1048576) END;
  SELECT array_agg(event_id) INTO seen FROM logs WHERE event_id = ANY(eids) AND id >= window_from;
  RETURN coalesce(seen, '{}');
END $$;

-- Partitions for now and the next `ahead` (at least the next interval), each aligned to PARTITION_INTERVAL since the
-- epoch (UTC). Created empty and attached (ATTACH takes only a SHARE UPDATE EXCLUSIVE lock: inserts go on). Returns
-- the names created. Safe to call from any number of processes at once.
CREATE FUNCTION logs_create_partitions(ahead interval DEFAULT NULL) RETURNS SETOF text LANGUAGE plpgsql VOLATILE
SET lock_timeout = '5s' AS $$
DECLARE
  step_s bigint;
  from_s bigint;
  to_s bigint;
  until_s bigint;
  pname text;
BEGIN
  PERFORM pg_advisory_xact_lock(7431003);
  SELECT extract(epoch FROM partition_interval)::bigint INTO step_s FROM logs_storage_settings;
  until_s := extract(epoch FROM now() + greatest(coalesce(ahead, '0'), make_interval(secs => step_s)))::bigint;
  -- From the end of the newest partition, or from the start of the current interval when that is later.
  SELECT greatest(max(id_to) / 1048576, floor(extract(epoch FROM now()) / step_s)::bigint * step_s) INTO from_s FROM logs_partitions;
  WHILE from_s <= until_s LOOP
    to_s := (from_s / step_s + 1) * step_s;
    pname := 'logs_' || to_char(to_timestamp(from_s) AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24MISS');
    EXECUTE format('CREATE TABLE %I (LIKE logs INCLUDING DEFAULTS)', pname);
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I (event_id)', pname || '_event_id_key', pname);
    EXECUTE format('ALTER TABLE logs ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', pname, from_s * 1048576, to_s * 1048576);
    INSERT INTO logs_partitions (name, id_from, id_to, time_from, time_to)
      VALUES (pname, from_s * 1048576, to_s * 1048576, to_timestamp(from_s), to_timestamp(to_s));
    RETURN NEXT pname;
    from_s := to_s;
  END LOOP;
END $$;

-- Partitions whose time is over: record the "timestamp" range of their rows (two probes of their index), which lets
-- reads by time skip them. Holding the id-order lock for a moment guarantees no batch with ids in them is still
-- uncommitted.
CREATE FUNCTION logs_close_partitions() RETURNS SETOF text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  p logs_partitions;
  lo timestamptz;
  hi timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock(7431003);
  PERFORM pg_advisory_xact_lock(7431002);
  FOR p IN SELECT * FROM logs_partitions WHERE NOT closed AND time_from IS NOT NULL AND time_to <= now() ORDER BY id_from LOOP
    EXECUTE format('SELECT min("timestamp"), max("timestamp") FROM %I', p.name) INTO lo, hi;
    UPDATE logs_partitions SET closed = true, ts_min = lo, ts_max = hi WHERE name = p.name;
    RETURN NEXT p.name;
  END LOOP;
END $$;

-- Drop one partition whole, recording it in logs_dropped.
CREATE FUNCTION logs_drop_partition(pname text, why text) RETURNS void LANGUAGE plpgsql VOLATILE
SET lock_timeout = '1s' AS $$
DECLARE
  p logs_partitions;
  n bigint;
  b bigint;
BEGIN
  SELECT * INTO p FROM logs_partitions WHERE name = pname;
  EXECUTE format('SELECT count(*) FROM %I', pname) INTO n;
  b := pg_total_relation_size(pname::regclass);
  EXECUTE format('DROP TABLE %I', pname);
  DELETE FROM logs_partitions WHERE name = pname;
  INSERT INTO logs_dropped (name, id_from, id_to, time_from, time_to, rows, bytes, reason)
    VALUES (pname, p.id_from, p.id_to, p.time_from, p.time_to, n, b, why)
    ON CONFLICT (name) DO UPDATE SET rows = EXCLUDED.rows, bytes = EXCLUDED.bytes, dropped_at = now();
END $$;

-- Retention: drop partitions stored more than `max_age` ago (NULL: none by age), then the oldest while all of them
-- together take more than `max_bytes` (NULL: no limit). The partition being written and those ahead of it are never
-- dropped. Returns the names dropped.
CREATE FUNCTION logs_apply_retention(max_age interval, max_bytes bigint) RETURNS SETOF text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  pname text;
  total bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(7431003);
  IF max_age IS NOT NULL THEN
    FOR pname IN SELECT name FROM logs_partitions WHERE time_to <= now() - max_age ORDER BY id_from LOOP
      PERFORM logs_drop_partition(pname, 'retention');
      RETURN NEXT pname;
    END LOOP;
  END IF;
  IF max_bytes IS NOT NULL THEN
    LOOP
      SELECT sum(pg_total_relation_size(name::regclass)) INTO total FROM logs_partitions;
      EXIT WHEN total <= max_bytes;
      SELECT name INTO pname FROM logs_partitions WHERE time_to <= now() ORDER BY id_from LIMIT 1;
      EXIT WHEN pname IS NULL;
      PERFORM logs_drop_partition(pname, 'size');
      RETURN NEXT pname;
    END LOOP;
  END IF;
END $$;

-- Ids to read for a "timestamp" range (either end NULL: open): from the first partition that holds such rows to the
-- end of the last one. A closed partition's range is recorded; the few open ones (being written, ahead, logs_legacy)
-- are asked (min and max of their "timestamp" index: two probes each), in the caller's snapshot (STABLE), so the
-- answer is exact for the query that uses it. Used by /logs since/until (gateway/src/logs-query.ts).
CREATE FUNCTION logs_ids_for_time(since timestamptz, until timestamptz, OUT id_from bigint, OUT id_to bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  p logs_partitions;
  lo timestamptz;
  hi timestamptz;
BEGIN
  id_from := 9223372036854775807;
  id_to := -9223372036854775808;
  FOR p IN SELECT * FROM logs_partitions ORDER BY logs_partitions.id_from LOOP
    IF p.closed THEN
      lo := p.ts_min;
      hi := p.ts_max;
    ELSE
      EXECUTE format('SELECT min("timestamp"), max("timestamp") FROM %I', p.name) INTO lo, hi;
    END IF;
    CONTINUE WHEN lo IS NULL OR hi < since OR lo > until;
    id_from := least(id_from, p.id_from);
    id_to := greatest(id_to, p.id_to);
  END LOOP;
END $$;

-- No partition for the current interval yet: the processors' first maintenance pass creates it with their
-- PARTITION_INTERVAL (and a store that finds none creates it with the setting above: processor/src/store-batch.ts).
