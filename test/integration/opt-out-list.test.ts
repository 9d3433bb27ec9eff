// The settings page's opt-out list (GET/POST /api/consent/opt-outs, DELETE /api/consent/opt-outs/:phone), on SQLite
// and PostgreSQL: additions by hand and by CSV go through the consent service (history with the admin and the reason,
// Pipedrive's "SMS consent" and an activity through the job queue), the list and its CSV, removals of what an admin
// added only, a STOP on the shared sender binding the other companies on it, and a 10,000-row import in one
// transaction.
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { consentOf } from '../support/demo-consent.js';
import { createRigOn, engines, FROM_NUMBER, type Rig } from '../support/rig.js';

const COMPANY = '1001';
const OTHER_COMPANY = 2002;
const OTHER_ADMIN = 601;
const PAT = 503; // a colleague, not an admin, without an installation
const ANN = '+14155552671';
const BULK = 10_000;

describe.each(engines)('the opt-out list on %s', (engine) => {
  let rig: Rig;
  const tokens = new Map<number, string>();
  const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
  const as = (userId: number) => ({ authorization: `Bearer ${tokens.get(userId)}` });
  const list = async (query = '', userId = rig.demo.adminUserId) => {
    const res = await request(rig.appUrl).get(`/api/consent/opt-outs${query}`).set(as(userId));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.optOuts as { phone: string; at: string; source: string; message: string | null; personId: number | null }[];
  };
  const add = (body: unknown, userId = rig.demo.adminUserId) => request(rig.appUrl).post('/api/consent/opt-outs').set(as(userId)).send(body as object);
  const importCsv = (csv: string | Buffer, userId = rig.demo.adminUserId) =>
    request(rig.appUrl).post('/api/consent/opt-outs').set(as(userId)).set('content-type', 'text/csv').send(csv);
  const remove = (phone: string, userId = rig.demo.adminUserId) =>
    request(rig.appUrl).delete(`/api/consent/opt-outs/${encodeURIComponent(phone)}`).set(as(userId));
  const history = (phone: string, companyId = COMPANY) =>
    rig.ctx.database.db.selectFrom('consent_events').selectAll().where('company_id', '=', companyId).where('phone_e164', '=', phone).orderBy('created_at').execute();
  const exportCsv = async (userId = rig.demo.adminUserId) => {
    const res = await request(rig.appUrl).get('/api/consent/opt-outs?format=csv').set(as(userId)).buffer(true).parse((r, done) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => (text += chunk));
      r.on('end', () => done(null, text));
    });
    expect(res.status).toBe(200);
    return res;
  };

  beforeAll(async () => {
    rig = await createRigOn(engine, { outbox: { rateLimit: false } });
    await rig.installDemo();
    rig.pd.addUser({ id: PAT, companyId: Number(COMPANY), name: 'Pat Peer', isAdmin: false });
    rig.pd.addCompany({ id: OTHER_COMPANY, name: 'Other Co' });
    rig.pd.addUser({ id: OTHER_ADMIN, companyId: OTHER_COMPANY, name: 'Olga Other', isAdmin: true });
    expect((await rig.install(OTHER_ADMIN)).status).toBe(200);
    tokens.set(rig.demo.adminUserId, await rig.jwt({ userId: rig.demo.adminUserId, companyId: Number(COMPANY) }, { expiresIn: '30m' }));
    tokens.set(PAT, await rig.jwt({ userId: PAT, companyId: Number(COMPANY) }, { expiresIn: '30m' }));
    tokens.set(OTHER_ADMIN, await rig.jwt({ userId: OTHER_ADMIN, companyId: OTHER_COMPANY }, { expiresIn: '30m' }));
  }, 60_000);
  afterAll(async () => rig?.close());

  it('is for the admin who installed only: another user of the company is refused with the reason, reading or writing', async () => {
    for (const res of [
      await request(rig.appUrl).get('/api/consent/opt-outs').set(as(PAT)),
      await request(rig.appUrl).get('/api/consent/opt-outs?format=csv').set(as(PAT)),
      await add({ phones: [ANN] }, PAT),
      await remove(ANN, PAT),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body.error.message).toMatch(/admin who installed .* opt-out list/);
    }
    expect((await request(rig.appUrl).get('/api/consent/opt-outs')).status).toBe(401);
    expect(await history(ANN)).toEqual([]);
  });

  it('adds numbers by hand with a reason: the history keeps who and why, Pipedrive gets "Opted out" and an activity; invalid values are reported by place', async () => {
    const res = await add({ phones: ['(415) 555-2671', 'call me maybe', '+44 20 7946 0958'], reason: 'Asked on the phone not to be texted' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ added: 2, already: 0, invalid: [{ line: 2, value: 'call me maybe' }] });

    const entries = await list();
    expect(entries.map((e) => [e.phone, e.source, e.message])).toEqual([
      ['+442079460958', 'hand', 'Asked on the phone not to be texted'],
      [ANN, 'hand', 'Asked on the phone not to be texted'],
    ]);
    expect(await history(ANN)).toMatchObject([{ action: 'opt_out', source: 'hand', actor: String(rig.demo.adminUserId), message: 'Asked on the phone not to be texted' }]);

    await rig.settle();
    expect(await consentOf(rig, COMPANY, ann().id)).toBe('Opted out');
    const activity = rig.pd.activities(rig.demo.companyId).find((a) => a.person_id === ann().id && a.subject === 'SMS opt-out (by hand)');
    expect(activity?.note).toContain('Asked on the phone not to be texted');

    // Adding the same number again, in another form, changes nothing.
    expect((await add({ phones: ['+1 415 555 2671'] })).body).toEqual({ added: 0, already: 1, invalid: [] });
    expect(await history(ANN)).toHaveLength(1);
  });

  it('refuses a bad body with the field named, never half-applied', async () => {
    const cases = [
      { body: { phones: [] }, field: 'phones' },
      { body: { phones: 'x' }, field: 'phones' },
      { body: { phones: ['+14155550100'], reason: 'x'.repeat(501) }, field: 'reason' },
      { body: { phones: Array.from({ length: 10_001 }, () => '+14155550100') }, field: 'phones' },
    ];
    for (const c of cases) {
      const res = await add(c.body);
      expect(res.status).toBe(400);
      expect(res.body.error.details.fields.map((f: { path: string }) => f.path)).toContain(c.field);
    }
    const other = await request(rig.appUrl).post('/api/consent/opt-outs').set(as(rig.demo.adminUserId)).set('content-type', 'text/plain').send('+14155550100');
    expect(other.status).toBe(400);
    expect(other.body.error.message).toMatch(/text\/csv/);
    expect(await history('+14155550100')).toEqual([]);
  });

  it('imports a CSV (any header case, a BOM, a reason column): invalid rows by line, the rest added; the same file again adds nothing', async () => {
    const csv = '\ufeffName,PHONE,Reason\r\nBea,+1 212 555 0143,Unsubscribed by email\r\nCal,not a number,\r\n\r\nDee,(646) 555-0199,\r\nEve,,\r\n';
    const first = await importCsv(csv);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toEqual({ added: 2, already: 0, invalid: [{ line: 3, value: 'not a number' }, { line: 6, value: '' }] });
    expect((await importCsv(csv)).body).toEqual({ added: 0, already: 2, invalid: [{ line: 3, value: 'not a number' }, { line: 6, value: '' }] });
    expect(await history('+12125550143')).toMatchObject([{ source: 'import', message: 'Unsubscribed by email', actor: String(rig.demo.adminUserId) }]);
    expect(await history('+16465550199')).toMatchObject([{ source: 'import', message: null }]);
    // The person is not known to the app: one job finds them by phone in Pipedrive.
    const jobs = await rig.ctx.database.db.selectFrom('jobs').select(['kind', 'payload']).where('kind', '=', 'consent.mirror_by_phone').execute();
    expect(jobs.map((j) => JSON.parse(j.payload).phoneE164)).toEqual(expect.arrayContaining(['+12125550143', '+16465550199']));

    for (const [body, message] of [
      ['number\n+12125550100\n', /no phone column/],
      ['', /no rows/],
      ['phone,reason\n"+1212555,x\n', /could not be read/],
      [`phone,reason\n+12125550100,${'y'.repeat(501)}\n`, /line 2: the reason is longer than 500/],
      [`phone\n${'+12125550100\n'.repeat(10_001)}`, /more than 10000 rows/],
    ] as const) {
      const res = await importCsv(body);
      expect(res.status, body.slice(0, 30)).toBe(400);
      expect(res.body.error.message).toMatch(message);
    }
    const huge = await importCsv(`phone\n${'+12125550100,'.padEnd(200, 'z')}\n`.repeat(12_000));
    expect(huge.status).toBe(413);
    expect(huge.body.error.message).toMatch(/larger than 2 MB/);
    expect(await history('+12125550100')).toEqual([]);
  });

  it('exports the whole list as CSV with formulas defused, and the export imports back as nothing new', async () => {
    expect((await add({ phones: ['+1 305 555 0123'], reason: '=HYPERLINK("http://evil.example","click")' })).status).toBe(200);
    const res = await exportCsv();
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="sms-opt-outs-\d{4}-\d{2}-\d{2}\.csv"/);
    const text = res.body as string;
    expect(text.startsWith('\ufeffphone,opted_out_at,source,message,person_id\n')).toBe(true);
    const rows = parse(text, { bom: true, columns: true }) as Record<string, string>[];
    const byPhone = new Map(rows.map((r) => [r.phone, r]));
    expect(byPhone.get(`'${ANN}`)).toMatchObject({ source: 'hand', message: 'Asked on the phone not to be texted' });
    expect(byPhone.get("'+13055550123")!.message).toBe(`'=HYPERLINK("http://evil.example","click")`);
    expect([...byPhone.keys()].sort()).toEqual((await list()).map((e) => `'${e.phone}`).sort());

    const again = await importCsv(text);
    expect(again.body).toEqual({ added: 0, already: rows.length, invalid: [] });
  });

  it('searches by the digits of the number', async () => {
    expect((await list('?q=' + encodeURIComponent('(415) 555'))).map((e) => e.phone)).toEqual([ANN]);
    expect((await list('?q=2125550143')).map((e) => e.phone)).toEqual(['+12125550143']);
    expect(await list('?q=no%20digits')).toEqual([]);
    expect(await list('?q=999999')).toEqual([]);
    const long = await request(rig.appUrl).get(`/api/consent/opt-outs?q=${'1'.repeat(65)}`).set(as(rig.demo.adminUserId));
    expect(long.status).toBe(400);
    expect(long.body.error.details.fields[0].path).toBe('q');
  });

  it('removes a number an admin added (in any form): an opt-in by the admin, "Granted" again in Pipedrive; 404 when not on the list', async () => {
    const res = await remove('(415) 555-2671');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ removed: ANN });
    expect((await list()).map((e) => e.phone)).not.toContain(ANN);
    expect((await history(ANN)).map((h) => [h.action, h.source, h.actor])).toEqual([
      ['opt_out', 'hand', String(rig.demo.adminUserId)],
      ['opt_in', 'hand', String(rig.demo.adminUserId)],
    ]);
    await rig.settle();
    expect(await consentOf(rig, COMPANY, ann().id)).toBe('Granted');

    expect((await remove(ANN)).status).toBe(404);
    expect((await remove('+12125550177')).status).toBe(404);
    const bad = await remove('hello');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields[0].path).toBe('phone');
    // An imported one too.
    expect((await remove('+16465550199')).status).toBe(200);
  });

  it('cancels a text still waiting to go to an imported number, and an imported number can be removed too', async () => {
    // One text went to Ann from the panel; a second waits (its number is read when it is sent).
    const panelText = (body: string) => request(rig.appUrl).post(`/api/panel/deals/${ann().dealId}/messages`).set(as(rig.demo.adminUserId)).send({ body });
    expect((await panelText('About your panels')).status).toBe(202);
    await rig.drain();
    expect((await panelText('And the invoice')).status).toBe(202);
    expect((await importCsv(`phone\n${ANN}\n`)).body).toEqual({ added: 1, already: 0, invalid: [] });
    const texts = await rig.ctx.database.db.selectFrom('outbound_messages').select(['body', 'state', 'skip_reason']).where('company_id', '=', COMPANY).orderBy('created_at').execute();
    expect(texts.map((t) => [t.state, t.skip_reason])).toEqual([['sent', null], ['cancelled', 'opted_out']]);
    expect((await remove(ANN)).status).toBe(200);
    expect((await history(ANN)).slice(-2).map((h) => [h.action, h.source])).toEqual([['opt_out', 'import'], ['opt_in', 'import']]);
  });

  it('keeps a number the contact opted out by text: 409, and adding it again is "already"', async () => {
    // Texted from the panel, Ann answers STOP: the reply belongs to this company.
    const sent = await request(rig.appUrl).post(`/api/panel/deals/${ann().dealId}/messages`).set(as(rig.demo.adminUserId)).send({ body: 'About your panels, again' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    await rig.drain();
    await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'STOP' });
    await rig.settle();
    const entry = (await list()).find((e) => e.phone === ANN)!;
    expect(entry).toMatchObject({ source: 'inbound_keyword', message: 'STOP', personId: ann().id });
    const res = await remove(ANN);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/the contact texted an opt-out word: only the contact can opt back in, by texting START/);
    expect((await add({ phones: [ANN], reason: 'again' })).body).toEqual({ added: 0, already: 1, invalid: [] });
    expect((await history(ANN)).at(-1)).toMatchObject({ source: 'inbound_keyword' });
  });

  it("shows another company on the shared sender the contact's STOP (not their words or person), and never its own hand entries", async () => {
    const other = await request(rig.appUrl).get('/api/consent/opt-outs').set(as(OTHER_ADMIN));
    expect(other.status).toBe(200);
    // Ann's STOP came in on the shared number, which Twilio blocks for everyone texting through it.
    expect(other.body.optOuts).toEqual([{ phone: ANN, at: expect.any(String), source: 'inbound_keyword', message: null, personId: null }]);
    expect((await remove(ANN, OTHER_ADMIN)).status).toBe(409);
    expect((await remove('+12125550143', OTHER_ADMIN)).status).toBe(404);
    const csv = (await exportCsv(OTHER_ADMIN)).body as string;
    expect(csv).not.toContain('2125550143');
    expect(csv).not.toContain('STOP');
  });

  it('applies an import all or nothing: a failure on one row leaves none of the others added', async () => {
    const poisoned = '+13125550666';
    if (engine === 'sqlite') {
      await sql`CREATE TRIGGER poison BEFORE INSERT ON consent_events WHEN NEW.phone_e164 = ${sql.lit(poisoned)} BEGIN SELECT RAISE(ABORT, 'poisoned'); END`.execute(rig.ctx.database.db);
    } else {
      await sql`CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.phone_e164 = ${sql.lit(poisoned)} THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`.execute(rig.ctx.database.db);
      await sql`CREATE TRIGGER poison BEFORE INSERT ON consent_events FOR EACH ROW EXECUTE FUNCTION poison()`.execute(rig.ctx.database.db);
    }
    try {
      const res = await importCsv(`phone\n+13125550100\n+13125550101\n${poisoned}\n+13125550102\n`);
      expect(res.status).toBe(500);
      expect(await list('?q=312555')).toEqual([]);
      const jobs = await rig.ctx.database.db.selectFrom('jobs').select('payload').where('kind', '=', 'consent.mirror_by_phone').execute();
      expect(jobs.filter((j) => j.payload.includes('+1312555'))).toEqual([]);
    } finally {
      await sql`DROP TRIGGER poison${engine === 'sqlite' ? sql`` : sql` ON consent_events`}`.execute(rig.ctx.database.db);
    }
    expect((await importCsv('phone\n+13125550100\n')).body).toEqual({ added: 1, already: 0, invalid: [] });
  });

  it(`imports ${BULK} rows in one request, then the same file again as all "already"`, async () => {
    const numbers = Array.from({ length: BULK }, (_, i) => `+1646${String(2000000 + i).padStart(7, '0')}`);
    const csv = `phone,reason\n${numbers.map((n) => `${n},bulk`).join('\n')}\n`;
    let started = performance.now();
    const first = await importCsv(csv);
    const firstMs = performance.now() - started;
    expect(first.status, JSON.stringify(first.body).slice(0, 300)).toBe(200);
    expect(first.body.invalid.length + first.body.added).toBe(BULK);
    started = performance.now();
    const second = await importCsv(csv);
    const secondMs = performance.now() - started;
    expect(second.body).toEqual({ added: 0, already: first.body.added, invalid: first.body.invalid });
    const jobs = await rig.ctx.database.db.selectFrom('jobs').select(sql<number>`count(*)`.as('n')).where('kind', '=', 'consent.mirror_by_phone').where('payload', 'like', '%+1646200%').executeTakeFirstOrThrow();
    expect(Number(jobs.n)).toBe(first.body.added);
    console.log(`[${engine}] import of ${BULK} rows: ${Math.round(firstMs)} ms (${first.body.added} added); again: ${Math.round(secondMs)} ms`);
    expect(firstMs).toBeLessThan(60_000);
  }, 180_000);
});
