// The Pipedrive emulator driven by the real `pipedrive` SDK: if these pass, the app's adapter talks to the
// emulator exactly as it would to Pipedrive, and the emulator answers in Pipedrive's shapes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActivitiesApi, Configuration, DealsApi, OAuth2Configuration, PersonsApi, StagesApi } from 'pipedrive/v2';
import { ActivityTypesApi, Configuration as V1Configuration, DealsApi as V1DealsApi, PersonFieldsApi, UsersApi, WebhooksApi } from 'pipedrive/v1';
import { startPipedriveEmulator, type PipedriveEmulator } from '../../emulators/pipedrive/emulator.js';
import { startRequestSink, type RequestSink } from '../../emulators/sink.js';

const clientId = 'emu-client';
const clientSecret = 'emu-secret';
const redirectUri = 'https://app.example/oauth/callback';

let emu: PipedriveEmulator;
let sink: RequestSink;
let company: { id: number; name: string };
let admin: { id: number };
let member: { id: number };

beforeEach(async () => {
  emu = await startPipedriveEmulator({ clientId, clientSecret, redirectUri });
  sink = await startRequestSink();
  company = emu.addCompany({ name: 'Acme Ltd', domain: 'acme' });
  admin = emu.addUser({ companyId: company.id, name: 'Ada Admin', isAdmin: true });
  member = emu.addUser({ companyId: company.id, name: 'Sam Sales', isAdmin: false });
});

afterEach(async () => {
  await emu.close();
  await sink.close();
});

/** Installs through the emulator's consent redirect and the SDK's code exchange, as the app does. */
async function install(userId = admin.id): Promise<OAuth2Configuration> {
  emu.setConsent({ userId });
  const oauth = new OAuth2Configuration({ clientId, clientSecret, redirectUri, host: emu.url });
  const res = await fetch(`${oauth.authorizationUrl}&state=${encodeURIComponent('s t/ä')}`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location') ?? '');
  const code = location.searchParams.get('code') ?? '';
  await oauth.authorize(code);
  return oauth;
}

function v2(oauth: OAuth2Configuration): Configuration {
  return new Configuration({ accessToken: () => oauth.getAccessToken(), basePath: oauth.basePath });
}

function v1(oauth: OAuth2Configuration): V1Configuration {
  // The SDK's v1 classes need a v1 base path of their own: the v2 one would send them to /api/v2/….
  return new V1Configuration({ accessToken: () => oauth.getAccessToken(), basePath: oauth.basePath.replace(/\/api\/v2$/, '/api/v1') });
}

describe('OAuth', () => {
  it('redirects with a code and the untouched state, and the SDK exchanges the code', async () => {
    const oauth = new OAuth2Configuration({ clientId, clientSecret, redirectUri, host: emu.url });
    const res = await fetch(`${oauth.authorizationUrl}&state=${encodeURIComponent('s t/ä')}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe('s t/ä');
    const code = location.searchParams.get('code') ?? '';
    expect(code).toMatch(/^\d+\.\d+\.[0-9a-f]{40}$/);

    const token = await oauth.authorize(code);
    expect(token).toMatchObject({ token_type: 'Bearer', expires_in: 3600, api_domain: emu.url, scope: 'base,deals:read,contacts:full,activities:full,admin' });
    expect(token.access_token).toMatch(/^v1u:/);
    expect(oauth.basePath).toBe(`${emu.url}/api/v2`);

    const tokenRequest = emu.requests.find((r) => r.path === '/oauth/token');
    expect(tokenRequest?.headers.authorization).toBe(`Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`);
    expect(tokenRequest?.body).toEqual({ code, redirect_uri: redirectUri, grant_type: 'authorization_code' });

    // Codes are single-use.
    await expect(new OAuth2Configuration({ clientId, clientSecret, redirectUri, host: emu.url }).authorize(code))
      .rejects.toEqual({ success: false, message: 'Invalid grant: authorization_code is invalid' });
  });

  it('omits state when none was sent, and answers Cancel with error=user_denied', async () => {
    const base = `${emu.url}/oauth/authorize?client_id=${clientId}&redirect_uri=${encodeURIComponent(redirectUri)}`;
    const approved = new URL((await fetch(base, { redirect: 'manual' })).headers.get('location') ?? '');
    expect(approved.searchParams.has('state')).toBe(false);
    expect(approved.searchParams.has('code')).toBe(true);

    const denied = new URL((await fetch(`${base}&state=xyz&deny=1`, { redirect: 'manual' })).headers.get('location') ?? '');
    expect(denied.searchParams.get('error')).toBe('user_denied');
    expect(denied.searchParams.get('state')).toBe('xyz');
    expect(denied.searchParams.has('code')).toBe(false);
  });

  it('refuses a wrong client, a foreign redirect_uri and a wrong client secret', async () => {
    const wrongClient = await fetch(`${emu.url}/oauth/authorize?client_id=nope&redirect_uri=${encodeURIComponent(redirectUri)}`, { redirect: 'manual' });
    expect(wrongClient.status).toBe(400);
    const wrongRedirect = await fetch(`${emu.url}/oauth/authorize?client_id=${clientId}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`, { redirect: 'manual' });
    expect(wrongRedirect.status).toBe(400);
    const code = emu.issueAuthCode(admin.id);
    await expect(new OAuth2Configuration({ clientId, clientSecret: 'bad', redirectUri, host: emu.url }).authorize(code))
      .rejects.toEqual({ success: false, message: 'Invalid client: client is invalid' });
  });

  it('expires access tokens on demand, refreshes with the same refresh token, and counts refreshes', async () => {
    const oauth = await install();
    const users = new UsersApi(v1(oauth));
    await expect(users.getCurrentUser()).resolves.toMatchObject({ success: true });
    emu.expireAccessTokens();
    await expect(users.getCurrentUser()).rejects.toMatchObject({ success: false, errorCode: 401 });
    const refreshToken = emu.tokens[0]?.refreshToken ?? '';
    const refreshed = await oauth.tokenRefresh();
    expect(refreshed.refresh_token).toBe(refreshToken);
    expect(emu.refreshCount(refreshToken)).toBe(1);
    await expect(users.getCurrentUser()).resolves.toMatchObject({ success: true });
    expect(emu.tokens.map((t) => t.grantType)).toEqual(['authorization_code', 'refresh_token']);

    const stranger = new OAuth2Configuration({ clientId, clientSecret, redirectUri, host: emu.url });
    stranger.updateToken({ ...refreshed, refresh_token: 'unknown' });
    await expect(stranger.tokenRefresh()).rejects.toEqual({ success: false, message: 'Invalid grant: refresh_token is invalid' });
  });

  it('counts every refresh, so a double refresh by concurrent callers is visible', async () => {
    const oauth = await install();
    const refreshToken = emu.tokens[0]?.refreshToken ?? '';
    // The bare SDK has no refresh lock: three concurrent refreshes are three grants.
    await Promise.all([oauth.tokenRefresh(), oauth.tokenRefresh(), oauth.tokenRefresh()]);
    expect(emu.refreshCount(refreshToken)).toBe(3);
    expect(emu.refreshCount()).toBe(3);
  });

  it('revoking the refresh token uninstalls: tokens die and the user\'s webhooks go', async () => {
    const oauth = await install();
    emu.addWebhook(company.id, { userId: admin.id, subscription_url: sink.url });
    await oauth.revokeToken('refresh_token');
    expect(emu.revokedTokens.map((t) => t.kind)).toEqual(['refresh_token']);
    expect(emu.webhooks(company.id)).toEqual([]);
    await expect(new UsersApi(v1(oauth)).getCurrentUser()).rejects.toMatchObject({ errorCode: 401 });
    await expect(oauth.tokenRefresh()).rejects.toEqual({ success: false, message: 'Invalid grant: refresh_token is invalid' });
  });

  it('sends the uninstall DELETE with Basic client credentials to the callback URL', async () => {
    await install();
    const result = await emu.uninstall({ userId: admin.id, callbackUrl: `${sink.url}/oauth/callback` });
    expect(result.status).toBe(200);
    const req = sink.requests[0];
    expect(req?.method).toBe('DELETE');
    expect(req?.headers.authorization).toBe(`Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`);
    expect(req?.body).toMatchObject({ client_id: clientId, company_id: company.id, user_id: admin.id });
  });
});

describe('API', () => {
  it('answers users/me with the company binding', async () => {
    const oauth = await install();
    const me = await new UsersApi(v1(oauth)).getCurrentUser();
    expect(me.data).toMatchObject({ id: admin.id, company_id: company.id, company_name: 'Acme Ltd', company_domain: 'acme', is_admin: 1 });
    const request = emu.requests.find((r) => r.path === '/api/v1/users/me');
    expect(request?.headers.authorization).toMatch(/^Bearer v1u:/);
  });

  it('serves v2 persons in API v2 shape and hides other companies\' persons', async () => {
    const consent = emu.addPersonField(company.id, { name: 'SMS consent', options: ['Granted', 'Opted out'] });
    const granted = consent.options?.[0]?.id;
    const ann = emu.addPerson(company.id, {
      name: 'Ann Lee',
      phones: [{ value: '555-0100', label: 'work' }, { value: '(415) 555-2671', primary: true, label: 'mobile' }],
      custom_fields: { [consent.key]: granted },
    });
    const other = emu.addCompany({ name: 'Other Inc' });
    emu.addUser({ companyId: other.id, name: 'Otto', isAdmin: true });
    const stranger = emu.addPerson(other.id, { name: 'Stranger', phones: ['+15550001111'] });

    const oauth = await install();
    const persons = new PersonsApi(v2(oauth));
    const res = await persons.getPerson({ id: ann.id });
    expect(res.success).toBe(true);
    expect(res.data).toMatchObject({
      id: ann.id, name: 'Ann Lee', first_name: 'Ann', last_name: 'Lee',
      phones: [{ value: '555-0100', primary: false, label: 'work' }, { value: '(415) 555-2671', primary: true, label: 'mobile' }],
      custom_fields: { [consent.key]: granted },
    });
    await expect(persons.getPerson({ id: stranger.id })).rejects.toMatchObject({ success: false, error: 'Person not found' });
    expect(emu.requests.at(-1)?.status).toBe(404);
  });

  it('PATCHes custom fields with option ids only, and merges them', async () => {
    const consent = emu.addPersonField(company.id, { name: 'SMS consent', options: ['Granted', 'Opted out'] });
    const optedOut = consent.options?.[1]?.id ?? 0;
    const note = emu.addPersonField(company.id, { name: 'Note', field_type: 'varchar' });
    const person = emu.addPerson(company.id, { name: 'Bo', custom_fields: { [note.key]: 'keep me' } });
    const oauth = await install();
    const persons = new PersonsApi(v2(oauth));
    const res = await persons.updatePerson({ id: person.id, UpdatePersonRequest: { custom_fields: { [consent.key]: optedOut } } });
    expect(res.data?.custom_fields).toEqual({ [consent.key]: optedOut, [note.key]: 'keep me' });
    await expect(persons.updatePerson({ id: person.id, UpdatePersonRequest: { custom_fields: { [consent.key]: 'Opted out' } } }))
      .rejects.toMatchObject({ success: false });
    expect(emu.person(person.id)?.custom_fields[consent.key]).toBe(optedOut);
  });

  it('searches persons by phone digits', async () => {
    const ann = emu.addPerson(company.id, { name: 'Ann', phones: ['(415) 555-2671'] });
    emu.addPerson(company.id, { name: 'Ben', phones: ['+44 20 7946 0958'] });
    const oauth = await install();
    const persons = new PersonsApi(v2(oauth));
    const exact = await persons.searchPersons({ term: '4155552671', fields: 'phone', exact_match: true });
    expect(exact.data?.items).toEqual([
      expect.objectContaining({ result_score: 1, item: expect.objectContaining({ id: ann.id, type: 'person', phones: ['(415) 555-2671'] }) }),
    ]);
    const partial = await persons.searchPersons({ term: '555', fields: 'phone' });
    expect(partial.data?.items?.map((i) => i.item?.id)).toEqual([ann.id]);
    const none = await persons.searchPersons({ term: '+14155552671', fields: 'phone', exact_match: true });
    expect(none.data?.items).toEqual([]);
  });

  it('serves deals and stages', async () => {
    const stage = emu.stages(company.id)[2];
    const deal = emu.addDeal(company.id, { title: 'Big deal', stage_id: stage?.id ?? 0 });
    const oauth = await install();
    const got = await new DealsApi(v2(oauth)).getDeal({ id: deal.id });
    expect(got.data).toMatchObject({ id: deal.id, title: 'Big deal', stage_id: stage?.id, pipeline_id: stage?.pipeline_id, status: 'open' });
    const stages = await new StagesApi(v2(oauth)).getStages({ pipeline_id: stage?.pipeline_id ?? 0 });
    expect(stages.data?.map((s) => s.name)).toContain(stage?.name);
  });

  it('lists who may see a deal, and hides a restricted deal and its person from other users on their own token', async () => {
    const peer = emu.addUser({ companyId: company.id, name: 'Pat Peer', isAdmin: false });
    const follower = emu.addUser({ companyId: company.id, name: 'Fay Follower', isAdmin: false });
    const person = emu.addPerson(company.id, { name: 'Ann', phones: ['+14155552671'] });
    const deal = emu.addDeal(company.id, { title: 'Private deal', person_id: person.id, owner_id: member.id });
    const adminAuth = await install(admin.id);
    const peerAuth = await install(peer.id);
    const asAdmin = new V1DealsApi(v1(adminAuth));

    // A new deal is visible to the entire company (visible_to 3), so every user is listed.
    expect(await asAdmin.getDealUsers({ id: deal.id })).toEqual({ success: true, data: [admin.id, member.id, peer.id, follower.id] });
    expect(emu.requests.at(-1)?.path).toBe(`/api/v1/deals/${deal.id}/permittedUsers`);
    expect((await new DealsApi(v2(peerAuth)).getDeal({ id: deal.id })).data?.title).toBe('Private deal');

    // Owner & followers (visible_to 1): the owner, the follower and the admin; nobody else, not even the deal's contact.
    emu.setDealPermittedUsers(deal.id, [follower.id]);
    expect(emu.deal(deal.id)?.visible_to).toBe(1);
    expect(await asAdmin.getDealUsers({ id: deal.id })).toEqual({ success: true, data: [admin.id, member.id, follower.id] });
    await expect(new DealsApi(v2(peerAuth)).getDeal({ id: deal.id })).rejects.toMatchObject({ success: false });
    expect(emu.requests.at(-1)?.status).toBe(403);
    await expect(new PersonsApi(v2(peerAuth)).getPerson({ id: person.id })).rejects.toMatchObject({ success: false });
    expect(emu.requests.at(-1)?.status).toBe(403);
    await expect(new V1DealsApi(v1(peerAuth)).getDealUsers({ id: deal.id })).rejects.toMatchObject({ success: false });
    expect(emu.requests.at(-1)?.status).toBe(403);
    expect((await new DealsApi(v2(adminAuth)).getDeal({ id: deal.id })).data?.title).toBe('Private deal');
    expect((await new PersonsApi(v2(adminAuth)).getPerson({ id: person.id })).data?.name).toBe('Ann');

    // A deal that does not exist, or is another company's, is not found.
    const elsewhere = emu.addCompany({ name: 'Other Inc' });
    emu.addUser({ companyId: elsewhere.id, name: 'Otto', isAdmin: true });
    const foreign = emu.addDeal(elsewhere.id, { title: 'Theirs' });
    for (const id of [999_999, foreign.id]) {
      await expect(asAdmin.getDealUsers({ id })).rejects.toMatchObject({ success: false, error: 'Deal not found' });
      expect(emu.requests.at(-1)?.status).toBe(404);
    }

    emu.setDealPermittedUsers(deal.id, null);
    expect((await new DealsApi(v2(peerAuth)).getDeal({ id: deal.id })).data?.id).toBe(deal.id);
  });

  it('creates person fields and activity types for admins only', async () => {
    const adminAuth = await install(admin.id);
    const field = await new PersonFieldsApi(v1(adminAuth)).addPersonField({
      CreateFieldRequest: { name: 'SMS consent', field_type: 'enum', options: [{ label: 'Granted' }, { label: 'Opted out' }] },
    });
    expect(field.data?.key).toMatch(/^[0-9a-f]{40}$/);
    const options = field.data?.options as Array<{ id: number; label: string }>;
    expect(options.map((o) => o.label)).toEqual(['Granted', 'Opted out']);
    expect(options.every((o) => typeof o.id === 'number')).toBe(true);
    const list = await new PersonFieldsApi(v1(adminAuth)).getPersonFields();
    expect(list.data?.some((f) => f.name === 'SMS consent' && f.key === field.data?.key)).toBe(true);

    const type = await new ActivityTypesApi(v1(adminAuth)).addActivityType({ AddActivityTypeRequest: { name: 'SMS', icon_key: 'bubble' } });
    expect(type.data).toMatchObject({ name: 'SMS', key_string: 'sms', icon_key: 'bubble', is_custom_flag: true, active_flag: true });

    const memberAuth = await install(member.id);
    await expect(new PersonFieldsApi(v1(memberAuth)).addPersonField({ CreateFieldRequest: { name: 'x', field_type: 'varchar' } }))
      .rejects.toMatchObject({ success: false });
    expect(emu.requests.at(-1)?.status).toBe(403);
    await expect(new ActivityTypesApi(v1(memberAuth)).addActivityType({ AddActivityTypeRequest: { name: 'SMS', icon_key: 'bubble' } }))
      .rejects.toMatchObject({ success: false });
    await expect(new WebhooksApi(v1(memberAuth)).addWebhook({
      AddWebhookRequest: { subscription_url: sink.url, event_action: 'change', event_object: 'deal', name: 'x' },
    })).rejects.toMatchObject({ success: false });
    expect(emu.requests.at(-1)?.status).toBe(403);
  });

  it('adds activities with participants, validating the type and refusing person_id', async () => {
    emu.addActivityType(company.id, { name: 'SMS', icon_key: 'bubble' });
    const person = emu.addPerson(company.id, { name: 'Ann' });
    const deal = emu.addDeal(company.id, { title: 'D', person_id: person.id });
    const oauth = await install();
    const activities = new ActivitiesApi(v2(oauth));
    const created = await activities.addActivity({
      AddActivityRequest: {
        subject: 'SMS from Ann', type: 'sms', done: true, deal_id: deal.id, note: '<p>hi</p>',
        participants: [{ person_id: person.id, primary: true }],
      },
    });
    expect(created.data).toMatchObject({ type: 'sms', done: true, deal_id: deal.id, person_id: person.id, participants: [{ person_id: person.id, primary_flag: true }] });
    expect(emu.activities(company.id)).toHaveLength(1);

    await expect(activities.addActivity({ AddActivityRequest: { subject: 'x', type: 'nope' } })).rejects.toMatchObject({ success: false });
    await expect(activities.addActivity({ AddActivityRequest: { subject: 'x', type: 'sms', person_id: person.id } }))
      .rejects.toMatchObject({ success: false, error: expect.stringContaining('read-only') });
    const listed = await activities.getActivities({ deal_id: deal.id });
    expect(listed.data?.map((a) => a.id)).toEqual([created.data?.id]);
  });

  it('injects 429 with Pipedrive\'s body and rate-limit headers, then recovers', async () => {
    const oauth = await install();
    const users = new UsersApi(v1(oauth));
    emu.injectFault({ path: '/api/v1/users/me', status: 429, times: 2 });
    await expect(users.getCurrentUser()).rejects.toEqual({
      success: false, error: 'Request over limit', error_info: 'Please check developers.pipedrive.com', data: null, additional_data: null,
    });
    const raw = await fetch(`${emu.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${await oauth.getAccessToken()}` } });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('x-ratelimit-limit')).toBe('80');
    expect(raw.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(raw.headers.get('x-ratelimit-reset')).toBe('2');
    await expect(users.getCurrentUser()).resolves.toMatchObject({ success: true });

    emu.injectFault({ path: /^\/api\//, status: 500 });
    await expect(users.getCurrentUser()).rejects.toMatchObject({ success: false, error: 'Internal server error' });
  });

  it('answers unknown routes with 404 and missing tokens with 401', async () => {
    const oauth = await install();
    const unknown = await fetch(`${emu.url}/api/v1/nothing`, { headers: { authorization: `Bearer ${await oauth.getAccessToken()}` } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ success: false, error: 'Unknown method .' });
    const anonymous = await fetch(`${emu.url}/api/v1/users/me`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ success: false, error: 'unauthorized access', errorCode: 401, error_info: 'Please check developers.pipedrive.com' });
  });
});

describe('webhooks', () => {
  it('delivers a v2 deal change with Basic auth, string meta ids and only the changed fields in previous', async () => {
    const oauth = await install();
    const created = await new WebhooksApi(v1(oauth)).addWebhook({
      AddWebhookRequest: {
        subscription_url: `${sink.url}/webhooks/pipedrive`, event_action: 'change', event_object: 'deal', name: 'SMS app',
        http_auth_user: 'hook-user', http_auth_password: 'hook-pass', version: '2.0',
      },
    });
    expect(created.data).toMatchObject({ type: 'application', version: '2.0', http_auth_user: 'hook-user', user_id: admin.id, is_active: 1 });
    const listed = await new WebhooksApi(v1(oauth)).getWebhooks();
    expect(listed.data?.map((w) => w.id)).toEqual([created.data?.id]);

    const person = emu.addPerson(company.id, { name: 'Ann' });
    const [from, to] = emu.stages(company.id);
    const deal = emu.addDeal(company.id, { title: 'Quote', person_id: person.id, stage_id: from?.id ?? 0 });
    const [delivery] = await emu.moveDealToStage(deal.id, to?.id ?? 0, { userId: member.id });
    expect(delivery?.status).toBe(200);

    const req = sink.requests[0];
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/webhooks/pipedrive');
    expect(req?.headers['content-type']).toMatch(/^application\/json/);
    expect(req?.headers.authorization).toBe(`Basic ${Buffer.from('hook-user:hook-pass').toString('base64')}`);
    const body = req?.body as { meta: Record<string, unknown>; data: Record<string, unknown>; previous: Record<string, unknown> };
    expect(body.meta).toMatchObject({
      action: 'change', entity: 'deal', entity_id: String(deal.id), company_id: String(company.id), user_id: String(member.id),
      webhook_id: String(created.data?.id), webhook_owner_id: String(admin.id), type: 'application', version: '2.0', attempt: 1,
      host: 'acme.pipedrive.com', change_source: 'app', permitted_user_ids: [String(admin.id), String(member.id)],
    });
    expect(body.meta.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(body.data).toMatchObject({ id: deal.id, stage_id: to?.id, person_id: person.id, status: 'open', visible_to: '3' });
    // Only what changed: the stage and its timestamps (update_time too when the clock ticked a second).
    expect(['stage_change_time', 'stage_id', 'update_time']).toEqual(expect.arrayContaining(Object.keys(body.previous)));
    expect(body.previous.stage_id).toBe(from?.id);
    expect(body.previous.stage_change_time).toBeNull();

    // A retry carries the same event id with attempt 2.
    const retry = await emu.redeliver(String(body.meta.id));
    expect(retry.attempt).toBe(2);
    const again = sink.requests[1]?.body as { meta: Record<string, unknown> };
    expect(again.meta.id).toBe(body.meta.id);
    expect(again.meta.attempt).toBe(2);
  });

  it('fires create webhooks for new deals and person change webhooks for API PATCHes; skips non-matching ones', async () => {
    emu.addWebhook(company.id, { subscription_url: `${sink.url}/all`, event_action: '*', event_object: '*' });
    emu.addWebhook(company.id, { subscription_url: `${sink.url}/deal-delete`, event_action: 'delete', event_object: 'deal' });
    const consent = emu.addPersonField(company.id, { name: 'SMS consent', options: ['Granted', 'Opted out'] });
    const person = emu.addPerson(company.id, { name: 'Ann', phones: ['+14155552671'] });

    const { deal, deliveries } = await emu.createDealAndNotify(company.id, { title: 'New', person_id: person.id });
    expect(deliveries).toHaveLength(1);
    const create = sink.requests[0]?.body as { meta: Record<string, unknown>; data: Record<string, unknown>; previous: unknown };
    expect(create.meta).toMatchObject({ action: 'create', entity: 'deal', entity_id: String(deal.id) });
    expect(create.previous).toBeNull();

    const oauth = await install();
    await new PersonsApi(v2(oauth)).updatePerson({ id: person.id, UpdatePersonRequest: { custom_fields: { [consent.key]: consent.options?.[1]?.id ?? 0 } } });
    await emu.idle();
    const change = sink.requests[1]?.body as { meta: Record<string, unknown>; data: Record<string, unknown>; previous: Record<string, unknown> };
    expect(change.meta).toMatchObject({ action: 'change', entity: 'person', change_source: 'api', user_id: String(admin.id) });
    expect((change.data.custom_fields as Record<string, unknown>)[consent.key]).toEqual({ id: consent.options?.[1]?.id, type: 'enum' });
    expect(change.previous.custom_fields).toEqual({ [consent.key]: null });
    expect(change.previous).not.toHaveProperty('name');
    expect(sink.requests.map((r) => r.path)).toEqual(['/all', '/all']);
  });

  it('sends the v1 format to webhooks created with version 1.0', async () => {
    emu.addWebhook(company.id, { subscription_url: sink.url, event_action: 'updated', event_object: 'deal', version: '1.0' });
    const deal = emu.addDeal(company.id, { title: 'Old' });
    await emu.updateDeal(deal.id, { title: 'Renamed' });
    const body = sink.requests[0]?.body as Record<string, unknown> & { meta: Record<string, unknown>; current: Record<string, unknown>; previous: Record<string, unknown> };
    expect(body).toMatchObject({ v: 1, event: 'updated.deal', retry: 0 });
    expect(body.meta).toMatchObject({ action: 'updated', object: 'deal', id: deal.id, company_id: company.id });
    expect(body.current).toMatchObject({ title: 'Renamed', user_id: deal.owner_id });
    expect(body.previous).toMatchObject({ title: 'Old' });
  });

  it('limits webhooks to 40 per user with 422', async () => {
    const oauth = await install();
    const api = new WebhooksApi(v1(oauth));
    for (let i = 0; i < 40; i += 1) emu.addWebhook(company.id, { userId: admin.id, subscription_url: sink.url });
    await expect(api.addWebhook({ AddWebhookRequest: { subscription_url: sink.url, event_action: '*', event_object: 'deal', name: 'x' } }))
      .rejects.toMatchObject({ success: false });
    expect(emu.requests.at(-1)?.status).toBe(422);
    const first = emu.webhooks(company.id)[0];
    await expect(api.deleteWebhook({ id: first?.id ?? 0 })).resolves.toMatchObject({ success: true });
    expect(emu.webhooks(company.id)).toHaveLength(39);
  });
});
