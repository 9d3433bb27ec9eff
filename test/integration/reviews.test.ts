import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reviewListSchema, reviewSchema } from '../../server/http/contracts/index.js';
import { openPossibleOptOut } from '../../server/consent/review-service.js';
import { consentOf, createQuoteAutomation, enterQuoteSent } from '../support/demo-consent.js';
import { createRigOn, engines, FROM_NUMBER, type Rig } from '../support/rig.js';

// Possible opt-out requests, end to end: a reply such as "please stop texting me" opens a review due 10 business days
// later in the company's time zone (the installing admin's in Pipedrive); until a person decides, automations skip
// the number; the decision is "opt out" (the consent path: the list, queued texts cancelled, Pipedrive told, the
// decider kept) or "not an opt-out" (who and when kept; texts go again).

const COMPANY = '1001';
const ANN_PHONE = '+14155552671';
const PAT = 503; // a colleague without an installation: sees the deals Pipedrive lets them see
const OTHER_COMPANY = 2002;
const OTHER_ADMIN = 601;
// Friday 4 December 2026, 19:30 in New York: due at the end of Friday 18 December there.
const FRIDAY_EVENING = Date.parse('2026-12-04T19:30:00-05:00');
const DUE_TWO_WEEKS_LATER = '2026-12-19T04:59:59.999Z';

let rig: Rig;
// The app's clock is the real one except while a test pins it (tokens are signed with the real time).
let pinned: number | null = null;
const clock = { now: () => pinned ?? Date.now() };
const tokens = new Map<number, string>();
const db = () => rig.ctx.database.db;
const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
const api = () => request(rig.appUrl);
const list = (userId: number, state = 'pending') => api().get(`/api/consent/reviews?state=${state}`).set('authorization', `Bearer ${tokens.get(userId)}`);
const decide = (userId: number, id: string, decision: string) =>
  api().post(`/api/consent/reviews/${id}`).set('authorization', `Bearer ${tokens.get(userId)}`).send({ decision });
const sentTo = (phone: string) => rig.tw.messagesTo(phone).filter((m) => m.direction === 'outbound-api');
const outbound = () => db().selectFrom('outbound_messages').selectAll().orderBy('created_at').execute();

async function replyAt(at: number, body: string, from = ANN_PHONE): Promise<void> {
  pinned = at;
  try {
    expect((await rig.tw.reply({ from, to: FROM_NUMBER, body })).status).toBe(200);
  } finally {
    pinned = null;
  }
}

/** The next stage event queues a text to Ann: what became of it. */
async function nextTextToAnn(): Promise<{ state: string; reason: string | null }> {
  await enterQuoteSent(rig, ann().dealId);
  await rig.settle();
  const last = (await outbound()).at(-1)!;
  return { state: last.state, reason: last.skip_reason };
}

describe.each(engines)('possible opt-out reviews on %s', (engine) => {
  beforeEach(async () => {
    rig = await createRigOn(engine, { clock, outbox: { rateLimit: false } });
    // The installing admin works in New York: the company's time zone.
    rig.pd.setUserTimeZone(Number(COMPANY), rig.demo.adminUserId, 'America/New_York');
    await rig.installDemo();
    rig.pd.addUser({ id: PAT, companyId: Number(COMPANY), name: 'Pat Peer', isAdmin: false });
    rig.pd.addCompany({ id: OTHER_COMPANY, name: 'Other Co', domain: 'other' });
    rig.pd.addUser({ id: OTHER_ADMIN, companyId: OTHER_COMPANY, name: 'Olga Other', isAdmin: true });
    expect((await rig.install(OTHER_ADMIN)).status).toBe(200);
    for (const [userId, companyId] of [[rig.demo.adminUserId, 1001], [rig.demo.salesUserId, 1001], [PAT, 1001], [OTHER_ADMIN, OTHER_COMPANY]]) {
      tokens.set(userId!, await rig.jwt({ userId, companyId }, { expiresIn: '30m' }));
    }
    await createQuoteAutomation(rig, COMPANY);
    expect(await nextTextToAnn()).toEqual({ state: 'sent', reason: null });
  });
  afterEach(async () => rig.close());

  it('opens a review due at the end of the 10th business day in the company zone, across the weekends; a second request joins it', async () => {
    expect((await rig.ctx.companies.find(COMPANY))!.time_zone).toBe('America/New_York');
    await replyAt(FRIDAY_EVENING, 'please stop texting me');
    // Saturday: still one pending review, with the first text and due date.
    await replyAt(FRIDAY_EVENING + 86_400_000, 'I said stop texting me');

    const res = await list(rig.demo.adminUserId);
    expect(res.status).toBe(200);
    const { reviews } = reviewListSchema.parse(res.body);
    expect(reviews).toEqual([
      {
        id: expect.any(String), phone: ANN_PHONE, body: 'please stop texting me', receivedAt: '2026-12-05T00:30:00.000Z',
        dueBy: DUE_TWO_WEEKS_LATER, dealId: ann().dealId, personId: ann().id, state: 'pending', decision: null,
        decidedBy: null, decidedAt: null,
      },
    ]);
    expect(await db().selectFrom('consent_reviews').select('id').execute()).toHaveLength(1);
    // Nobody was opted out by it.
    expect(await rig.ctx.optOuts.history(COMPANY, ANN_PHONE)).toEqual([]);
  });

  it('keeps automations from texting the number while pending (opt_out_review); "not an opt-out" keeps who and when, and texts go again', async () => {
    await replyAt(Date.now(), 'please stop texting me');
    expect(await nextTextToAnn()).toEqual({ state: 'skipped', reason: 'opt_out_review' });
    const [review] = reviewListSchema.parse((await list(rig.demo.adminUserId)).body).reviews;
    // The deal panel shows it, to any user who may see the deal.
    const panel = () => api().get(`/api/panel/deals/${ann().dealId}`).set('authorization', `Bearer ${tokens.get(rig.demo.salesUserId)}`);
    expect((await panel()).body.review).toEqual({ id: review!.id, body: 'please stop texting me', receivedAt: review!.receivedAt, dueBy: review!.dueBy });
    expect((await panel()).body.messages[0]).toMatchObject({
      direction: 'outbound', status: 'skipped', error: 'Not sent: a possible opt-out request from the contact is waiting for a decision',
    });

    const decided = await decide(rig.demo.salesUserId, review!.id, 'not_opt_out');
    expect(decided.status).toBe(200);
    expect(reviewSchema.parse(decided.body)).toMatchObject({ state: 'decided', decision: 'not_opt_out', decidedBy: rig.demo.salesUserId });
    expect(Date.parse(decided.body.decidedAt)).toBeGreaterThan(Date.now() - 60_000);
    // Decided once: a second decision, either way, is a 409 and changes nothing.
    const again = await decide(rig.demo.adminUserId, review!.id, 'opt_out');
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('already_decided');
    expect(await rig.ctx.optOuts.history(COMPANY, ANN_PHONE)).toEqual([]);

    expect((await list(rig.demo.adminUserId)).body.reviews).toEqual([]);
    expect((await panel()).body.review).toBeNull();
    expect((await list(rig.demo.adminUserId, 'decided')).body.reviews).toEqual([decided.body]);
    const before = sentTo(ANN_PHONE).length;
    expect(await nextTextToAnn()).toEqual({ state: 'sent', reason: null });
    expect(sentTo(ANN_PHONE)).toHaveLength(before + 1);
  });

  it('"opt out" goes through the consent path: the list with source review and the decider, queued texts cancelled, Pipedrive told', async () => {
    await replyAt(Date.now(), 'please stop texting me');
    const [review] = reviewListSchema.parse((await list(rig.demo.adminUserId)).body).reviews;
    // A text queued for Ann before the decision, not sent yet.
    await enterQuoteSent(rig, ann().dealId);
    expect((await outbound()).at(-1)!.state).toBe('queued');

    const decided = await decide(rig.demo.adminUserId, review!.id, 'opt_out');
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ state: 'decided', decision: 'opt_out', decidedBy: rig.demo.adminUserId });
    expect((await outbound()).at(-1)).toMatchObject({ state: 'cancelled' });
    expect(await rig.ctx.optOuts.history(COMPANY, ANN_PHONE)).toMatchObject([
      { action: 'opt_out', source: 'review', message: 'please stop texting me', actor: String(rig.demo.adminUserId), person_id: String(ann().id) },
    ]);
    await rig.settle();
    expect(await consentOf(rig, COMPANY, ann().id)).toBe('Opted out');
    expect(rig.pd.activities(Number(COMPANY)).some((a) => a.deal_id === ann().dealId && /opt-out/i.test(a.subject))).toBe(true);
    expect(await nextTextToAnn()).toEqual({ state: 'skipped', reason: 'opted_out' });
  });

  it('lets exactly one of two people deciding at once win; the other gets 409', async () => {
    await replyAt(Date.now(), 'please stop texting me');
    const [review] = reviewListSchema.parse((await list(rig.demo.adminUserId)).body).reviews;
    const answers = await Promise.all([decide(rig.demo.adminUserId, review!.id, 'opt_out'), decide(rig.demo.salesUserId, review!.id, 'not_opt_out')]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const winner = answers.find((a) => a.status === 200)!.body;
    expect((await list(rig.demo.adminUserId, 'decided')).body.reviews).toEqual([winner]);
    expect(await rig.ctx.optOuts.history(COMPANY, ANN_PHONE)).toHaveLength(winner.decision === 'opt_out' ? 1 : 0);
  });

  it('shows a user only the reviews of deals Pipedrive lets them see: 404 for the others; another company sees nothing', async () => {
    await replyAt(Date.now(), 'please stop texting me');
    const [review] = reviewListSchema.parse((await list(rig.demo.adminUserId)).body).reviews;
    // A review with no deal (a reply the company could not tie to one): the admin's only.
    const noDeal = await rig.ctx.database.transaction((trx) =>
      openPossibleOptOut(trx, { companyId: COMPANY, zone: null, phoneE164: '+14155550100', inboundMessageId: 'none', body: 'no more please', receivedAt: Date.now(), dealId: null, personId: null }),
    );
    expect((await list(rig.demo.adminUserId)).body.reviews.map((r: { id: string }) => r.id).sort()).toEqual([review!.id, noDeal.id].sort());
    expect((await list(PAT)).body.reviews.map((r: { id: string }) => r.id)).toEqual([review!.id]);
    expect((await decide(PAT, noDeal.id, 'opt_out')).status).toBe(404);

    // Ann's deal made private to its owner: Pat no longer sees the review, and may not decide it.
    rig.pd.setDealPermittedUsers(ann().dealId, []);
    pinned = Date.now() + 120_000; // past the minute Pipedrive's answer is kept
    try {
      expect((await list(PAT)).body.reviews).toEqual([]);
      const refused = await decide(PAT, review!.id, 'opt_out');
      expect(refused.status).toBe(404);
      expect(refused.body).toEqual((await decide(PAT, '00000000-0000-4000-8000-000000000000', 'opt_out')).body);
      expect((await decide(PAT, 'not-a-review', 'opt_out')).status).toBe(404);
      // The deal's owner still may.
      expect((await list(rig.demo.salesUserId)).body.reviews.map((r: { id: string }) => r.id)).toEqual([review!.id]);
    } finally {
      pinned = null;
    }

    // Another company's admin sees none of them and cannot decide them.
    expect((await list(OTHER_ADMIN)).body).toEqual({ reviews: [] });
    expect((await list(OTHER_ADMIN, 'decided')).body).toEqual({ reviews: [] });
    expect((await decide(OTHER_ADMIN, review!.id, 'opt_out')).status).toBe(404);
    expect((await db().selectFrom('consent_reviews').select('state').where('id', '=', review!.id).executeTakeFirstOrThrow()).state).toBe('pending');
    expect(await rig.ctx.optOuts.history(COMPANY, ANN_PHONE)).toEqual([]);
  });

  it('refuses a bad query or decision with a 400 naming the field', async () => {
    const badState = await api().get('/api/consent/reviews?state=later').set('authorization', `Bearer ${tokens.get(rig.demo.adminUserId)}`);
    expect(badState.status).toBe(400);
    expect(badState.body.error.details.fields[0].path).toBe('state');
    const badDecision = await decide(rig.demo.adminUserId, '00000000-0000-4000-8000-000000000000', 'maybe');
    expect(badDecision.status).toBe(400);
    expect(badDecision.body.error.details.fields[0].path).toBe('decision');
    expect((await api().get('/api/consent/reviews')).status).toBe(401);
  });
});
