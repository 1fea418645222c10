-- The packed form's text search (issue 15 point 6, step 1 continued): finding the matching rows of a packed batch
-- without lower-casing and testing each of its 100 messages. Migration 018 is applied to databases already, but
-- nothing reads or attaches a packed copy yet, so this one replaces 018's table definition (a new column) and
-- logs_pack_build(); copies built by 018 lack the column and are built again (`<partition>_packed` is only a copy).
--
-- The match is unchanged (gateway/src/text-match.ts): a row matches q when lower(message) contains lower(q). Per
-- candidate batch (the trigram index on logs_msgs_text(messages) finds them) 018's shape unnested the batch and ran
-- lower() and strpos() on each message: ~0.2 ms a batch, and a rare word is one batch a match. Now:
-- * The batch test (the index recheck) is a case-sensitive regex whose every character is the class of the
--   characters that lower() maps to that character of lower(q) (logs_pack_search_args: 'deadlock' gives
--   [dD][eE]…[kKK], K being U+212A KELVIN SIGN): the same batches as ILIKE, without lower() on 20 KB. Exact because
--   lower() maps character by character here (libc or C provider); logs_text_fold holds the characters lower()
--   changes, built by the first logs_pack_build() of the database (~0.2 s, 1.1 M code points), and is left empty
--   when lower() is not per character (an ICU collation), and then the search args are NULL: the caller uses 018's
--   per-row test.
-- * The rows: logs_pack_find() folds the batch's joined text once with the cheap C-collation lower() (ASCII only),
--   after replacing the few characters where it differs from lower() and that could take part in a match (for an
--   ASCII word only K and İ), splits it at lower(q) (string_to_array: non-overlapping, leftmost, a byte search) and
--   maps each match's character position to its row through msg_starts, the position of each message in the joined
--   text (a new column: 100 ints inline, ~4 B a row). A q holding a newline could match across two messages of the
--   joined text: its args are NULL too (018's per-row test). The caller still tests each found row with
--   strpos(lower(message), lower(q)), so no row that does not match can be returned whatever the fold table holds.
--
-- Measured (bench/diagnostics/packed-reads.ts and the same statements 11 times interleaved, three runs, medians, kept
-- 5 M-row table, closed partition of 1,518,114 rows, 17:29 UTC, load average ~8 from the other sessions): rare word
-- (152 matches, one a batch) 15.3-20.8 ms against 35.0-43.6 ms with 018's per-row test and 1.7-2.0 ms as rows;
-- logs_pack_search_args() 0.7 ms; absent word 0.3-0.5 ms either way; 211.4 B a row packed (207.1 before msg_starts).
-- Where the rest goes: the regex batch test ~5 ms (it stops at the match), logs_pack_find() ~8 ms (join, lower, split
-- of 20 KB a batch: ~50 us), the columns of a match by position ~2 ms. Tried and slower: regexp_instr() or
-- regexp_split_to_array() for the positions (a regex that reports positions costs ~4x the boolean test), the regex on
-- each message (~1.4 us a call), unnesting every column and filtering by position, a recursive SQL loop.
-- Not met: ≤ 3× the row form (~6 ms) — with builtin functions a match still costs two passes over its batch's text.

ALTER TABLE logs_packed ADD COLUMN msg_starts integer[] NOT NULL;

-- Every character lower() changes, or lower() in the C collation changes, with its lower(): built once per database
-- (the database's collation decides lower()) by logs_text_fold_build(). Empty when lower() is not per character.
CREATE TABLE logs_text_fold (
  ch text PRIMARY KEY,
  lc text NOT NULL
);
CREATE INDEX logs_text_fold_lc ON logs_text_fold (lc);

CREATE FUNCTION logs_text_fold_build() RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  probe text;
BEGIN
  LOCK TABLE logs_text_fold IN EXCLUSIVE MODE;
  IF EXISTS (SELECT FROM logs_text_fold) THEN
    RETURN;
  END IF;
  -- Per character: every character's lower() is one character, and lower() of a string is that of its characters
  -- (ICU's final sigma and İ are not; the strings of gateway/src/text-match.ts CONTEXT_PROBES).
  IF EXISTS (SELECT FROM generate_series(1, 1114111) cp WHERE cp NOT BETWEEN 55296 AND 57343 AND char_length(lower(chr(cp))) <> 1) THEN
    RETURN;
  END IF;
  FOREACH probe IN ARRAY ARRAY['ΟΔΟΣ ΑΣΑ', 'İSTANBUL', 'ΣΑΣ.Σ'] LOOP
    IF lower(probe) <> (SELECT string_agg(lower(c), '' ORDER BY o) FROM string_to_table(probe, NULL) WITH ORDINALITY s(c, o)) THEN
      RETURN;
    END IF;
  END LOOP;
  INSERT INTO logs_text_fold
  SELECT chr(cp), lower(chr(cp)) FROM generate_series(1, 1114111) cp
  WHERE cp NOT BETWEEN 55296 AND 57343 AND (lower(chr(cp)) <> chr(cp) OR lower(chr(cp) COLLATE "C") <> chr(cp));
END $$;

-- For a search q over packed batches: re, the case-sensitive regex that the batch test and the trigram index use
-- (logs_msgs_text(b.messages) ~ re); lq = lower(q); folds, the (character, its lower()) pairs that
-- logs_pack_find() replaces before its C-collation lower(). re and folds are NULL when this search must use the
-- per-row test (q empty or holding a newline, or no fold table: lower() not per character, or no pack built yet).
CREATE FUNCTION logs_pack_search_args(q text, OUT re text, OUT lq text, OUT folds text[])
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
  lq := lower(q);
  IF lq = '' OR strpos(lq, E'\n') > 0 OR NOT EXISTS (SELECT FROM logs_text_fold) THEN
    RETURN;
  END IF;
  -- Each character c of lq: the characters x with lower(x) = c (c itself included), as \u/\U escapes (no
  -- character is special then, inside or outside a bracket).
  SELECT string_agg('[' || (SELECT string_agg(CASE WHEN ascii(x) > 65535 THEN '\U' || lpad(to_hex(ascii(x)), 8, '0')
                                                    ELSE '\u' || lpad(to_hex(ascii(x)), 4, '0') END, '')
                            FROM (SELECT c UNION SELECT ch FROM logs_text_fold WHERE lc = c) p(x)) || ']', '' ORDER BY o)
    INTO re FROM string_to_table(lq, NULL) WITH ORDINALITY s(c, o);
  -- The characters the C collation's lower() gets wrong that could take part in a match: their lower() or their C
  -- lower() is a character of lq.
  SELECT coalesce(array_agg(v ORDER BY f.ch, k), '{}') INTO folds
  FROM logs_text_fold f CROSS JOIN LATERAL (VALUES (1, f.ch), (2, f.lc)) v(k, v)
  WHERE f.lc <> lower(f.ch COLLATE "C") AND (strpos(lq, f.lc) > 0 OR strpos(lq, lower(f.ch COLLATE "C")) > 0);
END $$;

-- The rows (1-based positions in the batch's arrays) whose message contains lq, given logs_pack_search_args(q):
-- the batch's joined text with folds replaced and lower-cased in the C collation is lower() of it at every
-- position that can take part in a match, and character positions are kept (one character for one), so each
-- non-overlapping occurrence of lq maps to its row through msg_starts (every row holding one holds a found one:
-- lq holds no newline, so no occurrence spans two messages).
CREATE FUNCTION logs_pack_find(msgs text[], msg_starts integer[], lq text, folds text[]) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  t text := array_to_string(msgs, E'\n');
  n integer := cardinality(msgs);
  -- All ASCII (as many bytes as characters): no fold of a non-ASCII character applies, and lengths are in bytes.
  ascii boolean := octet_length(t) = msg_starts[n] - 1 + char_length(msgs[n]);
  pieces text[];
  i integer;
  p integer := 1;
  r integer;
  prev integer := 0;
  hits integer[] := '{}';
  len integer := char_length(lq);
BEGIN
  FOR i IN 1 .. coalesce(array_length(folds, 1), 0) BY 2 LOOP
    IF NOT ascii OR octet_length(folds[i]) = 1 THEN
      t := replace(t, folds[i], folds[i + 1]);
    END IF;
  END LOOP;
  pieces := string_to_array(lower(t COLLATE "C"), lq);
  FOR i IN 1 .. cardinality(pieces) - 1 LOOP
    p := p + CASE WHEN ascii THEN octet_length(pieces[i]) ELSE char_length(pieces[i]) END;
    r := width_bucket(p, msg_starts);
    IF r <> prev THEN
      hits := hits || r;
      prev := r;
    END IF;
    p := p + len;
  END LOOP;
  RETURN hits;
END $$;

-- 018's build, with msg_starts (the position of each message in logs_msgs_text(messages): 1, then after each
-- message and its newline) and the fold table.
CREATE OR REPLACE FUNCTION logs_pack_build(pname text, batch_rows integer DEFAULT 100, OUT rows bigint, OUT batches bigint, OUT bytes bigint)
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
