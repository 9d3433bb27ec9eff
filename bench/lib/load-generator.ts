import { connect, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { serve } from './ipc.js';
import { renderTemplate, webhookTemplate, type Scenario, type WebhookKind } from './payloads.js';

/**
 * The load generator, in its own process. It speaks HTTP/1.1 over raw keep-alive sockets (one request in flight per
 * connection, no pipelining) because node:http's client costs more CPU per request than a bare Express handler, and a
 * generator slower than the server would flatten the ratio we want to measure.
 */

export type Target = { host: string; port: number; path: string; authorization?: string };

export type ClosedArgs = { target: Target; scenario: Scenario; mix: WebhookKind[]; connections: number; warmupMs: number; durationMs: number };
export type ClosedResult = {
  completed: number;
  /** Every answer of the call, warm-up and tail included: what the server's CPU time was spent on. */
  allCompleted: number;
  elapsedMs: number;
  rps: number;
  statuses: Record<string, number>;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  /** The generator's own CPU over the call; near 100 it, not the server, would be the limit. */
  generatorCpuPct: number;
};

export type OpenArgs = { target: Target; scenario: Scenario; mix: WebhookKind[]; rate: number; durationMs: number; connections: number };
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
};

export type BatchArgs = { target: Target; bodies: string[]; connections: number };
export type BatchResult = { statuses: Record<string, number>; errors: number; ms: number };

type Done = (status: number | null) => void;

const HEADER_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection with at most one request in flight. */
class Connection {
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
    this.buffer = this.buffer.length > total ? this.buffer.subarray(total) : null;
    const done = this.done;
    this.done = null;
    done?.(Number(head.slice(9, 12)));
  }
}

/** Request bytes for the webhook mix: a fresh UUID per request so every one is recorded, never a duplicate. */
function requestMaker(target: Target, scenario: Scenario, mix: WebhookKind[]): () => Buffer {
  const templates = mix.map((kind) => webhookTemplate(scenario, kind));
  let seq = 0;
  const head = `POST ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n${
    target.authorization ? `Authorization: ${target.authorization}\r\n` : ''
  }Content-Type: application/json\r\nUser-Agent: Pipedrive-Webhooks\r\nContent-Length: `;
  return () => {
    const n = seq++;
    const body = renderTemplate(templates[n % templates.length]!, randomUUID(), 100_000 + (n % 50_000));
    return Buffer.from(`${head}${Buffer.byteLength(body)}\r\n\r\n${body}`);
  };
}

function rawRequest(target: Target, body: string): Buffer {
  return Buffer.from(
    `POST ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n${
      target.authorization ? `Authorization: ${target.authorization}\r\n` : ''
    }Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Closed loop: every connection sends its next request as soon as the previous answer arrives (max throughput). */
async function closed(args: ClosedArgs): Promise<ClosedResult> {
  const make = requestMaker(args.target, args.scenario, args.mix);
  const statuses: Record<string, number> = {};
  let errors = 0;
  let completed = 0;
  let allCompleted = 0;
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const measureFrom = start + args.warmupMs;
  const measureTo = measureFrom + args.durationMs;
  let stopping = false;
  let inFlight = 0;
  let drained: () => void = () => {};

  const loop = (conn: Connection) => {
    if (stopping || conn.closed) {
      if (inFlight === 0) drained();
      return;
    }
    const sentAt = performance.now();
    inFlight++;
    conn.send(make(), (status) => {
      inFlight--;
      const now = performance.now();
      const inWindow = now >= measureFrom && now < measureTo;
      if (status !== null) allCompleted++;
      if (status === null) {
        if (inWindow) errors++;
      } else if (inWindow) {
        statuses[status] = (statuses[status] ?? 0) + 1;
        completed++;
        latencies.push(now - sentAt);
      }
      loop(status === null && !stopping ? replace() : conn);
    });
  };
  const replace = () => {
    const fresh = new Connection(args.target);
    conns.push(fresh);
    return fresh;
  };

  const conns = Array.from({ length: args.connections }, () => new Connection(args.target));
  conns.forEach(loop);
  await sleep(args.warmupMs + args.durationMs);
  stopping = true;
  await Promise.race([new Promise<void>((r) => (drained = r)), sleep(5_000)]);
  for (const c of conns) c.close();
  const cpu = process.cpuUsage(cpu0);
  const sorted = Float64Array.from(latencies).sort();
  return {
    completed,
    allCompleted,
    elapsedMs: args.durationMs,
    rps: (completed * 1000) / args.durationMs,
    statuses,
    errors,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    generatorCpuPct: (100 * (cpu.user + cpu.system)) / 1000 / (performance.now() - start),
  };
}

/**
 * Open loop at a fixed rate: request i is due at t0 + i / rate whether or not earlier ones were answered, and its
 * latency counts from that due time, so a stall shows up in every request it delays (no coordinated omission).
 */
async function open(args: OpenArgs): Promise<OpenResult> {
  const make = requestMaker(args.target, args.scenario, args.mix);
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
  const waiting: Array<{ due: number; request: Buffer }> = [];

  for (let i = 0; i < Math.min(args.connections, 16); i++) {
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
  const dispatch = (conn: Connection, due: number, request: Buffer) => {
    conn.send(request, (status) => {
      complete(due, status);
      if (conn.closed) return;
      const next = waiting.shift();
      if (next) dispatch(conn, next.due, next.request);
      else idle.push(conn);
    });
  };
  const submit = (due: number, request: Buffer) => {
    let conn = idle.pop();
    while (conn?.closed) conn = idle.pop();
    if (!conn && all.length < args.connections) {
      conn = new Connection(args.target);
      all.push(conn);
    }
    if (conn) dispatch(conn, due, request);
    else waiting.push({ due, request });
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
        submit(due, make());
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
  };
}

/** Sends the given bodies once each with a few connections; used to enqueue the drain's outbox rows. */
async function batch(args: BatchArgs): Promise<BatchResult> {
  const statuses: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  const start = performance.now();
  const lane = async () => {
    let conn = new Connection(args.target);
    while (next < args.bodies.length) {
      const body = args.bodies[next++]!;
      const status = await new Promise<number | null>((resolve) => conn.send(rawRequest(args.target, body), resolve));
      if (status === null) {
        errors++;
        conn = new Connection(args.target);
      } else statuses[status] = (statuses[status] ?? 0) + 1;
    }
    conn.close();
  };
  await Promise.all(Array.from({ length: args.connections }, lane));
  return { statuses, errors, ms: performance.now() - start };
}

serve({ closed, open, batch });
