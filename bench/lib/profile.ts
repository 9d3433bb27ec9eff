/** Reduces a V8 CPU profile to where the time went: top functions by self time, and self time per package. */

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
};
type CpuProfile = { nodes: ProfileNode[]; startTime: number; endTime: number; samples?: number[]; timeDeltas?: number[] };

export type ProfileSummary = {
  /** What one unit of work is (a request, a message) and how many were done while profiling, when known. */
  units: number | null;
  totalMs: number;
  /** Share of the non-idle time. */
  busyMs: number;
  topFunctions: Array<{ name: string; where: string; selfMs: number; pct: number }>;
  byPackage: Array<{ pkg: string; selfMs: number; pct: number }>;
  /** Self time in coarse layers, per unit of work when `units` is known (µs), else in ms. */
  byLayer: Array<{ layer: string; selfMs: number; pct: number; usPerUnit: number | null }>;
};

const SQLITE_NATIVE = /^(?:Statement|run|all|get|iterate|exec|pragma|prepare|Database|raw|pluck|expand|columns|bind)$/;

/** A layer a reader can act on: the database path, the web framework, validation, the SDKs, the runtime. */
function layerOf(url: string, name: string): string {
  if (!url) {
    if (name === '(garbage collector)') return 'GC';
    if (name === '(program)' || name === '(root)') return 'V8 (program)';
    if (SQLITE_NATIVE.test(name)) return 'SQLite (native: compile + execute)';
    if (name === 'runMicrotasks') return 'promises / async hops';
    if (/^(?:Hash|digest|update|randomUUID|timingSafeEqual|Cipheriv|Decipheriv|final)$/.test(name)) return 'crypto';
    return 'Node I/O (native: socket writes, timers)';
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (nm) {
    if (nm === 'better-sqlite3') return 'SQLite (native: compile + execute)';
    // The driver's executeQuery only calls better-sqlite3; V8 charges part of the native statement's time (building
    // the row objects) to this calling frame, so it is counted where the time is actually spent.
    if (nm === 'kysely' && name === 'executeQuery' && url.includes('/sqlite-driver.')) return 'SQLite (native: compile + execute)';
    if (nm === 'kysely') return 'Kysely (query building, driver)';
    if (['express', 'router', 'body-parser', 'raw-body', 'finalhandler', 'send', 'type-is', 'content-type', 'on-finished', 'iconv-lite', 'media-typer', 'mime-types', 'qs', 'depd', 'statuses', 'http-errors', 'cookie', 'vary', 'accepts', 'negotiator', 'etag', 'fresh', 'path-to-regexp', 'parseurl', 'encodeurl', 'escape-html', 'debug', 'ms', 'unpipe', 'bytes', 'safe-buffer', 'merge-descriptors', 'content-disposition', 'range-parser', 'proxy-addr', 'forwarded', 'ipaddr.js', 'is-promise', 'once', 'wrappy', 'destroy', 'ee-first'].includes(nm)) return 'Express 5 + body parsing';
    if (nm === 'helmet') return 'helmet';
    if (nm === 'zod') return 'zod validation';
    if (nm === 'pino' || nm.startsWith('@pinojs') || nm === 'fast-redact' || nm === 'sonic-boom' || nm === 'quick-format-unescaped' || nm === 'safe-stable-stringify') return 'pino logging';
    if (['axios', 'follow-redirects', 'form-data', 'proxy-from-env', 'combined-stream', 'asynckit', 'mime-db', 'delayed-stream'].includes(nm)) return 'axios (HTTP client of both SDKs)';
    if (nm === 'twilio' || nm === 'scmp' || nm === 'xmlbuilder' || nm === 'dayjs' || nm === 'https-proxy-agent' || nm === 'agent-base') return 'twilio SDK';
    if (nm === 'pipedrive' || nm === 'superagent' || nm === 'lodash') return 'pipedrive SDK';
    if (nm === 'libphonenumber-js') return 'libphonenumber-js';
    return `other packages (${nm}, …)`;
  }
  if (url.startsWith('node:')) {
    if (/^node:(?:_http|http|net|stream|internal\/(?:streams|stream_base_commons|http|net)|dns|events|buffer)/.test(url)) return 'Node HTTP / net / streams (JS)';
    return 'Node internals (JS)';
  }
  if (/\/server\/messaging\//.test(url)) return 'our code: server/messaging';
  if (/\/(?:server|db)\//.test(url)) return 'our code: server/ and db/';
  return 'other';
}

/** node_modules/<pkg>, our own folders (server/…, db/…), node internals, or V8's pseudo-frames. */
function packageOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const ours = /\/(server|db|bench)\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]!.split('/')[0]}`;
  return url;
}

function shortUrl(url: string): string {
  const nm = /node_modules\/(.*)$/.exec(url);
  if (nm) return nm[1]!;
  const ours = /\/((?:server|db|bench)\/.*)$/.exec(url);
  return ours ? ours[1]! : url;
}

export function summariseProfile(profile: CpuProfile, units: number | null = null, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // Time per sample comes from timeDeltas; attribute each delta to the sampled node.
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + dt);
  }
  const totalUs = profile.endTime - profile.startTime;
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const pkg = new Map<string, number>();
  const layers = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const entry = fn.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    fn.set(key, entry);
    const p = packageOf(url, name);
    pkg.set(p, (pkg.get(p) ?? 0) + us);
    const layer = layerOf(url, functionName);
    layers.set(layer, (layers.get(layer) ?? 0) + us);
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  const pct = (us: number) => Math.round((1000 * us) / busyUs) / 10;
  return {
    units,
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    topFunctions: [...fn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: Math.round(f.us / 1000), pct: pct(f.us) })),
    byPackage: [...pkg.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([p, us]) => ({ pkg: p, selfMs: Math.round(us / 1000), pct: pct(us) })),
    byLayer: [...layers.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([layer, us]) => ({ layer, selfMs: Math.round(us / 1000), pct: pct(us), usPerUnit: units ? Math.round(us / units) : null })),
  };
}
