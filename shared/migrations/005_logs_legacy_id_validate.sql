-- Step 2 of 3 (see 006): check every stored row against logs_legacy_id_range. VALIDATE CONSTRAINT takes only a
-- SHARE UPDATE EXCLUSIVE lock, so processors keep inserting while it reads the table (measured: see README, storage).
ALTER TABLE logs VALIDATE CONSTRAINT logs_legacy_id_range;
