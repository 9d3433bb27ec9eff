import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type FrameLocator, type Page } from 'playwright-core';
import { createRig, type Rig } from '../support/rig.js';

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

/**
 * The app with the sandbox walk-through mounted, the demo installed with quiet hours off, and the demo's "Quote sent
 * follow-up" automation: what the walk-through's browser tests start from.
 */
export async function createWalkthroughRig(): Promise<Rig> {
  const rig = await createRig({ walkthrough: true, outbox: { rateLimit: false, pollMs: 50 } });
  await rig.installDemo();
  // Quiet hours off, as the sandbox's demo starts: the panel's send box then never asks for a second click, whatever the
  // hour the tests run at (test/e2e/sending-window.test.ts covers the window).
  const company = (await rig.ctx.companies.find(String(rig.demo.companyId)))!;
  await rig.ctx.companies.updateSettings(company.id, { ...company.parsedSettings, quietHours: null }, new Date().toISOString());
  await rig.ctx.automations.create('1001', {
    name: 'Quote sent follow-up',
    enabled: true,
    trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
    template: 'Hi {{person.first_name}}, your quote for {{deal.title}} is ready.',
  });
  return rig;
}

/** Saves a screenshot as a test artifact: of the panel iframe alone on host pages, else of the whole page. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const onHost = new URL(page.url()).pathname === '/sandbox/host';
  if (onHost) await page.locator('#panel').screenshot({ path: `${ARTIFACTS}/${name}.png` });
  else await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

export type HostLogEntry = { type: 'command' | 'listener'; command?: string; event?: string; args?: Record<string, unknown> };

export type SdkHostPage = {
  page: Page;
  /** The app's iframe. */
  app: FrameLocator;
  log(): Promise<HostLogEntry[]>;
  /** Pushes an SDK event (e.g. `user_settings_change`) on the port the app subscribed with; false if it did not. */
  push(event: string, data: unknown): Promise<boolean>;
  /** What the host answers to the next SHOW_CONFIRMATION commands (Pipedrive's dialog: OK = true, Cancel = false). */
  answerConfirmations(confirmed: boolean): Promise<void>;
};

/**
 * Opens an iframe page of the app (e.g. `/settings`) the way Pipedrive does: inside a host page on the app's origin
 * (the app lets `'self'` frame it in tests) that answers the App Extensions SDK's postMessage protocol on the
 * MessagePort each command transfers. Unlike the sandbox host (fixed to the deal panel, always "OK"), the tokens and
 * the confirmation answers come from the test: `token` is asked for the URL token and for every GET_SIGNED_TOKEN.
 */
export async function openInSdkHost(
  browser: Browser,
  options: {
    appUrl: string;
    path: string;
    query: Record<string, string>;
    token: () => Promise<string>;
    viewport?: { width: number; height: number };
  },
): Promise<SdkHostPage> {
  const page = await browser.newPage({ viewport: options.viewport ?? { width: 1100, height: 900 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.exposeFunction('pdToken', options.token);
  const hostUrl = `${options.appUrl}/__test-sdk-host`;
  await page.route(hostUrl, (route) =>
    route.fulfill({ contentType: 'text/html', body: sdkHostHtml(options.path, new URLSearchParams(options.query).toString()) }),
  );
  await page.goto(hostUrl);
  const evaluate = <T>(fn: string) => page.evaluate(fn) as Promise<T>;
  return {
    page,
    app: page.frameLocator('#app'),
    log: () => evaluate<HostLogEntry[]>('window.pdHost.log'),
    push: (event, data) => page.evaluate(([e, d]) => (window as unknown as { pdHost: { push(e: unknown, d: unknown): boolean } }).pdHost.push(e, d), [event, data] as const),
    answerConfirmations: async (confirmed) => {
      await page.evaluate((c) => ((window as unknown as { pdHost: { confirmAnswer: boolean } }).pdHost.confirmAnswer = c), confirmed);
    },
  };
}

function sdkHostHtml(path: string, query: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pipedrive (test host)</title>
<style>body{margin:0;padding:16px;background:#f4f5f7}iframe{display:block;width:100%;border:1px solid #d5d6da;background:#fff;height:600px}</style></head>
<body><iframe id="app" title="SMS for Pipedrive"></iframe>
<script type="module">
const frame = document.getElementById('app');
const log = [];
const listeners = new Map();
window.pdHost = {
  log,
  confirmAnswer: true,
  push(event, data) { const port = listeners.get(event); if (port) port.postMessage({ data }); return !!port; },
};
window.addEventListener('message', async (event) => {
  if (event.source !== frame.contentWindow) return;
  const payload = (event.data || {}).payload;
  if (!payload || payload.type === 'track') return;
  const port = event.ports && event.ports[0];
  if (!port) return;
  if (payload.type === 'listener') { listeners.set(payload.event, port); log.push({ type: 'listener', event: payload.event }); return; }
  if (payload.type !== 'command') return;
  log.push({ type: 'command', command: payload.command, args: payload.args });
  try {
    switch (payload.command) {
      case 'initialize':
      case 'resize': {
        const size = payload.command === 'initialize' ? payload.args && payload.args.size : payload.args;
        if (size && size.height) frame.style.height = Math.round(size.height) + 'px';
        port.postMessage({});
        break;
      }
      case 'get_signed_token': port.postMessage({ data: { token: await window.pdToken() } }); break;
      case 'show_confirmation': port.postMessage({ data: { confirmed: window.pdHost.confirmAnswer } }); break;
      case 'get_metadata': port.postMessage({ data: { windowWidth: innerWidth, windowHeight: innerHeight } }); break;
      default: port.postMessage({});
    }
  } catch (error) {
    port.postMessage({ error: String(error) });
  }
});
const q = new URLSearchParams(${JSON.stringify(query)});
q.set('token', await window.pdToken());
frame.src = ${JSON.stringify(path)} + '?' + q.toString();
</script></body></html>`;
}
