import { hmacSha256, randomToken, safeEqual } from '../security/crypto.js';

/**
 * The OAuth `state`: base64url(JSON {n, exp}) + "." + HMAC-SHA256. The nonce `n` is also set in an HttpOnly cookie
 * on /oauth/start, so a state is accepted only in the browser that started the install (login CSRF).
 */
export function createStateSigner(secret: string, now: () => number, ttlMs = 10 * 60_000) {
  const key = hmacSha256(secret, 'sms-for-pipedrive/oauth-state');
  return {
    issue(): { state: string; nonce: string } {
      const nonce = randomToken(18);
      const payload = Buffer.from(JSON.stringify({ n: nonce, exp: now() + ttlMs })).toString('base64url');
      return { state: `${payload}.${hmacSha256(key, payload)}`, nonce };
    },
    /** The reason a state is refused, or null when it is good and matches the browser's nonce. */
    check(state: string | undefined, cookieNonce: string | undefined): string | null {
      if (!state) return 'missing state';
      const [payload, mac, extra] = state.split('.');
      if (!payload || !mac || extra !== undefined) return 'malformed state';
      if (!safeEqual(mac, hmacSha256(key, payload))) return 'state signature does not match';
      let parsed: { n?: unknown; exp?: unknown };
      try {
        parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        return 'malformed state';
      }
      if (typeof parsed.exp !== 'number' || parsed.exp < now()) return 'state expired';
      if (typeof parsed.n !== 'string' || !cookieNonce || !safeEqual(parsed.n, cookieNonce)) {
        return 'state was issued to another browser session';
      }
      return null;
    },
  };
}
