-- Step 1 of 3 of turning logs into a partitioned table (issue 15; 006 says why and how). The rows stored so far have
-- ids from a plain sequence, far below 2^40 (1.1 trillion); every id from 006 on encodes its commit second and is
-- above 2^50. This constraint, once validated (005), lets 006 attach today's table as the first partition, for the
-- ids below 2^40, without scanning it under a lock that stops ingest. NOT VALID: added without a scan, so this
-- migration holds its lock on logs for milliseconds.
ALTER TABLE logs ADD CONSTRAINT logs_legacy_id_range CHECK (id < 1099511627776) NOT VALID;
