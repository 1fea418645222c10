-- The packed form of a closed partition (issue 15 point 6, "≤ 250 bytes per stored row"), step 1 of 3: the format
-- and the function that builds a packed copy of a closed partition. Nothing reads or swaps in a packed copy yet
-- (steps 2 and 3: one read building block for every query that reaches old rows, then the swap in the maintenance
-- loop), so this migration changes no behaviour; the bench builds a copy to report its bytes.
--
-- Why: PostgreSQL compresses a value only in tuples over ~2 KB (TOAST_TUPLE_THRESHOLD; toast_tuple_target does not
-- lower that trigger), so a logs row (~390 B of heap for the bench's 200-byte messages) is never compressed and no
-- per-row setting reaches 250 B. A closed partition never receives another row, so its rows can be stored many to a
-- tuple, as arrays that TOAST compresses (lz4).
--
-- Measured (ls_packing_measure, PostgreSQL 15.20, bench rows of bench/lib/payload.ts, bytes ÷ rows after VACUUM,
-- 2026-12-01 ~16:45-16:55 UTC, machine loaded: load average 5-9 from the other sessions):
--   rows as today, 200,000 in one table: heap 390 B, B-tree indexes 109 B, trigram index on message 320 B: 819 B.
--   Packed, table + TOAST only (no index), 200,000 rows:
--     batch rows   one array per column (lz4)   one array of the logs row type (lz4)
--        100            120.7 B                      126.6 B
--        250            111.3 B                        —
--        500            108.8 B                      108.5 B
--       1000            108.7 B                      107.3 B
--   per column at 1,000 rows a batch: message 50.2 B (the bench's md5 hex and row number do not compress), event id
--   16.0 (random UUIDs: none), attributes 10.8, timestamp 6.0, received_at 6.0, id 4.0, stream id 4.0, level and
--   service 0.1 each. Per-column arrays are as small as the row-type array at 100-1000 rows, and a search or a
--   filter reads (decompresses) only the arrays it tests, so they are the format.
--   Trigram index on a batch's messages (msgs_text() below), 200,000 rows: 11.2 B a row at 1,000 rows a batch, 22.2
--   at 500, 36.7 at 250, 60.1 at 100 (72.8 at 100 over 2,000,000 rows); a row's trigram index was 320 B.
--   Rare word (0.01% of rows, 'deadlock'), all columns of every match, over 2,000,000 rows (200 matches): 100 rows
--   a batch 45-122 ms (by the load), 200 rows 280-320 ms: every match costs the decompression and test of its whole
--   batch (~0.2 ms at 100 rows, so 500 matches over 5 M rows ~100 ms at this load), so small batches. Absent word:
--   0.3-1.4 ms (the index rules out every batch). A seq scan of the row table: 3.3 s.
--   Event id (GET /logs/{eventId}): a GIN index on the uuid[] costs 72 B a row; on the 16-bit prefix of each id
--   (eid_keys() below) 7.7 B a row over 2,000,000 rows, and a lookup then tests the ~30 batches of that prefix
--   (0.7 ms; the posting lists compress better as a partition grows).
--   Chosen: 100 rows a batch, one lz4 array per column. 2,000,000 rows: table + TOAST 120.3 B, trigram 72.8 B,
--   event-id prefix 7.7 B, id and time B-trees 0.6 B: 201.4 B a row with the search index, against 489 B without a
--   search index and ~760 B with it as partitions are stored today. (200 rows a batch: 181.6 B, but search ×3.)
--   Packing 2,000,000 rows (INSERT … GROUP BY batch, then the indexes) took ~90 s at that load.
--   `npm run bench -- stats` (its 190,000-row closed partition, with the level and service indexes below): 209.4 B a
--   row (heap + TOAST 120.6, indexes 26.0 — the event-id prefixes are denser in a larger partition —, trigram 62.9)
--   against 488.7 B for the partition as stored today and 759.5 B with its search index; packing took 4.5-9.8 s.
--   A newest-first page over a packed partition (batches by the id_from index, backward; ORDER BY id_from DESC,
--   id DESC: an incremental sort per batch) read 2 batches and took 1 ms over 2,000,000 rows.
--
-- Guarantees the later steps keep (written here so that the format serves them):
-- * Dedupe: logs_begin_batch() looks event ids up in the partitions of the last PARTITION_INTERVAL; a partition is
--   packed only once its whole range is older than that window (time_to <= now() - 2 × PARTITION_INTERVAL), so a
--   packed partition is never needed for dedupe: the documented window is unchanged.
-- * Reads: every read that can reach a packed partition unnests its batches through one building block, bounded by
--   id_from/id_to (B-tree) and ts_min/ts_max, so that batches are pruned by index; q= uses the trigram index on the
--   batch, then tests each row with the same text match (gateway/src/text-match.ts) as today.
-- * Swap: in one short transaction, the partition is detached from logs, its packed copy attached to logs_packed with
--   the same bounds (a CHECK constraint matching them makes the attach scan-free), the row table dropped. The copy is
--   built in one transaction (below), so a crash leaves no half-built copy; a copy left by an interrupted swap is
--   dropped and built again.
-- * Retention drops a partition whole: logs_drop_partition() below also drops its packed copy.

-- The packed batches of every packed partition, partitioned as logs is (by the batch's first id). The per-row arrays
-- are in the order of ids; their element i is row i of the batch.
CREATE TABLE logs_packed (
  id_from       bigint        NOT NULL,  -- first and last id of the batch (consecutive stored rows)
  id_to         bigint        NOT NULL,
  ts_min        timestamptz   NOT NULL,  -- "timestamp" range of its rows
  ts_max        timestamptz   NOT NULL,
  row_count     integer       NOT NULL,
  level_mask    integer       NOT NULL,  -- bit level/10 set for each level present (levels are 10, 20 … 60)
  service_set   text[]        NOT NULL,  -- its distinct services
  ids           bigint[]      NOT NULL,
  stream_ids    text[]        NOT NULL,
  event_ids     uuid[]        NOT NULL,
  timestamps    timestamptz[] NOT NULL,
  received_ats  timestamptz[] NOT NULL,
  levels        smallint[]    NOT NULL,
  services      text[]        NOT NULL,
  messages      text[]        NOT NULL,
  attributes    jsonb[]       NOT NULL
) PARTITION BY RANGE (id_from);

-- A batch's messages as one text, for its trigram index: a word in a message is in this text, so the index finds
-- every batch holding a match (a match across two messages is possible only for q with a newline, and each row is
-- tested on its own afterwards).
CREATE FUNCTION logs_msgs_text(msgs text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN array_to_string(msgs, E'\n');

-- The 16-bit prefix of an event id, and those of a batch, for the event-id index (a lookup tests the few batches
-- sharing the prefix). NULL event ids (rows stored before event ids existed) have none.
CREATE FUNCTION logs_eid_key(e uuid) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN get_byte(uuid_send(e), 0) * 256 + get_byte(uuid_send(e), 1);
CREATE FUNCTION logs_eid_keys(e uuid[]) RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN ARRAY(SELECT DISTINCT logs_eid_key(x) FROM unnest(e) x WHERE x IS NOT NULL ORDER BY 1);

-- The rows of a batch, as rows of logs (same columns, same order). Inlined by the planner (one SELECT, IMMUTABLE).
CREATE FUNCTION logs_unpack(ids bigint[], stream_ids text[], event_ids uuid[], timestamps timestamptz[],
                            received_ats timestamptz[], levels smallint[], services text[], messages text[],
                            attributes jsonb[])
RETURNS SETOF logs LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT * FROM unnest(ids, stream_ids, event_ids, timestamps, received_ats, levels, services, messages, attributes)
$$;

-- Build the packed copy of a closed partition, `<name>_packed` (not attached, not read: see above), in this one
-- transaction, replacing a copy an earlier call left. Its row count is checked against the partition's. Returns the
-- rows, batches and bytes (table, TOAST and indexes) of the copy.
CREATE FUNCTION logs_pack_build(pname text, batch_rows integer DEFAULT 100, OUT rows bigint, OUT batches bigint, OUT bytes bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  p logs_partitions;
  packed text := pname || '_packed';
  source_rows bigint;
  arrays text[] := ARRAY['ids', 'stream_ids', 'event_ids', 'timestamps', 'received_ats', 'levels', 'services', 'messages', 'attributes'];
  a text;
BEGIN
  SELECT * INTO p FROM logs_partitions WHERE name = pname;
  IF p.name IS NULL OR NOT p.closed THEN
    RAISE EXCEPTION 'logs_pack_build: % is not a closed partition', pname;
  END IF;
  EXECUTE format('DROP TABLE IF EXISTS %I', packed);
  EXECUTE format('CREATE TABLE %I (LIKE logs_packed INCLUDING DEFAULTS)', packed);
  -- lz4 when the server has it (PostgreSQL built --with-lz4, as Debian's and the official images are), else pglz.
  BEGIN
    FOREACH a IN ARRAY arrays LOOP
      EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET COMPRESSION lz4', packed, a);
    END LOOP;
  EXCEPTION WHEN feature_not_supported THEN
    NULL;
  END;
  EXECUTE format($q$
    INSERT INTO %I
    SELECT min(id), max(id), min("timestamp"), max("timestamp"), count(*), bit_or(1 << (level / 10)), array_agg(DISTINCT service),
           array_agg(id ORDER BY id), array_agg(stream_id ORDER BY id), array_agg(event_id ORDER BY id),
           array_agg("timestamp" ORDER BY id), array_agg(received_at ORDER BY id), array_agg(level ORDER BY id),
           array_agg(service ORDER BY id), array_agg(message ORDER BY id), array_agg(attributes ORDER BY id)
    FROM (SELECT *, (row_number() OVER (ORDER BY id) - 1) / %s AS batch FROM %I) r
    GROUP BY batch$q$, packed, batch_rows, pname);
  EXECUTE format('SELECT count(*) FROM %I', pname) INTO source_rows;
  EXECUTE format('SELECT coalesce(sum(row_count), 0), count(*) FROM %I', packed) INTO rows, batches;
  IF rows <> source_rows THEN
    RAISE EXCEPTION 'logs_pack_build: % holds % rows, its packed copy %', pname, source_rows, rows;
  END IF;
  -- The bounds it will be attached with (FOR VALUES FROM (id_from) TO (id_to) of the partition): a matching CHECK
  -- lets ATTACH skip its scan.
  EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (id_from >= %s AND id_from < %s)', packed, packed || '_range', p.id_from, p.id_to);
  EXECUTE format('CREATE INDEX %I ON %I (id_from) WITH (fillfactor = 100)', packed || '_id_from', packed);
  EXECUTE format('CREATE INDEX %I ON %I (id_to) WITH (fillfactor = 100)', packed || '_id_to', packed);
  EXECUTE format('CREATE INDEX %I ON %I (ts_min) WITH (fillfactor = 100)', packed || '_ts_min', packed);
  EXECUTE format('CREATE INDEX %I ON %I (ts_max) WITH (fillfactor = 100)', packed || '_ts_max', packed);
  EXECUTE format('CREATE INDEX %I ON %I USING gin (logs_eid_keys(event_ids)) WITH (fastupdate = off)', packed || '_eid', packed);
  -- The batches holding a rare level (error, fatal) and those of a service, as the row table's level and service
  -- indexes serve level= and service= (a common level or service is read in id order and filtered).
  EXECUTE format('CREATE INDEX %I ON %I (id_from) WITH (fillfactor = 100) WHERE level_mask >= 32', packed || '_error', packed);
  EXECUTE format('CREATE INDEX %I ON %I USING gin (service_set) WITH (fastupdate = off)', packed || '_services', packed);
  -- The search index needs pg_trgm (shared/src/search-index.ts creates it; without it searches scan).
  IF EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_trgm') THEN
    EXECUTE format('CREATE INDEX %I ON %I USING gin (logs_msgs_text(messages) gin_trgm_ops) WITH (fastupdate = off)', packed || '_trgm', packed);
  END IF;
  bytes := pg_total_relation_size(packed::regclass);
END $$;

-- Retention drops a partition's packed copy with it.
CREATE OR REPLACE FUNCTION logs_drop_partition(pname text, why text) RETURNS void LANGUAGE plpgsql VOLATILE
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
  EXECUTE format('DROP TABLE IF EXISTS %I', pname || '_packed');
  DELETE FROM logs_partitions WHERE name = pname;
  INSERT INTO logs_dropped (name, id_from, id_to, time_from, time_to, rows, bytes, reason)
    VALUES (pname, p.id_from, p.id_to, p.time_from, p.time_to, n, b, why)
    ON CONFLICT (name) DO UPDATE SET rows = EXCLUDED.rows, bytes = EXCLUDED.bytes, dropped_at = now();
END $$;
