import { readFileSync } from 'node:fs';

/**
 * How busy the machine was with work that is not ours, from /proc (Linux only; null elsewhere). On a small shared
 * machine a neighbour's test run moves every figure; this says when that happened.
 */

type Snapshot = { busy: number; total: number; ours: number };

function read(pids: number[]): Snapshot | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = cpu;
    const busy = user + nice + system + irq + softirq + steal;
    let ours = 0;
    for (const pid of pids) {
      // Fields after the parenthesised command: utime is the 14th field overall, stime the 15th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ours += Number(fields[11]) + Number(fields[12]);
    }
    return { busy, total: busy + idle + iowait, ours };
  } catch {
    return null;
  }
}

export type ForeignLoad = { foreignPct: number; oursPct: number } | null;

/** Starts a measurement; the returned function gives the share of all CPUs used by others and by us since then. */
export function watchMachine(pids: number[]): () => ForeignLoad {
  const start = read(pids);
  return () => {
    const end = read(pids);
    if (!start || !end || end.total === start.total) return null;
    const total = end.total - start.total;
    const ours = end.ours - start.ours;
    const busy = end.busy - start.busy;
    return { foreignPct: Math.max(0, (100 * (busy - ours)) / total), oursPct: (100 * ours) / total };
  };
}
