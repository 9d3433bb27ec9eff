import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createRigOn, engines, type Rig } from '../support/rig.js';
import { FREQUENCY_CAP_MAX } from '../../server/companies/settings-limits.js';

// The sending rules of a company: quiet hours (the window automation messages may go out in, in the recipient's local
// time) and the frequency cap (automation messages to one number per rolling 24 hours).

let rig: Rig;
let token: string;

describe.each(engines)('quiet hours and the frequency cap in the settings on %s', (engine) => {
  beforeAll(async () => {
    rig = await createRigOn(engine);
    await rig.installDemo();
    token = await rig.jwt();
  });
  afterAll(async () => rig?.close());

  const get = () => request(rig.appUrl).get('/api/settings').set('authorization', `Bearer ${token}`);
  const patch = (body: unknown) => request(rig.appUrl).patch('/api/settings').set('authorization', `Bearer ${token}`).send(body as object);
  const stored = async () => (await rig.ctx.companies.find(String(rig.demo.companyId)))!.parsedSettings;
  const fieldsOf = (res: request.Response) => (res.body.error.details.fields as Array<{ path: string }>).map((f) => f.path);

  it('shows 08:00-21:00 and a cap of 3 by default, and changes each without touching the other rules', async () => {
    const before = await get();
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ quietHours: { start: '08:00', end: '21:00' }, frequencyCap: 3 });

    const later = await patch({ quietHours: { start: '09:30', end: '18:45' } });
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({ quietHours: { start: '09:30', end: '18:45' }, frequencyCap: 3, maxSegments: before.body.maxSegments });
    expect((await stored()).quietHours).toEqual({ start: '09:30', end: '18:45' });

    const capped = await patch({ frequencyCap: 5 });
    expect(capped.body).toMatchObject({ quietHours: { start: '09:30', end: '18:45' }, frequencyCap: 5 });
    expect((await get()).body).toMatchObject({ quietHours: { start: '09:30', end: '18:45' }, frequencyCap: 5 });
  });

  it('takes null to switch quiet hours off, 0 to switch the cap off, and a window across midnight', async () => {
    expect((await patch({ quietHours: null, frequencyCap: 0 })).body).toMatchObject({ quietHours: null, frequencyCap: 0 });
    expect(await stored()).toMatchObject({ quietHours: null, frequencyCap: 0 });
    expect((await patch({ quietHours: { start: '22:00', end: '06:00' } })).body.quietHours).toEqual({ start: '22:00', end: '06:00' });
    expect((await patch({ frequencyCap: FREQUENCY_CAP_MAX })).body.frequencyCap).toBe(FREQUENCY_CAP_MAX);
  });

  it('refuses a bad window or cap with a 400 naming the field, and keeps what was stored', async () => {
    await patch({ quietHours: { start: '08:00', end: '21:00' }, frequencyCap: 3 });
    const cases: Array<[unknown, string]> = [
      [{ quietHours: { start: '08:10', end: '21:00' } }, 'quietHours.start'],
      [{ quietHours: { start: '08:00', end: '24:00' } }, 'quietHours.end'],
      [{ quietHours: { start: '8:00', end: '21:00' } }, 'quietHours.start'],
      [{ quietHours: { start: '08:00', end: '08:00' } }, 'quietHours.end'],
      [{ quietHours: { start: '08:00' } }, 'quietHours.end'],
      [{ quietHours: { start: '08:00', end: '21:00', zone: 'UTC' } }, 'quietHours'],
      [{ quietHours: '08:00-21:00' }, 'quietHours'],
      [{ quietHours: { start: 800, end: 2100 } }, 'quietHours.start'],
      [{ frequencyCap: -1 }, 'frequencyCap'],
      [{ frequencyCap: FREQUENCY_CAP_MAX + 1 }, 'frequencyCap'],
      [{ frequencyCap: 2.5 }, 'frequencyCap'],
      [{ frequencyCap: '3' }, 'frequencyCap'],
      [{ frequencyCap: null }, 'frequencyCap'],
    ];
    for (const [body, field] of cases) {
      const res = await patch(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(fieldsOf(res), JSON.stringify(body)).toContain(field);
    }
    expect(await stored()).toMatchObject({ quietHours: { start: '08:00', end: '21:00' }, frequencyCap: 3 });
  });

  it('reads an unreadable stored window as the default window (never as off) and an unreadable cap as 3', async () => {
    const id = String(rig.demo.companyId);
    const company = (await rig.ctx.companies.find(id))!;
    const raw = { ...JSON.parse(company.settings ?? '{}'), quietHours: { start: '25:00', end: 'x' }, frequencyCap: 'many' };
    await rig.ctx.database.db.updateTable('companies').set({ settings: JSON.stringify(raw) }).where('id', '=', id).execute();
    expect(await stored()).toMatchObject({ quietHours: { start: '08:00', end: '21:00' }, frequencyCap: 3 });
    const old = { ...JSON.parse(company.settings ?? '{}') };
    delete old.quietHours;
    delete old.frequencyCap;
    await rig.ctx.database.db.updateTable('companies').set({ settings: JSON.stringify(old) }).where('id', '=', id).execute();
    expect(await stored()).toMatchObject({ quietHours: { start: '08:00', end: '21:00' }, frequencyCap: 3 });
  });

  it('lets only the admin who installed change them', async () => {
    expect((await rig.install(rig.demo.salesUserId)).status).toBe(200);
    const sales = await rig.jwt({ userId: rig.demo.salesUserId, companyId: rig.demo.companyId });
    const res = await request(rig.appUrl).patch('/api/settings').set('authorization', `Bearer ${sales}`).send({ quietHours: null });
    expect(res.status).toBe(403);
    expect((await stored()).quietHours).toEqual({ start: '08:00', end: '21:00' });
  });
});
