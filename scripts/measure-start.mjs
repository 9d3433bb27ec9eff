/* global fetch */
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import console from 'node:console';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, URL } from 'node:url';
import { buildState } from './build-stamp.mjs';

/**
 * `node scripts/measure-start.mjs [rounds]`: how long the app takes from its command to the first 200 of /healthz, in
 * production mode on a SQLite file already migrated, for each way of starting it, taken in turns (the machine's load
 * changes), with the CPU time the process used until then (less at the mercy of other processes than the wall
 * clock); and how long `npm start` takes to see that dist/ is fresh. Needs a fresh build (`npm run build`) and the
 * devDependencies (tsx).
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const rounds = Number(process.argv[2] ?? 5);
const WAYS = {
  'node dist/server/main.js': [process.execPath, 'dist/server/main.js'],
  'node scripts/start.mjs (npm start)': [process.execPath, 'scripts/start.mjs'],
  // What npm start ran before the build, without the tsx command's own extra process.
  'node --import tsx server/main.ts': [process.execPath, '--import', 'tsx', 'server/main.ts'],
};

if (!buildState(ROOT).fresh) {
  console.error('dist/ does not hold a build of these sources: run npm run build first.');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'sms-pd-measure-'));
let port = 47_000 + Math.floor(Math.random() * 1000);

async function startOnce([command, ...args]) {
  port += 1;
  const started = performance.now();
  const child = spawn(command, args, {
    cwd: ROOT,
    stdio: 'ignore',
    env: {
      PATH: process.env.PATH,
      PIPEDRIVE_CLIENT_ID: 'measure',
      PIPEDRIVE_CLIENT_SECRET: 'measure',
      ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
      DATABASE_URL: `file:${join(dir, 'measure.db')}`,
      PORT: String(port),
    },
  });
  try {
    for (;;) {
      const status = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
      if (status === 200) return { wall: performance.now() - started, cpu: cpuMs(child.pid) };
      if (child.exitCode !== null) throw new Error(`${command} ${args.join(' ')} exited with ${child.exitCode}`);
      await sleep(5);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((done) => (child.exitCode === null ? child.once('exit', done) : done()));
  }
}

/** User and system CPU time of a process so far (Linux: /proc/<pid>/stat, in clock ticks of 10 ms). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
try {
  await startOnce(WAYS['node dist/server/main.js']); // creates and migrates the database
  const times = Object.fromEntries(Object.keys(WAYS).map((way) => [way, []]));
  for (let round = 0; round < rounds; round++) for (const [way, command] of Object.entries(WAYS)) times[way].push(await startOnce(command));
  for (const [way, values] of Object.entries(times)) {
    const wall = values.map((v) => Math.round(v.wall));
    console.log(`${way}: median ${median(wall)} ms to the first /healthz 200 (${wall.join(', ')}), CPU ${median(values.map((v) => v.cpu))} ms`);
  }
  const checks = Array.from({ length: rounds }, () => {
    const started = performance.now();
    buildState(ROOT);
    return performance.now() - started;
  });
  console.log(`the freshness check of npm start (hashing the sources): median ${median(checks).toFixed(1)} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
