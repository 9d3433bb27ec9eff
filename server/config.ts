import { z } from 'zod';
import { ACCOUNT_SID } from './twilio/senders.js';

/**
 * The one place that reads the environment (SPEC §3). Everything else receives a typed Config.
 * With no Pipedrive client configured the app runs in sandbox mode: `server/sandbox/sandbox-mode.ts`
 * then fills in the Pipedrive / Twilio / encryption parts with its emulators before the context is built.
 */

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
  frameAncestors: string[];
  logLevel: string;
  /** Messages per second on the app's shared Twilio sender, all companies together (the operator's, not a company's). */
  sharedSenderRate: number;
  /** Listening address; null means all interfaces. */
  host: string | null;
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
  DATABASE_URL: optional.refine((v) => v === undefined || /^(file:.+|postgres(ql)?:\/\/.+)$/.test(v), {
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
  TWILIO_MESSAGING_SERVICE_SID: optional.refine((v) => v === undefined || /^MG[0-9a-fA-F]{32}$/.test(v), {
    message: 'TWILIO_MESSAGING_SERVICE_SID must look like MG followed by 32 hex characters',
  }),
  TWILIO_API_URL: urlOrigin('TWILIO_API_URL'),
  ENCRYPTION_KEY: optional,
  FRAME_ANCESTORS: optional,
  SHARED_SENDER_RATE: optional.refine((v) => v === undefined || (/^\d+(\.\d+)?$/.test(v) && Number(v) > 0 && Number(v) <= 1000), {
    message: 'SHARED_SENDER_RATE must be a number of messages per second above 0 and at most 1000',
  }),
  HOST: optional,
  LOG_LEVEL: optional.refine(
    (v) => v === undefined || ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v),
    { message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent' },
  ),
});

export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(issue.message);
    throw new ConfigError(problems);
  }
  const e = parsed.data;

  const port = e.PORT === undefined ? 3000 : Number(e.PORT);
  const appUrl = stripTrailingSlash(e.APP_URL ?? `http://localhost:${port}`);
  const sandbox = e.PIPEDRIVE_CLIENT_ID === undefined && e.PIPEDRIVE_CLIENT_SECRET === undefined;
  const mode: Mode = sandbox ? 'sandbox' : 'production';

  let pipedrive: PipedriveConfig | null = null;
  if (!sandbox) {
    if (!e.PIPEDRIVE_CLIENT_ID) problems.push('PIPEDRIVE_CLIENT_ID is missing (PIPEDRIVE_CLIENT_SECRET is set)');
    if (!e.PIPEDRIVE_CLIENT_SECRET) problems.push('PIPEDRIVE_CLIENT_SECRET is missing (PIPEDRIVE_CLIENT_ID is set)');
    if (e.PIPEDRIVE_CLIENT_ID && e.PIPEDRIVE_CLIENT_SECRET) {
      pipedrive = {
        clientId: e.PIPEDRIVE_CLIENT_ID,
        clientSecret: e.PIPEDRIVE_CLIENT_SECRET,
        jwtSecret: e.PIPEDRIVE_JWT_SECRET ?? e.PIPEDRIVE_CLIENT_SECRET,
        oauthUrl: stripTrailingSlash(e.PIPEDRIVE_OAUTH_URL ?? 'https://oauth.pipedrive.com'),
      };
    }
  }

  const twilioApiUrl = stripTrailingSlash(e.TWILIO_API_URL ?? 'https://api.twilio.com');
  let twilio: TwilioConfig | null = null;
  const anyTwilio = e.TWILIO_ACCOUNT_SID ?? e.TWILIO_AUTH_TOKEN ?? e.TWILIO_FROM_NUMBER ?? e.TWILIO_MESSAGING_SERVICE_SID;
  if (anyTwilio !== undefined) {
    if (!e.TWILIO_ACCOUNT_SID) problems.push('TWILIO_ACCOUNT_SID is missing (other TWILIO_* variables are set)');
    if (!e.TWILIO_AUTH_TOKEN) problems.push('TWILIO_AUTH_TOKEN is missing (other TWILIO_* variables are set)');
    if (!e.TWILIO_FROM_NUMBER && !e.TWILIO_MESSAGING_SERVICE_SID) {
      problems.push('TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is needed as the default sender');
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

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    mode,
    port,
    appUrl,
    databaseUrl: e.DATABASE_URL ?? 'file:./data/app.db',
    pipedrive,
    twilio,
    twilioApiUrl,
    encryptionKey,
    frameAncestors: (e.FRAME_ANCESTORS ?? 'https://*.pipedrive.com').split(/\s+/).filter(Boolean),
    logLevel: e.LOG_LEVEL ?? 'info',
    sharedSenderRate: e.SHARED_SENDER_RATE === undefined ? 1 : Number(e.SHARED_SENDER_RATE),
    host: e.HOST ?? (sandbox ? '127.0.0.1' : null),
  };
}

function parseKey(value: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const buf = Buffer.from(value, 'base64');
    if (buf.length === 32) return buf;
  }
  return null;
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
