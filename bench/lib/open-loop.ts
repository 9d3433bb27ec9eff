import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * The load generator's HTTP/1.1 client over raw keep-alive sockets (one request in flight per connection, no
 * pipelining; node:http's client costs more CPU per request than a bare Express handler) and its open loop.
 */

export type Target = { host: string; port: number; path: string; authorization?: string };

export type OpenResult = {
  scheduled: number;
  completed: number;
  statuses: Record<string, number>;
  errors: number;
  /** Latency of each completed request from its scheduled start (so queueing behind a slow answer counts). */
  latenciesMs: number[];
  /** How late the generator itself sent requests, p99 (timer granularity, a busy core). */
  sendLagP99Ms: number;
  achievedRps: number;
  /** The slowest requests with their due time from the start of the round, to see whether stalls cluster. */
  worst: Array<{ atMs: number; ms: number }>;
  /** Requests still unanswered 10 s after the last was sent (counted in `errors` too): the server fell behind. */
  unanswered: number;
};

type Done = (status: number | null, body?: Buffer) => void;

const HEADER_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection with at most one request in flight. */
export class Connection {
  private readonly socket: Socket;
  private buffer: Buffer | null = null;
  private done: Done | null = null;
  closed = false;

  constructor(target: Target) {
    this.socket = connect({ host: target.host, port: target.port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => this.fail());
    this.socket.on('close', () => this.fail());
  }

  get busy(): boolean {
    return this.done !== null;
  }

  send(request: Buffer, done: Done): void {
    this.done = done;
    this.socket.write(request);
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private fail(): void {
    this.closed = true;
    const done = this.done;
    this.done = null;
    done?.(null);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    const end = this.buffer.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buffer.toString('latin1', 0, end);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) {
      // Every answer of both servers carries Content-Length; anything else is a bug worth seeing.
      this.socket.destroy(new Error(`response without Content-Length: ${head.slice(0, 200)}`));
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (this.buffer.length < total) return;
    const body = this.buffer.subarray(end + 4, total);
    this.buffer = this.buffer.length > total ? this.buffer.subarray(total) : null;
    const done = this.done;
    this.done = null;
    done?.(Number(head.slice(9, 12)), body);
  }
}

export function rawRequest(target: Target, body: string): Buffer {
  return Buffer.from(
    `POST ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n${
      target.authorization ? `Authorization: ${target.authorization}\r\n` : ''
    }Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export type OpenCore = {
  target: Target;
  rate: number;
  durationMs: number;
  connections: number;
  /** Open every connection before the first request instead of 16 and more as they are needed (see openBodies). */
  preopen?: boolean;
};

/**
 * The open loop itself: `make(i, due)` gives request i's bytes (`due`: its due time on this process's
 * performance.now() clock); `onAnswer` sees each answer after its latency is taken.
 */
export async function openLoop(args: OpenCore, make: (seq: number, due: number) => Buffer, onAnswer?: (seq: number, status: number, body: Buffer) => void): Promise<OpenResult> {
  const total = Math.round((args.rate * args.durationMs) / 1000);
  const interval = 1000 / args.rate;
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const lags = new Float64Array(total);
  const worst: Array<{ atMs: number; ms: number }> = [];
  let errors = 0;
  let finished = 0;
  const idle: Connection[] = [];
  const all: Connection[] = [];
  const waiting: Array<{ due: number; request: Buffer; seq: number }> = [];

  for (let i = 0; i < (args.preopen ? args.connections : Math.min(args.connections, 16)); i++) {
    const c = new Connection(args.target);
    all.push(c);
    idle.push(c);
  }
  await sleep(50);

  let allDone: () => void = () => {};
  const complete = (due: number, status: number | null) => {
    finished++;
    if (status === null) errors++;
    else {
      statuses[status] = (statuses[status] ?? 0) + 1;
      const ms = performance.now() - due;
      latencies.push(ms);
      if (worst.length < 10 || ms > worst[worst.length - 1]!.ms) {
        worst.push({ atMs: Math.round(due - t0), ms: Math.round(ms * 10) / 10 });
        worst.sort((a, b) => b.ms - a.ms);
        if (worst.length > 10) worst.pop();
      }
    }
    if (finished === total) allDone();
  };
  const dispatch = (conn: Connection, due: number, request: Buffer, seq: number) => {
    conn.send(request, (status, body) => {
      complete(due, status);
      if (status !== null && onAnswer) onAnswer(seq, status, body!);
      if (conn.closed) return;
      const next = waiting.shift();
      if (next) dispatch(conn, next.due, next.request, next.seq);
      else idle.push(conn);
    });
  };
  const submit = (due: number, request: Buffer, seq: number) => {
    let conn = idle.pop();
    while (conn?.closed) conn = idle.pop();
    if (!conn && all.length < args.connections) {
      conn = new Connection(args.target);
      all.push(conn);
    }
    if (conn) dispatch(conn, due, request, seq);
    else waiting.push({ due, request, seq });
  };

  const t0 = performance.now() + 5;
  let i = 0;
  const finishedAll = new Promise<void>((r) => (allDone = r));
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (i < total && t0 + i * interval <= now) {
        const due = t0 + i * interval;
        lags[i] = now - due;
        submit(due, make(i, due), i);
        i++;
      }
      if (i >= total) return resolve();
      setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
    };
    tick();
  });
  const sendEnd = performance.now();
  await Promise.race([finishedAll, sleep(10_000)]);
  for (const c of all) c.close();
  return {
    scheduled: total,
    completed: latencies.length,
    statuses,
    errors: errors + (total - finished),
    latenciesMs: latencies,
    sendLagP99Ms: percentile(lags.sort(), 0.99),
    achievedRps: (total * 1000) / (sendEnd - t0),
    worst,
    unanswered: total - finished,
  };
}
