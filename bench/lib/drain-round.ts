import type { DrainResult, SqlTime } from './app-host.js';
import type { BatchResult, Target } from './load-generator.js';
import { watchMachine, watchPostgres, postgresPids, type ForeignLoad } from './machine.js';
import type { Scenario } from './payloads.js';
import { stageMatchFor, usPhones } from './contacts.js';
import type { ProfileSummary } from './profile.js';
import type { Peer } from './ipc.js';
import type { Stack } from './stack.js';
import { round } from './stats.js';

/**
 * One drain round: N consenting persons, each with a deal that enters the automation's stage, are enqueued through
 * the webhook, then the outbox is drained (by one app process, or by several on one PostgreSQL schema at once) and
 * what reached the Twilio emulator is checked: every recipient exactly once. Also what the worker asked of the
 * services per message, the statements it sent to its database and, on PostgreSQL, the server's CPU.
 */


export type DrainOptions = {
  phone?: () => string;
  /** The recipients' window is closed: every message is held for their morning, none sent. */
  held?: boolean;
  profileFile?: string;
  /** App processes that drain together (default: the stack's one). */
  drainers?: Peer[];
};

export type DrainRound = {
  n: number;
  ms: number;
  perSecond: number;
  passes: number;
  appCpuMsPerMessage: number;
  appCpuPct: number;
  emulatorCpuPct: number;
  enqueueMs: number;
  /** Statements the app sent to its database per message (SQLite: statement runs; PostgreSQL: queries, BEGIN/COMMIT included). */
  queriesPerMessage: number;
  /** PostgreSQL only: the server's CPU per message (all its processes, from /proc). */
  dbCpuMsPerMessage: number | null;
  /** Each drainer's share of the messages (several drainers only). */
  shares: number[];
  duplicates: number;
  machine: ForeignLoad;
  callsPerMessage: Record<string, number>;
  profile: ProfileSummary | null;
};

export function createDrainer(stack: Stack, scenario: Scenario, appTarget: Target, check: (ok: boolean, message: string) => void) {
  const { pd, tw, host, gen, pids, info } = stack;
  const postgres = info.engine === 'postgres';
  const nextPhone = usPhones();
  let seq = 0;

  return async function runDrain(n: number, label: string, opts: DrainOptions = {}): Promise<DrainRound> {
    const drainers = opts.drainers ?? [host];
    await host.call<number>('discardQueued');
    const bodies: string[] = [];
    const phones = new Set<string>();
    for (let i = 0; i < n; i++) {
      const phone = (opts.phone ?? nextPhone)();
      phones.add(phone);
      seq++;
      bodies.push(stageMatchFor(stack, scenario, { phone, firstName: `Bench${seq}`, dealTitle: `Heat pump #${seq}` }).body);
    }
    const posted = await gen.call<BatchResult>('batch', { target: appTarget, bodies, connections: 8 });
    check(posted.statuses['200'] === n, `drain ${label}: enqueueing answered ${JSON.stringify(posted.statuses)}`);
    const queued = (await host.call<{ outbox: Record<string, number> }>('counts')).outbox;
    const sentBefore = queued.sent ?? 0;
    const heldBefore = queued.scheduled ?? 0;
    const twBefore = tw.messages().filter((m) => m.direction === 'outbound-api').length;

    const pdSeen = pd.requests.length;
    const twSeen = tw.requests.length;
    const emu0 = process.cpuUsage();
    const allPids = [...pids, ...drainers.map((d) => d.pid)];
    const machine = watchMachine(() => (postgres ? [...allPids, ...postgresPids()] : allPids));
    const database = postgres ? await watchPostgres(info.databaseUrl) : null;
    if (opts.profileFile) await host.call('profileStart');
    const sqlTimes = postgres && process.env.BENCH_SQL_TIMES === '1';
    if (sqlTimes) await host.call('sqlTimesStart');
    const results = await Promise.all(drainers.map((d) => d.call<DrainResult>('drain')));
    if (sqlTimes) {
      const top = await host.call<SqlTime[]>('sqlTimesStop', { top: 12 });
      process.stderr.write(`drain ${label}: statements by total time (app process 1):\n${top.map((t) => `  ${String(t.totalMs).padStart(6)} ms ${String(t.count).padStart(6)}x ${t.meanMs.toFixed(2).padStart(6)} ms  ${t.sql}`).join('\n')}\n`);
    }
    const profile = opts.profileFile ? await host.call<ProfileSummary>('profileStop', { file: opts.profileFile, units: n }) : null;
    const dbCpuMs = database ? await database() : null;
    const emu = process.cpuUsage(emu0);
    const load = machine();
    const states = (await host.call<{ outbox: Record<string, number> }>('counts')).outbox;

    // What the worker asked of the services, per message: the shape of its I/O.
    const calls: Record<string, number> = {};
    for (const [who, list] of [['pipedrive', pd.requests.slice(pdSeen)], ['twilio', tw.requests.slice(twSeen)]] as const) {
      for (const r of list) {
        const key = `${who} ${r.method} ${r.path.replace(/\/\d+(?=\/|$)/g, '/:id').replace(/AC[0-9a-f]+/, ':account')} ${r.status ?? '?'}`;
        calls[key] = (calls[key] ?? 0) + 1;
      }
    }
    const fresh = tw.messages().filter((m) => m.direction === 'outbound-api').slice(twBefore);
    const recipients = new Map<string, number>();
    for (const m of fresh) recipients.set(m.to, (recipients.get(m.to) ?? 0) + 1);
    const duplicates = [...recipients.values()].reduce((sum, k) => sum + Math.max(0, k - 1), 0);
    if (opts.held) {
      check(fresh.length === 0 && (states.scheduled ?? 0) - heldBefore === n, `drain ${label}: expected ${n} held, none sent (${fresh.length} sent; ${JSON.stringify(states)})`);
    } else {
      check(fresh.length === n, `drain ${label}: the Twilio emulator received ${fresh.length} messages, expected ${n}`);
      check(duplicates === 0, `drain ${label}: ${duplicates} recipients got a second text`);
      check([...phones].every((p) => recipients.get(p) === 1) && recipients.size === n, `drain ${label}: not every recipient got exactly one message`);
      check((states.sent ?? 0) - sentBefore === n, `drain ${label}: ${(states.sent ?? 0) - sentBefore} rows sent of ${n} (${JSON.stringify(states)})`);
      check((states.scheduled ?? 0) === heldBefore, `drain ${label}: held messages changed (${heldBefore} before, ${JSON.stringify(states)})`);
    }
    const ms = Math.max(...results.map((r) => r.ms));
    const cpuMs = results.reduce((sum, r) => sum + r.cpuMs, 0);
    const queries = results.reduce((sum, r) => sum + r.queries, 0);
    const perSecond = (n * 1000) / ms;
    const round2 = (x: number) => round(x, 2);
    process.stderr.write(
      `drain ${label}: ${n} messages in ${Math.round(ms)} ms = ${Math.round(perSecond)} msg/s (${results.map((r) => r.passes).join('+')} passes, app CPU ${(cpuMs / n).toFixed(2)} ms/msg, ` +
        `${(queries / n).toFixed(1)} statements/msg${dbCpuMs === null ? '' : `, PostgreSQL CPU ${(dbCpuMs / n).toFixed(2)} ms/msg`}${drainers.length > 1 ? `, shares ${results.map((r) => r.handled).join('/')}` : ''}); ` +
        `other processes ${load ? `${Math.round(load.foreignPct)}%` : 'n/a'}; calls: ${JSON.stringify(calls)}\n`,
    );
    return {
      n,
      ms,
      perSecond,
      passes: results.reduce((sum, r) => sum + r.passes, 0),
      appCpuMsPerMessage: cpuMs / n,
      appCpuPct: (100 * cpuMs) / ms,
      emulatorCpuPct: (100 * (emu.user + emu.system)) / 1000 / ms,
      enqueueMs: posted.ms,
      queriesPerMessage: queries / n,
      dbCpuMsPerMessage: dbCpuMs === null ? null : dbCpuMs / n,
      shares: drainers.length > 1 ? results.map((r) => r.handled) : [],
      duplicates,
      machine: load,
      callsPerMessage: Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, round2(v / n)])),
      profile,
    };
  };
}

/** A drain round as the results file keeps it. */
export function roundDrain({ profile: _p, ...d }: DrainRound) {
  return {
    ...d,
    ms: round(d.ms),
    perSecond: round(d.perSecond),
    appCpuMsPerMessage: round(d.appCpuMsPerMessage, 3),
    appCpuPct: round(d.appCpuPct),
    emulatorCpuPct: round(d.emulatorCpuPct),
    enqueueMs: round(d.enqueueMs),
    queriesPerMessage: round(d.queriesPerMessage, 2),
    dbCpuMsPerMessage: d.dbCpuMsPerMessage === null ? null : round(d.dbCpuMsPerMessage, 3),
  };
}
