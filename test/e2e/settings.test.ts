import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import { createRig, FROM_NUMBER, type Rig } from '../support/rig.js';
import { launchBrowser, openInSdkHost, screenshot, type SdkHostPage } from './browser.js';

let rig: Rig;
let browser: Browser;
const COMPANY = '1001';
const ANN = '+14155552671';
const INBOUND_PATH = '/webhooks/twilio/inbound';
const person = (name: string) => rig.demo.persons.find((p) => p.name.startsWith(name))!;

type StoredAutomation = { id: string; name: string; enabled: boolean; trigger: { event: string; stageId: number; pipelineId?: number | null }; template: string };

async function call(path: string, init: { method?: string; body?: unknown; userId?: number } = {}) {
  const token = await rig.jwt({ userId: init.userId ?? rig.demo.adminUserId, companyId: rig.demo.companyId });
  const res = await fetch(`${rig.appUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const stored = async (): Promise<StoredAutomation[]> => (await call('/api/automations')).json.automations;

beforeAll(async () => {
  browser = await launchBrowser();
  rig = await createRig({ walkthrough: true, outbox: { rateLimit: false, pollMs: 50 } });
  await rig.installDemo();
  rig.ctx.outbox.start();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await rig?.close();
});

// Each test starts from the installed company with no automations, the default rules and the default Twilio account.
beforeEach(async () => {
  for (const a of await rig.ctx.automations.list(COMPANY)) await rig.ctx.automations.remove(COMPANY, a.id);
  const reset = await call('/api/settings', { method: 'PATCH', body: { maxSegments: 1, keywordReplies: 'provider', helpText: null, optOutWords: 'exact', sendRatePerSecond: 1 } });
  expect(reset.status).toBe(200);
  expect((await call('/api/settings/twilio', { method: 'DELETE' })).status).toBe(200);
  rig.pd.clearFaults();
});

async function openSettings(
  options: { theme?: 'light' | 'dark'; userId?: number; companyId?: number; signedToken?: () => Promise<string>; rig?: Rig } = {},
): Promise<SdkHostPage & { ui: FrameLocator }> {
  const app = options.rig ?? rig;
  const userId = options.userId ?? app.demo.adminUserId;
  const companyId = options.companyId ?? app.demo.companyId;
  const fresh = () => app.jwt({ userId, companyId });
  let first = true;
  const host = await openInSdkHost(browser, {
    appUrl: app.appUrl,
    path: '/settings',
    query: { id: 'settings-runtime-1', userId: String(userId), companyId: String(companyId), theme: options.theme ?? 'light' },
    // The first token goes into the iframe URL (the server checks it before serving the page); later ones answer
    // GET_SIGNED_TOKEN.
    token: () => {
      if (first || !options.signedToken) {
        first = false;
        return fresh();
      }
      return options.signedToken();
    },
  });
  return { ...host, ui: host.app };
}

const ready = async (ui: FrameLocator) => {
  await ui.getByTestId('company-name').getByText('Acme Sandbox Inc.').waitFor({ timeout: 10_000 });
};

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The form controls of the page with no label a screen reader could read. */
const unlabelled = (page: Page) =>
  page.frame({ url: /\/settings\?/ })!.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby') && !el.textContent?.trim())
      .map((el) => el.outerHTML),
  );

/** Fills the "connect your own Twilio account" form; a sender given as MG… is a Messaging Service. */
async function fillTwilioForm(ui: FrameLocator, values: { accountSid?: string; authToken?: string; sender?: string; pointReplies?: boolean }): Promise<void> {
  const form = ui.getByTestId('twilio-form');
  if (values.accountSid !== undefined) await form.getByLabel('Account SID').fill(values.accountSid);
  if (values.authToken !== undefined) await form.getByLabel('Auth Token').fill(values.authToken);
  if (values.sender?.startsWith('MG')) {
    await form.getByLabel('A Messaging Service of this account').check();
    await form.getByLabel('Messaging Service SID').fill(values.sender);
  } else if (values.sender !== undefined) {
    await form.getByLabel('A phone number of this account').check();
    await form.getByLabel('Phone number', { exact: true }).fill(values.sender);
  }
  if (values.pointReplies !== undefined) await form.getByLabel(/Send replies to SMS for Pipedrive/).setChecked(values.pointReplies);
}

/** Chooses the stage in the editor's picker, once the stages came from Pipedrive. */
async function pickStage(ui: FrameLocator, stageId: number): Promise<void> {
  const select = ui.getByTestId('automation-stage');
  await expect.poll(() => select.isEnabled()).toBe(true);
  await select.selectOption(String(stageId));
}

describe('the settings page in a Pipedrive-like host', () => {
  it('initializes the SDK once, invites the first automation, creates one that texts the contact when a deal enters the stage', async () => {
    const { page, ui, log } = await openSettings();
    await ready(ui);
    expect(await ui.getByTestId('provisioning-warning').count()).toBe(0);
    await ui.getByTestId('automations-empty').waitFor();
    // Nothing was sent yet either.
    await ui.getByTestId('reports-empty').waitFor();
    await screenshot(page, 'settings-empty');

    // One handshake even under StrictMode, asking for a page-sized surface.
    const commands = await log();
    const inits = commands.filter((e) => e.command === 'initialize');
    expect(inits).toHaveLength(1);
    expect((inits[0]!.args as { size: { height: number } }).size.height).toBeGreaterThanOrEqual(600);

    await ui.getByRole('button', { name: 'Create your first automation' }).click();
    const editor = ui.getByTestId('automation-editor');
    await editor.waitFor();
    await ui.getByTestId('automation-name').fill('Quote follow-up');
    await pickStage(ui, rig.demo.stages.quoteSent);
    // Grouped by pipeline, in Pipedrive's order: the option sits in the "Sales" group.
    const groups = await ui.getByTestId('automation-stage').evaluate((select) =>
      [...select.querySelectorAll('optgroup')].map((g) => `${g.label}: ${[...g.querySelectorAll('option')].map((o) => o.textContent).join(', ')}`),
    );
    expect(groups).toContain('Sales: Lead in, Quote sent, Negotiation, Won');

    // Type around the merge-field buttons: each inserts at the caret, and typing continues after it.
    const template = ui.getByTestId('automation-template');
    await template.click();
    await template.pressSequentially('Hi ');
    await ui.getByRole('button', { name: /First name/ }).click();
    await expect.poll(() => template.inputValue()).toBe('Hi {{person.first_name}}');
    await template.press('ArrowLeft');
    await template.press('ArrowLeft');
    await template.pressSequentially('|there');
    await template.press('End');
    await template.pressSequentially(', your quote for ');
    await ui.getByRole('button', { name: /Deal title/ }).click();
    await expect.poll(() => template.inputValue()).toBe('Hi {{person.first_name|there}}, your quote for {{deal.title}}');
    await template.press('End');
    await template.pressSequentially(' is ready.');

    expect(await ui.getByTestId('template-preview').textContent()).toContain('Hi Alex, your quote for Website redesign is ready.\nReply STOP to opt out');
    expect(await ui.getByTestId('template-counter').textContent()).toBe('72/160 characters · 1/1 segment · GSM-7');
    expect(await ui.getByTestId('template-problems').count()).toBe(0);
    await screenshot(page, 'settings-editor');
    const save = ui.getByTestId('save-automation');
    expect(await save.isEnabled()).toBe(true);
    await save.click();
    await editor.waitFor({ state: 'detached' });

    const item = ui.getByTestId('automation-item');
    await item.waitFor();
    expect(await item.getByTestId('automation-trigger').textContent()).toBe('Deal enters Sales › Quote sent');
    expect(await item.getByTestId('automation-enabled').isChecked()).toBe(true);

    // What the server stored…
    const [automation, ...others] = await stored();
    expect(others).toHaveLength(0);
    expect(automation).toMatchObject({
      name: 'Quote follow-up',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent, pipelineId: rig.demo.pipelineId },
      template: 'Hi {{person.first_name|there}}, your quote for {{deal.title}} is ready.',
    });

    // …and what it does: Ann's deal enters "Quote sent" in Pipedrive, and her phone gets the text.
    await rig.pd.moveDealToStage(person('Ann').dealId, rig.demo.stages.quoteSent);
    await waitFor(() => rig.tw.messagesTo(ANN).some((m) => m.body === 'Hi Ann, your quote for Solar panels for Ann is ready.\nReply STOP to opt out'), 10_000);
    await screenshot(page, 'settings-created');
    await page.close();
  });

  it('shows problems while typing and will not save a template that is too long, has a shortener or an unknown field', async () => {
    const { page, ui, log, answerConfirmations } = await openSettings();
    await ready(ui);
    await ui.getByTestId('new-automation').click();
    await ui.getByTestId('automation-name').fill('Bad ones');
    await pickStage(ui, rig.demo.stages.negotiation);
    const template = ui.getByTestId('automation-template');
    const save = ui.getByTestId('save-automation');

    await template.fill('Your quote: bit.ly/q123');
    await ui.getByTestId('problem-link_shortener').waitFor();
    expect(await ui.getByTestId('problem-link_shortener').textContent()).toContain('bit.ly');
    expect(await save.isDisabled()).toBe(true);

    await template.fill('Your quote is ready. '.repeat(9));
    await ui.getByTestId('problem-too_long').waitFor();
    expect(await ui.getByTestId('template-counter').textContent()).toBe('210/160 characters · 2/1 segment · GSM-7');
    expect(await ui.getByTestId('template-counter').getAttribute('class')).toContain('over');
    expect(await save.isDisabled()).toBe(true);
    await screenshot(page, 'settings-too-long');

    await template.fill('Hi {{person.email}}');
    await ui.getByTestId('problem-unknown_field').waitFor();
    expect(await save.isDisabled()).toBe(true);

    await template.fill('Your quote is ready 😀');
    expect(await ui.getByTestId('template-counter').textContent()).toContain('UCS-2');
    expect(await ui.getByTestId('template-counter').textContent()).toContain('/70 characters');
    expect(await save.isEnabled()).toBe(true);

    // Cancelling with unsaved changes asks first; "Keep editing" keeps every value.
    await answerConfirmations(false);
    await ui.getByTestId('cancel-automation').click();
    await waitFor(async () => (await log()).some((e) => e.command === 'show_confirmation'));
    const asked = (await log()).find((e) => e.command === 'show_confirmation')!;
    expect(asked.args).toMatchObject({ title: 'Discard your changes?', okColor: 'negative' });
    await page.waitForTimeout(200);
    expect(await ui.getByTestId('automation-editor').count()).toBe(1);
    expect(await template.inputValue()).toBe('Your quote is ready 😀');
    expect(await ui.getByTestId('automation-name').inputValue()).toBe('Bad ones');

    await answerConfirmations(true);
    await ui.getByTestId('cancel-automation').click();
    await ui.getByTestId('automation-editor').waitFor({ state: 'detached' });
    expect(await stored()).toHaveLength(0);
    await page.close();
  });

  it("shows the server's refusal next to the message, keeps the form, and counts against the server's limit from then on", async () => {
    expect((await call('/api/settings', { method: 'PATCH', body: { maxSegments: 2 } })).status).toBe(200);
    const { page, ui } = await openSettings();
    await ready(ui);
    // Another admin lowers the limit after this page loaded.
    expect((await call('/api/settings', { method: 'PATCH', body: { maxSegments: 1 } })).status).toBe(200);

    await ui.getByTestId('new-automation').click();
    await ui.getByTestId('automation-name').fill('Two segments');
    await pickStage(ui, rig.demo.stages.negotiation);
    const text = 'Your quote is ready. '.repeat(9);
    await ui.getByTestId('automation-template').fill(text);
    expect(await ui.getByTestId('template-counter').textContent()).toBe('210/306 characters · 2/2 segments · GSM-7');
    await ui.getByTestId('save-automation').click();

    const refusal = ui.getByTestId('template-server-error');
    await refusal.waitFor();
    expect(await refusal.textContent()).toBe(
      'Not saved: the maximum length was changed to 1 segment since this page was opened, and this message no longer fits.',
    );
    expect(await ui.getByTestId('automation-name').inputValue()).toBe('Two segments');
    expect(await ui.getByTestId('automation-template').inputValue()).toBe(text);
    // The page now measures against the limit the server named.
    await ui.getByTestId('problem-too_long').waitFor();
    expect(await ui.getByTestId('template-counter').textContent()).toBe('210/160 characters · 2/1 segment · GSM-7');
    expect(await ui.getByTestId('problem-too_long').textContent()).toContain('more than the maximum of 1 segment');
    expect(await ui.getByTestId('save-automation').isDisabled()).toBe(true);
    // The rules form shows the new limit as stored, not as an unsaved change.
    expect(await ui.getByTestId('rule-max-segments').inputValue()).toBe('1');
    expect(await ui.getByTestId('save-rules').isDisabled()).toBe(true);
    await screenshot(page, 'settings-server-refusal');
    expect(await stored()).toHaveLength(0);
    await page.close();
  });

  it('toggles and deletes automations, and the stored automation follows', async () => {
    const created = await call('/api/automations', {
      method: 'POST',
      body: { name: 'Toggle me', trigger: { event: 'deal.created', stageId: rig.demo.stages.leadIn }, template: 'Welcome {{person.first_name|there}}!' },
    });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    const { page, ui, log, answerConfirmations } = await openSettings();
    await ready(ui);
    const item = ui.getByTestId('automation-item');
    await item.waitFor();
    expect(await item.getByTestId('automation-trigger').textContent()).toBe('Deal created in Sales › Lead in');

    const toggle = item.getByRole('switch', { name: 'Enabled: Toggle me' });
    await toggle.click();
    await waitFor(async () => (await rig.ctx.automations.get(COMPANY, id))?.enabled === false);
    await expect.poll(() => toggle.isChecked()).toBe(false);
    await toggle.click();
    await waitFor(async () => (await rig.ctx.automations.get(COMPANY, id))?.enabled === true);

    // Pipedrive's dialog answered "Cancel": nothing is deleted.
    await answerConfirmations(false);
    await item.getByRole('button', { name: 'Delete Toggle me' }).click();
    await waitFor(async () => (await log()).some((e) => e.command === 'show_confirmation'));
    expect((await log()).find((e) => e.command === 'show_confirmation')!.args).toMatchObject({ title: 'Delete “Toggle me”?', okColor: 'negative' });
    await page.waitForTimeout(200);
    expect(await rig.ctx.automations.get(COMPANY, id)).not.toBeNull();

    await answerConfirmations(true);
    await item.getByRole('button', { name: 'Delete Toggle me' }).click();
    await ui.getByTestId('automations-empty').waitFor();
    expect(await rig.ctx.automations.get(COMPANY, id)).toBeNull();
    expect(await ui.getByTestId('automations-status').textContent()).toBe('Automation “Toggle me” deleted.');
    await page.close();
  });

  it('edits an automation: the changed fields are stored, the trigger words follow', async () => {
    const created = await call('/api/automations', {
      method: 'POST',
      body: { name: 'Nudge', trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent }, template: 'Any questions about {{deal.title}}?' },
    });
    const { page, ui } = await openSettings();
    await ready(ui);
    await ui.getByRole('button', { name: 'Edit Nudge' }).click();
    expect(await ui.getByTestId('automation-name').inputValue()).toBe('Nudge');
    expect(await ui.getByTestId('automation-template').inputValue()).toBe('Any questions about {{deal.title}}?');
    await ui.getByTestId('automation-name').fill('Negotiation nudge');
    await pickStage(ui, rig.demo.stages.negotiation);
    await ui.getByTestId('save-automation').click();
    await ui.getByTestId('automation-editor').waitFor({ state: 'detached' });
    expect(await ui.getByTestId('automation-trigger').textContent()).toBe('Deal enters Sales › Negotiation');
    const after = await rig.ctx.automations.get(COMPANY, created.json.id);
    expect(after).toMatchObject({ name: 'Negotiation nudge', trigger: { stageId: rig.demo.stages.negotiation }, template: 'Any questions about {{deal.title}}?' });
    await page.close();
  });

  it('saves the rules as the installing admin and names the automations that no longer fit', async () => {
    expect((await call('/api/settings', { method: 'PATCH', body: { maxSegments: 2 } })).status).toBe(200);
    const long = await call('/api/automations', {
      method: 'POST',
      body: { name: 'Long reminder', trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.won }, template: 'Thanks for your order. '.repeat(8) },
    });
    expect(long.status).toBe(201);
    const { page, ui } = await openSettings();
    await ready(ui);
    const form = ui.getByTestId('rules-form');
    expect(await form.getByLabel('Maximum length of a message').inputValue()).toBe('2');
    // The placeholder shows the default HELP answer with the company name.
    expect(await form.getByLabel('Answer to HELP').getAttribute('placeholder')).toContain('Acme Sandbox Inc.: reply STOP to opt out');

    await form.getByLabel('Maximum length of a message').fill('1');
    await form.getByTestId('rule-keyword-app').check();
    await form.getByLabel('Answer to HELP').fill('Acme: text STOP to opt out. Help: 555-0100.');
    await form.getByLabel('Sending speed').fill('3');
    expect(await form.getByLabel('Only when the whole reply is an opt-out word (recommended)').isChecked()).toBe(true);
    await form.getByLabel('When a reply contains an opt-out word anywhere').check();
    await form.getByTestId('save-rules').click();
    await form.getByTestId('rules-saved').waitFor();
    const warnings = form.getByTestId('rules-warning');
    expect(await warnings.count()).toBe(1);
    expect(await warnings.first().textContent()).toContain('Long reminder');
    expect(await warnings.first().textContent()).toContain('more than the maximum of 1 segment');
    await screenshot(page, 'settings-rules-warnings');

    // The settings are at the top level of the view.
    const { maxSegments, keywordReplies, helpText, optOutWords, sendRatePerSecond } = (await call('/api/settings')).json;
    expect({ maxSegments, keywordReplies, helpText, optOutWords, sendRatePerSecond }).toEqual({
      maxSegments: 1, keywordReplies: 'app', helpText: 'Acme: text STOP to opt out. Help: 555-0100.', optOutWords: 'any', sendRatePerSecond: 3,
    });
    // The list flags the automation too, and the warning's button opens it with the problem shown.
    await ui.getByTestId('automation-warning').waitFor();
    await form.getByRole('button', { name: 'Edit “Long reminder”' }).click();
    await ui.getByTestId('problem-too_long').waitFor();
    expect(await ui.getByTestId('automation-name').inputValue()).toBe('Long reminder');
    await page.close();
  });

  it('shows a non-admin the automations, the rules and the Twilio sender read-only, with why', async () => {
    // The company texts through its own account, connected by the admin: a sales user sees which, and nothing secret.
    const own = rig.tw.addAccount();
    rig.tw.addNumber(own.sid, '+15005550012');
    expect((await call('/api/settings/twilio', { method: 'PUT', body: { accountSid: own.sid, authToken: own.authToken, fromNumber: '+15005550012' } })).status).toBe(200);
    const made = await call('/api/automations', {
      method: 'POST',
      body: { name: 'Read me', trigger: { event: 'deal.created', stageId: rig.demo.stages.leadIn }, template: 'Welcome!' },
    });
    expect(made.status).toBe(201);

    const { page, ui } = await openSettings({ userId: rig.demo.salesUserId });
    await ready(ui);
    const form = ui.getByTestId('rules-form');
    expect(await ui.getByTestId('rules-read-only').textContent()).toBe('Only the Pipedrive admin who installed SMS for Pipedrive can change the rules.');
    // The rules are there to read, as stored, but cannot be changed or saved.
    expect(await form.getByLabel('Maximum length of a message').inputValue()).toBe('1');
    for (const label of ['Maximum length of a message', 'Answer to HELP', 'Sending speed']) expect(await form.getByLabel(label).isDisabled()).toBe(true);
    expect(await form.getByTestId('rule-keyword-provider').isChecked()).toBe(true);
    expect(await form.getByTestId('rule-keyword-app').isDisabled()).toBe(true);
    expect(await form.getByTestId('save-rules').count()).toBe(0);

    // Automations are listed with their state, without the controls the server would refuse.
    expect(await ui.getByTestId('automations-read-only').textContent()).toBe('Only a Pipedrive admin who installed SMS for Pipedrive can add or change automations.');
    const items = ui.getByTestId('automation-item');
    await items.filter({ hasText: 'Read me' }).waitFor();
    expect(await items.count()).toBe((await call('/api/automations')).json.automations.length);
    expect(await ui.getByTestId('automation-state').count()).toBe(await items.count());
    for (const control of ['new-automation', 'edit-automation', 'delete-automation', 'automation-enabled']) expect(await ui.getByTestId(control).count()).toBe(0);

    const section = ui.getByTestId('twilio-section');
    expect(await section.getByTestId('twilio-sender').getAttribute('data-mode')).toBe('own');
    expect(await section.getByTestId('twilio-address').textContent()).toBe('+15005550012');
    expect(await section.getByTestId('twilio-read-only').textContent()).toBe('Only the Pipedrive admin who installed SMS for Pipedrive can change the Twilio account.');
    expect(await section.getByRole('button').count()).toBe(0);
    expect(await page.frame({ url: /\/settings\?/ })!.content()).not.toContain(own.authToken);
    await screenshot(page, 'settings-not-admin');
    await page.close();
  });

  it("still shows the server's refusal when the admin lost the right after the page loaded, and keeps what was typed", async () => {
    const { page, ui } = await openSettings();
    await ready(ui);
    const demote = (isAdmin: number) =>
      rig.ctx.database.db
        .updateTable('installations')
        .set({ is_admin: isAdmin })
        .where('company_id', '=', COMPANY)
        .where('user_id', '=', String(rig.demo.adminUserId))
        .execute();
    await demote(0);
    try {
      const form = ui.getByTestId('rules-form');
      await form.getByLabel('Maximum length of a message').fill('3');
      await form.getByTestId('save-rules').click();
      const refusal = form.getByTestId('rules-error');
      await refusal.waitFor();
      expect(await refusal.textContent()).toBe('Only a Pipedrive admin who installed the app can change its settings');
      expect(await form.getByLabel('Maximum length of a message').inputValue()).toBe('3');

      const own = rig.tw.addAccount();
      await ui.getByTestId('twilio-connect').click();
      await fillTwilioForm(ui, { accountSid: own.sid, authToken: own.authToken, sender: '+15005550013' });
      await ui.getByTestId('twilio-save').click();
      const twilioRefusal = ui.getByTestId('twilio-form-error');
      await twilioRefusal.waitFor();
      expect(await twilioRefusal.textContent()).toBe('Only a Pipedrive admin who installed the app can change its Twilio account');
      expect(await ui.getByLabel('Account SID').inputValue()).toBe(own.sid);
      // The opt-out list and the erasure form have phone fields too: the sender's is the one in the Twilio form.
      expect(await ui.getByTestId('twilio-form').getByLabel('Phone number', { exact: true }).inputValue()).toBe('+15005550013');
    } finally {
      await demote(1);
    }
    expect((await call('/api/settings')).json).toMatchObject({ maxSegments: 1, twilio: { mode: 'default' } });
    await page.close();
  });

  it('warns when the set-up in Pipedrive is not complete', async () => {
    const problem = { step: 'webhook', needsAdmin: true, message: 'Creating the deal webhook: Pipedrive refused it because the installing user is not an admin.' };
    await rig.ctx.database.db
      .updateTable('companies')
      .set({ provisioning_status: 'needs_admin', provisioning_problems: JSON.stringify([problem]) })
      .where('id', '=', COMPANY)
      .execute();
    try {
      const { page, ui } = await openSettings();
      await ready(ui);
      const warning = ui.getByTestId('provisioning-warning');
      await warning.waitFor();
      expect(await warning.textContent()).toContain('a Pipedrive admin must install the app');
      expect(await warning.textContent()).toContain(problem.message);
      await page.close();
    } finally {
      await rig.ctx.database.db
        .updateTable('companies')
        .set({ provisioning_status: 'complete', provisioning_problems: '[]' })
        .where('id', '=', COMPANY)
        .execute();
    }
  });

  it('says so when the app is not installed for the company, and when the session expired', async () => {
    const stranger = await openSettings({ userId: 1, companyId: 4242 });
    await stranger.ui.getByTestId('not-installed').waitFor();
    expect(await stranger.ui.getByTestId('not-installed').textContent()).toContain('SMS for Pipedrive is not installed for this company');
    expect(await stranger.ui.getByTestId('automation-editor').count()).toBe(0);
    await stranger.page.close();

    // Pipedrive hands out tokens that the server no longer accepts (expired).
    const expired = await openSettings({ signedToken: () => rig.jwt({ userId: rig.demo.adminUserId, companyId: rig.demo.companyId }, { expiresIn: '-10m' }) });
    await expired.ui.getByTestId('session-expired').waitFor();
    expect(await expired.ui.getByTestId('session-expired').textContent()).toContain('Your Pipedrive session has expired');
    await expired.page.close();
  });

  it('applies the dark theme from the URL and from the SDK settings event', async () => {
    const dark = await openSettings({ theme: 'dark' });
    await ready(dark.ui);
    const frame = dark.page.frame({ url: /\/settings\?/ })!;
    expect(await frame.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await frame.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(28, 29, 33)');
    await screenshot(dark.page, 'settings-dark');
    await dark.page.close();

    const light = await openSettings({ theme: 'light' });
    await ready(light.ui);
    const lightFrame = light.page.frame({ url: /\/settings\?/ })!;
    expect(await lightFrame.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(255, 255, 255)');
    await waitFor(() => light.push('user_settings_change', { theme: 'dark' }));
    await lightFrame.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
    await light.page.close();
  });

  it('is usable from the keyboard, with every control labelled', async () => {
    await call('/api/automations', {
      method: 'POST',
      body: { name: 'Keyboard', trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent }, template: 'Hello {{person.first_name|there}}' },
    });
    const { page, ui } = await openSettings();
    await ready(ui);
    await ui.getByTestId('automation-item').waitFor();
    const frame = page.frame({ url: /\/settings\?/ })!;
    expect(await unlabelled(page)).toEqual([]);
    // Nothing clickable is a div or a span.
    expect(await frame.evaluate(() => document.querySelectorAll('div[onclick], span[onclick], [role="button"]:not(button)').length)).toBe(0);

    await ui.getByTestId('new-automation').focus();
    await page.keyboard.press('Enter');
    await ui.getByTestId('automation-editor').waitFor();
    // Focus moves into the editor, then Tab reaches the first field with a visible focus ring.
    expect(await frame.evaluate(() => document.activeElement?.tagName)).toBe('H3');
    await page.keyboard.press('Tab');
    expect(await frame.evaluate(() => (document.activeElement as HTMLInputElement).dataset.testid)).toBe('automation-name');
    expect(await frame.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
    expect(await unlabelled(page)).toEqual([]);
    // Escape with nothing typed closes without asking.
    await page.keyboard.press('Escape');
    await ui.getByTestId('automation-editor').waitFor({ state: 'detached' });
    // Focus returns to the button that opened the editor.
    expect(await frame.evaluate(() => (document.activeElement as HTMLElement).dataset.testid)).toBe('new-automation');
    await page.close();
  });

  it('keeps the page working when the stages cannot be loaded, and offers to try again', async () => {
    await call('/api/automations', {
      method: 'POST',
      body: { name: 'Still listed', trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent }, template: 'Hello' },
    });
    // Pipedrive answers its pipelines and stages with 503 for now.
    rig.pd.injectFault({ path: /pipelines|stages/, status: 503, times: 1_000 });
    const { page, ui } = await openSettings();
    await ready(ui);
    // The list still shows, with the stage by its id.
    await ui.getByTestId('automation-item').waitFor();
    expect(await ui.getByTestId('automation-trigger').textContent()).toBe(`Deal enters stage ${rig.demo.stages.quoteSent}`);
    await ui.getByTestId('new-automation').click();
    const error = ui.getByTestId('stages-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('Pipedrive is not answering');
    // Meanwhile the stage id can be typed, and the form keeps it when the list comes back.
    await ui.getByTestId('automation-stage-id').fill(String(rig.demo.stages.negotiation));
    await screenshot(page, 'settings-stages-unavailable');
    rig.pd.clearFaults();
    await error.getByRole('button', { name: 'Try again' }).click();
    // The picker shows (disabled) while the stages load, and holds the typed stage once they are there.
    await expect.poll(() => ui.getByTestId('automation-stage').inputValue()).toBe(String(rig.demo.stages.negotiation));
    await expect.poll(() => ui.getByTestId('automation-trigger').textContent()).toBe('Deal enters Sales › Quote sent');
    await page.close();
  });

  it('reports what was sent, delivered, skipped (and why), replied, per automation and from the panel', async () => {
    const created = await call('/api/automations', {
      method: 'POST',
      body: { name: 'Won thank-you', trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.won }, template: 'Thank you {{person.first_name|there}}!' },
    });
    expect(created.status).toBe(201);
    const automationId = created.json.id as string;
    // Real traffic: Ann gets it (delivered, and she replies); Olly opted out, Nora gave no consent, Ivan's number is invalid.
    for (const name of ['Ann', 'Olly', 'Nora', 'Ivan']) await rig.pd.moveDealToStage(person(name).dealId, rig.demo.stages.won);
    await waitFor(() => rig.tw.messagesTo(ANN).some((m) => m.body.startsWith('Thank you Ann!')), 10_000);
    await rig.settle();
    const thanks = rig.tw.messagesTo(ANN).find((m) => m.body.startsWith('Thank you Ann!'))!;
    await rig.tw.sendStatus(thanks.sid, 'delivered');
    expect((await rig.tw.reply({ from: ANN, to: '+15005550006', body: 'Thanks, received!' })).status).toBe(200);
    const fromPanel = await call(`/api/panel/deals/${person('Ann').dealId}/messages`, { method: 'POST', body: { body: 'A note from the panel' } });
    expect(fromPanel.status).toBe(202);
    await rig.settle();
    // The automation is deleted afterwards: its row stays, marked as deleted.
    expect((await call(`/api/automations/${automationId}`, { method: 'DELETE' })).status).toBe(204);
    // Two live ones without traffic yet (they make the page look as an admin's would, for the README screenshot).
    for (const body of [
      { name: 'Quote sent follow-up', trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent }, template: 'Hi {{person.first_name|there}}, your quote for {{deal.title}} is ready. Questions? Just reply.' },
      { name: 'New lead welcome', enabled: false, trigger: { event: 'deal.created', stageId: rig.demo.stages.leadIn }, template: 'Thanks for your interest in {{company.name}}, {{person.first_name|there}}! {{user.name}} will call you soon.' },
    ]) {
      expect((await call('/api/automations', { method: 'POST', body })).status).toBe(201);
    }

    const { page, ui } = await openSettings();
    await ready(ui);
    const table = ui.getByTestId('report-table');
    await table.waitFor();
    const report = (await call('/api/reports?days=30')).json;
    const row = ui.locator(`[data-testid="report-row"][data-automation-id="${automationId}"]`);
    const apiRow = report.rows.find((r: { automationId: string | null }) => r.automationId === automationId);
    expect(apiRow).toMatchObject({ exists: false, skipped: 3, delivered: 1, replied: 1 });
    expect(apiRow.skippedByReason).toMatchObject({ no_consent: 1, opted_out: 1, invalid_phone: 1 });
    expect(await row.getByTestId('deleted-tag').count()).toBe(1);
    for (const col of ['sent', 'delivered', 'failed', 'replied', 'optedOut', 'pending']) {
      expect(await row.locator(`td[data-col="${col}"]`).textContent()).toBe(String(apiRow[col]));
    }
    const skipped = await row.locator('td[data-col="skipped"]').textContent();
    expect(skipped).toContain('3');
    for (const words of ['1 no consent', '1 opted out', '1 invalid phone number']) expect(skipped).toContain(words);
    expect(await ui.getByTestId('report-row').filter({ hasText: 'Sent from the deal panel' }).count()).toBe(1);
    expect(await ui.getByTestId('report-totals').locator('td[data-col="sent"]').textContent()).toBe(String(report.totals.sent));

    await screenshot(page, 'settings-reports');
    // Another period asks the server again.
    const asked = page.waitForRequest((r) => r.url().includes('/api/reports?days=7'));
    await ui.getByTestId('report-period').selectOption('7');
    await asked;
    await expect.poll(() => ui.getByTestId('report-range').textContent()).not.toContain('updating');
    await page.close();
  });

  it('keeps the settings JavaScript under 120 KB gzipped', () => {
    const html = readFileSync('dist/ui/settings/index.html', 'utf8');
    const scripts = [...html.matchAll(/(?:src|href)="\/ui\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    const gz = scripts.reduce((sum, file) => sum + gzipSync(readFileSync(`dist/ui/${file}`)).length, 0);
    console.log(`settings JavaScript: ${(gz / 1024).toFixed(1)} KB gzipped in ${scripts.length} files`);
    expect(gz).toBeLessThan(120 * 1024);
  });
});

// After the reports test, so that the README's screenshot of the reports is not crowded by this file's own traffic.
describe('the Twilio sender section', () => {
  it("connects the company's own Twilio account: Twilio's refusals show at their field, then its number texts and gets the replies", async () => {
    const OWN_NUMBER = '+15005550010';
    const own = rig.tw.addAccount();
    rig.tw.addNumber(own.sid, OWN_NUMBER);
    await call('/api/automations', {
      method: 'POST',
      body: { name: 'Quote follow-up', trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent }, template: 'Hi {{person.first_name|there}}, your quote is ready.' },
    });
    const { page, ui, log, answerConfirmations } = await openSettings();
    await ready(ui);
    const section = ui.getByTestId('twilio-section');
    const sender = section.getByTestId('twilio-sender');
    expect(await sender.getAttribute('data-mode')).toBe('default');
    expect(await sender.textContent()).toContain(`Texts go out from the shared number of SMS for Pipedrive, ${FROM_NUMBER}.`);

    await section.getByRole('button', { name: 'Connect your own Twilio account' }).click();
    const form = ui.getByTestId('twilio-form');
    await form.waitFor();
    expect(await form.getByLabel('Auth Token').getAttribute('type')).toBe('password');
    expect(await form.getByLabel(/Send replies to SMS for Pipedrive/).isChecked()).toBe(true);
    expect(await unlabelled(page)).toEqual([]);

    // A number without its country code is caught before Twilio is asked.
    const puts: string[] = [];
    page.on('request', (r) => r.method() === 'PUT' && puts.push(r.url()));
    await fillTwilioForm(ui, { accountSid: own.sid, authToken: 'f'.repeat(32), sender: '(500) 555-0010' });
    await form.getByTestId('twilio-save').click();
    expect(await form.getByTestId('twilio-from-number-error').textContent()).toContain('with its country code');
    expect(puts).toEqual([]);

    // Twilio refuses the Auth Token: said next to it, and every value stays.
    await fillTwilioForm(ui, { sender: OWN_NUMBER });
    await form.getByTestId('twilio-save').click();
    const tokenError = form.getByTestId('twilio-auth-token-error');
    await tokenError.waitFor();
    expect(await tokenError.textContent()).toContain('Twilio refused this Account SID and Auth Token.');
    expect(await form.getByLabel('Auth Token').getAttribute('aria-invalid')).toBe('true');
    expect(await form.getByLabel('Account SID').inputValue()).toBe(own.sid);
    expect(await form.getByLabel('Auth Token').inputValue()).toBe('f'.repeat(32));
    expect(await form.getByLabel('Phone number', { exact: true }).inputValue()).toBe(OWN_NUMBER);
    expect(await form.getByLabel(/Send replies to SMS for Pipedrive/).isChecked()).toBe(true);

    // The right token, but the app's shared number is not a number of this account: said next to the number.
    await fillTwilioForm(ui, { authToken: own.authToken, sender: FROM_NUMBER });
    expect(await form.getByTestId('twilio-auth-token-error').count()).toBe(0);
    await form.getByTestId('twilio-save').click();
    const senderError = form.getByTestId('twilio-from-number-error');
    await senderError.waitFor();
    expect(await senderError.textContent()).toContain(`${FROM_NUMBER} is not a number of this Twilio account.`);
    expect(await form.getByLabel('Auth Token').inputValue()).toBe(own.authToken);
    expect(await form.getByLabel('Phone number', { exact: true }).inputValue()).toBe(FROM_NUMBER);
    await screenshot(page, 'settings-twilio-refused');
    expect((await call('/api/settings/twilio')).json.mode).toBe('default');

    // The app's own shared number, even with its account's token, cannot become one company's: said next to it.
    await fillTwilioForm(ui, { accountSid: rig.twAccount.sid, authToken: rig.twAccount.authToken });
    await form.getByTestId('twilio-save').click();
    await form.getByTestId('twilio-from-number-error').getByText(/shared sender of SMS for Pipedrive/).waitFor();
    expect((await call('/api/settings/twilio')).json.mode).toBe('default');
    await fillTwilioForm(ui, { accountSid: own.sid, authToken: own.authToken });

    // Its own number, with replies sent to the app: Twilio's webhook for the number now points here.
    await fillTwilioForm(ui, { sender: OWN_NUMBER });
    await form.getByTestId('twilio-save').click();
    await form.waitFor({ state: 'detached' });
    expect(await sender.getAttribute('data-mode')).toBe('own');
    expect(await sender.getByTestId('twilio-address').textContent()).toBe(OWN_NUMBER);
    expect(await sender.getByTestId('twilio-account').textContent()).toBe(own.sid);
    expect(await sender.textContent()).toContain('verified with Twilio on');
    expect(await section.getByTestId('twilio-replies-ok').textContent()).toBe(`Replies to ${OWN_NUMBER} come to SMS for Pipedrive and are logged in Pipedrive.`);
    expect(await section.getByTestId('twilio-status').textContent()).toBe(`Twilio account connected: texts now go out from ${OWN_NUMBER}.`);
    expect(rig.tw.number(OWN_NUMBER)!.smsUrl).toBe(`${rig.appUrl}${INBOUND_PATH}`);
    expect((await call('/api/settings/twilio')).json).toMatchObject({ mode: 'own', accountSid: own.sid, fromNumber: OWN_NUMBER });
    // Focus lands on the section's action, and the token is nowhere on the page any more.
    expect(await page.frame({ url: /\/settings\?/ })!.evaluate(() => (document.activeElement as HTMLElement).dataset.testid)).toBe('twilio-change');
    expect(await page.frame({ url: /\/settings\?/ })!.content()).not.toContain(own.authToken);
    await screenshot(page, 'settings-twilio-own');

    // Ann's deal enters the automation's stage: the text goes out through the company's account, from its number.
    await rig.pd.moveDealToStage(person('Ann').dealId, rig.demo.stages.leadIn);
    await rig.pd.moveDealToStage(person('Ann').dealId, rig.demo.stages.quoteSent);
    await waitFor(() => rig.tw.messagesTo(ANN).some((m) => m.body.startsWith('Hi Ann, your quote is ready.') && m.accountSid === own.sid), 10_000);
    expect(rig.tw.messagesTo(ANN).at(-1)).toMatchObject({ accountSid: own.sid, from: OWN_NUMBER });

    // Disconnecting asks in Pipedrive's dialog; "Cancel" keeps the account.
    await answerConfirmations(false);
    await section.getByRole('button', { name: 'Disconnect' }).click();
    await waitFor(async () => (await log()).some((e) => e.command === 'show_confirmation'));
    expect((await log()).find((e) => e.command === 'show_confirmation')!.args).toMatchObject({
      title: 'Disconnect your Twilio account?',
      description: expect.stringContaining('Texts go out from the shared number of SMS for Pipedrive again'),
      okColor: 'negative',
    });
    await page.waitForTimeout(200);
    expect((await call('/api/settings/twilio')).json.mode).toBe('own');

    await answerConfirmations(true);
    await section.getByRole('button', { name: 'Disconnect' }).click();
    await expect.poll(() => sender.getAttribute('data-mode')).toBe('default');
    expect(await sender.getByTestId('twilio-address').textContent()).toBe(FROM_NUMBER);
    expect(await section.getByTestId('twilio-replies-ok').count()).toBe(0);
    expect((await call('/api/settings/twilio')).json).toMatchObject({ mode: 'default', accountSid: null, fromNumber: FROM_NUMBER });
    await page.close();
  });

  it('warns when replies will not reach the app, shows the URL to set, and sets it on request', async () => {
    const NUMBER = '+15005550011';
    const helpdesk = 'https://helpdesk.example.com/sms';
    const own = rig.tw.addAccount();
    rig.tw.addNumber(own.sid, NUMBER, { smsUrl: helpdesk });
    const service = rig.tw.addMessagingService(own.sid, { numbers: [NUMBER] });
    const { page, ui } = await openSettings();
    await ready(ui);
    const section = ui.getByTestId('twilio-section');
    await section.getByTestId('twilio-connect').click();
    // Another system answers this number: the admin leaves its webhook alone.
    await fillTwilioForm(ui, { accountSid: own.sid, authToken: own.authToken, sender: NUMBER, pointReplies: false });
    await ui.getByTestId('twilio-save').click();

    const warning = section.getByTestId('twilio-replies-warning');
    await warning.waitFor();
    expect(await warning.textContent()).toContain(`Replies to ${NUMBER} will not reach SMS for Pipedrive.`);
    expect(await warning.getByTestId('twilio-current-url').textContent()).toBe(`Its incoming messages now go to ${helpdesk}.`);
    expect(await warning.getByLabel('Incoming-message webhook URL').inputValue()).toBe(`${rig.appUrl}${INBOUND_PATH}`);
    expect(rig.tw.number(NUMBER)!.smsUrl).toBe(helpdesk);
    expect(await unlabelled(page)).toEqual([]);
    await screenshot(page, 'settings-twilio-replies-warning');

    // "Set it for me" points the number here, without asking for the Auth Token again.
    await warning.getByRole('button', { name: 'Set it for me' }).click();
    await section.getByTestId('twilio-replies-ok').waitFor();
    expect(await section.getByTestId('twilio-replies-warning').count()).toBe(0);
    expect(rig.tw.number(NUMBER)!.smsUrl).toBe(`${rig.appUrl}${INBOUND_PATH}`);

    // Changing to the account's Messaging Service: the form keeps the account but never the token. Replies depend on
    // the service's own setting, which the app cannot change: the warning says where, without "Set it for me".
    await section.getByRole('button', { name: 'Change account' }).click();
    const form = ui.getByTestId('twilio-form');
    expect(await form.getByLabel('Account SID').inputValue()).toBe(own.sid);
    expect(await form.getByLabel('Phone number', { exact: true }).inputValue()).toBe(NUMBER);
    expect(await form.getByLabel('Auth Token').inputValue()).toBe('');
    await fillTwilioForm(ui, { authToken: own.authToken, sender: service.sid });
    expect(await form.getByLabel(/Send replies to SMS for Pipedrive/).count()).toBe(0);
    await form.getByTestId('twilio-save').click();
    await form.waitFor({ state: 'detached' });
    expect(await section.getByTestId('twilio-address').textContent()).toBe(service.sid);
    expect(await warning.textContent()).toContain(`Replies to Messaging Service ${service.sid} will not reach SMS for Pipedrive.`);
    expect(await warning.textContent()).toContain(`Messaging › Services › ${service.sid} › Integration`);
    expect(await warning.getByRole('button', { name: 'Set it for me' }).count()).toBe(0);
    expect((await call('/api/settings/twilio')).json).toMatchObject({ mode: 'own', fromNumber: null, messagingServiceSid: service.sid });
    await page.close();
  });

  it('says that nothing can be sent when no Twilio account is configured at all', async () => {
    const bare = await createRig({ walkthrough: true, twilio: false });
    try {
      await bare.installDemo();
      const { page, ui } = await openSettings({ rig: bare });
      await ready(ui);
      const sender = ui.getByTestId('twilio-sender');
      expect(await sender.getAttribute('data-mode')).toBe('none');
      expect(await sender.textContent()).toContain('No Twilio account is connected, so texts cannot be sent.');
      expect(await ui.getByTestId('twilio-connect').isEnabled()).toBe(true);
      await screenshot(page, 'settings-twilio-none');
      await page.close();
    } finally {
      await bare.close();
    }
  });
});
