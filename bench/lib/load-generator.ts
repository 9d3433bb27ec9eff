import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { serve } from './ipc.js';
import { Connection, openLoop, percentile, rawRequest, sleep, type OpenResult, type Target } from './open-loop.js';
import { renderTemplate, webhookTemplate, type Scenario, type WebhookKind } from './payloads.js';

/**
 * The load generator, in its own process. It speaks HTTP/1.1 over raw keep-alive sockets (open-loop.ts) because
 * node:http's client costs more CPU per request than a bare Express handler, and a generator slower than the server
 * would flatten the ratio we want to measure.
 */

export type { OpenResult, Target } from './open-loop.js';

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

/** Given bodies, sent once each in order at a fixed rate (open loop); see `openBodies`. */
export type OpenBodiesArgs = { target: Target; bodies: string[]; rate: number; connections: number };
export type OpenBodiesResult = OpenResult & {
  /** Per body: when it was due, as epoch milliseconds (`performance.timeOrigin + performance.now()`, comparable across
   * processes of the machine); latencies count from there, so a late generator or a queue for a connection counts. */
  dueAt: number[];
  /** Per body: the HTTP status of its answer, 0 when none came (connection dropped, or no answer within 10 s). */
  status: number[];
  /** Per body: milliseconds from due to answer, NaN when none came. */
  answerMs: number[];
};
export type OneArgs = { target: Target; body: string };
/** One request on a kept connection: when it was sent (epoch ms, as `dueAt` above), its status (0: none), how long. */
export type OneResult = { sentAt: number; status: number; answerMs: number };

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


/**
 * The open loop over explicit bodies (the end-to-end section: each body names its own deal and person), keeping per
 * body its due time, status and answer time, so the orchestrator can match each to what reached Twilio. Its
 * connections are all open before the first request, as a proxy in front of the app keeps them: a request on a
 * connection opened mid-burst to a busy app was answered up to 1.3 s late (its neighbours on open ones in ~100 ms),
 * which is the generator's connection growth, not the path a text takes.
 */
async function openBodies(args: OpenBodiesArgs): Promise<OpenBodiesResult> {
  const n = args.bodies.length;
  const requests = args.bodies.map((body) => rawRequest(args.target, body));
  const dueAt = new Array<number>(n).fill(Number.NaN);
  const due = new Float64Array(n);
  const status = new Array<number>(n).fill(0);
  const answerMs = new Array<number>(n).fill(Number.NaN);
  const r = await openLoop(
    { target: args.target, rate: args.rate, durationMs: (n * 1000) / args.rate, connections: args.connections, preopen: true },
    (seq, dueTime) => {
      due[seq] = dueTime;
      dueAt[seq] = performance.timeOrigin + dueTime;
      return requests[seq]!;
    },
    (seq, s) => {
      status[seq] = s;
      answerMs[seq] = performance.now() - due[seq]!;
    },
  );
  if (r.scheduled !== n) throw new Error(`open loop scheduled ${r.scheduled} of ${n} bodies`);
  return { ...r, dueAt, status, answerMs };
}

/** Kept connections of `one`, per target, so a request one at a time never pays a TCP handshake. */
const kept = new Map<string, Connection>();

async function one(args: OneArgs): Promise<OneResult> {
  const key = `${args.target.host}:${args.target.port}`;
  let conn = kept.get(key);
  if (!conn || conn.closed) {
    conn = new Connection(args.target);
    kept.set(key, conn);
  }
  const request = rawRequest(args.target, args.body);
  const sent = performance.now();
  const code = await new Promise<number | null>((resolve) => conn.send(request, resolve));
  const answerMs = performance.now() - sent;
  if (code === null) kept.delete(key);
  return { sentAt: performance.timeOrigin + sent, status: code ?? 0, answerMs: code === null ? Number.NaN : answerMs };
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

serve({ closed, open, openBodies, one, batch, getClosed, getOpen }, async () => {
  for (const c of kept.values()) c.close();
});
