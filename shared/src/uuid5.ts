// RFC 9562 name-based (SHA-1, version 5) UUIDs: the same name always gives the same id.
import { createHash } from 'node:crypto';

/** Our own namespace (an arbitrary constant); changing it would change every derived event id. */
const NAMESPACE = Buffer.from('8f1f3a52d6c04b0e9a4e3c7b2f6d1e05', 'hex');

export function uuid5(name: string): string {
  const h = createHash('sha1').update(NAMESPACE).update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
