// Rows → `logs` frames no larger than a byte budget (at least one row each), so that a burst of big rows never
// becomes one frame bigger than a client's send-buffer cap.
import { logsFrame } from '@logstream/shared/protocol.js';

export interface Frame {
  text: string;
  cursor: number;
  rows: number;
}

export function splitFrames(rows: readonly { id: number; json: string }[], maxBytes: number): Frame[] {
  const frames: Frame[] = [];
  let batch: string[] = [];
  let bytes = 0;
  let cursor = 0;
  for (const r of rows) {
    if (batch.length > 0 && bytes + r.json.length > maxBytes) {
      frames.push({ text: logsFrame(batch, cursor), cursor, rows: batch.length });
      batch = [];
      bytes = 0;
    }
    batch.push(r.json);
    bytes += r.json.length + 1;
    cursor = r.id;
  }
  if (batch.length > 0) frames.push({ text: logsFrame(batch, cursor), cursor, rows: batch.length });
  return frames;
}
