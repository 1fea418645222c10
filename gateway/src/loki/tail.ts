// WebSocket /loki/api/v1/tail (issue 16): Loki's tail frames {"streams":[…],"dropped_entries":[…]}, fed by the live
// live feed's head (live/feed.ts: the same NOTIFY/poll machinery as /live). Each tail keeps an id cursor: it first sends every matching
// row stored since `start`, then every row committed after, in commit order, so nothing is missed or sent twice
// (ids commit in order, CONTRACT §4). No one-hour limit and no cap on tails beyond the gateway's connections.
// A client that reads slower than rows arrive is paced (rows wait in PostgreSQL, not in memory); one that falls more
// than TAIL_MAX_LAG_ROWS behind has the rows in between skipped and listed, each one, in dropped_entries.
import type { ConnectionCap } from '@logstream/shared/connection-cap.js';
import type pg from 'pg';
import { presentedToken, tokenAllowed } from '@logstream/shared/auth.js';
import { HttpError, unauthorized } from '@logstream/shared/errors.js';
import type { Logger } from '@logstream/shared/logger.js';
import { parseQuery, statusLine, type TemplatedApp, type WebSocket } from '@logstream/shared/uws.js';
import type { GatewayConfig } from '../config.js';
import type { Feed } from '../live/feed.js';
import { cappedWs } from '../live/uws-socket.js';
import type { GatewayMetrics } from '../metrics.js';
import { HEAD_ID_SQL, REPLAY_SLICE_ROWS, replaySliceEnd } from '../live/queries.js';
import { STATEMENT_TIMEOUT_MS, type Connectable } from '../read-pools.js';
import { isLogQuery, type LogQuery } from '../logql/ast.js';
import { labelsKey, rowLabels, type LabelledRow } from '../logql/labels.js';
import { droppedLabels, droppedSql, lastEntrySql, replayFloorSql, tailSelectSql, type TailStart } from '../logql/to-sql.js';
import { lokiBadRequest, nowNs, parseLimit, parseQueryText, parseTimeNs, HOUR_NS } from './params.js';
import { mapPgError, LOKI_QUERY_TIMEOUT_MS } from './query-api.js';

/** Rows read per query (as the live feed's page, live/queries.ts PAGE_ROWS). */
const TAIL_PAGE_ROWS = 1000;
/** A tail this many ids behind the head skips to it (and reports each skipped row) instead of catching up. */
export const TAIL_MAX_LAG_ROWS = 100_000;
/** A tail this few commit seconds behind the head reads up to it in one statement (no slices, the pool's timeout). */
const LIVE_READ_SECONDS = 2;
const ID_STEP = 1_048_576; // ids per commit second (migration 006)
const idSecond = (id: number) => Math.floor(id / ID_STEP);

/** Loki's cap on delay_for. */
const MAX_DELAY_S = 5;

interface TailData {
  query: LogQuery;
  /** The parsed query as text: tails with the same one share their reads (sharedRead). */
  queryKey: string;
  start: TailStart;
  /** The replay's start has been resolved (lastEntrySql). */
  resolved: boolean;
  limit: number;
  delayMs: number;
  /** Every matching row with id ≤ cursor has been sent (or reported dropped). */
  cursor: number;
  /** The head when the tail opened: rows up to it are the replay, sent only from `start` on; later rows all. */
  replayUpTo: number;
  busy: boolean;
  again: boolean;
  closed: boolean;
  /**
   * Stops following the feed's head. Not `unsubscribe`: uWS 20.30's getUserData() is the WebSocket itself, so an
   * unset `unsubscribe` is the socket's own method (called on a tail refused over MAX_CONNECTIONS, it threw
   * "Invalid access of closed uWS.WebSocket" and took the gateway down).
   */
  stopFollowing?: () => void;
}

type TailSocket = WebSocket<TailData>;

interface Row extends LabelledRow {
  id: string;
  ns: string;
  message?: string;
  /** tailSelectSql's count of rows before the byte cut. */
  source_rows?: string;
}

export function registerLokiTail(app: TemplatedApp, d: { cfg: GatewayConfig; db: Connectable; cap: ConnectionCap; feed: Feed; log: Logger; metrics: GatewayMetrics }): void {
  const { cfg, db, feed, log, metrics } = d;

  // One statement per connection turn: `db` is gated with the /live replays (app.ts), so tails take turns with them.
  // `long`: a replay's statements (a slice of 20,000 ids, the floor lookup) get the Loki query timeout; a read of the
  // rows after the head moved (a page at most, by id) keeps the pool's own, and so one round trip instead of three
  // (SET, the read, RESET) on the path every live row takes (bench loki: tail p50 2.6× /live's, load ~20).
  const withClient = async <T>(fn: (c: pg.PoolClient) => Promise<T>, long = true) => {
    const c = await db.connect();
    try {
      if (long) await c.query(`SET statement_timeout = ${LOKI_QUERY_TIMEOUT_MS}`);
      return await fn(c);
    } catch (err) {
      throw mapPgError(err, long ? LOKI_QUERY_TIMEOUT_MS : STATEMENT_TIMEOUT_MS.search);
    } finally {
      if (long) await c.query('RESET statement_timeout').catch(() => {});
      c.release();
    }
  };
  const query = <T extends pg.QueryResultRow>(sql: { text: string; values: unknown[] }, long = true) => withClient(async (c) => (await c.query<T>(sql.text, sql.values)).rows, long);
  /**
   * Where a read after `after` stops: REPLAY_SLICE_ROWS rows on (as a /live replay), so that a tail replaying 30
   * days with a line filter is many short statements, not one of up to 10 s that holds a slot (issue 11: 17 such
   * tails kept /live replays waiting over 10 s). Fewer ids than that cannot hold more rows.
   */
  const sliceEnd = (after: number, upTo: number) => (upTo - after <= REPLAY_SLICE_ROWS ? upTo : withClient((c) => replaySliceEnd(c, after, upTo)));

  // Reads in flight, by what they read: every tail pumps on the same head move, so tails with the same query at the
  // same cursor (Grafana's Live on one selector, opened in several browsers) share one read instead of one each
  // (bench loki: 10 tails on one query, tail p50 5.5× /live's, whose hub reads once for all its subscribers).
  const inFlight = new Map<string, Promise<Row[]>>();
  const sharedRead = (key: string, read: () => Promise<Row[]>): Promise<Row[]> => {
    let rows = inFlight.get(key);
    if (!rows) {
      rows = read().finally(() => inFlight.delete(key));
      inFlight.set(key, rows);
    }
    return rows;
  };

  const send = (ws: TailSocket, body: string) => {
    if (!ws.getUserData().closed) ws.send(body);
  };

  /** One frame: the rows grouped into streams by label set (commit order kept within each). */
  function framesOf(data: TailData, rows: Row[]): string[] {
    const dropped = droppedLabels(data.query);
    const frames: string[] = [];
    for (let i = 0; i < rows.length; i += data.limit) {
      const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
      for (const r of rows.slice(i, i + data.limit)) {
        const stream = rowLabels(r, dropped);
        const key = labelsKey(stream);
        let s = streams.get(key);
        if (!s) streams.set(key, (s = { stream, values: [] }));
        s.values.push([r.ns, r.message!]);
      }
      frames.push(JSON.stringify({ streams: [...streams.values()], dropped_entries: [] }));
    }
    return frames;
  }

  /** Skip (cursor, upTo]: list every matching row in it as dropped, in frames of TAIL_PAGE_ROWS. */
  async function skip(ws: TailSocket, upTo: number): Promise<void> {
    const data = ws.getUserData();
    const dropped = droppedLabels(data.query);
    let from = data.cursor + 1;
    while (from <= upTo && !data.closed) {
      const rows = await query<Row>(droppedSql(data.query, from, upTo, TAIL_PAGE_ROWS));
      if (rows.length > 0) {
        send(ws, JSON.stringify({ streams: [], dropped_entries: rows.map((r) => ({ labels: rowLabels(r, dropped), timestamp: r.ns })) }));
        metrics.rowsDropped.inc(rows.length);
      }
      from = rows.length === TAIL_PAGE_ROWS ? Number(rows[rows.length - 1]!.id) + 1 : upTo + 1;
    }
    data.cursor = upTo;
  }

  /** Send what is new up to the feed's head; one run at a time per tail, re-run when the head moved meanwhile. */
  async function pump(ws: TailSocket): Promise<void> {
    const data = ws.getUserData();
    if (data.busy) {
      data.again = true;
      return;
    }
    data.busy = true;
    try {
      do {
        data.again = false;
        if (!data.resolved) {
          const [last] = await query<{ id: string | null }>(lastEntrySql(data.start.ns));
          if (last?.id) data.start.lastId = last.id;
          // The feed's head can lag the table (its fetch follows NOTIFY): rows committed before the tail opened but
          // after that head are still the replay, filtered by `start` (a row from before `start` was sent in a
          // loaded run of the tail test). Ids commit in order, so max(id) now covers every row stored before.
          const [head] = await query<{ head: string }>({ text: HEAD_ID_SQL, values: [] });
          data.replayUpTo = Math.max(data.replayUpTo, Number(head!.head));
          // Read after the head, so that every row up to it is seen; not from id 0 but from the first row the replay
          // can send (replayFloorSql).
          const [floor] = await query<{ after: string }>(replayFloorSql(data.query, data.start, data.replayUpTo));
          data.cursor = Math.max(data.cursor, Math.min(Number(floor!.after), data.replayUpTo));
          data.resolved = true;
        }
        if (data.delayMs > 0 && data.cursor >= data.replayUpTo) await new Promise((r) => setTimeout(r, data.delayMs));
        for (;;) {
          if (data.closed) return;
          const head = feed.head;
          if (head <= data.cursor) break;
          // Paced: while the socket holds more than the soft limit, rows stay in PostgreSQL; drain() resumes.
          if (ws.getBufferedAmount() > cfg.LIVE_MAX_BACKPRESSURE) {
            if (head - data.cursor > TAIL_MAX_LAG_ROWS) await skip(ws, head - TAIL_PAGE_ROWS);
            return;
          }
          const replay = data.cursor < data.replayUpTo;
          const target = replay ? Math.min(head, data.replayUpTo) : head;
          // Following the head (ids of the last few commit seconds): one read, no slicing. Ids encode their commit
          // second (migration 006), so any two rows a second apart are 2^20 ids apart, more than a slice: every
          // such read first asked for a slice end.
          const near = !replay && idSecond(target) - idSecond(data.cursor) <= LIVE_READ_SECONDS;
          const upTo = near ? target : await sliceEnd(data.cursor, target);
          if (data.closed) return;
          const start = replay ? data.start : undefined;
          const key = `${data.queryKey}
${data.cursor}
${upTo}
${start ? `${start.ns}/${start.lastId ?? ''}` : ''}`;
          // A replay, or a tail behind by more than a few seconds of commits: the long timeout.
          const long = !near;
          const rows = await sharedRead(key, () => query<Row>(tailSelectSql(data.query, data.cursor, upTo, start, TAIL_PAGE_ROWS), long));
          if (data.closed) return;
          for (const frame of framesOf(data, rows)) send(ws, frame);
          metrics.rowsSent.inc(rows.length);
          // A full page, or one cut by bytes: more may follow its last row.
          const more = rows.length === TAIL_PAGE_ROWS || (rows.length > 0 && rows.length < Number(rows[0]!.source_rows));
          data.cursor = more ? Number(rows[rows.length - 1]!.id) : upTo;
        }
      } while (data.again);
    } finally {
      data.busy = false;
    }
  }

  const fail = (ws: TailSocket) => (err: unknown) => {
    const data = ws.getUserData();
    log.warn({ err: (err as Error).message }, 'loki tail failed');
    if (data.closed) return;
    const message = err instanceof HttpError ? err.message : 'the database is unavailable; reconnect with start=<last timestamp + 1>';
    ws.end(err instanceof HttpError && err.status === 400 ? 1008 : 1011, message.slice(0, 120));
  };

  cappedWs<TailData>(app, '/loki/api/v1/tail', d, {
    maxPayloadLength: 16 * 1024,
    upgrade: (res, req, context) => {
      let data: TailData;
      try {
        const raw = parseQuery(req.getQuery());
        const p = new URLSearchParams(req.getQuery() ?? '');
        if (!tokenAllowed(cfg.READ_TOKENS, presentedToken(req.getHeader('authorization'), raw.get('token')))) throw unauthorized();
        const q = parseQueryText(p.get('query'));
        if (!isLogQuery(q)) throw lokiBadRequest('tail needs a log query such as {service="api"} |= "error", not a metric query');
        const delay = p.get('delay_for') ?? '';
        if (delay !== '' && (!/^\d+$/.test(delay) || Number(delay) > MAX_DELAY_S)) throw lokiBadRequest(`delay_for must be a whole number of seconds from 0 to ${MAX_DELAY_S}`);
        data = {
          query: q,
          queryKey: JSON.stringify(q),
          start: { ns: parseTimeNs('start', p.get('start'), nowNs() - HOUR_NS) },
          resolved: false,
          limit: parseLimit(p.get('limit'), 100, 5000),
          delayMs: Number(delay || 0) * 1000,
          cursor: 0,
          replayUpTo: 0,
          busy: false,
          again: false,
          closed: false,
        };
      } catch (err) {
        const e = err instanceof HttpError ? err : lokiBadRequest('bad request');
        res.cork(() => {
          res.writeStatus(statusLine(e.status)).writeHeader('Content-Type', 'application/json');
          for (const [k, v] of Object.entries(e.headers)) res.writeHeader(k, v);
          res.end(JSON.stringify(e));
        });
        return;
      }
      res.upgrade(data, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => {
      const data = ws.getUserData();
      data.replayUpTo = feed.head;
      data.stopFollowing = feed.onHead(() => void pump(ws).catch(fail(ws)));
      pump(ws).catch(fail(ws));
    },
    // Tail clients send nothing (Loki ignores their frames too).
    message: () => {},
    drain: (ws) => {
      if (ws.getBufferedAmount() <= cfg.LIVE_MAX_BACKPRESSURE / 2) pump(ws).catch(fail(ws));
    },
    close: (ws) => ws.getUserData().stopFollowing?.(),
  });
}
