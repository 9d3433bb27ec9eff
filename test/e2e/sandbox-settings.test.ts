import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Rig } from '../support/rig.js';
import { createWalkthroughRig, launchBrowser, screenshot } from './browser.js';

let rig: Rig;
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
  rig = await createWalkthroughRig();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await rig?.close();
});

describe('the settings page in the sandbox walk-through', () => {
  it('is linked from the walk-through and runs inside the SDK host as the demo admin', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`${rig.appUrl}/sandbox`);
    await page.getByRole('link', { name: /settings page/ }).click();
    await page.waitForURL(/\/sandbox\/settings$/);
    const settings = page.frameLocator('#panel');
    const item = settings.getByTestId('automation-item').filter({ hasText: 'Quote sent follow-up' });
    await item.getByTestId('automation-trigger').getByText('Deal enters Sales › Quote sent').waitFor({ timeout: 10_000 });

    // The page initialised the SDK once and asked for its content's height, beyond the deal panel's 750 px cap.
    const host = await page.evaluate(() => (window as unknown as { pdHost: { log: Array<{ command?: string }> } }).pdHost.log);
    expect(host.filter((e) => e.command === 'initialize')).toHaveLength(1);
    await expect.poll(async () => (await page.locator('#panel').boundingBox())?.height ?? 0, { timeout: 5_000 }).toBeGreaterThan(750);

    // Reports and the admin's rules form are on the page too.
    await settings.getByRole('button', { name: 'Refresh' }).waitFor();
    await settings.getByRole('button', { name: 'Save rules' }).waitFor();
    await screenshot(page, 'sandbox-settings');
    await page.getByRole('link', { name: /Back to the deal walk-through/ }).click();
    await page.waitForURL(/\/sandbox$/);
    await page.close();
  });
});
