import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ACCOUNT_SID, MESSAGING_SERVICE_SID } from './twilio/patterns.js';

/**
 * The one place that reads the environment. Everything else receives a typed Config.
 * With no Pipedrive client configured, on a machine that is plainly not a deployment (no NODE_ENV=production, no
 * database, key or Twilio settings), the app runs in sandbox mode: `server/sandbox/sandbox-mode.ts` then fills in the
 * Pipedrive / Twilio / encryption parts with its emulators before the context is built. Anywhere else a missing client
 * id is a configuration error, so a deployment that forgot it never serves the sandbox's unauthenticated helpers.
 */

/** The production default; the sandbox never opens it (a forgotten client id must not expose real data). */
export const DEFAULT_DATABASE_URL = 'file:./data/app.db';
export const SANDBOX_DATABASE_URL = 'file:./data/sandbox.db';

export type Mode = 'production' | 'sandbox';

export type PipedriveConfig = {
  clientId: string;
  clientSecret: string;
  jwtSecret: string;
  oauthUrl: string;
};

export type TwilioConfig = {
  accountSid: string;
  authToken: string;
  fromNumber: string | null;
  messagingServiceSid: string | null;
  apiUrl: string;
};

export type Config = {
  mode: Mode;
  port: number;
  appUrl: string;
  databaseUrl: string;
  /** Null only in sandbox mode before the sandbox has started its emulators. */
  pipedrive: PipedriveConfig | null;
  /** The default Twilio account; null when none is configured (companies may bring their own). */
  twilio: TwilioConfig | null;
  twilioApiUrl: string;
  /** 32-byte key for AES-256-GCM; null only in sandbox mode (the sandbox makes a throwaway one). */
  encryptionKey: Buffer | null;
  /** Earlier keys, after a rotation: they still open sealed values, never seal one. */
  encryptionKeysPrevious: Buffer[];
  frameAncestors: string[];
  logLevel: string;
  /** Messages per second on the app's shared Twilio sender, all companies together (the operator's, not a company's). */
  sharedSenderRate: number;
  /** Listening address; null means all interfaces. */
  host: string | null;
  /**
   * Which proxies in front of the app may name the client address (X-Forwarded-For): a number of hops, or the
   * proxies' addresses / subnets (or Express's names loopback, linklocal, uniquelocal); false trusts none. Failed
   * authentications are counted per client address, so behind a load balancer this must be set.
   */
  trustProxy: number | string[] | false;
  /** Bearer token of `GET /metrics`; null: the route does not exist (404). */
  metricsToken: string | null;
};

/** A Config whose sandbox gaps are filled: what createContext needs. */
export type ReadyConfig = Config & { pipedrive: PipedriveConfig; encryptionKey: Buffer };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const optional = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const urlOrigin = (name: string) =>
  optional.refine((v) => v === undefined || isHttpUrl(v), { message: `${name} must be an http(s) URL` });

const envSchema = z.object({
  PORT: optional.refine((v) => v === undefined || /^\d{1,5}$/.test(v) && Number(v) < 65536, {
    message: 'PORT must be a number between 0 and 65535',
  }),
  APP_URL: urlOrigin('APP_URL'),
  DATABASE_URL: optional.refine((v) => v === undefined || /^(?:file:.+|postgres(?:ql)?:\/\/.+)$/.test(v), {
    message: 'DATABASE_URL must be file:PATH or postgres://…',
  }),
  PIPEDRIVE_CLIENT_ID: optional,
  PIPEDRIVE_CLIENT_SECRET: optional,
  PIPEDRIVE_JWT_SECRET: optional,
  PIPEDRIVE_OAUTH_URL: urlOrigin('PIPEDRIVE_OAUTH_URL'),
  TWILIO_ACCOUNT_SID: optional.refine((v) => v === undefined || ACCOUNT_SID.test(v), {
    message: 'TWILIO_ACCOUNT_SID must look like AC followed by 32 hex characters',
  }),
  TWILIO_AUTH_TOKEN: optional,
  TWILIO_FROM_NUMBER: optional.refine((v) => v === undefined || /^\+[1-9]\d{1,14}$/.test(v), {
    message: 'TWILIO_FROM_NUMBER must be an E.164 number such as +14155550100',
  }),
  TWILIO_MESSAGING_SERVICE_SID: optional.refine((v) => v === undefined || MESSAGING_SERVICE_SID.test(v), {
    message: 'TWILIO_MESSAGING_SERVICE_SID must look like MG followed by 32 hex characters',
  }),
  TWILIO_API_URL: urlOrigin('TWILIO_API_URL'),
  ENCRYPTION_KEY: optional,
  ENCRYPTION_KEYS_PREVIOUS: optional,
  FRAME_ANCESTORS: optional,
  SHARED_SENDER_RATE: optional.refine((v) => v === undefined || (/^\d+(?:\.\d+)?$/.test(v) && Number(v) > 0 && Number(v) <= 1000), {
    message: 'SHARED_SENDER_RATE must be a number of messages per second above 0 and at most 1000',
  }),
  HOST: optional,
  TRUST_PROXY: optional.refine((v) => v === undefined || parseTrustProxy(v) !== null, {
    message: 'TRUST_PROXY must be a number of proxy hops (1 for one load balancer) or a comma-separated list of proxy addresses or subnets',
  }),
  METRICS_TOKEN: optional.refine((v) => v === undefined || (v.length >= 16 && v.length <= 512 && !/\s/.test(v)), {
    message: 'METRICS_TOKEN must be 16 to 512 characters without spaces (generate one with: openssl rand -hex 32)',
  }),
  LOG_LEVEL: optional.refine(
    (v) => v === undefined || ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v),
    { message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent' },
  ),
});

export function loadConfig(env: Record<string, string | undefined>): Config {
  // Every problem is collected before anything is refused: one start attempt shows the whole list.
  const problems: string[] = [];
  const e = parseFields(env, problems);
  const isSet = (name: string) => (env[name] ?? '').trim() !== '';

  const port = e.PORT === undefined ? 3000 : Number(e.PORT);
  const appUrl = stripTrailingSlash(e.APP_URL ?? `http://localhost:${port}`);
  const clientGiven = isSet('PIPEDRIVE_CLIENT_ID') || isSet('PIPEDRIVE_CLIENT_SECRET');
  const sandboxOff = deploymentSigns(env, isSet);
  const sandbox = !clientGiven && sandboxOff.length === 0;
  const mode: Mode = sandbox ? 'sandbox' : 'production';

  let pipedrive: PipedriveConfig | null = null;
  if (!sandbox) {
    if (!isSet('PIPEDRIVE_CLIENT_ID')) {
      problems.push(
        clientGiven
          ? 'PIPEDRIVE_CLIENT_ID is missing (PIPEDRIVE_CLIENT_SECRET is set)'
          : `PIPEDRIVE_CLIENT_ID is missing; sandbox mode is off because ${sandboxOff.join(', ')}`,
      );
    }
    if (!isSet('PIPEDRIVE_CLIENT_SECRET')) {
      problems.push(`PIPEDRIVE_CLIENT_SECRET is missing${isSet('PIPEDRIVE_CLIENT_ID') ? ' (PIPEDRIVE_CLIENT_ID is set)' : ''}`);
    }
    if (e.PIPEDRIVE_CLIENT_ID && e.PIPEDRIVE_CLIENT_SECRET) {
      pipedrive = {
        clientId: e.PIPEDRIVE_CLIENT_ID,
        clientSecret: e.PIPEDRIVE_CLIENT_SECRET,
        jwtSecret: e.PIPEDRIVE_JWT_SECRET ?? e.PIPEDRIVE_CLIENT_SECRET,
        oauthUrl: stripTrailingSlash(e.PIPEDRIVE_OAUTH_URL ?? 'https://oauth.pipedrive.com'),
      };
    }
    // Webhook passwords, OAuth redirects and the settings cookie travel to APP_URL: in clear text only on this machine.
    if (e.APP_URL !== undefined && !isHttpsOrLoopback(appUrl)) {
      problems.push('APP_URL must be https in production (http is accepted only for 127.0.0.1, ::1 and localhost)');
    }
  }

  const twilioApiUrl = stripTrailingSlash(e.TWILIO_API_URL ?? 'https://api.twilio.com');
  let twilio: TwilioConfig | null = null;
  const twilioNames = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM_NUMBER', 'TWILIO_MESSAGING_SERVICE_SID'];
  if (twilioNames.some(isSet)) {
    if (!isSet('TWILIO_ACCOUNT_SID')) problems.push('TWILIO_ACCOUNT_SID is missing (other TWILIO_* variables are set)');
    if (!isSet('TWILIO_AUTH_TOKEN')) problems.push('TWILIO_AUTH_TOKEN is missing (other TWILIO_* variables are set)');
    if (!isSet('TWILIO_FROM_NUMBER') && !isSet('TWILIO_MESSAGING_SERVICE_SID')) {
      problems.push('TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is needed as the default sender');
    }
    // With both, which one sends would be a guess; the operator says which.
    if (isSet('TWILIO_FROM_NUMBER') && isSet('TWILIO_MESSAGING_SERVICE_SID')) {
      problems.push('TWILIO_FROM_NUMBER and TWILIO_MESSAGING_SERVICE_SID are both set: keep only the default sender you mean');
    }
    if (e.TWILIO_ACCOUNT_SID && e.TWILIO_AUTH_TOKEN && (e.TWILIO_FROM_NUMBER || e.TWILIO_MESSAGING_SERVICE_SID)) {
      twilio = {
        accountSid: e.TWILIO_ACCOUNT_SID,
        authToken: e.TWILIO_AUTH_TOKEN,
        fromNumber: e.TWILIO_FROM_NUMBER ?? null,
        messagingServiceSid: e.TWILIO_MESSAGING_SERVICE_SID ?? null,
        apiUrl: twilioApiUrl,
      };
    }
  }

  let encryptionKey: Buffer | null = null;
  if (e.ENCRYPTION_KEY !== undefined) {
    encryptionKey = parseKey(e.ENCRYPTION_KEY);
    if (!encryptionKey) {
      problems.push('ENCRYPTION_KEY must be 32 bytes, written as 64 hex characters or base64 (openssl rand -base64 32)');
    }
  } else if (!sandbox) {
    problems.push('ENCRYPTION_KEY is required outside sandbox mode (generate one with: openssl rand -base64 32)');
  }

  const encryptionKeysPrevious = previousKeys(e.ENCRYPTION_KEYS_PREVIOUS, encryptionKey, e.ENCRYPTION_KEY !== undefined, problems);

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    mode,
    port,
    appUrl,
    databaseUrl: sandbox ? SANDBOX_DATABASE_URL : (e.DATABASE_URL ?? DEFAULT_DATABASE_URL),
    pipedrive,
    twilio,
    twilioApiUrl,
    encryptionKey,
    encryptionKeysPrevious,
    frameAncestors: (e.FRAME_ANCESTORS ?? 'https://*.pipedrive.com').split(/\s+/).filter(Boolean),
    logLevel: e.LOG_LEVEL ?? 'info',
    sharedSenderRate: e.SHARED_SENDER_RATE === undefined ? 1 : Number(e.SHARED_SENDER_RATE),
    host: e.HOST ?? (sandbox ? '127.0.0.1' : null),
    trustProxy: e.TRUST_PROXY === undefined ? false : (parseTrustProxy(e.TRUST_PROXY) ?? false),
    metricsToken: e.METRICS_TOKEN ?? null,
  };
}

/** Each variable on its own, so one malformed value never hides the problems of the others. */
function parseFields(env: Record<string, string | undefined>, problems: string[]): z.infer<typeof envSchema> {
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(envSchema.shape)) {
    const result = schema.safeParse(env[name]);
    if (result.success) values[name] = result.data;
    else for (const issue of result.error.issues) problems.push(issue.message);
  }
  return values as z.infer<typeof envSchema>;
}

/** Why this looks like a deployment rather than a developer machine; empty means the sandbox may run. */
function deploymentSigns(env: Record<string, string | undefined>, isSet: (name: string) => boolean): string[] {
  const signs: string[] = [];
  if (env.NODE_ENV?.trim() === 'production') signs.push('NODE_ENV=production');
  const twilio = Object.keys(env).filter((name) => name.startsWith('TWILIO_')).sort();
  for (const name of ['DATABASE_URL', 'ENCRYPTION_KEY', ...twilio]) if (isSet(name)) signs.push(`${name} is set`);
  return signs;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

function isHttpsOrLoopback(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'https:' || LOOPBACK_HOSTS.has(u.hostname);
}

/**
 * Which database a URL names, for the start-up log: the engine and the host/database or the file, never a password
 * (in the user part or a `password` parameter). A URL too odd to take apart is not shown at all.
 */
export function describeDatabase(url: string): { engine: 'sqlite' | 'postgres'; location: string } {
  if (url.startsWith('file:')) {
    const path = url.slice('file:'.length);
    return { engine: 'sqlite', location: path === ':memory:' ? path : resolve(path) };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { engine: 'postgres', location: `${url.startsWith('postgresql:') ? 'postgresql' : 'postgres'}://***` };
  }
  if (u.password) u.password = '***';
  for (const name of [...u.searchParams.keys()]) {
    if (name.toLowerCase().includes('password')) u.searchParams.set(name, '***');
  }
  return { engine: 'postgres', location: u.toString() };
}

function parseKey(value: string): Buffer | null {
  if (/^[0-9a-f]{64}$/i.test(value)) return Buffer.from(value, 'hex');
  if (/^[\w+/-]+={0,2}$/.test(value)) {
    const buf = Buffer.from(value, 'base64');
    if (buf.length === 32) return buf;
  }
  return null;
}

/**
 * `ENCRYPTION_KEYS_PREVIOUS`: the keys of before a rotation, comma-separated, each written like ENCRYPTION_KEY. A
 * problem names the key by its position, never by its value. The current key among them, or one key twice, is refused:
 * it is the sign of a rotation half done (ENCRYPTION_KEY not changed, or the old key pasted twice).
 */
function previousKeys(value: string | undefined, current: Buffer | null, currentGiven: boolean, problems: string[]): Buffer[] {
  if (value === undefined) return [];
  if (!currentGiven) {
    problems.push('ENCRYPTION_KEYS_PREVIOUS is set but ENCRYPTION_KEY is not: previous keys only open values beside a current key');
    return [];
  }
  const items = value.split(',').map((item) => item.trim());
  const keys: Buffer[] = [];
  items.forEach((item, index) => {
    const which = `ENCRYPTION_KEYS_PREVIOUS: key ${index + 1} of ${items.length}`;
    const key = item === '' ? null : parseKey(item);
    if (item === '') problems.push(`${which} is empty (the keys are separated by single commas)`);
    else if (!key) problems.push(`${which} must be 32 bytes, written as 64 hex characters or base64, like ENCRYPTION_KEY`);
    else if (current?.equals(key)) problems.push(`${which} is the same as ENCRYPTION_KEY: a rotation needs a new ENCRYPTION_KEY`);
    else if (keys.some((k) => k.equals(key))) problems.push(`${which} is the same as an earlier one in the list`);
    if (key) keys.push(key);
  });
  return keys;
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** A loop, not a pattern: `/\/+$/` is quadratic on a long run of slashes that does not end the string. */
function stripTrailingSlash(url: string): string {
  let end = url.length;
  while (end > 0 && url.charCodeAt(end - 1) === 47 /* '/' */) end--;
  return url.slice(0, end);
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** `2` (hops), or `10.0.0.0/8, loopback` (trusted proxies); null when it is neither. */
function parseTrustProxy(value: string): number | string[] | null {
  if (/^\d{1,2}$/.test(value)) return Number(value);
  const items = value.split(',').map((item) => item.trim()).filter(Boolean);
  const valid = (item: string) => {
    if (PROXY_NAMES.has(item)) return true;
    const [address = '', bits, ...rest] = item.split('/');
    if (rest.length > 0 || isIP(address) === 0) return false;
    if (bits === undefined) return true;
    const max = isIP(address) === 4 ? 32 : 128;
    return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
  };
  return items.length > 0 && items.every(valid) ? items : null;
}
