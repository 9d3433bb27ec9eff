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
  /** Requests still unanswered 10 s after the last was sent (counted in `errors` too): the server fell behind. */
  unanswered: number;
};

export type BatchArgs = { target: Target; bodies: string[]; connections: number };
export type BatchResult = { statuses: Record<string, number>; errors: number; ms: number };

/**
 * What a GET answer must contain: `count` occurrences of `marker` (e.g. one per listed item) and every string of
 * `contains`. Substring checks, not JSON.parse, so checking every answer costs the generator next to nothing.
 */
export type AnswerCheck = { marker: string; count: number; contains: string[] };
/** A GET to repeat; a list of them is cycled through in order. `target.path` is not used by the GET modes. */
export type GetRequest = { path: string; check?: AnswerCheck };
export type GetAnswers = {
  statuses: Record<string, number>;
  errors: number;
  /** Answers with status 200 that failed their check, and the first such failure. */
  failedChecks: number;
  firstFailure: string | null;
  bytes: { min: number; max: number; mean: number };
  /** The first answer's body, when asked for (to validate it fully with JSON.parse). */
  sample: string | null;
};
/** `maxMs` bounds a slow server's round: no request is started after it (those started are waited for). */
export type GetClosedArgs = { target: Target; requests: GetRequest[]; connections: number; count: number; maxMs?: number; keepSample?: boolean };
export type GetClosedResult = GetAnswers & { completed: number; latenciesMs: number[]; ms: number; rps: number; generatorCpuPct: number };
export type GetOpenArgs = { target: Target; requests: GetRequest[]; rate: number; durationMs: number; connections: number };
export type GetOpenResult = OpenResult & GetAnswers;

type Done = (status: number | null, body?: Buffer) => void;

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
    const body = this.buffer.subarray(end + 4, total);
    this.buffer = this.buffer.length > total ? this.buffer.subarray(total) : null;
    const done = this.done;
    this.done = null;
    done?.(Number(head.slice(9, 12)), body);
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
  return openLoop(args, () => make());
}

type OpenCore = { target: Target; rate: number; durationMs: number; connections: number };

/** The open loop itself: `make(i)` gives request i's bytes; `onAnswer` sees each answer after its latency is taken. */
async function openLoop(args: OpenCore, make: (seq: number) => Buffer, onAnswer?: (seq: number, status: number, body: Buffer) => void): Promise<OpenResult> {
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
        submit(due, make(i), i);
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

/** Request bytes of a GET list, built once; `check` of each alongside. */
function getRequests(target: Target, requests: GetRequest[]): Buffer[] {
  return requests.map((r) =>
    Buffer.from(
      `GET ${r.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n${
        target.authorization ? `Authorization: ${target.authorization}\r\n` : ''
      }Accept: application/json\r\n\r\n`,
    ),
  );
}

function countOf(body: Buffer, marker: Buffer): number {
  let n = 0;
  for (let i = body.indexOf(marker); i >= 0; i = body.indexOf(marker, i + marker.length)) n++;
  return n;
}

/** Tallies statuses, sizes and checks of GET answers. */
function answerBook(requests: GetRequest[], keepSample: boolean) {
  const checks = requests.map((r) => (r.check ? { ...r.check, markerBytes: Buffer.from(r.check.marker) } : null));
  const book: GetAnswers = { statuses: {}, errors: 0, failedChecks: 0, firstFailure: null, bytes: { min: Infinity, max: 0, mean: 0 }, sample: null };
  let bytesTotal = 0;
  let answered = 0;
  return {
    book,
    answer(seq: number, status: number | null, body: Buffer | undefined) {
      if (status === null || !body) {
        book.errors++;
        return;
      }
      book.statuses[status] = (book.statuses[status] ?? 0) + 1;
      answered++;
      bytesTotal += body.length;
      book.bytes.min = Math.min(book.bytes.min, body.length);
      book.bytes.max = Math.max(book.bytes.max, body.length);
      if (keepSample && book.sample === null) book.sample = body.toString('utf8');
      const check = checks[seq % checks.length];
      if (status !== 200 || !check) return;
      const n = countOf(body, check.markerBytes);
      const missing = check.contains.find((c) => body.indexOf(c) < 0);
      if (n !== check.count || missing !== undefined) {
        book.failedChecks++;
        book.firstFailure ??= `${requests[seq % requests.length]!.path}: ${n} × ${check.marker} (expected ${check.count})${missing !== undefined ? `, missing ${missing}` : ''}`;
      }
    },
    finish(): GetAnswers {
      book.bytes.mean = answered ? bytesTotal / answered : 0;
      if (!answered) book.bytes.min = 0;
      return book;
    },
  };
}

/** Closed loop over a fixed number of GETs: `connections` lanes, each sending its next request when answered. */
async function getClosed(args: GetClosedArgs): Promise<GetClosedResult> {
  const bytes = getRequests(args.target, args.requests);
  const tally = answerBook(args.requests, args.keepSample ?? false);
  const latencies: number[] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const stopAt = start + (args.maxMs ?? Infinity);
  const lane = async () => {
    let conn = new Connection(args.target);
    while (next < args.count && performance.now() < stopAt) {
      const seq = next++;
      const sentAt = performance.now();
      const [status, body] = await new Promise<[number | null, Buffer | undefined]>((resolve) =>
        conn.send(bytes[seq % bytes.length]!, (s, b) => resolve([s, b])),
      );
      if (status !== null) latencies.push(performance.now() - sentAt);
      tally.answer(seq, status, body);
      if (status === null) conn = new Connection(args.target);
    }
    conn.close();
  };
  await Promise.all(Array.from({ length: Math.min(args.connections, args.count) }, lane));
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  return {
    ...tally.finish(),
    completed: latencies.length,
    latenciesMs: latencies,
    ms,
    rps: (latencies.length * 1000) / ms,
    generatorCpuPct: (100 * (cpu.user + cpu.system)) / 1000 / ms,
  };
}

/** Open loop at a fixed rate over a list of GETs (see `open`). */
async function getOpen(args: GetOpenArgs): Promise<GetOpenResult> {
  const bytes = getRequests(args.target, args.requests);
  const tally = answerBook(args.requests, false);
  const r = await openLoop(args, (seq) => bytes[seq % bytes.length]!, (seq, status, body) => tally.answer(seq, status, body));
  const { statuses: _s, errors: _e, ...answers } = tally.finish();
  return { ...r, ...answers };
}

serve({ closed, open, batch, getClosed, getOpen });
