import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium (never a downloaded browser); CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = 'test-artifacts';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}, so the browser tests cannot run.\n` +
        'Install it with:  apt-get update && apt-get install -y chromium   (.ci/run does this in CI)\n' +
        'or point CHROMIUM_PATH at a Chromium binary.',
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Saves a screenshot as a test artifact: of the panel iframe alone on host pages, else of the whole page. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const onHost = new URL(page.url()).pathname === '/sandbox/host';
  if (onHost) await page.locator('#panel').screenshot({ path: `${ARTIFACTS}/${name}.png` });
  else await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}
