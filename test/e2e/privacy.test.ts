import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { FROM_NUMBER, type Rig } from '../support/rig.js';
import { createWalkthroughRig, launchBrowser, openInSdkHost, screenshot } from './browser.js';

/** The settings page's Privacy section in Chromium: the retention choice, and erasing a contact after a confirmation. */
let rig: Rig;
let browser: Browser;
const COMPANY = '1001';
const ANN = '+14155552671';

async function openSettings(userId = rig.demo.adminUserId) {
  const host = await openInSdkHost(browser, {
    appUrl: rig.appUrl,
    path: '/settings',
    query: { id: 'settings-privacy-1', userId: String(userId), companyId: String(rig.demo.companyId), theme: 'light' },
    token: () => rig.jwt({ userId, companyId: rig.demo.companyId }),
    viewport: { width: 1100, height: 1400 },
  });
  await host.app.getByTestId('company-name').getByText('Acme Sandbox Inc.').waitFor({ timeout: 10_000 });
  return host;
}

const retention = async () => (await rig.ctx.companies.find(COMPANY))!.parsedSettings.retentionDays;
const annRows = async () => ({
  messages: (await rig.ctx.database.db.selectFrom('outbound_messages').select('id').where('to_e164', '=', ANN).execute()).length,
  replies: (await rig.ctx.database.db.selectFrom('inbound_messages').select('id').where('from_e164', '=', ANN).execute()).length,
});

beforeAll(async () => {
  browser = await launchBrowser();
  rig = await createWalkthroughRig();
  // Ann is texted by the demo automation and answers.
  const ann = rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
  await rig.pd.moveDealToStage(ann.dealId, rig.demo.stages.quoteSent);
  await rig.settle();
  expect((await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'Privacy test: thanks, see you Tuesday' })).status).toBe(200);
  await rig.settle();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await rig?.close();
});

describe('the Privacy section', () => {
  it('saves how long texts are kept, refusing a number of days out of bounds', async () => {
    const { page, app } = await openSettings();
    const form = app.getByTestId('retention-form');
    await expect.poll(() => form.getByTestId('retention-keep').isChecked()).toBe(true);
    await expect.poll(() => form.getByTestId('retention-days').isDisabled()).toBe(true);

    await form.getByTestId('retention-limit').check();
    await form.getByTestId('retention-days').fill('10');
    await form.getByText('A whole number of days from 30 to 3650.').waitFor();
    expect(await form.getByTestId('save-retention').isDisabled()).toBe(true);

    await form.getByTestId('retention-days').fill('90');
    await form.getByTestId('save-retention').click();
    await form.getByTestId('retention-saved').getByText('older than 90 days are deleted').waitFor();
    expect(await retention()).toBe(90);
    await screenshot(page, 'settings-privacy');

    // Read back on a fresh page, then back to keeping everything.
    await page.close();
    const again = await openSettings();
    const reread = again.app.getByTestId('retention-form');
    await expect.poll(() => reread.getByTestId('retention-days').inputValue()).toBe('90');
    await reread.getByTestId('retention-keep').check();
    await reread.getByTestId('save-retention').click();
    await reread.getByTestId('retention-saved').getByText('Messages and replies are kept.').waitFor();
    expect(await retention()).toBeNull();
    await again.page.close();
  });

  it('erases a contact only after a confirmation that says what goes and what stays, then shows the counts', async () => {
    const { page, app } = await openSettings();
    const form = app.getByTestId('erase-form');
    expect(await annRows()).toEqual({ messages: 1, replies: 1 });

    // Not a phone number: the server's reason, nothing erased.
    await form.getByLabel('Phone number').fill('12');
    await form.getByTestId('erase-start').click();
    await form.getByTestId('erase-confirm-button').click();
    await form.getByTestId('erase-error').getByText(/not a phone number/).waitFor();

    // Cancelled: nothing erased.
    await form.getByLabel('Phone number').fill('(415) 555-2671');
    await form.getByTestId('erase-start').click();
    const confirm = form.getByTestId('erase-confirm');
    await confirm.getByText('Erase everything about (415) 555-2671?').waitFor();
    await confirm.getByText(/Deleted, in your company only: every text sent to this number, every reply from it/).waitFor();
    await confirm.getByText(/Kept: if the number opted out, the record that it did/).waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => confirm.count()).toBe(0);
    expect(await annRows()).toEqual({ messages: 1, replies: 1 });

    await form.getByTestId('erase-start').click();
    await screenshot(page, 'settings-privacy-erase-confirm');
    await form.getByTestId('erase-confirm-button').click();
    await form.getByTestId('erase-result').getByText('(415) 555-2671 erased: 1 message, 1 reply and 0 reviews deleted.').waitFor();
    expect(await annRows()).toEqual({ messages: 0, replies: 0 });
    await page.close();
  });

  it('shows a user other than the admin who installed the retention read-only, and no erasing', async () => {
    const { page, app } = await openSettings(rig.demo.salesUserId);
    await app.getByTestId('privacy-read-only').waitFor();
    await expect.poll(() => app.getByTestId('retention-keep').isDisabled()).toBe(true);
    expect(await app.getByTestId('save-retention').count()).toBe(0);
    expect(await app.getByTestId('erase-form').count()).toBe(0);
    await page.close();
  });
});
