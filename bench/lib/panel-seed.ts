import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { serve } from './ipc.js';
import { postgresWriter, sqliteWriter, type SeedWriter } from './panel-seed-writers.js';

/**
 * Seeds the app's own (migrated) database, its SQLite file or its PostgreSQL schema, with a production-sized message
 * history for the panel benchmark, in its own process so the app under test keeps a clean heap. The rows are made
 * here, the same for both engines; a writer (panel-seed-writers.ts) puts them in its engine's fastest way, in one
 * large transaction. They go in time order with the deals interleaved (as the app writes them over a year), so one
 * deal's rows are scattered over the table's pages as they would be in production. What the engine does to the
 * grown tables afterwards (SQLite: nothing, PostgreSQL: VACUUM ANALYZE as autovacuum would) is the writer's.
 *
 * Deterministic (a fixed PRNG seed), so every run measures the same data.
 */

export type SeedDeal = { dealId: number; personId: number; e164: string; first: string; title: string };
export type SeedArgs = {
  engine: 'sqlite' | 'postgres';
  /** SQLite: the app's file. */
  dbFile: string;
  /** PostgreSQL: the app's DATABASE_URL (its schema on the search path). */
  databaseUrl: string;
  companyId: string;
  /** Companies besides the measured one; their deals reuse the measured deal ids, so company scoping is exercised. */
  otherCompanies: string[];
  /** The measured deal: `measuredMessages` panel-visible messages, including replies from the person's number with no deal. */
  measured: SeedDeal;
  measuredMessages: number;
  /** Deals with exactly `heavyMessages` messages each, in the Pipedrive emulator too: the cold-cache pass reads them. */
  heavy: SeedDeal[];
  heavyMessages: number;
  /** Deals of the measured company and of the others, totalled (measured and heavy ones included). */
  deals: number;
  outbound: number;
  inbound: number;
  consentEvents: number;
  /** The shared Twilio sender the app uses, so consent events are realistic for its lookups. */
  senderKey: string;
};
export type SeedResult = {
  ms: number;
  phases: Record<string, number>;
  rows: { outbound: number; inbound: number; consentEvents: number; jobs: number };
  /** Whole tables after seeding, debris from earlier bench sections included. */
  totals: { outbound: number; inbound: number; consentEvents: number; messages: number };
  dbBytes: number;
  /** Panel-visible messages of the measured deal (outbound + its replies + unattributed replies from its number). */
  measuredVisible: number;
  heavyVisible: { min: number; max: number };
};

/** mulberry32: small, fast, good enough to spread rows. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rows are handed to the writer this many at a time (one statement on PostgreSQL). */
const BATCH = 20_000;

export async function seed(args: SeedArgs): Promise<SeedResult> {
  const writer = args.engine === 'postgres' ? await postgresWriter(args.databaseUrl) : sqliteWriter(args.dbFile);
  try {
    return await seedWith(writer, args);
  } finally {
    await writer.close();
  }
}

/** Collects one table's rows and hands them to the writer a batch at a time. */
function batcher(writer: SeedWriter, table: string, columns: readonly string[], options?: { ignoreConflicts?: boolean }) {
  let rows: unknown[][] = [];
  const flush = async () => {
    if (rows.length) await writer.insert(table, columns, rows, options);
    rows = [];
  };
  return {
    /** Adds a row; resolves at once unless a batch is full. */
    async add(row: unknown[]) {
      rows.push(row);
      if (rows.length >= BATCH) await flush();
    },
    flush,
  };
}

async function seedWith(db: SeedWriter, args: SeedArgs): Promise<SeedResult> {
  const started = performance.now();
  const rand = prng(20261127);
  // Ids are random as in the app (and need not be reproducible); the PRNG decides only the data's shape.
  const uuid = () => randomUUID();
  const sid = () => `SM${randomUUID().replaceAll('-', '')}`;
  const pick = <T>(list: readonly T[]): T => list[(rand() * list.length) | 0]!;

  const phases: Record<string, number> = {};
  let mark = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = Math.round(now - mark);
    mark = now;
  };

  // ---- the deals: the measured one, the heavy ones, and the rest spread over the companies ------------------------
  type Deal = { companyId: string; dealId: number; personId: number; e164: string; first: string; title: string; context: string; out: number; in: number };
  const mk = (companyId: string, d: SeedDeal): Deal => ({
    companyId,
    ...d,
    context: JSON.stringify({ deal: { id: d.dealId, title: d.title, personId: d.personId, stageId: 12, pipelineId: 1, ownerId: 502, status: 'open' } }),
    out: 0,
    in: 0,
  });
  const FIRST = ['Ann', 'Bob', 'Cleo', 'Dev', 'Eve', 'Finn', 'Gus', 'Hana', 'Ivo', 'Jana', 'Kai', 'Lena'];
  const WHAT = ['Solar panels', 'Heat pump', 'Roof repair', 'Windows', 'Insulation', 'Battery storage'];
  const measured = mk(args.companyId, args.measured);
  const heavy = args.heavy.map((d) => mk(args.companyId, d));
  const companies = [args.companyId, ...args.otherCompanies];
  const others: Deal[] = [];
  const reusable = [args.measured.dealId, ...args.heavy.map((d) => d.dealId)];
  const nOthers = args.deals - 1 - heavy.length;
  const ownShare = Math.floor(nOthers / 2);
  for (let i = 0; i < nOthers; i++) {
    // Half the measured company's deals, the rest over the other companies, whose first deals reuse the measured
    // and heavy deal ids (Pipedrive ids are per company): the company filter has to keep them apart.
    const own = i < ownShare;
    const companyId = own ? args.companyId : args.otherCompanies[i % args.otherCompanies.length]!;
    const dealId = !own && i - ownShare < reusable.length ? reusable[i - ownShare]! : 200_000 + i;
    const first = pick(FIRST);
    others.push(mk(companyId, { dealId, personId: 300_000 + i, e164: `+1415${String(2_000_000 + i).padStart(7, '0')}`, first, title: `${pick(WHAT)} for ${first}` }));
  }

  // Existing rows of the measured deal (an earlier bench section may have queued one): topped up to exactly N.
  // The panel's OR written as a sum, so each part uses its index (the OR form scans the company's replies).
  const countVisible = `select (select count(*) from outbound_messages where company_id = ? and deal_id = ?)
          + (select count(*) from inbound_messages where company_id = ? and deal_id = ?)
          + (select count(*) from inbound_messages where company_id = ? and from_e164 = ? and deal_id is null) as n`;
  const visible = (d: Deal) => db.count(countVisible, [d.companyId, d.dealId, d.companyId, d.dealId, d.companyId, d.e164]);
  const measuredBefore = await visible(measured);
  // Of the measured deal's messages: 25 % replies on the deal, 5 % replies from its number that no deal claimed.
  const mIn = Math.round(args.measuredMessages * 0.25);
  const mLoose = Math.round(args.measuredMessages * 0.05);
  measured.in = mIn;
  measured.out = Math.max(0, args.measuredMessages - mIn - mLoose - measuredBefore);
  for (const d of heavy) {
    d.in = Math.round(args.heavyMessages * 0.1);
    d.out = args.heavyMessages - d.in;
  }
  const fixedOut = measured.out + heavy.reduce((s, d) => s + d.out, 0);
  const fixedIn = measured.in + mLoose + heavy.reduce((s, d) => s + d.in, 0);
  // Unattributed replies elsewhere: from other deals' numbers, from the measured number to other companies, and
  // from numbers no company could be told apart for. They must not show on the measured deal.
  const looseIn = Math.round(args.inbound * 0.08);
  const restOut = Math.max(0, args.outbound - fixedOut);
  const restIn = Math.max(0, args.inbound - fixedIn - looseIn);
  // A skewed spread: most deals have a few messages, some have hundreds (exponential weights, squared).
  const weights = others.map(() => {
    const e = -Math.log(1 - rand());
    return e * e;
  });
  const wsum = weights.reduce((a, b) => a + b, 0);
  const spreadOver = (total: number, key: 'out' | 'in') => {
    let left = total;
    others.forEach((d, i) => {
      const n = Math.floor((total * weights[i]!) / wsum);
      d[key] = n;
      left -= n;
    });
    while (left-- > 0) others[(rand() * others.length) | 0]![key]++;
  };
  spreadOver(restOut, 'out');
  spreadOver(restIn, 'in');

  const all = [measured, ...heavy, ...others];
  // Insertion order = time order; each slot names a deal, shuffled so every deal's rows interleave with all others.
  const slots = (key: 'out' | 'in', extra: number) => {
    const total = all.reduce((s, d) => s + d[key], 0) + extra;
    const order = new Int32Array(total);
    let k = 0;
    all.forEach((d, i) => {
      for (let j = 0; j < d[key]; j++) order[k++] = i;
    });
    for (; k < total; k++) order[k] = -1; // an unattributed reply
    for (let i = total - 1; i > 0; i--) {
      const j = (rand() * (i + 1)) | 0;
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    return order;
  };

  const yearMs = 365 * 24 * 3600 * 1000;
  const t0 = Date.now() - yearMs - 3600 * 1000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const SENDER = args.senderKey;
  const TEMPLATE = 'Hi {{person.first_name|there}}, {{user.name}} here about {{deal.title}}: your offer is ready to review.';
  const SKIPS = ['no_consent', 'opted_out', 'invalid_phone', 'too_long'];
  const REPLIES = ['Yes, Tuesday works for me', 'Thanks!', 'Can you call me after 5?', 'Sounds good, send the quote', 'Who is this?', 'ok', 'Not interested right now, maybe in spring'];
  // Secondary indexes are dropped while the rows go in (see the writer); everything below is one transaction.
  await db.begin(['outbound_messages', 'inbound_messages', 'jobs']);

  // ---- companies ------------------------------------------------------------------------------------------------
  const addCompany = batcher(db, 'companies', ['id', 'name', 'domain', 'api_domain', 'provisioning_status', 'created_at', 'updated_at'], { ignoreConflicts: true });
  for (const id of args.otherCompanies) await addCompany.add([id, `Bench company ${id}`, `bench-${id}`, `https://bench-${id}.pipedrive.example`, 'complete', iso(t0), iso(t0)]);
  await addCompany.flush();

  // ---- outbound ---------------------------------------------------------------------------------------------------
  const addOut = batcher(db, 'outbound_messages', [
    ...['id', 'company_id', 'source', 'automation_id', 'automation_name', 'event_id', 'created_by', 'deal_id', 'person_id', 'template'],
    ...['context', 'phone_raw', 'to_e164', 'sender', 'body', 'segments', 'encoding', 'state', 'skip_reason', 'attempts', 'next_attempt_at', 'claimed_until', 'sending_at'],
    ...['provider_sid', 'provider_status', 'error_code', 'error_message', 'sent_at', 'status_at', 'created_at', 'updated_at'],
  ]);
  const automationIds = new Map(companies.map((c) => [c, [uuid(), uuid()]]));
  const outOrder = slots('out', 0);
  const outStep = yearMs / outOrder.length;
  // Kept so each reply can name the message it answers (the reports' lists and counts read that link).
  const outIds: string[] = new Array<string>(outOrder.length);
  for (let i = 0; i < outOrder.length; i++) {
    const d = all[outOrder[i]!]!;
    const id = (outIds[i] = uuid());
    const at = t0 + i * outStep;
    const r = rand();
    const panel = r < 0.12;
    const automation = automationIds.get(d.companyId)![r < 0.6 ? 0 : 1]!;
    const s = rand();
    const state = s < 0.9 ? 'sent' : s < 0.95 ? 'skipped' : s < 0.98 ? 'failed' : 'cancelled';
    const status = state !== 'sent' ? null : s < 0.85 ? 'delivered' : s < 0.88 ? 'sent' : 'undelivered';
    const skip = state === 'skipped' || state === 'cancelled' ? pick(SKIPS) : null;
    const errorCode = state === 'failed' ? '21211' : status === 'undelivered' ? '30003' : null;
    const body = state === 'skipped' ? null : panel ? `Quick question, ${d.first}: does Tuesday at 10 work for the site visit? Reply STOP to opt out.` : `Hi ${d.first}, Sam Sales here about ${d.title}: your offer is ready to review. Reply STOP to opt out.`;
    const providerSid = state === 'sent' || state === 'failed' ? sid() : null;
    await addOut.add([
      id,
      d.companyId,
      panel ? 'panel' : 'automation',
      panel ? null : automation,
      panel ? null : r < 0.6 ? 'Negotiation follow-up' : 'Quote sent reminder',
      panel ? null : uuid(),
      panel ? '502' : null,
      d.dealId,
      d.personId,
      panel ? (body ?? '') : TEMPLATE,
      d.context,
      d.e164,
      d.e164,
      SENDER,
      body,
      body ? 1 : null,
      body ? 'GSM-7' : null,
      state,
      skip,
      state === 'skipped' ? 0 : 1,
      iso(at),
      null,
      providerSid ? iso(at + 150) : null,
      providerSid,
      status,
      errorCode,
      errorCode === '21211' ? 'Invalid To phone number' : errorCode ? 'Unreachable destination handset' : null,
      status ? iso(at + 400) : null,
      status ? iso(at + 4_000) : null,
      iso(at),
      iso(status ? at + 4_000 : at + 200),
    ]);
  }
  await addOut.flush();
  phase('outbound');

  // ---- inbound (with the activity job each company-attributed reply gets) -----------------------------------------
  const addIn = batcher(db, 'inbound_messages', [
    ...['id', 'company_id', 'provider_sid', 'account_sid', 'sender', 'to_address', 'from_address', 'from_e164', 'body', 'num_media', 'kind'],
    ...['possible_opt_out', 'attribution', 'reply_to_message_id', 'deal_id', 'person_id', 'activity_job_id', 'auto_reply', 'received_at'],
  ]);
  const addJob = batcher(db, 'jobs', ['id', 'company_id', 'kind', 'payload', 'state', 'attempts', 'next_attempt_at', 'claimed_until', 'last_error', 'created_at', 'updated_at']);
  const ACCOUNT = `AC${'0'.repeat(32)}`;
  const inOrder = slots('in', looseIn + mLoose);
  // The measured number's replies that no deal claimed: the first mLoose of the unattributed slots.
  let measuredLooseLeft = mLoose;
  const inStep = yearMs / inOrder.length;
  // A reply on a deal answers the deal's latest message sent before it, as attribution links them: both lists are
  // in time order, so one pass over the messages alongside the replies finds it.
  const latestOut = new Int32Array(all.length).fill(-1);
  let outSeen = 0;
  let jobs = 0;
  for (let i = 0; i < inOrder.length; i++) {
    const slot = inOrder[i]!;
    const atMs = t0 + i * inStep + 1_000;
    const at = iso(atMs);
    for (; outSeen < outOrder.length && t0 + outSeen * outStep <= atMs; outSeen++) latestOut[outOrder[outSeen]!] = outSeen;
    let companyId: string | null;
    let e164: string;
    let dealId: number | null = null;
    let personId: number | null = null;
    let attribution: 'conversation' | 'phone_search' | 'none';
    if (slot >= 0) {
      const d = all[slot]!;
      companyId = d.companyId;
      e164 = d.e164;
      dealId = d.dealId;
      personId = d.personId;
      attribution = 'conversation';
    } else if (measuredLooseLeft > 0) {
      measuredLooseLeft--;
      companyId = args.companyId;
      e164 = measured.e164;
      attribution = 'phone_search';
    } else {
      const r = rand();
      // Decoys: the measured number writing to another company, or to nobody; other deals' numbers unattributed.
      e164 = r < 0.02 ? measured.e164 : pick(others).e164;
      companyId = r < 0.01 ? pick(args.otherCompanies) : r < 0.02 ? null : r < 0.9 ? pick(companies) : null;
      attribution = companyId ? 'phone_search' : 'none';
    }
    const k = rand();
    const kind = k < 0.01 ? 'opt_out' : k < 0.015 ? 'opt_in' : k < 0.02 ? 'help' : k < 0.03 ? 'possible_opt_out' : 'none';
    const body = kind === 'opt_out' ? 'STOP' : kind === 'opt_in' ? 'START' : kind === 'help' ? 'HELP' : kind === 'possible_opt_out' ? 'please stop texting me' : pick(REPLIES);
    let jobId: string | null = null;
    if (companyId) {
      jobId = uuid();
      const payload = JSON.stringify({ from: e164, fromE164: e164, body, kind, numMedia: 0, dealId, personId });
      await addJob.add([jobId, companyId, 'inbound.log_reply', payload, 'done', 1, at, null, null, at, at]);
      jobs++;
    }
    await addIn.add([
      uuid(),
      companyId,
      sid(),
      ACCOUNT,
      SENDER,
      SENDER,
      e164,
      e164,
      body,
      0,
      kind,
      kind === 'possible_opt_out' ? 1 : 0,
      attribution,
      slot >= 0 && latestOut[slot]! >= 0 ? outIds[latestOut[slot]!]! : null,
      dealId,
      personId,
      jobId,
      kind === 'opt_out' ? 'You have been unsubscribed. Reply START to resubscribe.' : null,
      at,
    ]);
  }
  await addJob.flush();
  await addIn.flush();
  phase('inbound');

  // ---- consent events: opt-outs and opt-ins over the year, most on the shared sender --------------------------------
  const addConsent = batcher(db, 'consent_events', ['id', 'company_id', 'phone_e164', 'sender', 'action', 'source', 'message', 'person_id', 'created_at']);
  const consentStep = yearMs / Math.max(1, args.consentEvents);
  for (let i = 0; i < args.consentEvents; i++) {
    const d = i < 2 ? measured : pick(others);
    // The measured person opted out once and back in later: a history to show, and consent granted now.
    const action = i === 0 ? 'opt_out' : i === 1 ? 'opt_in' : rand() < 0.8 ? 'opt_out' : 'opt_in';
    const source = action === 'opt_out' ? pick(['inbound_keyword', 'inbound_keyword', 'twilio_21610', 'pipedrive_field']) : pick(['inbound_keyword', 'pipedrive_field', 'panel']);
    const at = i < 2 ? t0 + yearMs * (0.3 + 0.2 * i) : t0 + i * consentStep;
    const message = source === 'inbound_keyword' ? (action === 'opt_out' ? 'STOP' : 'START') : null;
    await addConsent.add([uuid(), d.companyId, d.e164, source === 'pipedrive_field' ? null : SENDER, action, source, message, String(d.personId), iso(at)]);
  }
  await addConsent.flush();
  await db.commit();
  phase('consentEvents');
  await db.rebuildIndexes();
  phase('indexes');
  await db.settle.run();
  phase(db.settle.phase);
  const count = (table: string) => db.count(`select count(*) as n from ${table}`, []);
  const totals = { outbound: await count('outbound_messages'), inbound: await count('inbound_messages'), consentEvents: await count('consent_events') };
  const heavyCounts: number[] = [];
  for (const d of heavy) heavyCounts.push(await visible(d));
  const measuredVisible = await visible(measured);
  phase('verify');
  const result: SeedResult = {
    ms: performance.now() - started,
    phases,
    rows: { outbound: outOrder.length, inbound: inOrder.length, consentEvents: args.consentEvents, jobs },
    totals: { ...totals, messages: totals.outbound + totals.inbound },
    dbBytes: await db.bytes(),
    measuredVisible,
    heavyVisible: { min: Math.min(...heavyCounts), max: Math.max(...heavyCounts) },
  };
  return result;
}

serve({ seed });
