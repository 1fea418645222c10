-- The rollups also count the rows exactly at the start of their minute or hour (issue 16, log-volume speed).
-- Loki's range windows are (t − range, t]: a row exactly on a bin edge belongs to the bin below it, while a rollup
-- minute holds [m, m + 1 minute). gateway/src/logql/to-sql.ts used to find those rows by probing the timestamp index
-- of every partition at every edge (24 h at 1 m: 1,441 edges × each partition; EXPLAIN on 5 M rows: 2,882 index
-- probes, 8,661 buffers, 139 ms of the 24 h log-volume query's 172 ms). With n_at_start the rollup answers alone.
--
-- The insert trigger counts them in the same GROUP BY (one more aggregate over the batch's own rows). Backfill: one
-- scan of logs, under an EXCLUSIVE lock on the rollups taken first (ALTER TABLE), so that no batch is counted by the
-- old trigger while the scan runs (inserts wait for this migration, as for 002).
ALTER TABLE logs_per_minute ADD COLUMN n_at_start bigint NOT NULL DEFAULT 0;
ALTER TABLE logs_per_hour ADD COLUMN n_at_start bigint NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION logs_rollup_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Sorted upserts: two writers touching the same keys lock them in the same order (no deadlock).
  INSERT INTO logs_per_minute AS p (minute, level, service, n, n_at_start)
  SELECT b, level, service, count(*), count(*) FILTER (WHERE "timestamp" = b)
  FROM (SELECT date_bin('1 minute', "timestamp", timestamptz '2000-01-01 00:00:00+00') AS b, level, service, "timestamp" FROM new_rows) r
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (minute, level, service) DO UPDATE SET n = p.n + EXCLUDED.n, n_at_start = p.n_at_start + EXCLUDED.n_at_start;
  INSERT INTO logs_per_hour AS p (hour, level, service, n, n_at_start)
  SELECT b, level, service, count(*), count(*) FILTER (WHERE "timestamp" = b)
  FROM (SELECT date_bin('1 hour', "timestamp", timestamptz '2000-01-01 00:00:00+00') AS b, level, service, "timestamp" FROM new_rows) r
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (hour, level, service) DO UPDATE SET n = p.n + EXCLUDED.n, n_at_start = p.n_at_start + EXCLUDED.n_at_start;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION logs_rollup_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE logs_per_minute p SET n = p.n - d.n, n_at_start = p.n_at_start - d.n_at_start
  FROM (SELECT b AS minute, level, service, count(*) AS n, count(*) FILTER (WHERE "timestamp" = b) AS n_at_start
        FROM (SELECT date_bin('1 minute', "timestamp", timestamptz '2000-01-01 00:00:00+00') AS b, level, service, "timestamp" FROM old_rows) r
        GROUP BY 1, 2, 3) d
  WHERE p.minute = d.minute AND p.level = d.level AND p.service = d.service;
  UPDATE logs_per_hour p SET n = p.n - d.n, n_at_start = p.n_at_start - d.n_at_start
  FROM (SELECT b AS hour, level, service, count(*) AS n, count(*) FILTER (WHERE "timestamp" = b) AS n_at_start
        FROM (SELECT date_bin('1 hour', "timestamp", timestamptz '2000-01-01 00:00:00+00') AS b, level, service, "timestamp" FROM old_rows) r
        GROUP BY 1, 2, 3) d
  WHERE p.hour = d.hour AND p.level = d.level AND p.service = d.service;
  RETURN NULL;
END $$;

UPDATE logs_per_minute p SET n_at_start = e.n
FROM (SELECT "timestamp" AS minute, level, service, count(*) AS n FROM logs
      WHERE "timestamp" = date_bin('1 minute', "timestamp", timestamptz '2000-01-01 00:00:00+00') GROUP BY 1, 2, 3) e
WHERE p.minute = e.minute AND p.level = e.level AND p.service = e.service;
UPDATE logs_per_hour p SET n_at_start = e.n
FROM (SELECT minute AS hour, level, service, sum(n_at_start) AS n FROM logs_per_minute
      WHERE minute = date_bin('1 hour', minute, timestamptz '2000-01-01 00:00:00+00') AND n_at_start > 0 GROUP BY 1, 2, 3) e
WHERE p.hour = e.hour AND p.level = e.level AND p.service = e.service;
