-- Functions of the LogQL translation (gateway/src/logql/to-sql.ts, issue 16): `| json` and `| logfmt` read fields
-- from the message, and numeric label filters (`| status >= 500`) compare numbers. One definition, used both to
-- filter rows and to return their labels, so that what a query matches and what it shows never disagree.
-- Numbered after the issue so that it never takes a number another change may want.

-- The message's fields when it is a JSON object, flattened as Loki does ({"a":{"b":1}} → a_b), names with any
-- character outside [A-Za-z0-9_] replaced by _; arrays are skipped (Loki skips them too); NULL when not JSON.
-- PostgreSQL 15 has no "IS JSON", so a failed cast is caught (only for messages that start with "{").
CREATE OR REPLACE FUNCTION logql_json(msg text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  j jsonb;
BEGIN
  IF msg IS NULL OR left(ltrim(msg), 1) <> '{' THEN
    RETURN NULL;
  END IF;
  BEGIN
    j := msg::jsonb;
  EXCEPTION WHEN others THEN
    RETURN NULL;
  END;
  IF jsonb_typeof(j) <> 'object' THEN
    RETURN NULL;
  END IF;
  RETURN (
    WITH RECURSIVE t(k, v) AS (
      SELECT regexp_replace(key, '[^A-Za-z0-9_]', '_', 'g'), value FROM jsonb_each(j)
      UNION ALL
      SELECT t.k || '_' || regexp_replace(e.key, '[^A-Za-z0-9_]', '_', 'g'), e.value
      FROM t, jsonb_each(t.v) e WHERE jsonb_typeof(t.v) = 'object'
    )
    SELECT coalesce(jsonb_object_agg(k, v), '{}'::jsonb) FROM t WHERE jsonb_typeof(v) NOT IN ('object', 'array')
  );
END $$;

-- The message's key=value pairs (logfmt: values bare or double-quoted with \" escapes), as a JSON object of strings.
-- A key given twice keeps its first value, as Loki's logfmt parser does.
CREATE OR REPLACE FUNCTION logql_logfmt(msg text) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(jsonb_object_agg(k, v), '{}'::jsonb) FROM (
    SELECT DISTINCT ON (k) k, v FROM (
      SELECT regexp_replace(m[1], '[^A-Za-z0-9_]', '_', 'g') AS k,
             CASE WHEN left(m[2], 1) = '"' THEN regexp_replace(substr(m[2], 2, length(m[2]) - 2), '\\(.)', '\1', 'g') ELSE m[2] END AS v,
             row_number() OVER () AS pos
      FROM regexp_matches(msg, '(?:^|\s)([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)', 'g') AS m
    ) pairs ORDER BY k, pos
  ) firsts
$$;

-- A label value as a number for a numeric comparison; NULL (no match) when it is not one. The exponent is limited
-- to two digits so that the cast can never overflow float8 (an error would fail the whole query).
CREATE OR REPLACE FUNCTION logql_num(v text) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN v ~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,2})?\s*$' THEN v::float8 END
$$;
