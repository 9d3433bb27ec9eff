import { describe, expect, it } from 'vitest';
import { ConfigError, describeDatabase, loadConfig } from '../../server/config.js';

const KEY_HEX = 'a'.repeat(64);
const production = {
  PIPEDRIVE_CLIENT_ID: 'cid',
  PIPEDRIVE_CLIENT_SECRET: 'csecret',
  ENCRYPTION_KEY: KEY_HEX,
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('runs the sandbox with the default settings when nothing is configured', () => {
    const c = loadConfig({});
    expect(c.mode).toBe('sandbox');
    expect(c.port).toBe(3000);
    expect(c.appUrl).toBe('http://localhost:3000');
    // The sandbox keeps its own file: a forgotten client id must never open the production database.
    expect(c.databaseUrl).toBe('file:./data/sandbox.db');
    expect(c.host).toBe('127.0.0.1');
    expect(c.pipedrive).toBeNull();
    expect(c.twilioApiUrl).toBe('https://api.twilio.com');
    expect(c.frameAncestors).toEqual(['https://*.pipedrive.com']);
  });

  it('derives APP_URL from PORT and defaults the JWT secret to the client secret', () => {
    const c = loadConfig({ ...production, PORT: '8080' });
    expect(c.mode).toBe('production');
    expect(c.appUrl).toBe('http://localhost:8080');
    expect(c.pipedrive).toEqual({
      clientId: 'cid',
      clientSecret: 'csecret',
      jwtSecret: 'csecret',
      oauthUrl: 'https://oauth.pipedrive.com',
    });
    expect(c.encryptionKey?.length).toBe(32);
  });

  it('accepts a base64 key, a separate JWT secret, trailing slashes and several frame ancestors', () => {
    const c = loadConfig({
      ...production,
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      PIPEDRIVE_JWT_SECRET: 'jwt',
      APP_URL: 'https://sms.example.com/',
      PIPEDRIVE_OAUTH_URL: 'http://127.0.0.1:9999/',
      FRAME_ANCESTORS: 'https://*.pipedrive.com  http://localhost:3000',
      DATABASE_URL: 'postgres://localhost/test',
    });
    expect(c.encryptionKey).toEqual(Buffer.alloc(32, 7));
    expect(c.pipedrive?.jwtSecret).toBe('jwt');
    expect(c.appUrl).toBe('https://sms.example.com');
    expect(c.pipedrive?.oauthUrl).toBe('http://127.0.0.1:9999');
    expect(c.frameAncestors).toEqual(['https://*.pipedrive.com', 'http://localhost:3000']);
    expect(c.databaseUrl).toBe('postgres://localhost/test');
  });

  it('lists every problem at once in one readable message', () => {
    const env = {
      PIPEDRIVE_CLIENT_ID: 'cid',
      PORT: 'eighty',
      APP_URL: 'not a url',
      TWILIO_ACCOUNT_SID: 'nope',
    };
    expect(() => loadConfig(env)).toThrowError(ConfigError);
    const problems = problemsOf(env);
    // Malformed values and what is missing around them, in one list; a malformed value is not also called missing.
    expect(problems).toEqual([
      expect.stringContaining('PORT must be'),
      expect.stringContaining('APP_URL must be'),
      expect.stringContaining('TWILIO_ACCOUNT_SID must look like'),
      expect.stringContaining('PIPEDRIVE_CLIENT_SECRET is missing'),
      expect.stringContaining('TWILIO_AUTH_TOKEN is missing'),
      expect.stringContaining('TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID'),
      expect.stringContaining('ENCRYPTION_KEY is required'),
    ]);
  });

  it('does not let a malformed APP_URL hide a missing ENCRYPTION_KEY', () => {
    const problems = problemsOf({ PIPEDRIVE_CLIENT_ID: 'cid', PIPEDRIVE_CLIENT_SECRET: 's', APP_URL: 'not a url' });
    expect(problems).toEqual([expect.stringContaining('APP_URL must be'), expect.stringContaining('ENCRYPTION_KEY is required')]);
  });

  it('names the missing half of a pair and the missing key outside sandbox', () => {
    expect(problemsOf({ PIPEDRIVE_CLIENT_ID: 'cid' })).toEqual([
      expect.stringContaining('PIPEDRIVE_CLIENT_SECRET is missing'),
      expect.stringContaining('ENCRYPTION_KEY is required'),
    ]);
    expect(problemsOf({ ...production, ENCRYPTION_KEY: 'short' })).toEqual([expect.stringContaining('32 bytes')]);
    expect(problemsOf({ ...production, TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}` })).toEqual([
      expect.stringContaining('TWILIO_AUTH_TOKEN is missing'),
      expect.stringContaining('TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID'),
    ]);
    expect(problemsOf({ ...production, DATABASE_URL: 'mysql://x' })).toEqual([expect.stringContaining('DATABASE_URL')]);
    expect(problemsOf({ ...production, TWILIO_FROM_NUMBER: '555-1234' })[0]).toContain('E.164');
  });

  it('builds the default Twilio account when it is complete', () => {
    const c = loadConfig({
      ...production,
      TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}`,
      TWILIO_AUTH_TOKEN: 'tok',
      TWILIO_MESSAGING_SERVICE_SID: `MG${'2'.repeat(32)}`,
      TWILIO_API_URL: 'http://127.0.0.1:4010',
    });
    expect(c.twilio).toEqual({
      accountSid: `AC${'1'.repeat(32)}`,
      authToken: 'tok',
      fromNumber: null,
      messagingServiceSid: `MG${'2'.repeat(32)}`,
      apiUrl: 'http://127.0.0.1:4010',
    });
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PIPEDRIVE_CLIENT_ID: '', PIPEDRIVE_CLIENT_SECRET: ' ', PORT: '' }).mode).toBe('sandbox');
  });

  describe('sandbox mode runs only on a developer machine', () => {
    it.each([
      [{ NODE_ENV: 'production' }, 'NODE_ENV=production'],
      [{ DATABASE_URL: 'postgres://db.internal/app' }, 'DATABASE_URL is set'],
      [{ ENCRYPTION_KEY: KEY_HEX }, 'ENCRYPTION_KEY is set'],
      [{ TWILIO_API_URL: 'https://api.twilio.com' }, 'TWILIO_API_URL is set'],
      [{ TWILIO_AUTH_TOKEN: 'tok' }, 'TWILIO_AUTH_TOKEN is set'],
    ])('treats a missing client id as an error when %o', (env, reason) => {
      const problems = problemsOf(env);
      expect(problems[0]).toMatch(/^PIPEDRIVE_CLIENT_ID is missing; sandbox mode is off because /);
      expect(problems[0]).toContain(reason);
    });

    it('names every reason the sandbox is off, and every other problem with it', () => {
      const problems = problemsOf({ NODE_ENV: 'production', DATABASE_URL: 'file:/srv/app.db', TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}` });
      expect(problems).toEqual([
        'PIPEDRIVE_CLIENT_ID is missing; sandbox mode is off because NODE_ENV=production, DATABASE_URL is set, TWILIO_ACCOUNT_SID is set',
        expect.stringContaining('PIPEDRIVE_CLIENT_SECRET is missing'),
        expect.stringContaining('TWILIO_AUTH_TOKEN is missing'),
        expect.stringContaining('TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID'),
        expect.stringContaining('ENCRYPTION_KEY is required'),
      ]);
    });

    it('still runs the sandbox in development and test, with empty variables counted as unset', () => {
      for (const NODE_ENV of ['development', 'test', '']) {
        const c = loadConfig({ NODE_ENV, DATABASE_URL: ' ', TWILIO_FROM_NUMBER: '', APP_URL: 'http://192.168.1.20:3000' });
        expect(c.mode).toBe('sandbox');
        expect(c.databaseUrl).toBe('file:./data/sandbox.db');
      }
    });

    it('listens on loopback in the sandbox and on all interfaces in production, unless HOST says otherwise', () => {
      expect(loadConfig({}).host).toBe('127.0.0.1');
      expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
      expect(loadConfig(production).host).toBeNull();
      expect(loadConfig({ ...production, HOST: '10.0.0.5' }).host).toBe('10.0.0.5');
    });

    it('keeps the production default database for production', () => {
      expect(loadConfig(production).databaseUrl).toBe('file:./data/app.db');
    });
  });

  it('requires https for APP_URL in production, loopback excepted', () => {
    expect(problemsOf({ ...production, APP_URL: 'http://sms.example.com' })).toEqual([
      expect.stringContaining('APP_URL must be https in production'),
    ]);
    for (const APP_URL of ['https://sms.example.com', 'http://127.0.0.1:3000', 'http://[::1]:3000', 'http://localhost:3000']) {
      expect(loadConfig({ ...production, APP_URL }).appUrl).toBe(APP_URL);
    }
  });

  it('reads TRUST_PROXY as hops or a list of proxy addresses, trusts none by default, and refuses anything else', () => {
    expect(loadConfig(production).trustProxy).toBe(false);
    expect(loadConfig({ ...production, TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ ...production, TRUST_PROXY: '10.0.0.0/8, loopback,::1' }).trustProxy).toEqual(['10.0.0.0/8', 'loopback', '::1']);
    for (const bad of ['yes', '10.0.0.0/33', '10.0.0.1/8/8', 'everyone', ',']) {
      expect(problemsOf({ ...production, TRUST_PROXY: bad }).join('\n')).toMatch(/TRUST_PROXY must be/);
    }
  });

  it('refuses both a default number and a default messaging service', () => {
    expect(
      problemsOf({
        ...production,
        TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}`,
        TWILIO_AUTH_TOKEN: 'tok',
        TWILIO_FROM_NUMBER: '+14155550100',
        TWILIO_MESSAGING_SERVICE_SID: `MG${'2'.repeat(32)}`,
      }),
    ).toEqual([expect.stringContaining('TWILIO_FROM_NUMBER and TWILIO_MESSAGING_SERVICE_SID are both set')]);
  });

  it('describes the database for the start-up log without its password', () => {
    expect(describeDatabase('postgres://app:s3cr%23t@db.internal:5433/sms?sslmode=require&password=other')).toEqual({
      engine: 'postgres',
      location: 'postgres://app:***@db.internal:5433/sms?sslmode=require&password=***',
    });
    expect(describeDatabase('postgresql://db.internal/sms')).toEqual({ engine: 'postgres', location: 'postgresql://db.internal/sms' });
    const sqlite = describeDatabase('file:./data/app.db');
    expect(sqlite.engine).toBe('sqlite');
    expect(sqlite.location).toMatch(/^\/.*\/data\/app\.db$/);
    // A URL too odd to take apart is not shown at all rather than shown with its secret.
    expect(describeDatabase('postgres://app:pa@ss@/sms')).toEqual({ engine: 'postgres', location: 'postgres://***' });
  });

  it('reads long hostile values in linear time', () => {
    const slashes = '/'.repeat(20_000);
    const started = performance.now();
    // Valid values first (they are trimmed of trailing slashes), then malformed ones (they are reported).
    const c = loadConfig({
      ...production,
      APP_URL: `https://sms.example.com${slashes}x`,
      PIPEDRIVE_OAUTH_URL: `https://oauth.example.com${slashes}x`,
      TWILIO_API_URL: `https://api.example.com${slashes}x`,
      FRAME_ANCESTORS: `https://a.example${' '.repeat(20_000)}x`,
    });
    expect(c.appUrl.endsWith('/x')).toBe(true);
    const problems = problemsOf({
      ...production,
      DATABASE_URL: `file:${'a'.repeat(20_000)}\nx`,
      ENCRYPTION_KEY: `${'A'.repeat(20_000)}=!`,
      SHARED_SENDER_RATE: `${'1'.repeat(20_000)}.`,
      PORT: `${'9'.repeat(20_000)}x`,
    });
    expect(problems).toHaveLength(4);
    expect(performance.now() - started).toBeLessThan(50);
  });
});
