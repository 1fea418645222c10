// Byte budgets of the gateway's row reads (issue 11): a page of 1,000 rows could be 1,000 maximal events (256 MiB
// of JSON at MAX_EVENT_BYTES, and more for rows stored before the cap), which made GET /logs?limit=150 answer 500
// (a response string over V8's limit) and two /live?since= replays take the gateway out of memory. Every read of
// rows (pages, replays, catch-up, the hub's fetches) stops adding rows once their JSON reaches a budget.

/**
 * Most JSON one read of rows returns, 4 MiB, plus at most one row (a page holds at least one): 16 maximal events,
 * or all 1,000 rows of an ordinary page (rows of a few hundred bytes make 0.3 MiB). It bounds a response and the
 * memory a replaying client costs the gateway.
 */
export const PAGE_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Wrap `source`, a query of whole `logs` rows ordered by id (`order`) and limited, so that it returns `columns`
 * (expressions over logs' columns: `id` and the row JSON as `json` among them) only while the JSON of the rows before adds
 * up to less than `budget` (a parameter reference); each row also carries `source_rows`, the rows `source` had
 * (more than were returned: the page was cut by bytes). Two cuts: first on an estimate that PostgreSQL knows
 * without reading the values (the message's length and the attributes' stored, possibly compressed, size:
 * octet_length and pg_column_size read only the TOAST header), so JSON is built only for rows that may fit; then on
 * the exact JSON. Measured here on 1,000 rows
 * of 246 KB: 72 ms with the first cut, 3.1 s building the JSON of all of them to cut afterwards.
 */
export function byteBoundedSql(source: string, order: 'ASC' | 'DESC', columns: string, budget: string): string {
  const low = 'octet_length(s.message) + pg_column_size(s.attributes)';
  return `SELECT * FROM (
  SELECT c.*, sum(octet_length(c.json)) OVER (ORDER BY c.id ${order} ROWS UNBOUNDED PRECEDING) AS bytes_through FROM (
    SELECT ${columns}, source_rows FROM (
      SELECT s.*, sum(${low}) OVER (ORDER BY s.id ${order} ROWS UNBOUNDED PRECEDING) - (${low}) AS low_before,
             count(*) OVER () AS source_rows
      FROM (${source}) s
    ) logs WHERE low_before < ${budget}
  ) c
) b WHERE bytes_through - octet_length(json) < ${budget} ORDER BY id ${order}`;
}

/** Rows of a byteBoundedSql read were left out for the budget: there is more to read after the last one. */
export function cutByBytes(rows: readonly { source_rows: number | string }[]): boolean {
  return rows.length > 0 && rows.length < Number(rows[0]!.source_rows);
}
