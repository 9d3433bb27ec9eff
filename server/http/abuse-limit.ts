import { isIPv4, isIPv6 } from 'node:net';
import type { ErrorRequestHandler } from 'express';
import { CompiledQuery } from 'kysely';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Database } from '../../db/database.js';
import { AppError, TooManyRequestsError, UnauthorizedError, httpStatusOf } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * How many failed authentications one client address may make before its failures are answered 429.
 *
 * 30 a minute is far above what honest callers produce: a person whose iframe token expired fails once or twice
 * before reloading, and Pipedrive retries a refused webhook a handful of times per company. It is far below what a
 * flood or a guesser needs (every webhook password and signing key is 32 random bytes, so guessing is hopeless anyway:
 * the limit caps the cost of a flood, in database lookups, signature checks and log lines). A minute's block then
 * lets a misconfigured integration that gets fixed recover on its own without a person clearing anything.
 */
export type AbuseLimits = {
  /** Failures an address may make within one window; the next one is answered 429. */
  failures: number;
  windowSeconds: number;
  /** How long an address that went over is answered 429 for its failures (never for valid requests). */
  blockSeconds: number;
};

export const DEFAULT_ABUSE_LIMITS: AbuseLimits = { failures: 30, windowSeconds: 60, blockSeconds: 60 };

export type FailureLimiter = {
  /** Counts one failed authentication from `address`: the seconds it must wait when it is over its limit, else null. */
  fail(address: string | undefined): Promise<number | null>;
};

/**
 * One counter per client address, in memory for SQLite (one process by design) and in the `abuse_limits` table for
 * PostgreSQL, so that every instance of a deployment adds to the same count.
 */
export function createFailureLimiter(deps: { database: Database; logger: Logger; limits?: Partial<AbuseLimits> }): FailureLimiter {
  const limits = { ...DEFAULT_ABUSE_LIMITS, ...deps.limits };
  const log = deps.logger.child({ subsystem: 'abuse-limit' });
  const options = { keyPrefix: 'auth-failure', points: limits.failures, duration: limits.windowSeconds, blockDuration: limits.blockSeconds };
  const memory = new RateLimiterMemory(options);
  const limiter: RateLimiterAbstract =
    deps.database.kind === 'postgres'
      ? new RateLimiterPostgres({
          ...options,
          storeClient: kyselyStoreClient(deps.database),
          storeType: 'client',
          tableName: 'abuse_limits',
          tableCreated: true,
          // Once this instance has seen an address go over, it answers that address's failures from memory until the
          // block ends, so a flood costs the database a couple of writes per instance, not one per request.
          inMemoryBlockOnConsumed: limits.failures + 2,
          // When the database does not answer, count in this process rather than fail the request.
          insuranceLimiter: memory,
        })
      : memory;

  return {
    async fail(address) {
      const key = clientKey(address);
      try {
        await limiter.consume(key);
        return null;
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) {
          log.error({ err: rejection }, 'failed authentication not counted');
          return null;
        }
        if (rejection.consumedPoints === limits.failures + 1) log.warn({ client: key, blockSeconds: limits.blockSeconds }, 'too many failed authentications');
        return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      }
    },
  };
}

const counted = new WeakSet<object>();

/** Marks a refusal as an authentication failure of the caller (a missing or wrong signature, say) so it is counted. */
export function authenticationFailure<E>(error: E): E {
  if (error instanceof AppError && httpStatusOf(error) < 500) counted.add(error);
  return error;
}

/** Runs an authentication step; its refusals are counted against the caller's address. */
export function countingFailures<A extends unknown[], R>(check: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await check(...args);
    } catch (error) {
      throw authenticationFailure(error);
    }
  };
}

/**
 * Error middleware, before the error handler: an authentication failure (every 401, and refusals marked above) is
 * counted against the client address, and once the address is over its limit it is answered 429 instead. Valid
 * requests never reach this, so an address over its limit is still served whenever its credentials are good.
 *
 * The address is Express's `req.ip`: the socket's peer unless the app is told to trust a proxy's X-Forwarded-For.
 */
export function limitFailures(limiter: FailureLimiter): ErrorRequestHandler {
  return (error, req, _res, next) => {
    if (!(error instanceof UnauthorizedError || (typeof error === 'object' && error !== null && counted.has(error)))) return next(error);
    limiter.fail(req.ip).then(
      (retryAfter) => next(retryAfter === null ? error : new TooManyRequestsError(retryAfter)),
      () => next(error),
    );
  };
}

/**
 * The counter's key for an address. IPv6 hands a whole /64 to one subscriber, who can rotate through it at will, so an
 * IPv6 address counts for its /64; IPv4 (also when mapped into IPv6 by a dual-stack socket) counts by itself.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1];
  if (mapped && isIPv4(mapped)) return mapped;
  const bare = address.split('%')[0]!;
  if (!isIPv6(bare)) return address;
  const [head = '', tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** The library's PostgreSQL store speaks `query({ text, values })`; this runs those statements through our Kysely. */
function kyselyStoreClient(database: Database) {
  return {
    async query(q: { text: string; values?: unknown[] }) {
      const result = await database.db.executeQuery(CompiledQuery.raw(q.text, q.values ?? []));
      return { rows: result.rows, rowCount: result.rows.length || Number(result.numAffectedRows ?? 0) };
    },
  };
}
