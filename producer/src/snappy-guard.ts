// snappyjs 0.7 reads a literal's 4-byte length as a signed 32-bit number: with its top bit set the length is
// negative, the bounds check passes and the read position moves backwards, so the decoder goes round the same
// bytes again (the 13-byte body 8945fc346507dd26d6994b4ca1 took 3.4 s of producer CPU before "Invalid Snappy
// bitstream", and hung a property test for minutes). This walk reads the tags as the format defines them, lengths
// unsigned, and refuses a body whose elements do not end exactly at its end, before snappyjs sees it: one pass over
// the tags, nothing copied.

/** Whether `body` is a well-formed snappy block as far as its framing goes (length varint, tags, literal sizes). */
export function snappyFramingValid(body: Uint8Array): boolean {
  let pos = 0;
  // The uncompressed length: a varint of at most 5 bytes.
  for (let i = 0; ; i++) {
    if (i === 5 || pos >= body.length) return false;
    if ((body[pos++]! & 0x80) === 0) break;
  }
  while (pos < body.length) {
    const tag = body[pos++]!;
    switch (tag & 3) {
      case 0: {
        let len = (tag >>> 2) + 1;
        if (len > 60) {
          const bytes = len - 60;
          if (pos + bytes > body.length) return false;
          len = 0;
          for (let i = bytes - 1; i >= 0; i--) len = len * 256 + body[pos + i]!;
          len += 1;
          pos += bytes;
        }
        pos += len;
        break;
      }
      case 1:
        pos += 1;
        break;
      case 2:
        pos += 2;
        break;
      default:
        pos += 4;
    }
  }
  return pos === body.length;
}
