import { copyFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, FrameLocator } from 'playwright-core';
import { openPossibleOptOut } from '../../server/consent/review-service.js';
import { createRig, FROM_NUMBER, type Rig } from '../support/rig.js';
import { ARTIFACTS, launchBrowser, openInSdkHost } from './browser.js';

// Possible opt-outs in Chromium, inside a Pipedrive-like host: the settings page lists them pending first, oldest due
// first, overdue ones highlighted, and decides them; the deal panel shows the contact's with the same two decisions,
// for any user who may see the deal.

let rig: Rig;
let browser: Browser;
const COMPANY = '1001';
const ANN = '+14155552671';
const DAY = 86_400_000;
const person = (name: string) => rig.demo.persons.find((p) => p.name.startsWith(name))!;
const db = () => rig.ctx.database.db;

beforeAll(async () => {
  browser = await launchBrowser();
  rig = await createRig({ walkthrough: true, outbox: { rateLimit: false, pollMs: 50 } });
  await rig.installDemo();
  await rig.ctx.automations.create(COMPANY, {
    name: 'Quote sent follow-up',
    enabled: true,
    trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
    template: 'Hi {{person.first_name}}, your quote for {{deal.title}} is ready.',
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await rig?.close();
});

/** A review opened through the same code the inbound webhook uses, received `daysAgo` days ago. */
async function reviewFrom(phone: string, body: string, daysAgo: number, dealId: number) {
  return rig.ctx.database.transaction((trx) =>
    openPossibleOptOut(trx, { companyId: COMPANY, zone: 'America/New_York', phoneE164: phone, inboundMessageId: `seed-${phone}`, body, receivedAt: Date.now() - daysAgo * DAY, dealId, personId: null }),
  );
}

async function open(path: '/settings' | '/panel', userId: number, query: Record<string, string> = {}) {
  return openInSdkHost(browser, {
    appUrl: rig.appUrl,
    path,
    query: { id: `reviews-${path.slice(1)}`, userId: String(userId), companyId: String(rig.demo.companyId), theme: 'light', ...query },
    token: () => rig.jwt({ userId, companyId: rig.demo.companyId }),
    viewport: path === '/panel' ? { width: 420, height: 900 } : { width: 1100, height: 900 },
  });
}

const pendingIds = (ui: FrameLocator) =>
  ui.getByTestId('reviews-pending').getByTestId('review-row').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-review-id')));

describe('possible opt-outs in the browser', () => {
  it('on the settings page: pending first, oldest due first, overdue highlighted; both decisions, then listed as decided', async () => {
    const overdue = await reviewFrom('+12125550143', 'no more texts pls', 30, person('Nora').dealId);
    const soon = await reviewFrom('+16465550199', 'stop sending me these', 8, person('Ivan').dealId);
    const fresh = await reviewFrom('+13125550111', 'Not interested, please remove me', 1, person('Olly').dealId);

    const { page, app: ui, answerConfirmations } = await open('/settings', rig.demo.adminUserId);
    await ui.getByTestId('reviews-pending').waitFor({ timeout: 10_000 });
    expect(await pendingIds(ui)).toEqual([overdue.id, soon.id, fresh.id]);
    const row = (id: string) => ui.locator(`[data-testid="review-row"][data-review-id="${id}"]`);
    expect(await row(overdue.id).getAttribute('data-overdue')).toBe('true');
    expect(await row(overdue.id).locator('[data-col="due"]').textContent()).toContain('Overdue');
    expect(await row(soon.id).getAttribute('data-overdue')).toBe('false');
    expect(await row(overdue.id).locator('[data-col="body"]').textContent()).toBe('no more texts pls');

    // "Not an opt-out": kept with who and when; the number is not on the list.
    await row(soon.id).getByTestId('review-not-opt-out').click();
    await expect.poll(() => pendingIds(ui)).toEqual([overdue.id, fresh.id]);
    const decidedRow = ui.getByTestId('reviews-decided').locator(`[data-review-id="${soon.id}"]`);
    await decidedRow.waitFor();
    expect(await decidedRow.locator('[data-col="decision"]').textContent()).toContain('Not an opt-out');
    expect(await rig.ctx.optOuts.history(COMPANY, '+16465550199')).toEqual([]);
    await ui.locator('#reviews').screenshot({ path: `${ARTIFACTS}/reviews.png` });
    if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') copyFileSync(`${ARTIFACTS}/reviews.png`, 'docs/reviews.png');

    // "Opt out", cancelled in Pipedrive's dialog: nothing happens; confirmed: the number is opted out by the admin.
    await answerConfirmations(false);
    await row(overdue.id).getByTestId('review-opt-out').click();
    await page.waitForTimeout(300);
    expect(await pendingIds(ui)).toEqual([overdue.id, fresh.id]);
    await answerConfirmations(true);
    await row(overdue.id).getByTestId('review-opt-out').click();
    await expect.poll(() => pendingIds(ui)).toEqual([fresh.id]);
    expect(await ui.getByTestId('reviews-decided').locator(`[data-review-id="${overdue.id}"] [data-col="decision"]`).textContent()).toContain('Opted out');
    expect((await rig.ctx.optOuts.history(COMPANY, '+12125550143')).map((h) => [h.action, h.source, h.actor])).toEqual([
      ['opt_out', 'review', String(rig.demo.adminUserId)],
    ]);
    await page.close();
  });

  it('in the deal panel: the contact\'s review with its two decisions, decided by a user who may see the deal', async () => {
    await rig.pd.moveDealToStage(person('Ann').dealId, rig.demo.stages.quoteSent);
    await rig.settle();
    expect((await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: "please don't text me anymore" })).status).toBe(200);

    const sam = rig.demo.salesUserId; // not an admin; owns the deal
    const { page, app: ui } = await open('/panel', sam, { selectedIds: String(person('Ann').dealId), resource: 'deal', view: 'details' });
    const card = ui.getByTestId('panel-review');
    await card.waitFor({ timeout: 10_000 });
    expect(await ui.getByTestId('panel-review-body').textContent()).toContain("please don't text me anymore");
    expect(await ui.getByTestId('panel-review-due').textContent()).toMatch(/^Decide by /);
    expect(await ui.getByTestId('consent-badge').textContent()).toBe('Granted');
    await card.screenshot({ path: `${ARTIFACTS}/panel-review.png` });

    await card.getByTestId('review-opt-out').click();
    await card.waitFor({ state: 'detached' });
    await expect.poll(() => ui.getByTestId('consent-badge').textContent()).toBe('Opted out');
    const review = await db().selectFrom('consent_reviews').selectAll().where('phone_e164', '=', ANN).executeTakeFirstOrThrow();
    expect([review.state, review.decision, review.decided_by]).toEqual(['decided', 'opt_out', String(sam)]);
    expect((await rig.ctx.optOuts.history(COMPANY, ANN)).map((h) => [h.source, h.actor, h.message])).toEqual([['review', String(sam), "please don't text me anymore"]]);
    await page.close();
  });
});
