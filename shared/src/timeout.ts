/** Reject when `p` has not settled within `ms`: probes must answer even when a dependency hangs (CONTRACT §7). */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      // ETIMEDOUT: a dependency that does not answer counts as unreachable (isConnectionError), not as a bug.
      timer = setTimeout(() => reject(Object.assign(new Error(`timed out after ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
    }),
  ]);
}

/** How long a readiness probe waits for a dependency before calling it down. */
export const PROBE_TIMEOUT_MS = 2_000;
