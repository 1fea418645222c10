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

/** The password of `user:password` (base64), or the user when there is no password; undefined when not base64 of that. */
function decodeUserPass(encoded: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return text.slice(colon + 1) || text.slice(0, colon) || undefined;
}

/**
 * The token a client presents: `Authorization: Bearer <token>`; HTTP basic auth with the token as the password
 * (what Loki, Elasticsearch and HTTP log shippers send; any user name); Elasticsearch's `ApiKey base64(id:token)` or `ApiKey <token>`;
 * or `?token=` (WebSocket clients cannot set headers).
 */
export function presentedToken(authorization: string, queryToken?: string): string | undefined {
  const m = /^(Bearer|Basic|ApiKey)\s+(.+)$/i.exec(authorization.trim());
  if (m) {
    const scheme = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (scheme === 'bearer') return value;
    // An ApiKey may also be the token as it is (the Elasticsearch client's `auth: { apiKey: token }`).
    return scheme === 'basic' ? decodeUserPass(value) : (decodeUserPass(value) ?? value);
  }
  return queryToken || undefined;
}
