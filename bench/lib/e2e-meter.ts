import type { CpuSample, Observation } from './app-host.js';
import type { Peer } from './ipc.js';
import { postgresPids, watchMachine, watchPostgres } from './machine.js';
import { round } from './stats.js';

/**
 * What the machine did during one run of the end-to-end section: the app process's CPU (Node runs it on one core), its
 * event loop (delays, GC), the SQL statements it sent, the PostgreSQL server's CPU, and the share of the machine used by
 * processes that are not ours (a neighbour's test run moves every figure; this says when that happened).
 */

export type Meter = {
  /** The app process's CPU, % of one core. */
  appCpuPct: number;
  /** The PostgreSQL server's processes, % of one core (null on SQLite). */
  postgresCpuPct: number | null;
  statements: number;
  foreignPct: number | null;
  /** The share of the whole machine (every core) used by the bench's own processes, PostgreSQL included. */
  oursPct: number | null;
  host: Observation;
};

/** `databaseUrl`: the app's PostgreSQL URL (its backends are found by its application_name), null on SQLite. */
export async function startMeter(host: Peer, ours: number[], databaseUrl: string | null): Promise<() => Promise<Meter>> {
  await host.call('observeStart');
  const cpu0 = await host.call<CpuSample>('cpu');
  const q0 = await host.call<number>('queries');
  const machine = watchMachine(() => (databaseUrl ? [...ours, ...postgresPids()] : ours));
  const pgCpu = databaseUrl ? await watchPostgres(databaseUrl) : null;
  return async () => {
    const load = machine();
    const pgMs = pgCpu ? await pgCpu() : null;
    const cpu1 = await host.call<CpuSample>('cpu');
    const q1 = await host.call<number>('queries');
    const host1 = await host.call<Observation>('observeStop');
    const wallMs = cpu1.at - cpu0.at;
    return {
      appCpuPct: round((100 * (cpu1.userMs + cpu1.systemMs - cpu0.userMs - cpu0.systemMs)) / wallMs),
      postgresCpuPct: pgMs === null ? null : round((100 * pgMs) / wallMs),
      statements: q1 - q0,
      foreignPct: load ? round(load.foreignPct) : null,
      oursPct: load ? round(load.oursPct) : null,
      host: host1,
    };
  };
}
