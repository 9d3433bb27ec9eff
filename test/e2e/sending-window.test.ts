import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import { createRig, type Rig } from '../support/rig.js';
import { launchBrowser, openInSdkHost, screenshot } from './browser.js';

let rig: Rig;
let browser: Browser;
const COMPANY = '1001';
const ANN = '+14155552671';

// Tuesday 1 December 2026, 21:10 UTC: 16:10 in New York, 21:10 in London, 08:10 on Wednesday in Sydney, 13:10 in
// San Francisco (Ann's number).
const TUESDAY_EVENING = Date.UTC(2026, 11, 1, 21, 10);
// Wednesday 2 December 2026, 07:10 UTC: 23:10 on Tuesday in San Francisco.
const ANN_AT_NIGHT = Date.UTC(2026, 11, 2, 7, 10);

async function api(path: string, init: { method?: string; body?: unknown } = {}) {
  const token = await rig.jwt({ userId: rig.demo.adminUserId, companyId: rig.demo.companyId });
  const res = await fetch(`${rig.appUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  browser = await launchBrowser();
  // Quiet hours on in the outbox (the rig switches them off by default), the frequency cap off.
  rig = await createRig({ walkthrough: true, outbox: { rateLimit: false, pollMs: 50, quietHours: true } });
  await rig.installDemo();
  rig.ctx.outbox.start();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await rig?.close();
});

beforeEach(async () => {
  expect((await api('/api/settings', { method: 'PATCH', body: { quietHours: { start: '08:00', end: '21:00' }, frequencyCap: 3 } })).status).toBe(200);
});

/** The settings page in an SDK host, its browser clock fixed at `now` (the page is reloaded so it starts from it). */
async function openSettings(now: number): Promise<{ page: Page; ui: FrameLocator }> {
  const host = await openInSdkHost(browser, {
    appUrl: rig.appUrl,
    path: '/settings',
    query: { id: 'settings-window', userId: String(rig.demo.adminUserId), companyId: COMPANY, theme: 'light' },
    token: () => rig.jwt({ userId: rig.demo.adminUserId, companyId: rig.demo.companyId }),
  });
  await host.page.clock.setFixedTime(now);
  await host.page.reload();
  const ui = host.app;
  // Two loads of the page (the second on the fixed clock): slow on a busy machine.
  await ui.getByTestId('sending-window-form').waitFor({ timeout: 30_000 });
  return { page: host.page, ui };
}

describe('the settings page: quiet hours and the frequency cap', { timeout: 60_000 }, () => {
  it('changes the window in 15-minute steps, says what it means in New York, London and Sydney now, and saves the cap', async () => {
    const { page, ui } = await openSettings(TUESDAY_EVENING);
    const sentence = ui.getByTestId('quiet-hours-sentence');
    await expect
      .poll(() => sentence.textContent())
      .toBe(
        'Right now an automation text goes at once to a contact in New York (16:10), waits until 08:00 tomorrow for a contact in London (21:10), ' +
          'and goes at once to a contact in Sydney (08:10).',
      );
    // Every quarter of an hour, and nothing between.
    const options = await ui.getByTestId('quiet-hours-start').locator('option').allTextContents();
    expect(options).toHaveLength(96);
    expect(options.slice(0, 5)).toEqual(['00:00', '00:15', '00:30', '00:45', '01:00']);
    expect(options.at(-1)).toBe('23:45');
    await expect.poll(() => ui.getByText(/Florida and Oklahoma area codes are texted only from 08:00 to 20:00/).count()).toBe(1);

    // A window across midnight: the sentence follows the form before it is saved.
    await ui.getByTestId('quiet-hours-start').selectOption('22:00');
    await ui.getByTestId('quiet-hours-end').selectOption('06:00');
    await expect
      .poll(() => sentence.textContent())
      .toBe(
        'Right now an automation text waits until 22:00 for a contact in New York (16:10), waits until 22:00 for a contact in London (21:10), ' +
          'and waits until 22:00 for a contact in Sydney (08:10).',
      );

    // An empty window is refused with the server's own words, and cannot be saved.
    await ui.getByTestId('quiet-hours-end').selectOption('22:00');
    await expect.poll(() => ui.getByTestId('quiet-hours-error').textContent()).toBe('End must differ from start: a window from a time to the same time is empty');
    expect(await ui.getByTestId('save-sending-window').isDisabled()).toBe(true);
    await ui.getByTestId('quiet-hours-end').selectOption('06:00');
    expect(await ui.getByTestId('quiet-hours-error').count()).toBe(0);

    // The cap: out of bounds refused, 0 switches it off.
    await ui.getByTestId('frequency-cap').fill('25');
    await expect.poll(() => ui.getByTestId('frequency-cap-error').textContent()).toBe('A whole number from 0 to 20.');
    expect(await ui.getByTestId('save-sending-window').isDisabled()).toBe(true);
    await ui.getByTestId('frequency-cap').fill('0');
    await expect.poll(() => ui.getByText('No cap: 0 lets every automation text through.').count()).toBe(1);
    await ui.getByTestId('save-sending-window').click();
    await ui.getByTestId('sending-window-saved').waitFor();
    const saved = (await api('/api/settings')).json;
    expect(saved.quietHours).toEqual({ start: '22:00', end: '06:00' });
    expect(saved.frequencyCap).toBe(0);
    await screenshot(page, 'settings-sending-window');

    // Off: texts go at any hour; the other rules were not touched by this form.
    await ui.getByTestId('quiet-hours-on').uncheck();
    expect(await ui.getByTestId('quiet-hours-start').isDisabled()).toBe(true);
    await expect
      .poll(() => sentence.textContent())
      .toBe('Quiet hours are off: automation texts go at any hour (it is 16:10 in New York, 21:10 in London and 08:10 in Sydney).');
    await ui.getByTestId('frequency-cap').fill('5');
    await ui.getByTestId('save-sending-window').click();
    await expect.poll(async () => (await api('/api/settings')).json.quietHours, { timeout: 5_000 }).toBeNull();
    const after = (await api('/api/settings')).json;
    expect(after.frequencyCap).toBe(5);
    expect(after.maxSegments).toBe(1);
    await page.close();
  });

  it('shows what the server refuses, by field', async () => {
    const { page, ui } = await openSettings(TUESDAY_EVENING);
    // The form never sends a window the server refuses; to see the server's refusal shown beside its field, the request
    // is altered on its way to the real server, which answers it.
    await page.route('**/api/settings', async (route) => {
      if (route.request().method() !== 'PATCH') return route.fallback();
      const body = JSON.parse(route.request().postData() ?? '{}') as Record<string, unknown>;
      return route.fallback({ postData: JSON.stringify({ ...body, quietHours: { start: '08:10', end: '21:00' } }) });
    });
    await ui.getByTestId('quiet-hours-start').selectOption('09:00');
    await ui.getByTestId('save-sending-window').click();
    await expect
      .poll(() => ui.getByTestId('quiet-hours-error').textContent())
      .toBe('Start must be a time of day as HH:MM in 15-minute steps, such as 08:00 or 21:30');
    expect((await api('/api/settings')).json.quietHours).toEqual({ start: '08:00', end: '21:00' });
    await page.close();
  });
});

const annDeal = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!.dealId;

/** The deal panel of Ann's deal in the sandbox's SDK host, the browser's clock fixed at `now` (or real), in Berlin. */
async function openPanel(now: number | null): Promise<{ page: Page; panel: FrameLocator }> {
  const page = await browser.newPage({ viewport: { width: 420, height: 900 }, timezoneId: 'Europe/Berlin', locale: 'en-US' });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  if (now !== null) await page.clock.setFixedTime(now);
  await page.goto(`${rig.appUrl}/sandbox/host?dealId=${annDeal()}`);
  const panel = page.frameLocator('#panel');
  await panel.getByTestId('compose').waitFor({ timeout: 20_000 });
  return { page, panel };
}

const panelSends = async (body: string) =>
  (await rig.ctx.database.db.selectFrom('outbound_messages').select('id').where('company_id', '=', COMPANY).where('template', '=', body).execute()).length;

describe('the deal panel and the contact’s sending window', { timeout: 60_000 }, () => {
  it('shows the contact’s local time; inside the window one click sends', async () => {
    const { page, panel } = await openPanel(TUESDAY_EVENING);
    await expect.poll(() => panel.getByTestId('contact-time').textContent()).toBe(' · 13:10 their time');
    expect(await panel.getByTestId('outside-window').count()).toBe(0);
    await panel.getByTestId('compose').fill('Your installer comes at noon');
    await panel.getByTestId('send').click();
    await expect.poll(() => panelSends('Your installer comes at noon')).toBe(1);
    await page.close();
  });

  it('outside the contact’s window says so, and sends only on a second click (“Send anyway”): not held', async () => {
    const { page, panel } = await openPanel(ANN_AT_NIGHT);
    await expect.poll(() => panel.getByTestId('contact-time').textContent()).toBe(' · 23:10 their time');
    const notice = panel.getByTestId('outside-window');
    await expect
      .poll(() => notice.textContent())
      .toBe('It is 23:10 for this contact; quiet hours are 08:00–21:00. A text sent from here is not held: it goes at once.');
    await panel.getByTestId('compose').fill('Sorry for the late text');
    await panel.getByTestId('send').click();
    await expect.poll(() => panel.getByTestId('send').textContent()).toBe('Send anyway');
    expect(await notice.textContent()).toContain('Click “Send anyway” to send it now.');
    expect(await panelSends('Sorry for the late text')).toBe(0);
    await screenshot(page, 'panel-outside-window');
    await panel.getByTestId('send').click();
    await expect.poll(() => panelSends('Sorry for the late text')).toBe(1);
    // Sent from the panel, the text is not held: it goes to Ann's phone at once.
    await expect.poll(() => rig.tw.inbox(ANN).some((m) => m.body.startsWith('Sorry for the late text')), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => panel.getByTestId('send').textContent()).toBe('Send SMS');

    // Quiet hours off: the panel no longer warns at that hour.
    expect((await api('/api/settings', { method: 'PATCH', body: { quietHours: null } })).status).toBe(200);
    await page.close();
    const again = await openPanel(ANN_AT_NIGHT);
    await expect.poll(() => again.panel.getByTestId('contact-time').textContent()).toBe(' · 23:10 their time');
    expect(await again.panel.getByTestId('outside-window').count()).toBe(0);
    await again.page.close();
  });

  it('shows when a message held by quiet hours will go, in the contact’s time and the user’s', async () => {
    // A window that is closed now in San Francisco (the server's real clock decides): it opens in two hours.
    const laHour = Number(new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', hour: '2-digit', hourCycle: 'h23' }).format(Date.now()));
    const hh = (h: number) => `${String(h % 24).padStart(2, '0')}:00`;
    const window = { start: hh(laHour + 2), end: hh(laHour + 4) };
    expect((await api('/api/settings', { method: 'PATCH', body: { quietHours: window } })).status).toBe(200);
    const automation = await rig.ctx.automations.create(COMPANY, {
      name: 'Quote sent follow-up',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
      template: 'Hi {{person.first_name}}, your quote is ready.',
    });
    try {
      await rig.pd.moveDealToStage(annDeal(), rig.demo.stages.quoteSent);
      const held = async () =>
        rig.ctx.database.db
          .selectFrom('outbound_messages')
          .selectAll()
          .where('company_id', '=', COMPANY)
          .where('automation_id', '=', automation.id)
          .executeTakeFirst();
      await expect.poll(async () => (await held())?.state, { timeout: 10_000 }).toBe('scheduled');
      const notBefore = Date.parse(((await held()) as unknown as { not_before: string }).not_before);
      const format = (timeZone: string) =>
        new Intl.DateTimeFormat('en-US', { weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }).format(notBefore);
      expect(format('America/Los_Angeles')).toMatch(new RegExp(`${window.start}$`));

      const { page, panel } = await openPanel(null);
      await expect
        .poll(() => panel.getByTestId('scheduled-for').textContent())
        .toBe(`Scheduled for ${format('America/Los_Angeles')} (${format('Europe/Berlin')} your time)`);
      await screenshot(page, 'panel-scheduled');
      await page.close();
    } finally {
      await rig.ctx.automations.remove(COMPANY, automation.id);
      await rig.pd.moveDealToStage(annDeal(), rig.demo.stages.leadIn);
    }
  });
});

describe('the sandbox walk-through', { timeout: 60_000 }, () => {
  it('has a quiet hours switch and a "Reset the demo" button', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`${rig.appUrl}/sandbox`);
    await page.locator('#contact-clock').getByText(/for Ann: /).waitFor({ timeout: 10_000 });
    // The beforeEach set the default window: the switch shows it on. The reset's first state has it off.
    expect(await page.locator('#quiet-hours').isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Reset the demo' }).click();
    await expect.poll(() => page.locator('#reset-note').textContent()).toBe('The demo is back in its first state.');
    await expect.poll(() => page.locator('#quiet-hours').isChecked()).toBe(false);
    expect((await api('/api/settings')).json.quietHours).toBeNull();
    await expect.poll(() => page.locator('#contact-clock').textContent()).toMatch(/^It is \d\d:\d\d \(America\/Los_Angeles\) for Ann: quiet hours are off/);
    await page.locator('#quiet-hours').check();
    await expect.poll(async () => (await api('/api/settings')).json.quietHours).toEqual({ start: '08:00', end: '21:00' });
    await expect.poll(() => page.locator('#contact-clock').textContent()).toMatch(/for Ann: a text due now (goes at once|waits until \d\d:\d\d their time)/);
    await page.locator('#quiet-hours').uncheck();
    await expect.poll(async () => (await api('/api/settings')).json.quietHours).toBeNull();

    // With quiet hours off a text arrives at any hour; the reset empties the phone and puts the deal back in Lead in.
    await page.getByRole('button', { name: 'Quote sent' }).click();
    await expect.poll(() => page.locator('#inbox .bubble').count(), { timeout: 10_000 }).toBe(1);
    await page.getByRole('button', { name: 'Reset the demo' }).click();
    await expect.poll(() => page.locator('#inbox').textContent()).toBe('No messages on this phone yet.');
    expect(rig.pd.deal(annDeal())!.stage_id).toBe(rig.demo.stages.leadIn);
    expect((await rig.ctx.automations.list(COMPANY)).map((a) => a.name)).toEqual(['Quote sent follow-up']);
    await screenshot(page, 'sandbox-walkthrough-reset');
    await page.close();
  });
});
