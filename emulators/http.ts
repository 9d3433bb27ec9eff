// Plumbing shared by the Pipedrive and Twilio emulators: a loopback HTTP server, body parsing the way each
// vendor accepts it, request recording, fault injection and outgoing webhook delivery.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Decoded query parameters; a repeated key keeps its last value. */
  query: Record<string, string>;
  /** Header names lowercased, as node gives them. */
  headers: Record<string, string>;
  /** Parsed JSON, a form object, or the raw text when neither parses (undefined when empty). */
  body: unknown;
  rawBody: string;
  at: Date;
  /**
   * When the request had fully arrived, as epoch milliseconds with sub-millisecond precision
   * (`performance.timeOrigin + performance.now()`): comparable with the same clock of another process on the machine,
   * for latencies measured across processes (the benchmark's webhook-to-Twilio time). Set by the loopback server.
   */
  receivedAt?: number;
  /** The status the emulator answered with (set once answered; 0 when the socket was dropped). */
  status?: number;
}

export interface EmulatorRequest extends RecordedRequest {
  url: URL;
  raw: IncomingMessage;
}

export type EmulatorHandler = (req: EmulatorRequest, res: ServerResponse) => Promise<void> | void;

export interface StartedServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts a node:http server on 127.0.0.1. Loopback only: the emulators hand out tokens and accept any
 * seeded data, so they must never be reachable from another machine.
 */
export async function startLoopbackServer(
  port: number,
  onRequest: (req: EmulatorRequest, res: ServerResponse) => Promise<void>,
): Promise<StartedServer> {
  const server = createServer((raw, res) => {
    void (async () => {
      const rawBody = await readBody(raw);
      const url = new URL(raw.url ?? '/', 'http://127.0.0.1');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(raw.headers)) {
        if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
      }
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) query[k] = v;
      const req: EmulatorRequest = {
        method: (raw.method ?? 'GET').toUpperCase(),
        path: url.pathname,
        query,
        headers,
        body: parseBody(rawBody, headers['content-type']),
        rawBody,
        at: new Date(),
        receivedAt: performance.timeOrigin + performance.now(),
        url,
        raw,
      };
      await onRequest(req, res);
    })().catch((err: unknown) => {
      // A bug in an emulator must show up in the test output, not as a hung request.
      console.error('emulator handler crashed', err);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'emulator crashed', detail: String(err) }));
      } else {
        res.destroy();
      }
    });
  });
  // Node's HTTP client drops a kept-alive socket one second before the server's advertised timeout, so a 1 s timeout
  // would mean a new connection per request (unlike the real services). close() ends idle sockets itself.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** JSON when it parses, a form object for urlencoded bodies (URLSearchParams: accepts both `+` and `%20`). */
export function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw === '') return undefined;
  const type = (contentType ?? '').toLowerCase();
  if (type.includes('application/x-www-form-urlencoded')) return formToObject(raw);
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** A form body as an object; a repeated key (Twilio's MediaUrl) becomes an array. */
export function formToObject(raw: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** Decodes `Authorization: Basic …`; null when absent or malformed. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | null {
  if (!header) return null;
  // \S after \s+: the two cannot trade characters, so a header of many spaces costs linear time.
  const match = /^Basic\s+(\S.*)$/i.exec(header.trim());
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function basicAuthHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Keeps `req` in `log`, its status filled in once the answer is sent (0 when the connection closed first). */
export function recordRequest(req: EmulatorRequest, res: ServerResponse, log: RecordedRequest[]): void {
  const record: RecordedRequest = {
    method: req.method, path: req.path, query: req.query, headers: req.headers, body: req.body, rawBody: req.rawBody, at: req.at,
    ...(req.receivedAt === undefined ? {} : { receivedAt: req.receivedAt }),
  };
  log.push(record);
  res.on('finish', () => (record.status = res.statusCode));
  res.on('close', () => (record.status ??= 0));
}

type InjectedFault = {
  method?: string | undefined;
  path?: string | RegExp | undefined;
  remaining: number;
  delayMs?: number | undefined;
  dropConnection?: boolean | undefined;
  status?: number | undefined;
};

/**
 * Plays the first injected fault that matches the request, as a test asked: waits its delay, then drops the
 * connection or lets `answer` send its error status. True when the fault took the request (the handler stops there);
 * a delay alone lets the request through.
 */
export async function playFault<F extends InjectedFault>(
  faults: F[],
  req: EmulatorRequest,
  answer: (fault: F, status: number) => void,
): Promise<boolean> {
  const fault = faults.find((f) => f.remaining > 0 && faultMatches(f, req.method, req.path));
  if (!fault) return false;
  fault.remaining -= 1;
  if (fault.delayMs) await sleep(fault.delayMs);
  if (fault.dropConnection) {
    req.raw.socket.destroy();
    return true;
  }
  if (fault.status) {
    answer(fault, fault.status);
    return true;
  }
  return false;
}

/** Matches a request method/path against an injected fault's filter. */
export function faultMatches(
  fault: { method?: string | undefined; path?: string | RegExp | undefined },
  method: string,
  path: string,
): boolean {
  if (fault.method && fault.method.toUpperCase() !== method) return false;
  if (fault.path === undefined) return true;
  return typeof fault.path === 'string' ? fault.path === path : fault.path.test(path);
}

export interface DeliveryResult {
  /** HTTP status the receiver answered; 0 when the request failed at the network level or timed out. */
  status: number;
  body: string;
  error?: string;
}

export type FetchLike = typeof fetch;

/**
 * Sends one webhook the way the vendors do: a single attempt, no redirects followed, a hard timeout
 * (Pipedrive documents 10 s; Twilio 15 s). Network failures become status 0 instead of throwing, because
 * the caller is a test or the sandbox that wants to see what happened.
 */
export async function deliver(
  fetchImpl: FetchLike,
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  timeoutMs: number,
): Promise<DeliveryResult> {
  try {
    const response = await fetchImpl(url, {
      method: init.method,
      headers: init.headers,
      ...(init.body === undefined ? {} : { body: init.body }),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, body: await response.text() };
  } catch (err) {
    return { status: 0, body: '', error: err instanceof Error ? err.message : String(err) };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
