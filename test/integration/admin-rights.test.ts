import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request, { type Test } from 'supertest';
import { createRigOn, engines, type Rig } from '../support/rig.js';

/**
 * Writes reserved to the admin who installed (settings, automations, the company's Twilio account) hold only while
 * that user is still a Pipedrive admin: Pipedrive is asked (the answer kept at most 5 minutes), a demoted admin is
 * refused, and a question Pipedrive cannot answer never lets a write through.
 */
const WINDOW_MS = 5 * 60_000;
const COMPANY = '1001';
const OWN_NUMBER = '+15005550010';

describe.each(engines)('admin rights are current (%s)', (kind) => {
  let rig: Rig;
  let admin: string;
  let own: { sid: string; authToken: string };
  let automationId: string;
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  /** Moves the app's clock past the cache window, so the next write asks Pipedrive again. */
  const passWindow = () => {
    offset += WINDOW_MS + 1_000;
  };

  const api = () => request(rig.appUrl);
  const as = (t: Test) => t.set('authorization', `Bearer ${admin}`);
  const patchSettings = (body: object) => as(api().patch('/api/settings')).send(body);
  const createAutomation = () =>
    as(api().post('/api/automations')).send({
      name: 'Quote follow-up',
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
      template: 'Hi {{person.first_name|there}}, your quote is ready.',
    });
  const connectTwilio = () => as(api().put('/api/settings/twilio')).send({ accountSid: own.sid, authToken: own.authToken, fromNumber: OWN_NUMBER });
  const canEdit = async () => (await as(api().get('/api/settings'))).body.canEdit as boolean;
  const usersMeCalls = () => rig.pd.requests.filter((r) => r.path === '/api/v1/users/me').length;
  /** What the admin writes could change, read straight from the database. */
  const snapshot = async () => {
    const company = (await rig.ctx.companies.find(COMPANY))!;
    return {
      settings: company.parsedSettings,
      twilio: company.twilio_account_sid,
      automations: await rig.ctx.automations.list(COMPANY),
    };
  };
  /** Every admin write, with the status each one got. */
  const everyWrite = async () => ({
    settings: (await patchSettings({ maxSegments: 2 })).status,
    create: (await createAutomation()).status,
    update: (await as(api().patch(`/api/automations/${automationId}`)).send({ enabled: false })).status,
    remove: (await as(api().delete(`/api/automations/${automationId}`))).status,
    connect: (await connectTwilio()).status,
    disconnect: (await as(api().delete('/api/settings/twilio'))).status,
  });

  beforeAll(async () => {
    rig = await createRigOn(kind, { clock });
    await rig.installDemo();
    // The JWT is checked against the app's clock, which the tests move by up to an hour.
    admin = await rig.jwt(undefined, { expiresIn: '2h' });
    own = rig.tw.addAccount();
    rig.tw.addNumber(own.sid, OWN_NUMBER);
  });
  afterAll(async () => rig?.close());

  it('refuses a demoted admin every admin write once the cached answer is 5 minutes old, changing nothing', async () => {
    expect((await patchSettings({ maxSegments: 4 })).status).toBe(200);
    const created = await createAutomation();
    expect(created.status).toBe(201);
    automationId = created.body.id as string;
    expect((await connectTwilio()).status).toBe(200);
    expect(await canEdit()).toBe(true);
    const asked = usersMeCalls();
    expect(asked).toBeGreaterThanOrEqual(1);

    rig.pd.setUserAdmin(rig.demo.companyId, rig.demo.adminUserId, false);
    offset += 60_000;
    // Within the window the answer Pipedrive gave a minute ago still holds, and Pipedrive is not asked again.
    expect((await patchSettings({ maxSegments: 4 })).status).toBe(200);
    expect(usersMeCalls()).toBe(asked);

    passWindow();
    const before = await snapshot();
    expect(before.twilio).toBe(own.sid);
    const refused = await patchSettings({ maxSegments: 2 });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('no longer a Pipedrive admin');
    expect(await everyWrite()).toEqual({ settings: 403, create: 403, update: 403, remove: 403, connect: 403, disconnect: 403 });
    expect(await snapshot()).toEqual(before);
    expect(await canEdit()).toBe(false);
    // One question answered every write of the window.
    expect(usersMeCalls()).toBe(asked + 1);
  });

  it('lets a re-promoted admin write again once the window has passed', async () => {
    rig.pd.setUserAdmin(rig.demo.companyId, rig.demo.adminUserId, true);
    expect((await patchSettings({ maxSegments: 3 })).status).toBe(403);
    passWindow();
    expect(await canEdit()).toBe(true);
    expect((await patchSettings({ maxSegments: 3 })).status).toBe(200);
    expect((await snapshot()).settings.maxSegments).toBe(3);
    expect((await as(api().delete('/api/settings/twilio'))).status).toBe(200);
    expect((await snapshot()).twilio).toBeNull();
  });

  it('refuses the write with 502 when Pipedrive cannot be asked (503 or no answer), and asks again next time', async () => {
    passWindow();
    const before = await snapshot();
    rig.pd.injectFault({ method: 'GET', path: '/api/v1/users/me', status: 503 });
    const down = await patchSettings({ maxSegments: 1 });
    expect(down.status).toBe(502);
    rig.pd.injectFault({ method: 'GET', path: '/api/v1/users/me', status: 0, dropConnection: true });
    expect((await createAutomation()).status).toBe(502);
    rig.pd.injectFault({ method: 'GET', path: '/api/v1/users/me', status: 503 });
    expect(await canEdit()).toBe(false);
    expect(await snapshot()).toEqual(before);
    // A failure is not remembered: the next write asks again and goes through.
    expect((await patchSettings({ maxSegments: 1 })).status).toBe(200);
    expect((await snapshot()).settings.maxSegments).toBe(1);
  });

  it('answers 403 asking for a reinstall when Pipedrive refuses the token even after a refresh', async () => {
    passWindow();
    const before = await snapshot();
    const refreshes = rig.pd.refreshCount();
    rig.pd.injectFault({ method: 'GET', path: '/api/v1/users/me', status: 401, times: 2 });
    const broken = await patchSettings({ maxSegments: 5 });
    expect(broken.status).toBe(403);
    expect(broken.body.error.message).toMatch(/reinstall/i);
    expect(rig.pd.refreshCount()).toBe(refreshes + 1);
    expect(await snapshot()).toEqual(before);
  });
});
