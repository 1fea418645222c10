import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * True when no tokens are configured, or the presented token is one of them. Tokens are compared as SHA-256
 * digests with timingSafeEqual, so neither content nor length leaks through timing.
 */
export function tokenAllowed(tokens: readonly string[], presented: string | undefined): boolean {
  if (tokens.length === 0) return true;
  if (!presented) return false;
  const p = digest(presented);
  let ok = false;
  for (const t of tokens) ok = timingSafeEqual(p, digest(t)) || ok;
  return ok;
}

/** The token from `Authorization: Bearer …`, or from `?token=` (WebSocket clients cannot set headers). */
export function presentedToken(authorization: string, queryToken?: string): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  if (m) return m[1]!.trim();
  return queryToken || undefined;
}
