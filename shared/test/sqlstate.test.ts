// The SQLSTATE table (shared/src/sqlstate.ts) read against the real PostgreSQL: each named code is the one the
// server sends for that failure, and isConnectionError tells a lost connection from a bad statement.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { isConnectionError } from '../src/errors.js';
import { hasSqlState, inSqlStateClass, sqlState } from '../src/sqlstate.js';
import { freePort } from '../../test/helpers/free-port.js';
import { PG_HOST, PG_PORT, PG_USER } from '../../test/helpers/test-env.js';

const connection = { host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' };
let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client(connection);
  await client.connect();
});
afterAll(async () => client.end());

const failure = (p: Promise<unknown>) => p.then(() => expect.fail('expected the statement to fail'), (err: unknown) => err);

describe('SQLSTATE table', () => {
  it('names the statement timeout, a bad regular expression and a data exception, none a connection error', async () => {
    await client.query('SET statement_timeout = 50');
    const timeout = await failure(client.query('SELECT pg_sleep(5)'));
    await client.query('RESET statement_timeout');
    expect(hasSqlState(timeout, 'queryCanceled')).toBe(true);

    const regex = await failure(client.query(`SELECT 'a' ~ '('`));
    expect(hasSqlState(regex, 'invalidRegularExpression')).toBe(true);

    const division = await failure(client.query('SELECT 1 / 0'));
    expect(sqlState(division)).toBe('22012');
    expect(inSqlStateClass(division, 'dataException')).toBe(true);
    expect(inSqlStateClass(division, 'integrityConstraintViolation')).toBe(false);

    for (const err of [timeout, regex, division]) expect(isConnectionError(err)).toBe(false);
  });

  it('names a missing database', async () => {
    const probe = new pg.Client({ ...connection, database: `ls_missing_${Date.now()}` });
    probe.on('error', () => {});
    const err = await failure(probe.connect());
    await probe.end().catch(() => {});
    expect(hasSqlState(err, 'invalidCatalogName')).toBe(true);
    expect(isConnectionError(err)).toBe(false);
  });

  it('counts a terminated backend (admin_shutdown) and a refused socket as connection errors', async () => {
    const victim = new pg.Client(connection);
    victim.on('error', () => {});
    await victim.connect();
    const { rows } = await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const failed = failure(victim.query('SELECT pg_sleep(10)'));
    // Terminate while the statement runs: the server reports 57P01 before it closes the socket.
    for (let i = 0; i < 100; i++) {
      const r = await client.query(`SELECT state FROM pg_stat_activity WHERE pid = $1`, [rows[0]!.pid]);
      if (r.rows[0]?.state === 'active') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await client.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    const err = await failed;
    await victim.end().catch(() => {});
    expect(hasSqlState(err, 'adminShutdown')).toBe(true);
    expect(isConnectionError(err)).toBe(true);

    const closed = new pg.Client({ ...connection, port: await freePort(), connectionTimeoutMillis: 2_000 });
    closed.on('error', () => {});
    const refused = await failure(closed.connect());
    expect(sqlState(refused)).toBeUndefined();
    expect(isConnectionError(refused)).toBe(true);
  });
});
