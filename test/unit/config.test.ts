import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.js';

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
  it('runs the sandbox with SPEC defaults when nothing is configured', () => {
    const c = loadConfig({});
    expect(c.mode).toBe('sandbox');
    expect(c.port).toBe(3000);
    expect(c.appUrl).toBe('http://localhost:3000');
    expect(c.databaseUrl).toBe('file:./data/app.db');
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
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('PORT'),
        expect.stringContaining('APP_URL'),
        expect.stringContaining('TWILIO_ACCOUNT_SID'),
      ]),
    );
    expect(problems.length).toBe(3);
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
});
