-- The packed form, step 3's SQL (issue 15 point 6): swapping a closed partition's packed copy in for its rows.
-- Reads see either the rows or the batches, never both or neither: logs and logs_packed are read in one statement
-- (gateway/src/sql/logs-source.ts), and the swap is one transaction whose DETACH takes the ACCESS EXCLUSIVE lock on
-- logs, so a read holds off the swap or waits for it, and then sees the partition in logs_packed (its copy was
-- committed by logs_pack_build() before the swap began).
--
-- The swap renames the detached rows instead of dropping them: a DROP's files are unlinked at COMMIT, while the
-- transaction still holds the ACCESS EXCLUSIVE lock that DETACH took on logs, and ingest and every read waited
-- 105-217 ms (bench rows, 190,000-row partition; detach, attach and update took 1-5 ms each). The caller drops
-- `<name>_rows` in a statement of its own (logs_pack_drop_rows, shared/src/pack.ts), which locks only that table:
-- by hand, the lock on logs was then held 3.3-7.9 ms and the drop took 64-176 ms beside it. A `<name>_rows` left by
-- a crash between the two is dropped by the next maintenance pass, and by retention with its partition. Nothing
-- reads `<name>_rows` (it is in no partitioned table).
--
-- Which partitions are packed, and when, is the maintenance loop's choice (shared/src/storage.ts): closed ones whose
-- whole range is older than the dedupe window (logs_begin_batch() reads the partitions of the last
-- PARTITION_INTERVAL by id; logs_packed has no event-id uniqueness).

ALTER TABLE logs_partitions ADD COLUMN packed boolean NOT NULL DEFAULT false;

-- A partition's table as it is stored now: its rows, or its packed copy once swapped.
CREATE FUNCTION logs_partition_table(p logs_partitions) RETURNS regclass LANGUAGE sql STABLE
  RETURN to_regclass(CASE WHEN p.packed THEN p.name || '_packed' ELSE p.name END);

-- Swap the packed copy built by logs_pack_build(pname) in: detach the partition from logs, attach the copy to
-- logs_packed with the same bounds (its CHECK constraint makes ATTACH skip the scan), rename the rows to
-- `<name>_rows` (logs_pack_drop_rows() below drops them). One transaction; lock_timeout keeps a long read from
-- holding ingest behind the DETACH for more than a moment (the maintenance loop tries again on its next pass).
-- Under the maintenance lock, as every storage change.
CREATE FUNCTION logs_pack_swap(pname text) RETURNS void LANGUAGE plpgsql VOLATILE
SET lock_timeout = '500ms' AS $$
DECLARE
  p logs_partitions;
  packed text := pname || '_packed';
  n bigint;
  m bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(7431003);
  SELECT * INTO p FROM logs_partitions WHERE name = pname;
  IF p.name IS NULL OR NOT p.closed OR p.packed THEN
    RAISE EXCEPTION 'logs_pack_swap: % is not a closed partition still stored as rows', pname;
  END IF;
  IF to_regclass(packed) IS NULL THEN
    RAISE EXCEPTION 'logs_pack_swap: % has no packed copy (logs_pack_build first)', pname;
  END IF;
  -- A closed partition receives no row, but the copy may be older than a change by hand: check again.
  EXECUTE format('SELECT count(*) FROM %I', pname) INTO n;
  EXECUTE format('SELECT coalesce(sum(row_count), 0) FROM %I', packed) INTO m;
  IF n <> m THEN
    RAISE EXCEPTION 'logs_pack_swap: % holds % rows, its packed copy %: build it again', pname, n, m;
  END IF;
  EXECUTE format('ALTER TABLE logs DETACH PARTITION %I', pname);
  EXECUTE format('ALTER TABLE logs_packed ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', packed, p.id_from, p.id_to);
  EXECUTE format('DROP TABLE IF EXISTS %I', pname || '_rows');
  EXECUTE format('ALTER TABLE %I RENAME TO %I', pname, pname || '_rows');
  UPDATE logs_partitions SET packed = true WHERE name = pname;
END $$;

-- The rows of packed partitions, renamed by their swap: dropped, each in its own transaction's statement, without a
-- lock on logs. Returns the names dropped.
CREATE FUNCTION logs_pack_drop_rows() RETURNS SETOF text LANGUAGE plpgsql VOLATILE
SET lock_timeout = '1s' AS $$
DECLARE
  t text;
BEGIN
  FOR t IN SELECT name || '_rows' FROM logs_partitions WHERE packed AND to_regclass(name || '_rows') IS NOT NULL ORDER BY id_from LOOP
    EXECUTE format('DROP TABLE %I', t);
    RETURN NEXT t;
  END LOOP;
END $$;

-- Retention drops a packed partition as it drops rows: its table is then the copy (and its renamed rows, if a
-- crash left them undropped).
CREATE OR REPLACE FUNCTION logs_drop_partition(pname text, why text) RETURNS void LANGUAGE plpgsql VOLATILE
SET lock_timeout = '1s' AS $$
DECLARE
  p logs_partitions;
  n bigint;
  b bigint;
BEGIN
  SELECT * INTO p FROM logs_partitions WHERE name = pname;
  IF p.packed THEN
    EXECUTE format('SELECT coalesce(sum(row_count), 0) FROM %I', pname || '_packed') INTO n;
    b := pg_total_relation_size(logs_partition_table(p));
    EXECUTE format('DROP TABLE IF EXISTS %I', pname || '_rows');
  ELSE
    EXECUTE format('SELECT count(*) FROM %I', pname) INTO n;
    b := pg_total_relation_size(pname::regclass);
    EXECUTE format('DROP TABLE %I', pname);
  END IF;
  EXECUTE format('DROP TABLE IF EXISTS %I', pname || '_packed');
  DELETE FROM logs_partitions WHERE name = pname;
  INSERT INTO logs_dropped (name, id_from, id_to, time_from, time_to, rows, bytes, reason)
    VALUES (pname, p.id_from, p.id_to, p.time_from, p.time_to, n, b, why)
    ON CONFLICT (name) DO UPDATE SET rows = EXCLUDED.rows, bytes = EXCLUDED.bytes, dropped_at = now();
END $$;

-- 006's retention, with each partition's size read from the table it is stored in.
CREATE OR REPLACE FUNCTION logs_apply_retention(max_age interval, max_bytes bigint) RETURNS SETOF text LANGUAGE plpgsql VOLATILE AS $$
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
      SELECT sum(pg_total_relation_size(logs_partition_table(p))) INTO total FROM logs_partitions p;
      EXIT WHEN total <= max_bytes;
      SELECT name INTO pname FROM logs_partitions WHERE time_to <= now() ORDER BY id_from LIMIT 1;
      EXIT WHEN pname IS NULL;
      PERFORM logs_drop_partition(pname, 'size');
      RETURN NEXT pname;
    END LOOP;
  END IF;
END $$;
