import { copyFileSync, readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, FrameLocator } from 'playwright-core';
import { createRig, FROM_NUMBER, type Rig } from '../support/rig.js';
import { ARTIFACTS, launchBrowser, openInSdkHost } from './browser.js';

// The settings page's opt-out list in Chromium, inside a Pipedrive-like host: a number added by hand, a CSV imported
// with a line that is not a number, the export read back, a removal confirmed in Pipedrive's dialog, and what a user
// who is not the installing admin sees.

let rig: Rig;
let browser: Browser;
const COMPANY = '1001';
const PAT = 503; // a colleague, not an admin

beforeAll(async () => {
  browser = await launchBrowser();
  rig = await createRig({ walkthrough: true, outbox: { rateLimit: false, pollMs: 50 } });
  await rig.installDemo();
  rig.pd.addUser({ id: PAT, companyId: Number(COMPANY), name: 'Pat Peer', isAdmin: false });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await rig?.close();
});

async function openSettings(userId: number) {
  const host = await openInSdkHost(browser, {
    appUrl: rig.appUrl,
    path: '/settings',
    query: { id: 'settings-opt-outs', userId: String(userId), companyId: String(rig.demo.companyId), theme: 'light' },
    token: () => rig.jwt({ userId, companyId: rig.demo.companyId }),
  });
  await host.app.getByTestId('company-name').getByText('Acme Sandbox Inc.').waitFor({ timeout: 10_000 });
  return host;
}

const rows = (ui: FrameLocator) => ui.getByTestId('opt-out-row');
const phonesShown = async (ui: FrameLocator) => (await rows(ui).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-phone')))).sort();

describe('the opt-out list on the settings page', () => {
  it('adds a number by hand with a reason, refusing one that is not a number', async () => {
    const { page, app: ui } = await openSettings(rig.demo.adminUserId);
    await ui.getByTestId('opt-outs-empty').waitFor();

    await ui.getByTestId('opt-out-phone').fill('call me');
    await ui.getByTestId('opt-out-add').click();
    await expect.poll(() => ui.getByTestId('opt-out-add-result').textContent()).toContain('is not a phone number');

    await ui.getByTestId('opt-out-phone').fill('(415) 555-2671');
    await ui.getByTestId('opt-out-reason').fill('Asked on the phone not to be texted');
    await ui.getByTestId('opt-out-add').click();
    await expect.poll(() => ui.getByTestId('opt-out-add-result').textContent()).toContain('(415) 555-2671 is on the opt-out list.');
    const row = ui.locator('[data-testid="opt-out-row"][data-phone="+14155552671"]');
    await row.waitFor();
    expect(await row.locator('[data-col="source"]').textContent()).toBe('Added by hand');
    expect(await row.locator('[data-col="message"]').textContent()).toBe('Asked on the phone not to be texted');
    // Stored through the consent service, with the admin who added it.
    const history = await rig.ctx.optOuts.history(COMPANY, '+14155552671');
    expect(history.map((h) => [h.action, h.source, h.actor])).toEqual([['opt_out', 'hand', String(rig.demo.adminUserId)]]);
    await page.close();
  });

  it('imports a CSV, reporting the line that is not a number; exports the list as CSV; removes an imported number', async () => {
    const { page, app: ui } = await openSettings(rig.demo.adminUserId);
    await rows(ui).first().waitFor();

    const csv = 'Phone,Reason\n+1 212 555 0143,Unsubscribed by email\nnot a number,\n(646) 555-0199,Asked at the fair\n+1 415 555 2671,\n';
    await ui.getByTestId('opt-out-file').setInputFiles({ name: 'opt-outs.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const result = ui.getByTestId('opt-out-import-result');
    await result.waitFor();
    expect(await result.textContent()).toContain('2 numbers added, 1 already on the list, 1 line not a phone number');
    expect(await ui.getByTestId('opt-out-invalid').textContent()).toBe('Line 3: "not a number"');
    await expect.poll(() => phonesShown(ui)).toEqual(['+12125550143', '+14155552671', '+16465550199']);

    // Importing it again adds nothing.
    await ui.getByTestId('opt-out-file').setInputFiles({ name: 'opt-outs.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await expect.poll(() => result.textContent()).toContain('0 numbers added, 3 already on the list');

    // The search keeps the numbers with those digits.
    await ui.getByTestId('opt-out-search').fill('646 555');
    await expect.poll(() => phonesShown(ui)).toEqual(['+16465550199']);
    await ui.getByTestId('opt-out-search').fill('');
    await expect.poll(() => phonesShown(ui)).toHaveLength(3);

    const [download] = await Promise.all([page.waitForEvent('download'), ui.getByTestId('opt-out-export').click()]);
    expect(download.suggestedFilename()).toMatch(/^sms-opt-outs-\d{4}-\d{2}-\d{2}\.csv$/);
    const text = readFileSync((await download.path())!, 'utf8');
    const records = parse(text, { bom: true, columns: true }) as Record<string, string>[];
    expect(records.map((r) => [r.phone, r.source, r.message]).sort()).toEqual([
      ["'+12125550143", 'import', 'Unsubscribed by email'],
      ["'+14155552671", 'hand', 'Asked on the phone not to be texted'],
      ["'+16465550199", 'import', 'Asked at the fair'],
    ]);

    // Removed after Pipedrive's confirmation dialog says yes.
    const row = ui.locator('[data-testid="opt-out-row"][data-phone="+12125550143"]');
    await row.getByTestId('opt-out-remove').click();
    await row.waitFor({ state: 'detached' });
    expect((await rig.ctx.optOuts.history(COMPANY, '+12125550143')).map((h) => h.action)).toEqual(['opt_out', 'opt_in']);
    await page.close();
  });

  it('a contact who texted STOP has no Remove button', async () => {
    await rig.tw.reply({ from: '+16465550199', to: FROM_NUMBER, body: 'STOP' });
    const { page, app: ui } = await openSettings(rig.demo.adminUserId);
    const row = ui.locator('[data-testid="opt-out-row"][data-phone="+16465550199"]');
    await row.waitFor();
    expect(await row.locator('[data-col="source"]').textContent()).toBe('Texted an opt-out word');
    expect(await row.getByTestId('opt-out-remove').count()).toBe(0);
    expect(await row.textContent()).toContain('Contact opted out');
    await ui.locator('#opt-outs').screenshot({ path: `${ARTIFACTS}/opt-out-list.png` });
    if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') copyFileSync(`${ARTIFACTS}/opt-out-list.png`, 'docs/opt-out-list.png');
    await page.close();
  });

  it('tells a user who is not the installing admin who can see the list, and shows none of it', async () => {
    const { page, app: ui } = await openSettings(PAT);
    await ui.getByTestId('opt-outs-admins-only').waitFor();
    expect(await rows(ui).count()).toBe(0);
    expect(await ui.getByTestId('opt-out-add-form').count()).toBe(0);
    await page.close();
  });
});
