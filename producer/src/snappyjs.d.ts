// snappyjs ships no types; the two functions used here (block format, as Loki's protobuf push uses).
declare module 'snappyjs' {
  export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
  export function compress(uncompressed: Uint8Array): Uint8Array;
}
