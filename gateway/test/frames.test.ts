import { describe, expect, it } from 'vitest';
import { splitFrames } from '../src/live/frames.js';

describe('splitFrames', () => {
  const rows = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, json: JSON.stringify({ id: i + 1, message: 'x'.repeat(90) }) }));

  it('keeps every row once, in order, each frame within the budget and carrying its last id as cursor', () => {
    const frames = splitFrames(rows, 350);
    expect(frames.length).toBeGreaterThan(1);
    const parsed = frames.map((f) => JSON.parse(f.text));
    expect(parsed.flatMap((p) => p.items.map((i: { id: number }) => i.id))).toEqual(rows.map((r) => r.id));
    for (const [i, p] of parsed.entries()) {
      expect(p.type).toBe('logs');
      expect(p.cursor).toBe(p.items.at(-1).id);
      expect(frames[i]!.cursor).toBe(p.cursor);
      expect(frames[i]!.rows).toBe(p.items.length);
      expect(p.items.map((it: unknown) => JSON.stringify(it)).join(',').length).toBeLessThanOrEqual(350);
    }
  });

  it('puts a row bigger than the budget in a frame of its own, and makes one frame when all fit', () => {
    expect(splitFrames(rows, 10).map((f) => f.rows)).toEqual(Array(10).fill(1));
    expect(splitFrames(rows, 1e6).map((f) => f.rows)).toEqual([10]);
    expect(splitFrames([], 100)).toEqual([]);
  });
});
