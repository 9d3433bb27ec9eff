import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { runProcess, type Ended } from '../support/run-process.js';

// Each test works in its own copy of the app (the sources, scripts and lock file, node_modules linked), so building
// there never touches the dist/ other tests use.
const APP_FILES = ['server', 'db', 'emulators', 'extension-ui', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json'];
// What `npm prune --omit=dev` takes away that the start script would need to build.
const BUILD_TOOLS = ['.bin', 'vite', 'esbuild', '@esbuild', 'tsx', '@vitejs', 'rolldown', '@rolldown'];
const RECORD_LOADS = pathToFileURL(resolve('test/support/record-loads.mjs')).href;
const KEY = Buffer.alloc(32, 5).toString('base64');
const TIMEOUT = 240_000;

function copyApp(into: string, { withBuildTools }: { withBuildTools: boolean }): string {
  mkdirSync(into, { recursive: true });
  for (const name of APP_FILES) cpSync(resolve(name), join(into, name), { recursive: true });
  if (withBuildTools) {
    symlinkSync(resolve('node_modules'), join(into, 'node_modules'));
  } else {
    mkdirSync(join(into, 'node_modules'));
    for (const name of readdirSync('node_modules').filter((n) => !BUILD_TOOLS.includes(n))) {
      symlinkSync(resolve('node_modules', name), join(into, 'node_modules', name));
    }
  }
  return into;
}

function productionEnv(dataDir: string, port: number): Record<string, string> {
  return {
    PIPEDRIVE_CLIENT_ID: 'client-id',
    PIPEDRIVE_CLIENT_SECRET: 'client-secret',
    ENCRYPTION_KEY: KEY,
    DATABASE_URL: `file:${join(dataDir, 'prod.db')}`,
    PORT: String(port),
  };
}

type Run = Ended & { /** From the spawn until /healthz first answered 200. */ readyMs: number | null };

/**
 * Runs `command` in the app's copy. Once `until` is printed, checks that `/healthz` on `port` answers 200 and lets
 * `whileRunning` look at the process (given its pid); then it is sent SIGTERM, the way a container runtime stops its
 * first process. Without `until`, waits for the process to end by itself.
 */
async function run(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; port?: number; until?: RegExp; whileRunning?: (pid: number) => Promise<void> },
): Promise<Run> {
  const started = performance.now();
  let readyMs: number | null = null;
  const ended = await runProcess(command, args, {
    ...options,
    timeoutMs: TIMEOUT - 10_000,
    whileRunning: async (pid) => {
      expect((await healthz(options.port!)).status).toBe(200);
      readyMs = performance.now() - started;
      await options.whileRunning?.(pid);
    },
  });
  return { ...ended, readyMs };
}

async function healthz(port: number): Promise<{ status: number; body: unknown }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      return { status: response.status, body: await response.json() };
    } catch (error) {
      if (attempt > 50) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function reachable(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/** The source files (relative to `app`) compiled into the files of `app`/dist/server the process loaded. */
function sourcesLoaded(app: string, loadLog: string): string[] {
  const distUrl = pathToFileURL(join(app, 'dist', 'server')).href + '/';
  return readFileSync(loadLog, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith(distUrl))
    .flatMap((url) => {
      const file = fileURLToPath(url);
      const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
      return map.sources.map((source) => resolve(dirname(file), source).slice(app.length + 1));
    });
}

let work: string;
// The app's process of the first test: should npm ever leave it behind, it is stopped here.
let server = 0;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sms-pd-build-'));
});
afterAll(() => {
  if (server && alive(server)) process.kill(server, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('the production build', { timeout: TIMEOUT }, () => {
  let app: string;

  it('npm start on a fresh clone builds, then runs the sandbox; SIGTERM to npm stops the app and frees the port', async () => {
    app = copyApp(join(work, 'app'), { withBuildTools: true });
    const port = await freePort();
    const { code, output } = await run('npm', ['start'], {
      cwd: app,
      env: { PORT: String(port), APP_URL: `http://127.0.0.1:${port}` },
      port,
      until: /Demo persons/,
      whileRunning: async (npm) => {
        // npm runs the script's node directly (no shell in between), and that process is the app.
        const children = childrenOf(npm);
        expect(children).toHaveLength(1);
        server = children[0]!;
        expect(readFileSync(`/proc/${server}/cmdline`, 'utf8').split('\0')).toEqual(['node', 'scripts/start.mjs', '']);
        expect(childrenOf(server)).toEqual([]);
      },
    });
    expect(output).toContain('Building first: there is no build in dist/');
    expect(output).toContain('SANDBOX mode');
    expect(output).toContain('"signal":"SIGTERM","msg":"shutting down"');
    // npm waited for the app's clean exit and passed its code on; nothing is left running.
    expect(code).toBe(0);
    expect(alive(server)).toBe(false);
    expect(await reachable(port)).toBe(false);
    expect(existsSync(join(app, 'dist/ui/panel/index.html'))).toBe(true);
    expect(existsSync(join(app, 'dist/server/main.js'))).toBe(true);
  });

  it('with a fresh build, npm start does not build again and runs production', async () => {
    const built = statSync(join(app, 'dist/server/main.js')).mtimeMs;
    const port = await freePort();
    const { code, output, readyMs } = await run('npm', ['start'], { cwd: app, env: productionEnv(work, port), port, until: /is listening/ });
    expect(output).not.toContain('Building');
    expect(statSync(join(app, 'dist/server/main.js')).mtimeMs).toBe(built);
    expect(output).toContain('"mode":"production"');
    expect(code).toBe(0);
    expect(await reachable(port)).toBe(false);
    console.log(`npm start with a fresh build: /healthz answered 200 after ${Math.round(readyMs!)} ms`);
  });

  it('the compiled server runs with plain node and loads no emulator or sandbox code in production', async () => {
    const loads = join(work, 'loads.txt');
    const port = await freePort();
    const production = await run('node', ['--import', RECORD_LOADS, 'dist/server/main.js'], {
      cwd: app,
      env: { ...productionEnv(work, port), LOAD_LOG: loads },
      port,
      until: /is listening/,
      whileRunning: async () => expect((await healthz(port)).body).toMatchObject({ status: 'ok', mode: 'production' }),
    });
    expect(production.code).toBe(0);
    const sources = sourcesLoaded(app, loads);
    expect(sources).toContain('server/main.ts');
    expect(sources).toContain('db/database.ts');
    expect(sources.filter((s) => s.startsWith('emulators/') || s.startsWith('server/sandbox/'))).toEqual([]);

    // The same check sees them when they load: sandbox mode, from its own chunk.
    rmSync(loads);
    const sandboxPort = await freePort();
    const sandbox = await run('node', ['--import', RECORD_LOADS, 'dist/server/main.js'], {
      cwd: app,
      env: { PORT: String(sandboxPort), APP_URL: `http://127.0.0.1:${sandboxPort}`, LOAD_LOG: loads },
      port: sandboxPort,
      until: /Demo persons/,
    });
    expect(sandbox.code).toBe(0);
    expect(sourcesLoaded(app, loads)).toEqual(expect.arrayContaining(['emulators/world.ts', 'server/sandbox/sandbox-mode.ts']));
  });

  it('without the build tools (npm prune --omit=dev), runs a fresh build and its commands, and refuses a stale one', async () => {
    const runtime = copyApp(join(work, 'runtime'), { withBuildTools: false });
    cpSync(join(app, 'dist'), join(runtime, 'dist'), { recursive: true });
    const port = await freePort();
    const started = await run('npm', ['start'], { cwd: runtime, env: productionEnv(work, port), port, until: /is listening/ });
    expect(started.output).not.toContain('Building');
    expect(started.code).toBe(0);

    // The operator's commands run compiled too (tsx is a devDependency).
    const backup = await run('npm', ['run', 'backup', '--', join(work, 'copy.db')], { cwd: runtime, env: productionEnv(work, port) });
    expect(backup.output).toContain(`to ${join(work, 'copy.db')}`);
    expect(backup.code).toBe(0);

    appendFileSync(join(runtime, 'server/errors.ts'), '\n// changed after the build\n');
    const stale = await run('npm', ['start'], { cwd: runtime, env: productionEnv(work, port) });
    expect(stale.code).toBe(1);
    expect(stale.output).toContain(
      'Cannot start: the sources changed since the last build, and the build tools (vite, esbuild) are not installed: they are devDependencies.',
    );
    expect(stale.output).not.toContain('is listening');
  });
});
