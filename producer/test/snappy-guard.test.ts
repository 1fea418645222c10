// The snappy framing check in front of snappyjs (producer/src/snappy-guard.ts): every block snappyjs itself
// compresses passes it, and bodies whose literal length snappyjs would read as negative are refused before it.
import fc from 'fast-check';
import snappy from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { HttpError } from '@logstream/shared/errors.js';
import { decodeLokiProtobuf } from '../src/loki-push.js';
import { snappyFramingValid } from '../src/snappy-guard.js';

describe('snappy framing check', () => {
  it('passes every block snappyjs compresses, short literals, long literals and copies alike', () => {
    const input = fc.oneof(fc.uint8Array({ maxLength: 5000 }), fc.string({ maxLength: 3000 }).map((s) => new TextEncoder().encode(s.repeat(3))));
    fc.assert(fc.property(input, (raw) => {
      expect(snappyFramingValid(snappy.compress(raw))).toBe(true);
    }), { numRuns: 500 });
    // A literal over 60 bytes, with a 1- and a 2-byte length, and one over 65,536 (3 bytes).
    for (const n of [61, 300, 70_000]) expect(snappyFramingValid(snappy.compress(Uint8Array.from({ length: n }, (_, i) => (i * 7919) % 251)))).toBe(true);
  });

  it('refuses the body that sent snappyjs round in circles, and truncated or overlong blocks', () => {
    // Found by the shipper decoders' property test: a literal whose 4-byte length has its top bit set.
    const looping = Buffer.from('8945fc346507dd26d6994b4ca1', 'hex');
    expect(snappyFramingValid(looping)).toBe(false);
    expect(() => decodeLokiProtobuf(looping, 1 << 20)).toThrow(HttpError);
    const good = snappy.compress(new TextEncoder().encode('hello hello hello hello hello, snappy'));
    expect(snappyFramingValid(good.subarray(0, good.length - 1))).toBe(false);
    expect(snappyFramingValid(Buffer.concat([good, Buffer.from([0x01])]))).toBe(false);
    expect(snappyFramingValid(new Uint8Array())).toBe(false);
    expect(snappyFramingValid(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(false);
  });
});
