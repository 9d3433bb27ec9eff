import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DatabaseConnectionError, openDatabase } from '../../db/database.js';
import { freePort } from '../support/free-port.js';
import { createPostgresSchema } from '../support/postgres.js';
import { runProcess } from '../support/run-process.js';

const MAIN = resolve('server/main.ts');
// Resolved here, so the process can run in a throwaway working directory that has no node_modules.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const KEY = Buffer.alloc(32, 9).toString('base64');

/**
 * Starts `server/main.ts` from its sources (tsx), with exactly the given environment (no .env, no inherited config).
 * `npm start` runs the same code compiled: production-build.test.ts starts it that way.
 * When `until` shows up in the output, `whileRunning` looks at the running process, then it is stopped with SIGTERM.
 */
function start(
  env: Record<string, string>,
  options: { cwd?: string; until?: RegExp; whileRunning?: (output: string) => Promise<void>; timeoutMs?: number } = {},
) {
  const { whileRunning } = options;
  return runProcess(process.execPath, ['--import', TSX, MAIN], {
    env,
    cwd: options.cwd ?? process.cwd(),
    until: options.until,
    whileRunning: whileRunning && ((_pid, output) => whileRunning(output)),
    timeoutMs: options.timeoutMs ?? SPAWN_TIMEOUT - 5_000,
  });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sms-pd-start-'));
}

// Each test starts a real process (tsx compiles the server first): seconds each on a busy machine.
const SPAWN_TIMEOUT = 90_000;

describe('process start', { timeout: SPAWN_TIMEOUT }, () => {
  it('refuses to start with one readable message listing every configuration problem', async () => {
    const { code, output } = await start({ PIPEDRIVE_CLIENT_ID: 'cid', PORT: 'abc', TWILIO_FROM_NUMBER: 'nope' });
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration');
    expect(output).toContain('PORT must be a number');
    expect(output).toContain('TWILIO_FROM_NUMBER must be an E.164 number');
    expect(output).not.toContain('    at '); // no stack trace
  });

  it('treats a deployment that forgot its client id as misconfigured, not as a sandbox', async () => {
    const dir = tempDir();
    try {
      const { code, output } = await start(
        { NODE_ENV: 'production', DATABASE_URL: `file:${join(dir, 'prod.db')}`, ENCRYPTION_KEY: KEY, APP_URL: 'http://sms.example.com' },
        { cwd: dir },
      );
      expect(code).toBe(1);
      expect(output).toContain('Invalid configuration');
      expect(output).toContain(
        'PIPEDRIVE_CLIENT_ID is missing; sandbox mode is off because NODE_ENV=production, DATABASE_URL is set, ENCRYPTION_KEY is set',
      );
      // Every problem in the same message.
      expect(output).toContain('PIPEDRIVE_CLIENT_SECRET is missing');
      expect(output).toContain('APP_URL must be https in production');
      expect(output).not.toContain('SANDBOX');
      expect(existsSync(join(dir, 'prod.db'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with only NODE_ENV=production, lists what a deployment needs and creates nothing', async () => {
    const dir = tempDir();
    try {
      const { code, output } = await start({ NODE_ENV: 'production' }, { cwd: dir });
      expect(code).toBe(1);
      expect(output).toContain('PIPEDRIVE_CLIENT_ID is missing; sandbox mode is off because NODE_ENV=production');
      expect(output).toContain('PIPEDRIVE_CLIENT_SECRET is missing');
      expect(output).toContain('ENCRYPTION_KEY is required');
      expect(output).not.toContain('    at ');
      expect(existsSync(join(dir, 'data'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the sandbox with nothing configured: loopback only, its own database file, demo installed through OAuth', async () => {
    const dir = tempDir();
    // A production database already sits at the default path: the sandbox must neither open nor touch it.
    mkdirSync(join(dir, 'data'));
    const prodDb = join(dir, 'data', 'app.db');
    writeFileSync(prodDb, 'production data, not a SQLite file');
    const before = statSync(prodDb).mtimeMs;
    const port = await freePort();
    const otherAddresses = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    try {
      const { code, output } = await start(
        { PORT: String(port), APP_URL: `http://127.0.0.1:${port}` },
        {
          cwd: dir,
          until: /Demo persons/,
          whileRunning: async () => {
            expect(await reachable('127.0.0.1', port)).toBe(true);
            // The sandbox mints admin sessions without credentials: nobody else on the network may reach it.
            for (const address of otherAddresses) expect(await reachable(address, port)).toBe(false);
          },
        },
      );
      expect(output).toContain('SANDBOX mode');
      expect(output).toContain('"host":"127.0.0.1"');
      expect(output).toContain('Installed through the real OAuth flow: company "Acme Sandbox Inc." (id 1001), provisioning complete');
      expect(output).toMatch(/person field "SMS consent": [0-9a-f]{40}/);
      expect(output).toContain(`Database:           file:./data/sandbox.db (sqlite, migrated)`);
      expect(output).toContain('shutting down');
      expect(code).toBe(0);
      expect(existsSync(join(dir, 'data', 'sandbox.db'))).toBe(true);
      expect(readFileSync(prodDb, 'utf8')).toBe('production data, not a SQLite file');
      expect(statSync(prodDb).mtimeMs).toBe(before);
      expect(existsSync(`${prodDb}-wal`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('in production, says once which database and Pipedrive client it uses (no secrets) and listens on all interfaces', async () => {
    const pg = await createPostgresSchema();
    const url = new URL(pg.url);
    url.username = 'postgres';
    url.password = 'Db-Pass-7731'; // the local server trusts every connection; the password is only there to be hidden
    const port = await freePort();
    try {
      const { code, signal, output } = await start(
        {
          PIPEDRIVE_CLIENT_ID: 'visible-client-id',
          PIPEDRIVE_CLIENT_SECRET: 'Client-Secret-4410',
          ENCRYPTION_KEY: KEY,
          DATABASE_URL: url.toString(),
          PORT: String(port),
        },
        { until: /is listening/, whileRunning: async () => expect(await reachable('127.0.0.1', port)).toBe(true) },
      );
      // A SIGTERM must end in a clean exit; once in several loaded runs the process ended by the signal instead.
      expect(code, `ended by signal ${String(signal)}; output:\n${output.slice(-3000)}`).toBe(0);
      const line = output.split('\n').find((l) => l.includes('"msg":"configuration"'));
      expect(line).toBeDefined();
      expect(line).toContain('"engine":"postgres"');
      expect(line).toContain('postgres:***@127.0.0.1:5432/test');
      expect(line).toContain('"pipedriveClientId":"visible-client-id"');
      expect(output.split('"msg":"configuration"')).toHaveLength(2);
      expect(output).toMatch(/"host":"(::|0\.0\.0\.0)"/);
      expect(output).not.toContain('Db-Pass-7731');
      expect(output).not.toContain('Client-Secret-4410');
    } finally {
      await pg.drop();
    }
  });

  it('names DATABASE_URL and a connection problem when PostgreSQL cannot be reached, without the password', async () => {
    const dead = await freePort();
    const { code, output } = await start({
      PIPEDRIVE_CLIENT_ID: 'cid',
      PIPEDRIVE_CLIENT_SECRET: 'secret',
      ENCRYPTION_KEY: KEY,
      DATABASE_URL: `postgres://app:Hunter2-Db-Secret@127.0.0.1:${dead}/sms`,
      PORT: String(await freePort()),
    });
    expect(code).toBe(1);
    expect(output).toContain(`Database connection problem (DATABASE_URL): cannot connect to PostgreSQL at 127.0.0.1:${dead}, database "sms": connection refused`);
    expect(output).not.toContain('Hunter2-Db-Secret');
    expect(output).not.toMatch(/migration/i);
    expect(output).not.toContain('    at ');
  });
});

describe('a database that cannot be reached is a connection problem', () => {
  async function problemOf(url: string): Promise<string> {
    const database = openDatabase(url);
    try {
      await database.migrate();
    } catch (error) {
      expect(error).toBeInstanceOf(DatabaseConnectionError);
      return (error as Error).message;
    } finally {
      await database.close().catch(() => undefined);
    }
    throw new Error('migrate succeeded');
  }

  it('PostgreSQL: unknown host, unknown database', async () => {
    expect(await problemOf('postgres://app:Pw-Unknown-Host@no-such-host.invalid/sms')).toBe(
      'Database connection problem (DATABASE_URL): cannot connect to PostgreSQL at no-such-host.invalid:5432, database "sms": unknown host',
    );
    const message = await problemOf('postgres://postgres:Pw-No-Db@127.0.0.1:5432/no_such_database_7c1f');
    expect(message).toBe(
      'Database connection problem (DATABASE_URL): cannot connect to PostgreSQL at 127.0.0.1:5432, database "no_such_database_7c1f": the database does not exist',
    );
  });

  it('SQLite: a folder that cannot be created, a file that cannot be opened', () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'plain-file'), 'x');
      expect(() => openDatabase(`file:${join(dir, 'plain-file', 'sub', 'app.db')}`)).toThrowError(
        `Database connection problem (DATABASE_URL): the folder ${join(dir, 'plain-file', 'sub')} of the SQLite file cannot be created or opened (ENOTDIR)`,
      );
      mkdirSync(join(dir, 'a-folder.db'));
      expect(() => openDatabase(`file:${join(dir, 'a-folder.db')}`)).toThrowError(
        /^Database connection problem \(DATABASE_URL\): the SQLite file .*a-folder\.db cannot be opened/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** True when a TCP connection to address:port is accepted. */
function reachable(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
