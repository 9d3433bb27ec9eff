import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Keys whose values never reach a log line. pino's redaction is path-based and its cost grows with the number of
 * paths, so each key is listed at the top level and one level down: vendor errors are translated in the adapters
 * (no axios config with headers reaches a log), and we log flat objects.
 */
const SECRET_KEYS = [
  'authorization',
  'Authorization',
  'access_token',
  'refresh_token',
  'accessToken',
  'refreshToken',
  'authToken',
  'auth_token',
  'clientSecret',
  'client_secret',
  'password',
  'http_auth_password',
  'token',
  'encryptionKey',
  'encryptionKeysPrevious',
  'cookie',
  'set-cookie',
];

const REDACT_PATHS = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`]),
  // An unexpected vendor error logged as `err` may still be an axios error carrying its request config.
  'err.config.headers.authorization',
  'err.config.headers.Authorization',
  'err.config.auth',
  'err.config.data',
  'err.request',
  'err.response',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { app: 'sms-for-pipedrive' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
