import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = resolve('server/main.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const RECORD_LOADS = pathToFileURL(resolve('test/support/record-loads.mjs')).href;
const EMULATORS = pathToFileURL(resolve('emulators')).href + '/';
const SANDBOX = pathToFileURL(resolve('server/sandbox')).href + '/';

/** Starts the app as `npm start` does with exactly `env`, stops it once `until` is printed; returns the modules it loaded. */
async function modulesLoaded(env: Record<string, string>, until: RegExp): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sms-pd-loads-'));
  const log = join(dir, 'loaded.txt');
  const child = spawn(process.execPath, ['--import', TSX, '--import', RECORD_LOADS, MAIN], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOAD_LOG: log, ...env },
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  try {
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`did not print ${until}; output:\n${output}`)), 80_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (!until.test(output)) return;
        clearTimeout(timer);
        done();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', () => fail(new Error(`exited early; output:\n${output}`)));
    });
    return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
    rmSync(dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
  });
}

// The emulators mint admin sessions and fake a phone company: a production process must not even load them.
describe('which modules a process loads', { timeout: 90_000 }, () => {
  it('in production, none under emulators/ and none of the sandbox', async () => {
    const port = await freePort();
    const loaded = await modulesLoaded(
      {
        PIPEDRIVE_CLIENT_ID: 'client-id',
        PIPEDRIVE_CLIENT_SECRET: 'client-secret',
        ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
        DATABASE_URL: 'file:./data/prod.db',
        PORT: String(port),
      },
      /is listening/,
    );
    expect(loaded).toContain(pathToFileURL(MAIN).href);
    expect(loaded.filter((url) => url.startsWith(EMULATORS) || url.startsWith(SANDBOX))).toEqual([]);
  });

  it('in sandbox mode, the emulators (so the check above sees them when they load)', async () => {
    const port = await freePort();
    const loaded = await modulesLoaded({ PORT: String(port), APP_URL: `http://127.0.0.1:${port}` }, /Demo persons/);
    expect(loaded).toContain(`${EMULATORS}world.ts`);
    expect(loaded).toContain(`${EMULATORS}pipedrive/emulator.ts`);
    expect(loaded).toContain(`${SANDBOX}sandbox-mode.ts`);
  });
});
