// The reports' lists in the settings page, in Chromium: a row of the reports table opens its messages with their
// replies, the "All replies" view with its automation filter, and both CSV downloads. The traffic goes through the
// app's own webhooks, outbox, Twilio's status callbacks and simulated replies; the rows for paging are written into
// the database.
import { copyFileSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, FrameLocator } from 'playwright-core';
import { parse } from 'csv-parse/sync';
import { createRig, FROM_NUMBER, type Rig } from '../support/rig.js';
import { ARTIFACTS, launchBrowser, openInSdkHost } from './browser.js';

const COMPANY = '1001';
const ANN = '+14155552671';
const SAM = 502; // the demo's sales user: not an admin, owns the demo deals
const NUDGES = 55;

let rig: Rig;
let browser: Browser;
let quote: { id: string };
let nudge: { id: string };
const person = (name: string) => rig.demo.persons.find((p) => p.name.startsWith(name))!;

beforeAll(async () => {
  browser = await launchBrowser();
  rig = await createRig({ walkthrough: true, outbox: { rateLimit: false } });
  await rig.installDemo();
  const create = (name: string, stageId: number, template: string) =>
    rig.ctx.automations.create(COMPANY, { name, enabled: true, trigger: { event: 'deal.stage_entered', stageId }, template });
  quote = await create('Quote sent follow-up', rig.demo.stages.quoteSent, 'Hi {{person.first_name|there}}, your quote for {{deal.title}} is ready. Questions? Just reply.');
  nudge = await create('Negotiation nudge', rig.demo.stages.negotiation, 'Hi {{person.first_name|there}}, shall we go through the offer together?');

  // The nudge's older messages (two days ago), more than a page of them.
  const at = (i: number) => new Date(Date.now() - 2 * 86_400_000 + i * 60_000).toISOString();
  await rig.ctx.database.db
    .insertInto('outbound_messages')
    .values(
      Array.from({ length: NUDGES }, (_, i) => ({
        id: `nudge-${String(i).padStart(2, '0')}`,
        company_id: COMPANY,
        source: 'automation' as const,
        automation_id: nudge.id,
        automation_name: 'Negotiation nudge',
        deal_id: person('Ann').dealId,
        person_id: person('Ann').id,
        template: 'seeded',
        context: JSON.stringify({ deal: { id: person('Ann').dealId, title: 'Solar panels for Ann' } }),
        to_e164: ANN,
        body: `Hi Ann, shall we go through the offer together? (${i})\nReply STOP to opt out`,
        state: 'sent' as const,
        provider_status: 'delivered',
        next_attempt_at: at(i),
        sent_at: at(i),
        created_at: at(i),
        updated_at: at(i),
      })),
    )
    .execute();

  // The quote follow-up: Ann gets it and answers twice; Olly, Nora and Ivan are skipped by the rules.
  for (const name of ['Ann', 'Olly', 'Nora', 'Ivan']) await rig.pd.moveDealToStage(person(name).dealId, rig.demo.stages.quoteSent);
  await rig.drain();
  expect(await rig.tw.sendStatus(rig.tw.messagesTo(ANN).at(-1)!.sid, 'delivered')).toBe(204);
  await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'Sounds good, call me tomorrow' });
  await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'Please remove me from this list' });
  // The deal panel's send box, answered with STOP.
  const token = await rig.jwt();
  const sent = await fetch(`${rig.appUrl}/api/panel/deals/${person('Ann').dealId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ body: 'Does Tuesday at 10 work for the site visit?' }),
  });
  expect(sent.status).toBe(202);
  await rig.drain();
  await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'STOP' });
  await rig.settle();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await rig?.close();
});

async function openSettings(userId = rig.demo.adminUserId) {
  const host = await openInSdkHost(browser, {
    appUrl: rig.appUrl,
    path: '/settings',
    query: { id: 'settings-reports-1', userId: String(userId), companyId: String(rig.demo.companyId), theme: 'light' },
    token: () => rig.jwt({ userId, companyId: rig.demo.companyId }),
    viewport: { width: 1100, height: 1400 },
  });
  await host.app.getByTestId('report-table').waitFor({ timeout: 15_000 });
  return { ...host, ui: host.app };
}

const rowOf = (ui: FrameLocator, automationId: string | null) =>
  automationId === null
    ? ui.getByTestId('report-row').filter({ hasText: 'Sent from the deal panel' })
    : ui.locator(`[data-testid="report-row"][data-automation-id="${automationId}"]`);

describe('the reports table opens the messages and replies behind it', () => {
  it("shows a row's messages newest first, with state, why not sent, the replies, and links to Pipedrive", async () => {
    const { page, ui } = await openSettings();
    await rowOf(ui, quote.id).getByTestId('report-open-messages').click();
    const list = ui.getByTestId('message-list');
    await expect.poll(() => list.getByTestId('report-message').count()).toBe(4);
    await expect.poll(() => list.locator('h3').textContent()).toContain('Quote sent follow-up');

    const ann = list.getByTestId('report-message').filter({ hasText: 'Solar panels for Ann' });
    expect(await ann.getByTestId('message-body').textContent()).toContain('Hi Ann, your quote for Solar panels for Ann is ready.');
    expect(await ann.getByTestId('message-status').textContent()).toBe('Delivered');
    expect(await ann.getByTestId('message-reply').allTextContents()).toEqual([
      expect.stringContaining('Sounds good, call me tomorrow'),
      expect.stringContaining('Please remove me from this listPossible opt-out'),
    ]);
    const deal = ann.getByTestId('deal-link');
    expect(await deal.getAttribute('href')).toBe(`https://acme-sandbox.pipedrive.com/deal/${person('Ann').dealId}`);
    expect(await deal.getAttribute('target')).toBe('_blank');
    expect(await deal.getAttribute('rel')).toContain('noopener');
    const contact = ann.getByTestId('person-link');
    // The contact by the name Pipedrive had for them when the text was sent.
    expect([await contact.textContent(), await contact.getAttribute('href')]).toEqual([person('Ann').name, `https://acme-sandbox.pipedrive.com/person/${person('Ann').id}`]);

    const statusOf = async (name: string) => list.getByTestId('report-message').filter({ hasText: name }).getByTestId('message-status').textContent();
    expect(await statusOf('Roof repair for Olly')).toBe('Skipped: opted out');
    expect(await statusOf('Heat pump for Nora')).toBe('Skipped: no consent');
    expect(await statusOf('Windows for Ivan')).toBe('Skipped: invalid phone number');

    // The deal panel's row: its one message and the STOP that answered it.
    await rowOf(ui, null).getByTestId('report-open-messages').click();
    await expect.poll(() => list.locator('h3').textContent()).toContain('Sent from the deal panel');
    await expect.poll(() => list.getByTestId('report-message').count()).toBe(1);
    expect(await list.getByTestId('message-body').textContent()).toContain('Does Tuesday at 10 work for the site visit?');
    expect(await list.getByTestId('message-reply').getByTestId('reply-keyword').textContent()).toBe('Opt-out keyword');

    // Back to the quote follow-up for the README's picture.
    await rowOf(ui, quote.id).getByTestId('report-open-messages').click();
    await expect.poll(() => list.locator('h3').textContent()).toContain('Quote sent follow-up');
    await expect.poll(() => list.getByTestId('report-message').count()).toBe(4);
    await ui.locator('#reports').screenshot({ path: `${ARTIFACTS}/reports-messages.png` });
    if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') copyFileSync(`${ARTIFACTS}/reports-messages.png`, 'docs/reports.png');
    await page.close();
  });

  it('pages through a long list with "Show more"', async () => {
    const { page, ui } = await openSettings();
    await rowOf(ui, nudge.id).getByTestId('report-open-messages').click();
    const list = ui.getByTestId('message-list');
    await expect.poll(() => list.getByTestId('report-message').count()).toBe(50);
    expect(await list.getByTestId('message-body').first().textContent()).toContain(`(${NUDGES - 1})`);
    await list.getByTestId('load-more').click();
    await expect.poll(() => list.getByTestId('report-message').count()).toBe(NUDGES);
    expect(await list.getByTestId('message-body').last().textContent()).toContain('(0)');
    const ids = await list.getByTestId('report-message').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-message-id')));
    expect(new Set(ids).size).toBe(NUDGES);
    expect(await list.getByTestId('load-more').count()).toBe(0);
    await page.close();
  });

  it('lists every reply with its person, deal and tags, filtered by automation', async () => {
    const { page, ui } = await openSettings();
    await ui.getByTestId('report-all-replies').click();
    const list = ui.getByTestId('reply-list');
    await expect.poll(() => list.getByTestId('reply-row').count()).toBe(3);
    expect(await list.getByTestId('reply-body').allTextContents()).toEqual(['STOP', 'Please remove me from this list', 'Sounds good, call me tomorrow']);
    expect(await list.getByTestId('reply-automation').allTextContents()).toEqual(['Deal panel', 'Quote sent follow-up', 'Quote sent follow-up']);
    const stop = list.getByTestId('reply-row').first();
    expect(await stop.getByTestId('reply-keyword').textContent()).toBe('Opt-out keyword');
    expect(await stop.getByTestId('deal-link').getAttribute('href')).toBe(`https://acme-sandbox.pipedrive.com/deal/${person('Ann').dealId}`);
    expect(await list.getByTestId('reply-possible-opt-out').count()).toBe(1);
    await ui.locator('#reports').screenshot({ path: `${ARTIFACTS}/reports-replies.png` });

    await list.getByTestId('reply-filter').selectOption(quote.id);
    await expect.poll(() => list.getByTestId('reply-body').allTextContents()).toEqual(['Please remove me from this list', 'Sounds good, call me tomorrow']);
    await list.getByTestId('reply-filter').selectOption('panel');
    await expect.poll(() => list.getByTestId('reply-body').allTextContents()).toEqual(['STOP']);
    await list.getByTestId('reply-filter').selectOption(nudge.id);
    await list.getByTestId('reply-list-empty').waitFor();
    await page.close();
  });

  it('downloads both lists as CSV files with the rows on screen', async () => {
    const { page, ui } = await openSettings();
    await rowOf(ui, quote.id).getByTestId('report-open-messages').click();
    const messages = ui.getByTestId('message-list');
    await expect.poll(() => messages.getByTestId('report-message').count()).toBe(4);
    const [download] = await Promise.all([page.waitForEvent('download'), messages.getByTestId('messages-csv').click()]);
    expect(download.suggestedFilename()).toMatch(/^sms-messages-\d{4}-\d{2}-\d{2}\.csv$/);
    const rows = parse(readFileSync((await download.path())!, 'utf8'), { bom: true, columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => [r.deal_title, r.status, r.reason]).sort()).toEqual(
      [
        ['Solar panels for Ann', 'delivered', ''],
        ['Roof repair for Olly', 'skipped', 'opted_out'],
        ['Heat pump for Nora', 'skipped', 'no_consent'],
        ['Windows for Ivan', 'skipped', 'invalid_phone'],
      ].sort(),
    );
    expect(rows.find((r) => r.deal_title === 'Solar panels for Ann')).toMatchObject({ automation: 'Quote sent follow-up', replies: '2', to: `'${ANN}` });

    await ui.getByTestId('report-all-replies').click();
    const replies = ui.getByTestId('reply-list');
    await expect.poll(() => replies.getByTestId('reply-row').count()).toBe(3);
    await replies.getByTestId('reply-filter').selectOption(quote.id);
    await expect.poll(() => replies.getByTestId('reply-row').count()).toBe(2);
    const [replyFile] = await Promise.all([page.waitForEvent('download'), replies.getByTestId('replies-csv').click()]);
    expect(replyFile.suggestedFilename()).toMatch(/^sms-replies-/);
    const replyRows = parse(readFileSync((await replyFile.path())!, 'utf8'), { bom: true, columns: true }) as Array<Record<string, string>>;
    expect(replyRows.map((r) => [r.body, r.possible_opt_out, r.automation, r.deal_url])).toEqual([
      ['Please remove me from this list', 'yes', 'Quote sent follow-up', `https://acme-sandbox.pipedrive.com/deal/${person('Ann').dealId}`],
      ['Sounds good, call me tomorrow', 'no', 'Quote sent follow-up', `https://acme-sandbox.pipedrive.com/deal/${person('Ann').dealId}`],
    ]);
    await page.close();
  });

  it('shows a user who is not an admin the lists of their deals, without the downloads', async () => {
    const { page, ui } = await openSettings(SAM);
    await rowOf(ui, quote.id).getByTestId('report-open-messages').click();
    const list = ui.getByTestId('message-list');
    await expect.poll(() => list.getByTestId('report-message').count()).toBe(4);
    expect(await list.getByTestId('messages-csv').count()).toBe(0);
    await ui.getByTestId('report-all-replies').click();
    await expect.poll(() => ui.getByTestId('reply-row').count()).toBe(3);
    expect(await ui.getByTestId('replies-csv').count()).toBe(0);
    await page.close();
  });
});
