// The latency scenario's schedule of alternating servers (bench/load/latency.ts): an open-loop stream of events
// cut into slices of `sliceMs`, slice k going to server k mod `servers`, so that a pipeline and its baseline are
// measured during the same seconds of the machine (ABAB…). Each server's first `warmupMs` of its own slices are
// warm-up, left out of its figures.

export interface Slot {
  /** Which server the event goes to. */
  server: number;
  /** The event falls in that server's warm-up. */
  warm: boolean;
}

/** Where the event due at `dueMs` after the start goes; sliceMs Infinity (one server) is one unbroken run. */
export function slotAt(dueMs: number, sliceMs: number, servers: number, warmupMs: number): Slot {
  if (!Number.isFinite(sliceMs) || servers === 1) return { server: 0, warm: dueMs < warmupMs };
  const slice = Math.floor(dueMs / sliceMs);
  // Time this server has had up to the event: its earlier slices, then the part of this one.
  const own = Math.floor(slice / servers) * sliceMs + (dueMs - slice * sliceMs);
  return { server: slice % servers, warm: own < warmupMs };
}
