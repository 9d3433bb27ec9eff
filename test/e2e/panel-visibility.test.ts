// The panel in a browser, opened by a user Pipedrive does not let see the deal: a clear state, no data, no send box.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Rig } from '../support/rig.js';
import { createWalkthroughRig, launchBrowser, screenshot } from './browser.js';

const PAT = 503; // a colleague of the demo company without an installation of their own

let rig: Rig;
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
  rig = await createWalkthroughRig();
  rig.pd.addUser({ id: PAT, companyId: rig.demo.companyId, name: 'Pat Peer', isAdmin: false });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await rig?.close();
});

describe('the deal panel for a deal the user may not see', () => {
  it('says the deal is not found or not visible to them, and shows nothing of it', async () => {
    const ann = rig.demo.persons.find((p) => p.name.startsWith('Ann'))!;
    rig.pd.setDealPermittedUsers(ann.dealId, []);
    const page = await browser.newPage({ viewport: { width: 420, height: 900 } });
    await page.goto(`${rig.appUrl}/sandbox/host?dealId=${ann.dealId}&userId=${PAT}`);
    const panel = page.frameLocator('#panel');
    const state = panel.getByTestId('not-visible');
    await state.waitFor({ timeout: 15_000 });
    expect(await state.textContent()).toContain('not found, or it is not visible to you');
    expect(await panel.locator('form[aria-label="Send an SMS"]').count()).toBe(0);
    expect(await panel.locator('body').textContent()).not.toContain('Ann');
    await screenshot(page, 'panel-not-visible');
    await page.close();
  }, 30_000);
});
