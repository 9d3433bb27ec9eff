import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { SignJWT } from 'jose';
import { createRig, type Rig } from '../support/rig.js';

/**
 * Tokens and requests: an iframe token without an expiry is refused, a malformed install cookie is the caller's
 * mistake (400), and an error answer never tells the caller where our vendors live or what our rows are called.
 */
let rig: Rig;
const api = () => request(rig.appUrl);
const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;

beforeAll(async () => {
  rig = await createRig({ outbox: { rateLimit: false } });
  await rig.installDemo();
});
afterAll(async () => rig.close());

/** A token Pipedrive's secret signed, but with no `exp`: valid for ever if accepted. */
const tokenWithoutExpiry = () =>
  new SignJWT({ userId: rig.demo.adminUserId, companyId: rig.demo.companyId })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .sign(new TextEncoder().encode(rig.config.pipedrive.jwtSecret));

describe('panel and settings tokens', () => {
  it('refuses a signed token without exp with 401 everywhere, and accepts the same claims with exp', async () => {
    const forever = await tokenWithoutExpiry();
    const bearer = `Bearer ${forever}`;
    const answers = [
      await api().get('/api/settings').set('authorization', bearer),
      await api().get('/api/automations').set('authorization', bearer),
      await api().get('/api/settings/twilio').set('authorization', bearer),
      await api().get(`/api/panel/deals/${ann().dealId}`).set('authorization', bearer),
      await api().get(`/panel?token=${forever}`),
      await api().get(`/settings?token=${forever}`),
    ];
    expect(answers.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 401]);
    expect(answers[0]!.body.error.code).toBe('unauthorized');
    const good = await rig.jwt();
    expect((await api().get('/api/settings').set('authorization', `Bearer ${good}`)).status).toBe(200);
  });
});

describe('the install callback with a malformed cookie', () => {
  /** A state and nonce cookie as /oauth/start issues them. */
  async function started() {
    const start = await api().get('/oauth/start');
    const state = new URL(start.headers.location as string).searchParams.get('state')!;
    const cookie = ([] as string[]).concat(start.headers['set-cookie'] ?? []).find((c) => c.startsWith('pd_oauth_nonce='))!;
    return { state, nonce: cookie.split(';')[0]!.slice('pd_oauth_nonce='.length) };
  }
  const callback = (state: string, cookie: string) => api().get(`/oauth/callback?state=${encodeURIComponent(state)}&code=abc`).set('cookie', cookie);

  it('answers 400, never 500, and never goes on to exchange the code', async () => {
    const { state, nonce } = await started();
    rig.pd.clearRequests();
    const cookies = {
      'broken percent-encoding': 'pd_oauth_nonce=%E0%A4%A',
      'broken percent-encoding in another cookie': `theme=%E0%A4%A; pd_oauth_nonce=${nonce}x`,
      'a huge cookie': `pd_oauth_nonce=${'a'.repeat(12_000)}`,
      'the name twice, the right value first': `pd_oauth_nonce=${nonce}; pd_oauth_nonce=intruder`,
      'the name twice, the right value last': `pd_oauth_nonce=intruder; pd_oauth_nonce=${nonce}`,
      'not a nonce': 'pd_oauth_nonce={"n":"x"}',
      'an empty value': 'pd_oauth_nonce=',
    };
    for (const [name, cookie] of Object.entries(cookies)) {
      const res = await callback(state, cookie);
      expect({ name, status: res.status }).toEqual({ name, status: 400 });
      expect(res.text).toContain('This installation link is not valid');
    }
    // The code was never exchanged: the emulator saw no token request.
    expect(rig.pd.requests.filter((r) => r.path === '/oauth/token')).toHaveLength(0);
  });
});

describe('error answers', () => {
  const leaks = (text: string, port: string) =>
    ['127.0.0.1', 'localhost', `:${port}`, port, 'http://', 'https://', 'ECONNREFUSED', 'Error:', '    at '].filter((s) => text.includes(s));

  it('do not name the user or company whose Pipedrive authorisation is gone', async () => {
    const token = await rig.jwt();
    // Pipedrive revoked the installer's authorisation and the app did not hear of it (the notice went nowhere).
    await rig.pd.uninstall({ userId: rig.demo.adminUserId, callbackUrl: 'http://127.0.0.1:9/oauth/callback' });
    rig.pd.expireAccessTokens();
    const revoked = await api().get('/api/pipelines').set('authorization', `Bearer ${token}`);
    expect(revoked.status).toBeGreaterThanOrEqual(400);
    expect(revoked.status).toBeLessThan(500);
    expect(revoked.text).not.toContain(String(rig.demo.adminUserId));
    expect(revoked.text).not.toContain(String(rig.demo.companyId));
    await rig.installDemo();
  });

  it('name no host, port, URL or stack when Pipedrive or Twilio cannot be reached; the log has the details', async () => {
    const token = await rig.jwt();
    const pdPort = new URL(rig.pd.url).port;
    const twPort = new URL(rig.tw.url).port;
    const logged = rig.logs.length;

    // Twilio down (Pipedrive up, so the admin is recognised): connecting an account cannot be checked.
    await rig.tw.close();
    const twilioAccount = await api()
      .put('/api/settings/twilio')
      .set('authorization', `Bearer ${token}`)
      .send({ accountSid: `AC${'1'.repeat(32)}`, authToken: 'f'.repeat(32), fromNumber: '+15005550077' });
    // A text the worker gave up on while Twilio was unreachable, as it records it: the panel says so in our words.
    const at = new Date().toISOString();
    await rig.ctx.database.db
      .insertInto('outbound_messages')
      .values({
        id: 'gave-up', company_id: String(rig.demo.companyId), source: 'panel', template: 'Are you free on Tuesday?', deal_id: ann().dealId,
        person_id: ann().id, body: 'Are you free on Tuesday?', state: 'failed', attempts: 8, error_code: 'network',
        error_message: `network error talking to Twilio: connect ECONNREFUSED 127.0.0.1:${twPort} (gave up after 8 attempts)`,
        next_attempt_at: at, created_at: at, updated_at: at,
      })
      .execute();
    const view = await api().get(`/api/panel/deals/${ann().dealId}`).set('authorization', `Bearer ${token}`);
    const failed = (view.body.messages as Array<{ id: string; error: string | null }>).find((m) => m.id === 'gave-up')!;
    expect(failed.error).toContain('Twilio');
    expect(leaks(failed.error!, twPort)).toEqual([]);
    // Pipedrive down: the settings page's stages and the deal panel cannot be read.
    await rig.pd.close();
    const pipelines = await api().get('/api/pipelines').set('authorization', `Bearer ${token}`);
    // Another deal than the one viewed above, whose view the panel may still hold.
    const nora = rig.demo.persons.find((p) => p.name.startsWith('Nora'))!;
    const panel = await api().get(`/api/panel/deals/${nora.dealId}`).set('authorization', `Bearer ${token}`);

    for (const [name, res, port, vendor] of [
      ['twilio account', twilioAccount, twPort, 'Twilio'],
      ['pipelines', pipelines, pdPort, 'Pipedrive'],
      ['panel', panel, pdPort, 'Pipedrive'],
    ] as const) {
      expect({ name, status: res.status }).toEqual({ name, status: 502 });
      expect({ name, leaks: leaks(res.text, port) }).toEqual({ name, leaks: [] });
      expect(res.body.error.message).toContain(vendor);
    }
    const log = rig.logs.slice(logged).join('');
    expect(log).toContain('ECONNREFUSED');
    expect(log).toContain('/api/pipelines');
    expect(log).toContain(twPort);
  });
});
