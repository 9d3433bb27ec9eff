import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { createRigOn, engines, FROM_NUMBER, type Rig } from '../support/rig.js';

const ANN = '+14155552671';

type DemoPerson = { id: number; name: string; textable: boolean; status: string };
type State = {
  automations: Array<{ name: string; template: string }>;
  deals: Array<{ id: number; title: string; stageId: number }>;
  persons: DemoPerson[];
  quietHours: { start: string; end: string } | null;
  contactClock: { zones: Array<{ zone: string; localTime: string }>; open: boolean } | null;
  phone: { inbox: Array<{ body: string; kind: string }> } | null;
};

async function state(appUrl: string, query: Record<string, string> = {}): Promise<State> {
  const res = await fetch(`${appUrl}/sandbox/api/state?${new URLSearchParams(query)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as State;
}

function post(appUrl: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${appUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

const statusOf = (s: State) => Object.fromEntries(s.persons.map((p) => [p.name, p.status]));

const FIRST_STATUSES = {
  'Ann Granted': 'can be texted',
  'Olly Optout': 'opted out',
  'Nora Noconsent': 'no SMS consent',
  'Ivan Invalid': 'phone not valid',
};

describe.each(engines)('"Reset the demo" on %s', (engine) => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  /** Rows of the demo company (and of the demo's numbers) in every table a reset must empty. */
  async function demoRows(r: Rig) {
    const db = r.ctx.database.db;
    const count = async (table: 'outbound_messages' | 'inbound_messages' | 'jobs' | 'webhook_events' | 'consent_reviews') =>
      (await db.selectFrom(table).select('id').where('company_id', '=', '1001').execute()).length;
    return {
      outbound: await count('outbound_messages'),
      inbound: await count('inbound_messages'),
      jobs: await count('jobs'),
      events: await count('webhook_events'),
      reviews: await count('consent_reviews'),
      consent: (await db.selectFrom('consent_events').select('id').where('phone_e164', '=', ANN).execute()).length,
    };
  }

  it('brings back the first state: no texts, replies, reviews or opt-outs, deals in Lead in, the demo automation, quiet hours off', async () => {
    rig = await createRigOn(engine, { walkthrough: true });
    const r = rig;
    await r.installDemo();
    const company = (await r.ctx.companies.find('1001'))!;
    const annDeal = r.demo.persons.find((p) => p.name === 'Ann Granted')!.dealId;
    const annId = r.demo.persons.find((p) => p.name === 'Ann Granted')!.id;
    expect((await post(r.appUrl, '/sandbox/api/reset', {})).status).toBe(400); // the body must confirm
    expect((await post(r.appUrl, '/sandbox/api/reset', { confirm: true })).status).toBe(200);
    const first = await state(r.appUrl, { dealId: String(annDeal) });
    expect(first.automations.map((a) => a.name)).toEqual(['Quote sent follow-up']);
    expect(first.quietHours).toBeNull();
    expect(statusOf(first)).toEqual(FIRST_STATUSES);
    expect(first.contactClock?.zones).toEqual([{ zone: 'America/Los_Angeles', localTime: expect.stringMatching(/^\d\d:\d\d$/) }]);
    expect(first.contactClock?.open).toBe(true); // quiet hours off: a text goes at any hour

    // The switch turns the default window on and off.
    expect(await (await post(r.appUrl, '/sandbox/api/quiet-hours', { on: true })).json()).toEqual({ quietHours: { start: '08:00', end: '21:00' } });
    expect((await state(r.appUrl)).quietHours).toEqual({ start: '08:00', end: '21:00' });
    expect((await r.ctx.companies.find('1001'))!.parsedSettings.quietHours).toEqual({ start: '08:00', end: '21:00' });
    expect((await post(r.appUrl, '/sandbox/api/quiet-hours', { on: 'yes' })).status).toBe(400);

    // A run of the demo: a text, a possible opt-out (a review), a STOP, a second automation and changed settings.
    expect((await post(r.appUrl, '/sandbox/api/move', { dealId: annDeal, stageId: r.demo.stages.quoteSent })).status).toBe(200);
    await r.settle();
    expect(r.tw.inbox(ANN).map((m) => m.kind)).toEqual(['message']);
    await post(r.appUrl, '/sandbox/api/reply', { from: ANN, body: 'STOP NOW please' });
    await post(r.appUrl, '/sandbox/api/reply', { from: ANN, body: 'STOP' });
    await r.settle();
    await r.ctx.automations.create('1001', { name: 'Another', enabled: true, trigger: { event: 'deal.stage_entered', stageId: r.demo.stages.won }, template: 'Thanks!' });
    await r.ctx.companies.updateSettings('1001', { ...company.parsedSettings, maxSegments: 3 }, new Date().toISOString());
    const used = await state(r.appUrl, { dealId: String(annDeal), phone: ANN });
    expect(statusOf(used)['Ann Granted']).toBe('opted out');
    expect(used.deals.find((d) => d.id === annDeal)?.stageId).toBe(r.demo.stages.quoteSent);
    expect(r.tw.isBlocked(FROM_NUMBER, ANN)).toBe(true);
    expect(r.pd.person(annId)!.custom_fields[company.consent_field_key!]).toBe(Number(company.consent_opted_out_option));
    expect(r.pd.activities(1001).length).toBeGreaterThan(0);
    const before = await demoRows(r);
    expect(before.outbound).toBe(1);
    expect(before.inbound).toBe(2);
    // (The review of "STOP NOW please" counts once the inbound path opens reviews; after the reset there is none either way.)
    expect(before.consent).toBeGreaterThan(0);
    expect(before.events).toBeGreaterThan(0);

    const reset = await post(r.appUrl, '/sandbox/api/reset', { confirm: true });
    expect(reset.status).toBe(200);
    expect(statusOf((await reset.json()) as State)).toEqual(FIRST_STATUSES);

    expect(await demoRows(r)).toEqual({ outbound: 0, inbound: 0, jobs: 0, events: 0, reviews: 0, consent: 0 });
    const after = await state(r.appUrl, { dealId: String(annDeal), phone: ANN });
    expect(statusOf(after)).toEqual(FIRST_STATUSES);
    expect(after.automations.map((a) => a.name)).toEqual(['Quote sent follow-up']);
    expect(after.quietHours).toBeNull();
    expect(after.deals.every((d) => d.stageId === r.demo.stages.leadIn)).toBe(true);
    expect(after.phone?.inbox).toEqual([]);
    const settings = (await r.ctx.companies.find('1001'))!.parsedSettings;
    expect(settings.maxSegments).toBe(1);
    expect(settings.quietHours).toBeNull();
    expect(r.pd.person(annId)!.custom_fields[company.consent_field_key!]).toBe(Number(company.consent_granted_option));
    expect(r.pd.activities(1001)).toEqual([]);
    expect(r.tw.isBlocked(FROM_NUMBER, ANN)).toBe(false);
    // The install itself stays: the app still reads Pipedrive and texts through the same path.
    expect((await r.ctx.companies.find('1001'))!.provisioning_status).toBe('complete');

    // And the demo plays again: Ann gets her text.
    await post(r.appUrl, '/sandbox/api/move', { dealId: annDeal, stageId: r.demo.stages.quoteSent });
    await r.settle();
    expect(r.tw.inbox(ANN).map((m) => m.body)).toEqual([expect.stringContaining('your quote for Solar panels for Ann is ready')]);
  });
});

describe('a sandbox restart', { timeout: 150_000 }, () => {
  it('starts from the first state: a contact who replied STOP in one run can be texted in the next, as the console says', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sms-pd-sandbox-'));
    try {
      const port = await freePort();
      const appUrl = `http://127.0.0.1:${port}`;
      const firstRun = await runSandbox(dir, port, async () => {
        const s = await state(appUrl);
        const annDeal = s.deals.find((d) => d.title === 'Solar panels for Ann')!.id;
        const quoteSent = (s as unknown as { stages: Array<{ id: number; name: string }> }).stages.find((x) => x.name === 'Quote sent')!.id;
        await post(appUrl, '/sandbox/api/move', { dealId: annDeal, stageId: quoteSent });
        await expect.poll(async () => (await state(appUrl, { phone: ANN })).phone?.inbox.length, { timeout: 20_000 }).toBe(1);
        await post(appUrl, '/sandbox/api/reply', { from: ANN, body: 'STOP' });
        await expect.poll(async () => statusOf(await state(appUrl))['Ann Granted'], { timeout: 20_000 }).toBe('opted out');
      });
      expect(firstRun).toContain('Ann Granted (415) 555-2671 [can be texted]');

      const secondRun = await runSandbox(dir, port, async () => {
        const s = await state(appUrl, { phone: ANN });
        expect(statusOf(s)).toEqual(FIRST_STATUSES);
        expect(s.phone?.inbox).toEqual([]);
        expect(s.quietHours).toBeNull();
        expect(s.automations.map((a) => a.name)).toEqual(['Quote sent follow-up']);
      });
      expect(secondRun).toContain('Ann Granted (415) 555-2671 [can be texted], Olly Optout +61 412 345 678 [opted out]');
      expect(secondRun).toContain('Database:           file:./data/sandbox.db (sqlite, migrated)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Runs `npm start`'s entry with nothing configured in `dir` until the console lists the demo persons, then SIGTERM. */
function runSandbox(dir: string, port: number, whileRunning: () => Promise<void>): Promise<string> {
  const child = spawn(process.execPath, ['--import', TSX, resolve('server/main.ts')], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: String(port), APP_URL: `http://127.0.0.1:${port}` },
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let started = false;
  let failure: unknown = null;
  return new Promise((done, fail) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 70_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (started || !/Demo persons.*\n/.test(output)) return;
      started = true;
      whileRunning()
        .catch((error: unknown) => (failure = error))
        .finally(() => child.kill('SIGTERM'));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (failure) fail(failure instanceof Error ? failure : new Error(String(failure)));
      else if (code !== 0 || !started) fail(new Error(`the sandbox ended with ${String(code)}; output:\n${output.slice(-3000)}`));
      else done(output);
    });
  });
}
