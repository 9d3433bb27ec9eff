import type { Request, RequestHandler } from 'express';
import { errors as joseErrors, jwtVerify } from 'jose';
import { UnauthorizedError } from '../errors.js';

/** Who is calling: the Pipedrive user and company named by a token Pipedrive signed for our iframe. */
export type Caller = { userId: string; companyId: string };

declare module 'express-serve-static-core' {
  interface Request {
    caller?: Caller;
  }
}

const idClaim = (v: unknown): string | null =>
  (typeof v === 'number' && Number.isInteger(v) && v > 0) || (typeof v === 'string' && /^\d+$/.test(v)) ? String(v) : null;

/**
 * Verifies the HS256 JWT Pipedrive signs for custom UI: `userId`/`companyId` (or snake_case) and an `exp`, which is
 * required: a token without one would be good for ever once it leaked (from a URL, a log, a browser history). The API
 * takes it from `Authorization: Bearer`; the iframe pages may also get it as `?token=` because that is how Pipedrive
 * loads them.
 */
export function createJwtVerifier(secret: string, now: () => number) {
  const key = new TextEncoder().encode(secret);
  return async function verify(token: string): Promise<Caller> {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        currentDate: new Date(now()),
        clockTolerance: 5,
        requiredClaims: ['exp'],
      });
      const userId = idClaim(payload.userId ?? payload.user_id);
      const companyId = idClaim(payload.companyId ?? payload.company_id);
      if (!userId || !companyId) throw new UnauthorizedError('token lacks userId / companyId');
      return { userId, companyId };
    } catch (error) {
      if (error instanceof UnauthorizedError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new UnauthorizedError('token expired');
      if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'exp') throw new UnauthorizedError('token has no expiry');
      throw new UnauthorizedError('invalid token');
    }
  };
}

export function bearerToken(req: Request): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1] ?? null;
}

export function requireCaller(verify: ReturnType<typeof createJwtVerifier>, options: { allowQueryToken?: boolean } = {}): RequestHandler {
  return async (req, _res, next) => {
    const fromQuery = options.allowQueryToken && typeof req.query.token === 'string' ? req.query.token : null;
    const token = bearerToken(req) ?? fromQuery;
    if (!token) throw new UnauthorizedError('missing bearer token');
    req.caller = await verify(token);
    next();
  };
}
