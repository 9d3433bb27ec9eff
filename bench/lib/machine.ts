import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

/**
 * How busy the machine was with work that is not ours, from /proc (Linux only; null elsewhere). On a small shared
 * machine a neighbour's test run moves every figure; this says when that happened. Also what the local PostgreSQL
 * server spent, for the database cost per message.
 */

/** /proc times are in clock ticks of 1/100 s on Linux (USER_HZ). */
const MS_PER_TICK = 10;

type Snapshot = { busy: number; total: number; ours: Map<number, number> };

/** utime + stime of one process in ticks, or null when it is gone. */
function processTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command: utime is the 14th field overall, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

function read(pids: number[]): Snapshot | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = cpu;
    const busy = user + nice + system + irq + softirq + steal;
    const ours = new Map<number, number>();
    for (const pid of pids) {
      const ticks = processTicks(pid);
      if (ticks !== null) ours.set(pid, ticks);
    }
    return { busy, total: busy + idle + iowait, ours };
  } catch {
    return null;
  }
}

/** CPU ticks spent between two snapshots by the processes of `end`; one started meanwhile counts in full. */
function spent(start: Map<number, number>, end: Map<number, number>): number {
  let sum = 0;
  for (const [pid, ticks] of end) sum += ticks - (start.get(pid) ?? 0);
  return sum;
}

export type ForeignLoad = { foreignPct: number; oursPct: number } | null;

/**
 * Starts a measurement; the returned function gives the share of all CPUs used by others and by us since then.
 * `pids` may be a function, asked at the start and at the end (PostgreSQL starts a process per connection).
 */
export function watchMachine(pids: number[] | (() => number[])): () => ForeignLoad {
  const list = typeof pids === 'function' ? pids : () => pids;
  const start = read(list());
  return () => {
    const end = read(list());
    if (!start || !end || end.total === start.total) return null;
    const total = end.total - start.total;
    const ours = spent(start.ours, end.ours);
    const busy = end.busy - start.busy;
    return { foreignPct: Math.max(0, (100 * (busy - ours)) / total), oursPct: (100 * ours) / total };
  };
}

/** The processes of the local PostgreSQL server (postmaster, backends, background workers), by command name. */
export function postgresPids(): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * Starts a measurement of the CPU of the PostgreSQL backends serving the app under test (found by the
 * application_name its connection URL sets, so another client of the same server is not counted; the server's own
 * background writers are left out too). The returned function gives the milliseconds they spent since; a connection
 * opened meanwhile counts in full, one closed meanwhile is lost (the drain keeps its pool open). Null without /proc.
 */
export async function watchPostgres(databaseUrl: string): Promise<() => Promise<number | null>> {
  const name = new URL(databaseUrl).searchParams.get('application_name');
  if (!name) throw new Error('the app\'s database URL sets no application_name');
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  const ticks = async () => {
    const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [name]);
    return new Map(rows.flatMap(({ pid }) => {
      const t = processTicks(pid);
      return t === null ? [] : [[pid, t] as const];
    }));
  };
  const start = await ticks();
  return async () => {
    try {
      if (start.size === 0) return null;
      return spent(start, await ticks()) * MS_PER_TICK;
    } finally {
      await admin.end();
    }
  };
}
