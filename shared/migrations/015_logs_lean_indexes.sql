-- Fewer bytes per stored row (issue 15 point 6): measured on 200,000 bench rows in one partition (heap + indexes +
-- TOAST ÷ rows, after VACUUM), 543 B before this migration.
--
-- logs_level_id_idx (level, id) on every row cost 32 B a row, and only a rare level ever uses it: GET /logs?level=
-- with a common threshold (info and below) reads the primary key newest first and filters (EXPLAIN: level >= 40
-- over 200,000 rows, 1% of them warn, reads the pkey and removes 4,944 rows: 30 ms; with this index as a plain
-- index scan and sort, error and above: 0.4 ms). So it now holds the rows at warn (40) and above only: the same
-- plans for warn, error and fatal, nothing for the common levels. 543 → 511 B a row. filterWhere (filter-sql.ts)
-- writes the level as a literal so that the planner can prove the predicate even in a generic plan.
--
-- Built on every partition in this transaction (a SHARE lock: inserts wait while it reads each partition once; a
-- partial index writes little, measured 0.3 s for 200,000 rows here).
DROP INDEX IF EXISTS logs_level_id_idx;
CREATE INDEX logs_level_id_idx ON logs (level, id) WHERE level >= 40;

-- The optional global search index goes away (issue 15 point 5): a partition's trigram index is built once, in the
-- background, when it closes (shared/src/search-index.ts), and the partition being written has none, so ingest
-- never pays for it. No index is kept on logs itself: a partitioned index would be created on every new partition
-- by ATTACH. The partitions' own indexes of a deployment that had turned it on go with it; the processors'
-- maintenance loop builds them again, one closed partition at a time.
DROP INDEX IF EXISTS logs_message_trgm_idx;
