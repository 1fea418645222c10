-- The packed form, step 2 prepared (issue 15 point 6): reads of packed batches put a batch's rows beside its own
-- columns (gateway/src/sql/logs-source.ts: logs_packed b CROSS JOIN LATERAL logs_unpack(...) r), and a read's
-- conditions name the row columns bare (filter-sql.ts: "attributes->>'k'"), so no batch column may share a row
-- column's name: logs_packed.attributes (jsonb[]) becomes attrs. Nothing was attached to logs_packed before this
-- migration (copies are `<partition>_packed`, built by the bench and tests only), so nothing else changes; a copy
-- built before is built again.

ALTER TABLE logs_packed RENAME COLUMN attributes TO attrs;

-- 019's build, compressing attrs under its new name.
CREATE OR REPLACE FUNCTION logs_pack_build(pname text, batch_rows integer DEFAULT 100, OUT rows bigint, OUT batches bigint, OUT bytes bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  p logs_partitions;
  packed text := pname || '_packed';
  source_rows bigint;
  arrays text[] := ARRAY['ids', 'stream_ids', 'event_ids', 'timestamps', 'received_ats', 'levels', 'services', 'messages', 'attrs'];
  a text;
BEGIN
  SELECT * INTO p FROM logs_partitions WHERE name = pname;
  IF p.name IS NULL OR NOT p.closed THEN
    RAISE EXCEPTION 'logs_pack_build: % is not a closed partition', pname;
  END IF;
  PERFORM logs_text_fold_build();
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
           array_agg(service ORDER BY id), array_agg(message ORDER BY id), array_agg(attributes ORDER BY id),
           array_agg(msg_start ORDER BY id)
    FROM (SELECT *, (sum(char_length(message) + 1) OVER (PARTITION BY batch ORDER BY id) - char_length(message))::integer AS msg_start
          FROM (SELECT *, (row_number() OVER (ORDER BY id) - 1) / %s AS batch FROM %I) r0) r
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
