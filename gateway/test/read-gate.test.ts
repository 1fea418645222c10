// The search gate (read-gate.ts), its Loki shape (loki/routes.ts inLokiShape) and a pool behind it (read-pools.ts
// gatedPool, against the real PostgreSQL): refusals say why, are counted, and a released connection frees its slot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../../test/helpers/test-env.js';
import { inLokiShape } from '../src/loki/routes.js';
import { BusyError, ReadGate, type RefusalReason } from '../src/read-gate.js';
import { gatedPool } from '../src/read-pools.js';

const never = () => new Promise<never>(() => {});

describe('ReadGate refusals', () => {
  it('refuses with the reason (queue full, waited too long) and reports each one', async () => {
    const seen: RefusalReason[] = [];
    const gate = new ReadGate(1, 1, 50, (r) => seen.push(r));
    void gate.run(never); // holds the one slot
    const waiting = gate.run(async () => 'late');
    const full = await gate.run(async () => 'never run').catch((e: unknown) => e);
    expect(full).toBeInstanceOf(BusyError);
    expect(full).toMatchObject({ status: 503, code: 'busy', reason: 'queue_full', headers: { 'Retry-After': '1' } });
    const waited = await waiting.catch((e: unknown) => e);
    expect(waited).toMatchObject({ status: 503, code: 'busy', reason: 'wait_timeout' });
    expect(seen).toEqual(['queue_full', 'wait_timeout']);
    expect(gate.stats()).toMatchObject({ active: 1, waiting: 0, refused: 2 });
  });

  it('answers a full queue as Loki does (429 too many outstanding requests), a long wait and a timeout as 503', () => {
    const json = (e: unknown) => JSON.parse(JSON.stringify(e));
    const full = inLokiShape(new BusyError('queue_full', '100 waiting'));
    expect(full).toMatchObject({ status: 429, headers: { 'Retry-After': '1' } });
    expect(json(full)).toMatchObject({ status: 'error', errorType: 'unavailable', error: 'busy', message: expect.stringMatching(/^too many outstanding requests/) });
    const waited = inLokiShape(new BusyError('wait_timeout', 'waited 3000 ms'));
    expect(waited).toMatchObject({ status: 503, headers: { 'Retry-After': '1' } });
    expect(json(waited)).toMatchObject({ status: 'error', errorType: 'unavailable', error: 'busy' });
    const other = new Error('not ours');
    expect(inLokiShape(other)).toBe(other);
  });
});

describe('gatedPool', () => {
  let t: TestEnv;
  beforeAll(async () => {
    t = await createTestEnv('read_gate');
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('takes a slot per connection and gives it back on release, also when the connection is destroyed', async () => {
    const gate = new ReadGate(1, 10, 5_000);
    const db = gatedPool(t.pool, gate);
    const a = await db.connect();
    expect(gate.stats().active).toBe(1);
    let second = false;
    const b = db.connect().then((c) => {
      second = true;
      return c;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(second).toBe(false);
    expect(gate.stats().waiting).toBe(1);
    a.release();
    const c = await b;
    expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    c.release(new Error('destroy it'));
    expect(gate.stats()).toMatchObject({ active: 0, waiting: 0 });
  });
});
