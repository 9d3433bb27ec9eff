import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Keys whose values never reach a log line, at any depth we log. pino's redaction is path-based, so each key is
 * listed at the top level and one and two levels down (err.config.headers… is where axios puts credentials).
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
  'cookie',
  'set-cookie',
];

const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);

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
