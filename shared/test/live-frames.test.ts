// The /live frames' encoders and the page's decoder (shared/src/live-frames.ts): what one writes the other reads
// back, and text that is not a whole frame of a known type is refused rather than half read.
import { describe, expect, it } from 'vitest';
import { decodeServerMessage, droppedFrame, errorFrame, helloFrame, logsFrame, PROTOCOL_VERSION } from '../src/live-frames.js';

describe('live frames', () => {
  it('decodes what the encoders write', () => {
    expect(decodeServerMessage(helloFrame(42))).toEqual({ type: 'hello', head: 42, version: PROTOCOL_VERSION });
    const item = { id: 7, timestamp: '2026-12-01T00:00:00.000Z', received_at: '2026-12-01T00:00:00.001Z', level: 'warn', service: 'api', message: 'm', attributes: {} };
    expect(decodeServerMessage(logsFrame([JSON.stringify(item)], 7))).toEqual({ type: 'logs', items: [item], cursor: 7 });
    expect(decodeServerMessage(droppedFrame({ count: 3, from: 8, to: 20 }))).toEqual({ type: 'dropped', count: 3, from: 8, to: 20 });
    expect(decodeServerMessage(droppedFrame({ count: 9, from: 1, to: 5, reason: 'retention' }))).toEqual({ type: 'dropped', count: 9, from: 1, to: 5, reason: 'retention' });
    expect(decodeServerMessage(errorFrame('bad_filter', 'level: unknown level'))).toEqual({ type: 'error', error: 'bad_filter', message: 'level: unknown level' });
  });

  it('writes the frames CONTRACT §6 names, field for field', () => {
    expect(JSON.parse(helloFrame(5))).toEqual({ type: 'hello', head: 5, version: PROTOCOL_VERSION });
    expect(JSON.parse(droppedFrame({ count: 1, from: 2, to: 3 }))).toEqual({ type: 'dropped', count: 1, from: 2, to: 3 });
    expect(JSON.parse(errorFrame('bad_frame', 'x'))).toEqual({ type: 'error', error: 'bad_frame', message: 'x' });
  });

  it('refuses text that is not a whole frame of a known type', () => {
    for (const text of ['', 'not json', '42', 'null', '[]', '{"type":"subscribed","cursor":1}', '{"head":1}', '{"type":"hello","head":"1","version":1}', '{"type":"hello","head":-1,"version":1}', '{"type":"logs","items":{},"cursor":1}', '{"type":"logs","items":[],"cursor":1.5}', '{"type":"dropped","count":1,"from":1}', '{"type":"dropped","count":1,"from":1,"to":2,"reason":"other"}', '{"type":"error","error":1,"message":"m"}']) {
      expect(decodeServerMessage(text), text).toBeUndefined();
    }
  });
});
