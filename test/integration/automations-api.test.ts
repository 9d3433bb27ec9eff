import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createRigOn, engines, type Rig } from '../support/rig.js';

let rig: Rig;
let token: string;
const stageId = () => rig.demo.stages.quoteSent;
const api = () => request(rig.appUrl);

describe.each(engines)('the automations and settings API on %s', (engine) => {
  beforeAll(async () => {
    rig = await createRigOn(engine);
    await rig.installDemo();
    token = await rig.jwt();
  });
  afterAll(async () => rig?.close());

  describe('automations API authentication', () => {
    it('refuses a missing, forged, expired or foreign-secret token', async () => {
      expect((await api().get('/api/automations')).status).toBe(401);
      expect((await api().get('/api/automations').set('authorization', 'Bearer not.a.jwt')).status).toBe(401);
      const expired = await rig.jwt(undefined, { expiresIn: '-1m' });
      const res = await api().get('/api/automations').set('authorization', `Bearer ${expired}`);
      expect(res.status).toBe(401);
      expect(res.body.error.message).toContain('expired');
      const foreign = await rig.jwt(undefined, { secret: 'some-other-secret' });
      expect((await api().get('/api/automations').set('authorization', `Bearer ${foreign}`)).status).toBe(401);
      const noClaims = await rig.jwt({ sub: 'x' });
      expect((await api().get('/api/automations').set('authorization', `Bearer ${noClaims}`)).status).toBe(401);
    });

    it('accepts snake_case and string claims', async () => {
      const snake = await rig.jwt({ user_id: '501', company_id: '1001' });
      expect((await api().get('/api/automations').set('authorization', `Bearer ${snake}`)).status).toBe(200);
    });

    it('answers 403 for a company that has not installed the app', async () => {
      const stranger = await rig.jwt({ userId: 9, companyId: 424242 });
      expect((await api().get('/api/automations').set('authorization', `Bearer ${stranger}`)).status).toBe(403);
    });
  });

  describe('automations CRUD', () => {
    it('creates, lists, reads, updates and deletes, in the shape the settings page relies on', async () => {
      const created = await api()
        .post('/api/automations')
        .set('authorization', `Bearer ${token}`)
        .send({
          name: 'Quote sent follow-up',
          trigger: { event: 'deal.stage_entered', stageId: stageId() },
          template: 'Hi {{person.first_name|there}}, your quote for {{deal.title}} is ready.',
        });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        id: expect.any(String),
        name: 'Quote sent follow-up',
        enabled: true,
        trigger: { event: 'deal.stage_entered', stageId: stageId() },
        template: 'Hi {{person.first_name|there}}, your quote for {{deal.title}} is ready.',
      });
      const id = created.body.id as string;

      const list = await api().get('/api/automations').set('authorization', `Bearer ${token}`);
      expect(list.body.automations.map((a: { id: string }) => a.id)).toContain(id);

      const patched = await api()
        .patch(`/api/automations/${id}`)
        .set('authorization', `Bearer ${token}`)
        .send({ enabled: false, trigger: { event: 'deal.created', stageId: rig.demo.stages.leadIn, pipelineId: rig.demo.pipelineId } });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ enabled: false, trigger: { event: 'deal.created', stageId: rig.demo.stages.leadIn, pipelineId: rig.demo.pipelineId } });
      expect(patched.body.name).toBe('Quote sent follow-up');

      expect((await api().get(`/api/automations/${id}`).set('authorization', `Bearer ${token}`)).body.enabled).toBe(false);
      expect((await api().delete(`/api/automations/${id}`).set('authorization', `Bearer ${token}`)).status).toBe(204);
      expect((await api().get(`/api/automations/${id}`).set('authorization', `Bearer ${token}`)).status).toBe(404);
      expect((await api().delete(`/api/automations/${id}`).set('authorization', `Bearer ${token}`)).status).toBe(404);
    });

    it("never shows or changes another company's automations", async () => {
      const other = rig.pd.addCompany({ id: 2002, name: 'Other Co', domain: 'other' });
      const otherAdmin = rig.pd.addUser({ id: 777, companyId: other.id, name: 'Olga Other', isAdmin: true });
      expect((await rig.install(otherAdmin.id)).status).toBe(200);
      const mine = await api()
        .post('/api/automations')
        .set('authorization', `Bearer ${token}`)
        .send({ name: 'Mine', trigger: { event: 'deal.created', stageId: stageId() }, template: 'Hello' });
      const theirs = await rig.jwt({ userId: otherAdmin.id, companyId: other.id });
      const auth = { authorization: `Bearer ${theirs}` };
      expect((await api().get('/api/automations').set(auth)).body.automations).toEqual([]);
      expect((await api().get(`/api/automations/${mine.body.id}`).set(auth)).status).toBe(404);
      expect((await api().patch(`/api/automations/${mine.body.id}`).set(auth).send({ enabled: false })).status).toBe(404);
      expect((await api().delete(`/api/automations/${mine.body.id}`).set(auth)).status).toBe(404);
      expect((await api().get(`/api/automations/${mine.body.id}`).set('authorization', `Bearer ${token}`)).body.enabled).toBe(true);
    });
  });

  describe('who may change automations', () => {
    it('lets every user of the company read them, and only an admin who installed change them', async () => {
      const created = await api()
        .post('/api/automations')
        .set('authorization', `Bearer ${token}`)
        .send({ name: 'Admin made', trigger: { event: 'deal.created', stageId: stageId() }, template: 'Hello' });
      expect(created.status).toBe(201);
      // A sales user who installed (not an admin), and one who never installed.
      expect((await rig.install(rig.demo.salesUserId)).status).toBe(200);
      for (const userId of [rig.demo.salesUserId, 9_999]) {
        const auth = { authorization: `Bearer ${await rig.jwt({ userId, companyId: rig.demo.companyId })}` };
        expect((await api().get('/api/automations').set(auth)).body.automations.map((a: { id: string }) => a.id)).toContain(created.body.id);
        const post = await api().post('/api/automations').set(auth).send({ name: 'Sales made', trigger: { event: 'deal.created', stageId: stageId() }, template: 'Hi' });
        expect(post.status).toBe(403);
        expect(post.body.error.message).toContain('admin');
        expect((await api().patch(`/api/automations/${created.body.id}`).set(auth).send({ enabled: false })).status).toBe(403);
        expect((await api().delete(`/api/automations/${created.body.id}`).set(auth)).status).toBe(403);
      }
      const after = await api().get(`/api/automations/${created.body.id}`).set('authorization', `Bearer ${token}`);
      expect(after.body).toMatchObject({ name: 'Admin made', enabled: true });
      expect((await api().get('/api/automations').set('authorization', `Bearer ${token}`)).body.automations.some((a: { name: string }) => a.name === 'Sales made')).toBe(false);
    });
  });

  describe('template validation at save time', () => {
    const post = (template: string) =>
      api().post('/api/automations').set('authorization', `Bearer ${token}`).send({ name: 'x', trigger: { event: 'deal.created', stageId: 12 }, template });

    it('refuses a template that cannot fit, with the measured segments', async () => {
      const res = await post('a'.repeat(150));
      expect(res.status).toBe(400);
      expect(res.body.error.details).toMatchObject({ segments: 2, maxSegments: 1, encoding: 'GSM-7' });
      expect(res.body.error.details.problems[0].code).toBe('too_long');
    });

    it('refuses a public shortener and an unknown merge field, naming them', async () => {
      const short = await post('See bit.ly/abc');
      expect(short.status).toBe(400);
      expect(short.body.error.details.problems[0].code).toBe('link_shortener');
      expect(short.body.error.message).toContain('bit.ly');
      const unknown = await post('Hi {{person.nickname}}');
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.message).toContain('person.nickname');
    });

    it('also validates a template changed by PATCH', async () => {
      const ok = await post('Short and fine');
      expect(ok.status).toBe(201);
      const res = await api().patch(`/api/automations/${ok.body.id}`).set('authorization', `Bearer ${token}`).send({ template: 'Ж'.repeat(80) });
      expect(res.status).toBe(400);
      expect(res.body.error.details.encoding).toBe('UCS-2');
    });

    it('answers malformed input with a 400 naming the fields, never a 500', async () => {
      const missing = await api().post('/api/automations').set('authorization', `Bearer ${token}`).send({ name: '' });
      expect(missing.status).toBe(400);
      const paths = missing.body.error.details.fields.map((f: { path: string }) => f.path);
      expect(paths).toEqual(expect.arrayContaining(['name', 'trigger', 'template']));
      const badStage = await api()
        .post('/api/automations')
        .set('authorization', `Bearer ${token}`)
        .send({ name: 'x', trigger: { event: 'deal.updated', stageId: -3 }, template: 'Hi' });
      expect(badStage.status).toBe(400);
      const broken = await api().post('/api/automations').set('authorization', `Bearer ${token}`).set('content-type', 'application/json').send('{"name":');
      expect(broken.status).toBe(400);
      expect(broken.body.error.code).toBe('malformed_body');
      const huge = await api().post('/api/automations').set('authorization', `Bearer ${token}`).send({ name: 'x', template: 'a'.repeat(40_000) });
      expect(huge.status).toBe(413);
      const emptyPatch = await api().patch('/api/automations/whatever').set('authorization', `Bearer ${token}`).send({});
      expect([400, 404]).toContain(emptyPatch.status);
    });
  });

  describe('template preview', () => {
    it('previews a template with a sample exactly: final text, encoding, segments and problems', async () => {
      const res = await api()
        .post('/api/templates/preview')
        .set('authorization', `Bearer ${token}`)
        .send({ template: 'Hi {{person.first_name}}, your quote is ready.', sample: { person: { first_name: 'Ann' } } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        body: 'Hi Ann, your quote is ready.\nReply STOP to opt out',
        encoding: 'GSM-7',
        segments: 1,
        characters: 50,
        maxSegments: 1,
        problems: [],
      });
    });

    it('renders fallbacks without a sample and reports problems instead of refusing', async () => {
      const res = await api()
        .post('/api/templates/preview')
        .set('authorization', `Bearer ${token}`)
        .send({ template: 'Hi {{person.first_name|there}} 😀 {{person.age}} tinyurl.com/x' });
      expect(res.status).toBe(200);
      expect(res.body.body.startsWith('Hi there 😀')).toBe(true);
      expect(res.body.encoding).toBe('UCS-2');
      expect(res.body.problems).toEqual(expect.arrayContaining(['unknown_field', 'link_shortener']));
    });
  });

  describe('company settings', () => {
    it('shows the settings with their defaults and lets an admin change one without touching the others', async () => {
      const before = await api().get('/api/settings').set('authorization', `Bearer ${token}`);
      expect(before.status).toBe(200);
      expect(before.body).toMatchObject({ maxSegments: 1, keywordReplies: 'provider', helpText: null, optOutWords: 'exact', sendRatePerSecond: 1 });
      expect(before.body.helpTextDefault).toBe('Acme Sandbox Inc.: reply STOP to opt out, START to opt back in. Msg&data rates may apply.');

      const patched = await api().patch('/api/settings').set('authorization', `Bearer ${token}`).send({ keywordReplies: 'app' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ maxSegments: 1, keywordReplies: 'app', helpText: null, optOutWords: 'exact', sendRatePerSecond: 1 });
      const two = await api().patch('/api/settings').set('authorization', `Bearer ${token}`).send({ maxSegments: 2, helpText: 'Acme: call 555-0100. Reply STOP to opt out.' });
      expect(two.body).toMatchObject({ maxSegments: 2, keywordReplies: 'app', helpText: 'Acme: call 555-0100. Reply STOP to opt out.', optOutWords: 'exact', sendRatePerSecond: 1 });
      expect((await rig.ctx.companies.find('1001'))!.parsedSettings.maxSegments).toBe(2);
    });

    it('warns about saved templates that no longer fit a lower segment limit', async () => {
      await api().patch('/api/settings').set('authorization', `Bearer ${token}`).send({ maxSegments: 2 });
      const long = await api()
        .post('/api/automations')
        .set('authorization', `Bearer ${token}`)
        .send({ name: 'Long one', trigger: { event: 'deal.created', stageId: 12 }, template: 'a'.repeat(200) });
      expect(long.status).toBe(201);
      const res = await api().patch('/api/settings').set('authorization', `Bearer ${token}`).send({ maxSegments: 1 });
      expect(res.status).toBe(200);
      expect(res.body.warnings).toEqual([expect.objectContaining({ automationId: long.body.id, name: 'Long one' })]);
    });

    it('refuses bad values, unknown keys and non-admins', async () => {
      const patch = (body: object, t = token) => api().patch('/api/settings').set('authorization', `Bearer ${t}`).send(body);
      expect((await patch({ maxSegments: 0 })).status).toBe(400);
      expect((await patch({ keywordReplies: 'carrier' })).status).toBe(400);
      expect((await patch({ colour: 'green' })).status).toBe(400);
      expect((await patch({})).status).toBe(400);
      expect((await patch({ sendRatePerSecond: -1 })).status).toBe(400);
      expect((await rig.install(rig.demo.salesUserId)).status).toBe(200);
      const sales = await rig.jwt({ userId: rig.demo.salesUserId, companyId: rig.demo.companyId });
      expect((await patch({ keywordReplies: 'provider' }, sales)).status).toBe(403);
      const seen = await api().get('/api/settings').set('authorization', `Bearer ${sales}`);
      expect(seen.status).toBe(200);
      expect(seen.body.canEdit).toBe(false);
      expect((await api().get('/api/settings').set('authorization', `Bearer ${token}`)).body.canEdit).toBe(true);
    });
  });

  describe('pipelines and stages for the stage picker', () => {
    const get = (t = token) => api().get('/api/pipelines').set('authorization', `Bearer ${t}`);

    it('lists every pipeline with its stages in Pipedrive order, read live', async () => {
      const company = rig.demo.companyId;
      const second = rig.pd.addPipeline(company, { name: 'Renewals' });
      // Added out of order: the answer follows order_nr, not creation.
      rig.pd.addStage(company, { pipeline_id: second.id, name: 'Won back', order_nr: 2 });
      rig.pd.addStage(company, { pipeline_id: second.id, name: 'Up for renewal', order_nr: 1 });

      const res = await get();
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const sales = res.body.pipelines.find((p: { id: number }) => p.id === rig.demo.pipelineId);
      expect(sales).toMatchObject({ name: 'Sales' });
      expect(sales.stages).toEqual([
        { id: rig.demo.stages.leadIn, name: 'Lead in', order: 1 },
        { id: rig.demo.stages.quoteSent, name: 'Quote sent', order: 2 },
        { id: rig.demo.stages.negotiation, name: 'Negotiation', order: 3 },
        { id: rig.demo.stages.won, name: 'Won', order: 4 },
      ]);
      const renewals = res.body.pipelines.find((p: { id: number }) => p.id === second.id);
      expect(renewals.stages.map((s: { name: string }) => s.name)).toEqual(['Up for renewal', 'Won back']);
      const orders = res.body.pipelines.map((p: { order: number }) => p.order);
      expect(orders).toEqual([...orders].sort((a, b) => a - b));
    });

    it('answers a user who did not install through the company installation, and 401/403 as the other settings routes', async () => {
      const sales = await rig.jwt({ userId: 9_999, companyId: rig.demo.companyId });
      const res = await get(sales);
      expect(res.status).toBe(200);
      expect(res.body.pipelines.length).toBeGreaterThan(0);
      expect((await api().get('/api/pipelines')).status).toBe(401);
      expect((await get(await rig.jwt({ userId: 9, companyId: 424242 }))).status).toBe(403);
    });

    it('answers 502 with the reason when Pipedrive fails, and recovers on the next call', async () => {
      rig.pd.injectFault({ method: 'GET', path: '/api/v2/stages', status: 503, times: 1 });
      const failed = await get();
      expect(failed.status).toBe(502);
      expect(failed.body.error.code).toBe('pipedrive_api_error');
      expect(failed.body.error.message).toContain('503');
      expect((await get()).status).toBe(200);
    });
  });
});
