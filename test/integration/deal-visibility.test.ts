// A user sees and texts only the deals Pipedrive lets them see: through their own installation's token when they
// have one, else by the deal's permitted users, asked with the company's installation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createRig, type Rig } from '../support/rig.js';

const COMPANY = 1001;
const SAM = 502; // the demo's sales user: owns the demo deals, has no installation
const PAT = 503; // a colleague without an installation
const OWEN = 504; // a colleague with an installation of their own
const OLGA = 505; // another colleague with an installation of their own

let rig: Rig;
// The app's clock stands still unless a test moves it, so a loaded machine cannot cross a cache window by itself.
const start = Date.now();
let offset = 0;
const clock = { now: () => start + offset };
const tokens = new Map<number, string>();
const ann = () => rig.demo.persons.find((p) => p.name.startsWith('Ann'))!;

const get = (userId: number, dealId: number) =>
  request(rig.appUrl).get(`/api/panel/deals/${dealId}`).set('authorization', `Bearer ${tokens.get(userId)}`);
const post = (userId: number, dealId: number, body: object = { body: 'Are you free on Tuesday?' }) =>
  request(rig.appUrl).post(`/api/panel/deals/${dealId}/messages`).set('authorization', `Bearer ${tokens.get(userId)}`).send(body);

/** A deal of Ann's that only its owner (Sam), the admin and these followers may see. */
const privateDeal = (title: string, followers: number[]) => {
  const deal = rig.pd.addDeal(COMPANY, { title, person_id: ann().id, owner_id: SAM, stage_id: rig.demo.stages.leadIn });
  rig.pd.setDealPermittedUsers(deal.id, followers);
  return deal;
};
const askedPermission = (dealId: number) => rig.pd.requests.filter((r) => r.path === `/api/v1/deals/${dealId}/permittedUsers`);
const dealReads = (dealId: number) => rig.pd.requests.filter((r) => r.path === `/api/v2/deals/${dealId}`);
/** The Pipedrive user whose access token a recorded request carried. */
const userOf = (authorization: string | undefined) => rig.pd.tokens.find((t) => `Bearer ${t.accessToken}` === authorization)?.userId;
const queuedFor = async (dealId: number) =>
  (await rig.ctx.database.db.selectFrom('outbound_messages').select('id').where('deal_id', '=', dealId).execute()).length;

beforeAll(async () => {
  rig = await createRig({ clock, outbox: { rateLimit: false } });
  await rig.installDemo();
  for (const [id, name] of [[PAT, 'Pat Peer'], [OWEN, 'Owen Own'], [OLGA, 'Olga Own']] as const) {
    rig.pd.addUser({ id, companyId: COMPANY, name, isAdmin: false });
  }
  for (const id of [OWEN, OLGA]) expect((await rig.install(id)).status).toBe(200);
  for (const id of [rig.demo.adminUserId, SAM, PAT, OWEN, OLGA]) {
    tokens.set(id, await rig.jwt({ userId: id, companyId: COMPANY }, { expiresIn: '30m' }));
  }
});
afterAll(async () => rig.close());

describe('a user without an installation of their own', () => {
  it('gets the same 404 as for a missing deal, on the panel and the send box, and nothing is queued', async () => {
    const deal = privateDeal('Private: solar for Ann', []);
    const missing = await get(PAT, 987_654);
    expect(missing.status).toBe(404);

    const read = await get(PAT, deal.id);
    expect(read.status).toBe(404);
    expect(read.body).toEqual(missing.body);
    expect(JSON.stringify(read.body)).not.toMatch(/Ann|Private|415/);

    const sent = await post(PAT, deal.id);
    expect(sent.status).toBe(404);
    expect(sent.body).toEqual((await post(PAT, 987_654)).body);
    // A body the send box refuses is refused the same way whether or not the deal is there.
    const empty = await post(PAT, deal.id, { body: '' });
    expect([empty.status, empty.body]).toEqual([400, (await post(PAT, 987_654, { body: '' })).body]);
    await rig.drain();
    expect(await queuedFor(deal.id)).toBe(0);
    expect(rig.tw.messagesTo('+14155552671')).toHaveLength(0);
  });

  it('is served when Pipedrive lists them among the deal\'s permitted users, and may text', async () => {
    const deal = privateDeal('Private: roof for Ann', [PAT]);
    rig.pd.clearRequests();
    const read = await get(PAT, deal.id);
    expect(read.status).toBe(200);
    expect(read.body.deal).toEqual({ id: deal.id, title: 'Private: roof for Ann' });
    expect(askedPermission(deal.id)).toHaveLength(1);
    // Asked with the company's installation: the admin's token.
    expect(userOf(askedPermission(deal.id)[0]!.headers.authorization)).toBe(rig.demo.adminUserId);

    expect((await get(SAM, deal.id)).status).toBe(200);
    const sent = await post(PAT, deal.id);
    expect(sent.status).toBe(202);
    expect(await queuedFor(deal.id)).toBe(1);
  });

  it('never answers unchecked when Pipedrive cannot be asked: 502, no data, nothing queued', async () => {
    const deal = privateDeal('Private: windows for Ann', [PAT]);
    const path = `/api/v1/deals/${deal.id}/permittedUsers`;
    rig.pd.injectFault({ path, status: 503, times: 2 });
    const down = await get(PAT, deal.id);
    expect(down.status).toBe(502);
    expect(JSON.stringify(down.body)).not.toMatch(/Ann|Private|windows/);
    expect((await post(PAT, deal.id)).status).toBe(502);
    rig.pd.injectFault({ path, status: 0, dropConnection: true });
    expect((await get(PAT, deal.id)).status).toBe(502);
    expect(await queuedFor(deal.id)).toBe(0);
    // A failure is not remembered as an answer: the next request asks again.
    expect((await get(PAT, deal.id)).status).toBe(200);
  });
});

describe('a user with an installation of their own', () => {
  it('is served through their own token, so Pipedrive itself decides', async () => {
    const hidden = privateDeal('Private: boiler for Ann', []);
    const followed = privateDeal('Private: garden for Ann', [OWEN]);
    rig.pd.clearRequests();

    const refused = await get(OWEN, hidden.id);
    expect(refused.status).toBe(404);
    expect(refused.body).toEqual((await get(OWEN, 987_654)).body);
    expect((await post(OWEN, hidden.id)).status).toBe(404);
    expect(await queuedFor(hidden.id)).toBe(0);

    expect((await get(OWEN, followed.id)).status).toBe(200);
    const reads = [...dealReads(hidden.id), ...dealReads(followed.id)];
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(reads.every((r) => userOf(r.headers.authorization) === OWEN)).toBe(true);
    expect(askedPermission(hidden.id)).toHaveLength(0);
    expect(askedPermission(followed.id)).toHaveLength(0);
  });
});

describe('caches', () => {
  it("never serve one user's cached read or permission to another, within the 10 s and 60 s windows", async () => {
    const deal = privateDeal('Private: heat pump for Ann', [OWEN]);
    expect((await get(SAM, deal.id)).status).toBe(200);
    expect((await get(OWEN, deal.id)).status).toBe(200);
    for (const step of [0, 5_000, 30_000]) {
      offset += step;
      expect((await get(PAT, deal.id)).status).toBe(404);
      expect((await get(OLGA, deal.id)).status).toBe(404);
      expect((await post(PAT, deal.id)).status).toBe(404);
      expect((await post(OLGA, deal.id)).status).toBe(404);
    }
    expect(await queuedFor(deal.id)).toBe(0);
  });

  it("asks Pipedrive again once a user's permission answer is 60 s old", async () => {
    const deal = privateDeal('Private: insulation for Ann', [PAT]);
    rig.pd.clearRequests();
    expect((await get(PAT, deal.id)).status).toBe(200);
    offset += 30_000;
    expect((await get(PAT, deal.id)).status).toBe(200);
    expect(askedPermission(deal.id)).toHaveLength(1);
    expect(dealReads(deal.id)).toHaveLength(2); // the 10 s read cache expired, the permission did not

    rig.pd.setDealPermittedUsers(deal.id, []);
    offset += 29_000;
    await get(PAT, deal.id);
    expect(askedPermission(deal.id)).toHaveLength(1);

    offset += 1_000;
    const after = await get(PAT, deal.id);
    expect(askedPermission(deal.id)).toHaveLength(2);
    expect(after.status).toBe(404);
    expect((await post(PAT, deal.id)).status).toBe(404);
  });
});
