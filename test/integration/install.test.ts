import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createStateSigner } from '../../server/http/oauth-state.js';
import { createRigOn, engines, type Rig, CLIENT_ID } from '../support/rig.js';
import { sqliteFileBytes, tablesHolding } from '../support/storage.js';
import { sealedPlaces } from '../../server/security/crypto.js';

let rig: Rig;
afterEach(async () => rig?.close());

const tokenRequests = () => rig.pd.requests.filter((r) => r.path === '/oauth/token');
const companyRow = (id = String(rig.demo.companyId)) =>
  rig.ctx.database.db.selectFrom('companies').selectAll().where('id', '=', id).executeTakeFirst();
const installationRows = () => rig.ctx.database.db.selectFrom('installations').selectAll().execute();

describe.each(engines)('install and tokens on %s', (engine) => {
  describe('install', () => {
    beforeEach(async () => {
      rig = await createRigOn(engine);
    });

    it('redirects to Pipedrive with a signed state and the callback URL', async () => {
      const res = await request(rig.appUrl).get('/oauth/start');
      expect(res.status).toBe(302);
      const location = new URL(res.headers.location as string);
      expect(`${location.origin}${location.pathname}`).toBe(`${rig.pd.url}/oauth/authorize`);
      expect(location.searchParams.get('client_id')).toBe(CLIENT_ID);
      expect(location.searchParams.get('redirect_uri')).toBe(`${rig.appUrl}/oauth/callback`);
      expect(location.searchParams.get('state')).toMatch(/^[\w-]+\.[\w-]+$/);
      expect(String(res.headers['set-cookie'])).toMatch(/pd_oauth_nonce=.*HttpOnly.*SameSite=Lax/i);
    });

    it('installs through the real OAuth flow, stores the tokens sealed, and provisions the company', async () => {
      const res = await rig.install();
      expect(res.status).toBe(200);
      expect(res.html).toContain('SMS for Pipedrive is installed');
      expect(res.html).toContain('Acme Sandbox Inc.');
      expect(res.html).toContain('/settings/marketplace/app/test-client-id/app-settings');

      // At Pipedrive's boundary: one code exchange, users/me, and the three provisioning creations.
      expect(tokenRequests()).toHaveLength(1);
      expect(tokenRequests()[0]!.body).toMatchObject({ grant_type: 'authorization_code', redirect_uri: `${rig.appUrl}/oauth/callback` });
      const [field] = rig.pd.personFields(rig.demo.companyId).filter((f) => f.name === 'SMS consent');
      expect(field?.field_type).toBe('enum');
      expect(field?.options?.map((o) => o.label)).toEqual(['Granted', 'Opted out']);
      const types = rig.pd.activityTypes(rig.demo.companyId).filter((t) => t.name === 'SMS');
      expect(types).toHaveLength(1);
      const hooks = rig.pd.webhooks(rig.demo.companyId);
      expect(hooks).toHaveLength(1);
      expect(hooks[0]).toMatchObject({
        subscription_url: `${rig.appUrl}/webhooks/pipedrive`,
        event_object: 'deal',
        version: '2.0',
        http_auth_user: `pd-${rig.demo.companyId}`,
      });
      expect(hooks[0]!.http_auth_password?.length).toBeGreaterThanOrEqual(32);

      const company = await companyRow();
      expect(company).toMatchObject({
        name: 'Acme Sandbox Inc.',
        provisioning_status: 'complete',
        consent_field_key: field!.key,
        consent_granted_option: String(field!.options![0]!.id),
        consent_opted_out_option: String(field!.options![1]!.id),
        activity_type_key: types[0]!.key_string,
        webhook_id: String(hooks[0]!.id),
      });
      const [installation] = await installationRows();
      expect(installation).toMatchObject({ company_id: '1001', user_id: '501', is_admin: 1, api_domain: rig.pd.url });

      // Sealed at rest: neither token nor the webhook password appears in any table, nor (SQLite) in the files.
      const issued = rig.pd.tokens.at(-1)!;
      for (const secret of [issued.accessToken, issued.refreshToken, hooks[0]!.http_auth_password!]) {
        expect(await tablesHolding(rig.ctx.database, secret)).toEqual([]);
        if (engine === 'sqlite') expect(sqliteFileBytes(rig.dbFile)).not.toContain(secret);
      }
      expect(installation!.access_token_sealed).not.toContain(issued.accessToken);
      // …and never in the logs.
      expect(rig.logs.join('')).not.toContain(issued.accessToken);
    });

    it('refuses a callback without state, with a forged state, or from another browser, without exchanging the code', async () => {
      const code = rig.pd.issueAuthCode(rig.demo.adminUserId);
      const missing = await request(rig.appUrl).get(`/oauth/callback?code=${code}`);
      expect(missing.status).toBe(400);
      expect(missing.text).toContain('missing state');

      const signer = createStateSigner(rig.config.pipedrive.clientSecret, Date.now);
      const { state, nonce } = signer.issue();
      const forged = `${state.split('.')[0]}.${'A'.repeat(43)}`;
      const bad = await request(rig.appUrl).get(`/oauth/callback?code=${code}&state=${forged}`).set('cookie', `pd_oauth_nonce=${nonce}`);
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('signature');

      const otherBrowser = await request(rig.appUrl).get(`/oauth/callback?code=${code}&state=${state}`);
      expect(otherBrowser.status).toBe(400);
      expect(otherBrowser.text).toContain('another browser');

      const expired = createStateSigner(rig.config.pipedrive.clientSecret, () => Date.now() - 11 * 60_000).issue();
      const late = await request(rig.appUrl)
        .get(`/oauth/callback?code=${code}&state=${expired.state}`)
        .set('cookie', `pd_oauth_nonce=${expired.nonce}`);
      expect(late.status).toBe(400);
      expect(late.text).toContain('expired');

      expect(tokenRequests()).toHaveLength(0);
      expect(await installationRows()).toHaveLength(0);
    });

    it('handles Cancel (user_denied) with a clear page and stores nothing', async () => {
      rig.pd.setConsent({ deny: true });
      const { installThroughBrowser } = await import('../../emulators/browser-install.js');
      const res = await installThroughBrowser(rig.appUrl);
      expect(res.status).toBe(200);
      expect(res.html).toContain('Installation cancelled');
      expect(tokenRequests()).toHaveLength(0);
      expect(await companyRow()).toBeUndefined();
    });

    it('answers a replayed (already used) code with a page, not an error', async () => {
      expect((await rig.install()).status).toBe(200);
      const used = rig.pd.requests.find((r) => r.path === '/oauth/token')!.body as Record<string, string>;
      const signer = createStateSigner(rig.config.pipedrive.clientSecret, Date.now);
      const { state, nonce } = signer.issue();
      const res = await request(rig.appUrl).get(`/oauth/callback?code=${used.code}&state=${state}`).set('cookie', `pd_oauth_nonce=${nonce}`);
      expect(res.status).toBe(400);
      expect(res.text).toContain('expired');
    });

    it('reuses an existing "SMS consent" field and "SMS" activity type, and a reinstall creates nothing new', async () => {
      const field = rig.pd.addPersonField(rig.demo.companyId, { name: 'SMS consent', options: ['Opted out', 'Granted', 'Unknown'] });
      const type = rig.pd.addActivityType(rig.demo.companyId, { name: 'SMS', icon_key: 'smartphone' });
      expect((await rig.install()).status).toBe(200);
      expect((await rig.install()).status).toBe(200);

      expect(rig.pd.personFields(rig.demo.companyId).filter((f) => f.name === 'SMS consent')).toHaveLength(1);
      expect(rig.pd.activityTypes(rig.demo.companyId).filter((t) => t.name === 'SMS')).toHaveLength(1);
      expect(rig.pd.webhooks(rig.demo.companyId)).toHaveLength(1);
      const creations = rig.pd.requests.filter((r) => r.method === 'POST' && /personFields|activityTypes/.test(r.path));
      expect(creations).toHaveLength(0);
      const company = await companyRow();
      expect(company).toMatchObject({
        consent_field_key: field.key,
        consent_granted_option: String(field.options!.find((o) => o.label === 'Granted')!.id),
        consent_opted_out_option: String(field.options!.find((o) => o.label === 'Opted out')!.id),
        activity_type_key: type.key_string,
        provisioning_status: 'complete',
      });
    });

    it('completes a non-admin install and says what an admin must do; an admin install finishes the set-up', async () => {
      const res = await rig.install(rig.demo.salesUserId);
      expect(res.status).toBe(200);
      expect(res.html).toContain('SMS for Pipedrive is installed');
      expect(res.html).toContain('Set-up is not finished');
      expect(res.html).toContain('admin');
      expect(await companyRow()).toMatchObject({ provisioning_status: 'needs_admin', webhook_id: null, consent_field_key: null });
      expect(await installationRows()).toMatchObject([{ user_id: String(rig.demo.salesUserId), is_admin: 0 }]);

      expect((await rig.install(rig.demo.adminUserId)).status).toBe(200);
      expect(await companyRow()).toMatchObject({ provisioning_status: 'complete' });
      expect(rig.pd.webhooks(rig.demo.companyId)).toHaveLength(1);
    });
  });

  describe('tokens', () => {
    it('refreshes once before expiry, however many calls ask at once, and persists the new token', async () => {
      // Tokens that live 30 s are inside the 60 s refresh margin: the first calls must refresh.
      rig = await createRigOn(engine, { accessTokenTtlSeconds: 30 });
      await rig.installDemo();
      const before = rig.pd.refreshCount();
      const crm = await rig.ctx.installations.crmFor('1001');
      const persons = await Promise.all(rig.demo.persons.map((p) => crm.getPerson(p.id)));
      expect(persons.map((p) => p?.name)).toEqual(rig.demo.persons.map((p) => p.name));
      expect(rig.pd.refreshCount() - before).toBe(1);

      // Persisted: a restarted process uses the refreshed token without refreshing again.
      const latest = rig.pd.tokens.at(-1)!;
      expect(latest.grantType).toBe('refresh_token');
      await rig.restart();
      const row = await rig.ctx.database.db.selectFrom('installations').selectAll().executeTakeFirstOrThrow();
      expect(rig.ctx.secrets.open(row.access_token_sealed, sealedPlaces.accessToken(row.company_id, row.user_id))).toBe(latest.accessToken);
    });

    it('refreshes once on a 401 and retries each call once', async () => {
      rig = await createRigOn(engine);
      await rig.installDemo();
      const crm = await rig.ctx.installations.crmFor('1001');
      await crm.getPerson(rig.demo.persons[0]!.id);
      rig.pd.expireAccessTokens();
      const before = rig.pd.refreshCount();
      rig.pd.clearRequests();
      const results = await Promise.all([1, 2, 3, 4].map(() => crm.getPerson(rig.demo.persons[0]!.id)));
      expect(results.every((p) => p?.id === rig.demo.persons[0]!.id)).toBe(true);
      expect(rig.pd.refreshCount() - before).toBe(1);
      const unauthorized = rig.pd.requests.filter((r) => r.path.startsWith('/api/') && r.status === 401);
      expect(unauthorized.length).toBeGreaterThanOrEqual(1);
      expect(unauthorized.length).toBeLessThanOrEqual(4);
    });

    it('turns a refused refresh token into a clear "reinstall" error', async () => {
      rig = await createRigOn(engine);
      await rig.installDemo();
      const crm = await rig.ctx.installations.crmFor('1001');
      for (const t of rig.pd.tokens) await fetch(`${rig.pd.url}/oauth/revoke`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${rig.config.pipedrive.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: t.refreshToken, token_type_hint: 'refresh_token' }),
      });
      rig.pd.expireAccessTokens();
      await expect(crm.getPerson(rig.demo.persons[0]!.id)).rejects.toMatchObject({ code: 'installation_revoked' });
    });

    it('waits out a 429 using the rate-limit headers and succeeds', async () => {
      rig = await createRigOn(engine);
      await rig.installDemo();
      const crm = await rig.ctx.installations.crmFor('1001');
      const id = rig.demo.persons[0]!.id;
      rig.pd.injectFault({ method: 'GET', path: `/api/v2/persons/${id}`, status: 429, times: 2, headers: { 'x-ratelimit-reset': '0' } });
      rig.pd.clearRequests();
      expect((await crm.getPerson(id))?.id).toBe(id);
      expect(rig.pd.requests.filter((r) => r.path === `/api/v2/persons/${id}`).map((r) => r.status)).toEqual([429, 429, 200]);
    });

    it('translates Pipedrive failures into typed errors with the HTTP status', async () => {
      rig = await createRigOn(engine);
      await rig.installDemo();
      const crm = await rig.ctx.installations.crmFor('1001');
      rig.pd.injectFault({ method: 'GET', path: /^\/api\/v2\/deals\//, status: 500 });
      await expect(crm.getDeal(rig.demo.persons[0]!.dealId)).rejects.toMatchObject({ name: 'PipedriveApiError', status: 500, retryable: true });
      expect(await crm.getPerson(999_999)).toBeNull();
    });
  });
});
