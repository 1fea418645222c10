-- logs_pack_swap() (021) dropped the row table inside its transaction, and a DROP's files are unlinked at COMMIT,
-- while the transaction still holds the ACCESS EXCLUSIVE lock that DETACH took on logs: ingest and every read waited
-- 105-217 ms (helper measurement, bench rows, 190,000-row partition; detach, attach and update took 1-5 ms each).
-- The swap now renames the detached rows to `<name>_rows` and the caller drops them in a statement of its own
-- (logs_pack_drop_rows, shared/src/pack.ts), which locks only that table: by hand, the lock on logs was held 3.3-7.9
-- ms and the drop took 64-176 ms beside it. A `<name>_rows` left by a crash between the two is dropped by the next
-- maintenance pass, and by retention with its partition. Nothing reads `<name>_rows` (it is in no partitioned table).

CREATE OR REPLACE FUNCTION logs_pack_swap(pname text) RETURNS void LANGUAGE plpgsql VOLATILE
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

-- Retention also drops a packed partition's renamed rows, if a crash left them.
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
