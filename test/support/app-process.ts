import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { enqueuePanelMessage } from '../../server/outbox/outbox-store.js';
import { freePort } from './free-port.js';
import { CLIENT_ID, createRigOn, FROM_NUMBER, sleep, type Engine, type Rig } from './rig.js';

const MAIN = resolve('server/main.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** A real app process (`server/main.ts` in production mode) on the rig's database, emulators and callback address. */
export type AppProcess = {
  child: ChildProcess;
  /** When the process was spawned and when it said it listens (Date.now()). */
  spawnedAt: number;
  listening: Promise<number>;
  output(): string;
  /** Resolves with the exit code (null when ended by a signal) and when it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
};

/** Starts the app as an operator does, configured against the rig's emulators, with only the given environment. */
export async function startAppProcess(rig: Rig, env: Record<string, string> = {}): Promise<AppProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', TSX, MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      PIPEDRIVE_CLIENT_ID: CLIENT_ID,
      PIPEDRIVE_CLIENT_SECRET: rig.config.pipedrive.clientSecret,
      PIPEDRIVE_OAUTH_URL: rig.pd.url,
      // Status callbacks go to the rig's own app, on the same database.
      APP_URL: rig.appUrl,
      DATABASE_URL: rig.config.databaseUrl,
      ENCRYPTION_KEY: rig.config.encryptionKey.toString('base64'),
      TWILIO_ACCOUNT_SID: rig.twAccount.sid,
      TWILIO_AUTH_TOKEN: rig.twAccount.authToken,
      TWILIO_FROM_NUMBER: FROM_NUMBER,
      TWILIO_API_URL: rig.tw.url,
      PORT: String(port),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawnedAt = Date.now();
  let output = '';
  let onListening: (at: number) => void = () => undefined;
  const listening = new Promise<number>((done) => (onListening = done));
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes('is listening')) onListening(Date.now());
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal, at: Date.now() })),
  );
  return { child, spawnedAt, listening, output: () => output, exited };
}

/** Queues `count` panel texts to the demo's consenting contact, each body unique (`<tag> #<n>`). */
export async function queueTexts(rig: Rig, tag: string, count: number): Promise<string[]> {
  const ann = rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
  const at = new Date().toISOString();
  const ids: string[] = [];
  for (let n = 0; n < count; n++) {
    const id = randomUUID();
    ids.push(id);
    await enqueuePanelMessage(rig.ctx.database.db, {
      id,
      companyId: String(rig.demo.companyId),
      createdBy: String(rig.demo.adminUserId),
      dealId: ann.dealId,
      personId: ann.id,
      template: `${tag} #${n}`,
      context: JSON.stringify({}),
      at,
    });
  }
  return ids;
}

/** How many times each of the tagged texts reached Twilio, by its number in the tag. */
export function textsAtTwilio(rig: Rig, tag: string): Map<string, number> {
  const seen = new Map<string, number>();
  const mark = new RegExp(`${tag} #(\\d+)`);
  for (const m of rig.tw.messages()) {
    const n = mark.exec(m.body)?.[1];
    if (n !== undefined) seen.set(n, (seen.get(n) ?? 0) + 1);
  }
  return seen;
}

export async function until(done: () => boolean | Promise<boolean>, ms: number, label: string): Promise<void> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(25)) if (await done()) return;
  throw new Error(`timed out after ${ms} ms waiting for ${label}`);
}

/** Each Twilio call takes this long in a draining rig, so a drain is in progress when a test stops the process. */
const TWILIO_DELAY_MS = 700;

/**
 * A rig with the demo installed, `count` texts queued (tagged `tag`) and a slow Twilio, and the app processes a test
 * starts on it (`start`), all killed by `close`. `rows` reads the texts' rows; `env` paces the shared sender at 10/s.
 */
export async function drainingRig(engine: Engine, tag: string, count: number) {
  const rig = await createRigOn(engine);
  await rig.installDemo();
  rig.tw.injectFault({ method: 'POST', path: /\/Messages\.json$/, delayMs: TWILIO_DELAY_MS, times: 10_000 });
  const ids = await queueTexts(rig, tag, count);
  const processes: AppProcess[] = [];
  return {
    rig,
    rows: () =>
      rig.ctx.database.db.selectFrom('outbound_messages').select(['id', 'state', 'claimed_by', 'claimed_until']).where('id', 'in', ids).execute(),
    async start() {
      const started = await startAppProcess(rig, { SHARED_SENDER_RATE: '10' });
      processes.push(started);
      return started;
    },
    async close() {
      for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await rig.close();
    },
  };
}
