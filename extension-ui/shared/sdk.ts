import * as sdkModule from '@pipedrive/app-extensions-sdk';
import type AppExtensionsSDKType from '@pipedrive/app-extensions-sdk';
import { Color, Command, Event } from '@pipedrive/app-extensions-sdk';

type AppExtensionsSDK = AppExtensionsSDKType;
// The package is CommonJS with `exports.default`; depending on the bundler's interop the class is `default` or
// `default.default`. Resolve it once instead of trusting either.
const SdkClass = ((sdkModule as unknown as { default: { default?: unknown } }).default.default ??
  (sdkModule as unknown as { default: unknown }).default) as new () => AppExtensionsSDK;

/**
 * One SDK instance per page (React StrictMode runs effects twice; a second `initialize` would be a second
 * handshake). Without the `id` query parameter there is no Pipedrive host: a local preview uses the URL token.
 */
type Host = {
  sdk: AppExtensionsSDK | null;
  ready: Promise<void>;
};

let host: Host | null = null;
const params = new URLSearchParams(window.location.search);

/** The heights a surface may ask for. Pipedrive allows a panel 100–750 px; other surfaces set their own bounds. */
export type HeightBounds = { min: number; max: number };
const PANEL_HEIGHT: HeightBounds = { min: 100, max: 750 };
let bounds: HeightBounds = PANEL_HEIGHT;

export function clampHeight(height: number, within: HeightBounds = bounds): number {
  return Math.max(within.min, Math.min(within.max, Math.ceil(height)));
}

export function connect(initialHeight: number, heightBounds: HeightBounds = PANEL_HEIGHT): Host {
  if (host) return host;
  bounds = heightBounds;
  if (!params.get('id')) {
    host = { sdk: null, ready: Promise.resolve() };
    return host;
  }
  const sdk = new SdkClass();
  host = { sdk, ready: sdk.initialize({ size: { height: clampHeight(initialHeight) } }).then(() => undefined) };
  return host;
}

// The token Pipedrive put in the iframe URL is fresh when the page loads: the first call uses it rather than wait
// for the initialize and GET_SIGNED_TOKEN round trips (the panel must render within a second).
let urlTokenUnused = !!params.get('token');

/** A fresh Pipedrive-signed token for each API call (they live 5 minutes); the URL token outside Pipedrive. */
export async function signedToken(): Promise<string> {
  const h = host;
  if (urlTokenUnused && performance.now() < 30_000) {
    urlTokenUnused = false;
    return params.get('token')!;
  }
  if (h?.sdk) {
    await h.ready;
    const { token } = (await h.sdk.execute(Command.GET_SIGNED_TOKEN)) as { token: string };
    return token;
  }
  return params.get('token') ?? '';
}

let lastHeight = 0;
export async function resize(height: number): Promise<void> {
  const h = host;
  const next = clampHeight(height);
  if (!h?.sdk || next === lastHeight) return;
  lastHeight = next;
  await h.ready;
  await h.sdk.execute(Command.RESIZE, { height: next });
}

export type Confirmation = { title: string; description?: string; okText?: string; cancelText?: string; danger?: boolean };

/**
 * Asks the user to confirm, in Pipedrive's own dialog (the iframe cannot draw over Pipedrive's page); the browser's
 * confirm() outside Pipedrive. A host that fails to answer counts as "no": nothing is deleted or discarded by accident.
 */
export async function confirmAction(options: Confirmation): Promise<boolean> {
  const h = host;
  if (!h?.sdk) return window.confirm(options.description ? `${options.title}\n\n${options.description}` : options.title);
  try {
    await h.ready;
    const { confirmed } = (await h.sdk.execute(Command.SHOW_CONFIRMATION, {
      title: options.title,
      ...(options.description ? { description: options.description } : {}),
      ...(options.okText ? { okText: options.okText } : {}),
      ...(options.cancelText ? { cancelText: options.cancelText } : {}),
      okColor: options.danger ? Color.NEGATIVE : Color.PRIMARY,
    })) as { confirmed: boolean };
    return confirmed === true;
  } catch {
    return false;
  }
}

/** A short notice in Pipedrive's snackbar; a no-op outside Pipedrive (the page shows its own status text too). */
export async function snackbar(message: string): Promise<void> {
  const h = host;
  if (!h?.sdk) return;
  try {
    await h.ready;
    await h.sdk.execute(Command.SHOW_SNACKBAR, { message });
  } catch {
    // A notice that could not be shown is not worth an error: the page already says what happened.
  }
}

export function onVisible(callback: () => void): () => void {
  const offs: Array<() => void> = [];
  if (host?.sdk) {
    const sdk = host.sdk;
    void host.ready.then(() => {
      offs.push(sdk.listen(Event.VISIBILITY, ({ data }) => (data as { is_visible?: boolean } | undefined)?.is_visible && callback()));
    });
  }
  const onDoc = () => document.visibilityState === 'visible' && callback();
  document.addEventListener('visibilitychange', onDoc);
  offs.push(() => document.removeEventListener('visibilitychange', onDoc));
  return () => offs.forEach((off) => off());
}

/** The theme from `?theme=`, then from the SDK's settings event (read from the event: the SDK's own copy is buggy). */
export function initialTheme(): 'light' | 'dark' {
  return params.get('theme') === 'dark' ? 'dark' : 'light';
}

export function onThemeChange(callback: (theme: 'light' | 'dark') => void): () => void {
  const sdk = host?.sdk;
  if (!sdk) return () => undefined;
  let off = () => undefined as void;
  void host!.ready.then(() => {
    off = sdk.listen(Event.USER_SETTINGS_CHANGE, ({ data }) => {
      const theme = (data as { theme?: string } | undefined)?.theme;
      if (theme === 'dark' || theme === 'light') callback(theme);
    });
  });
  return () => off();
}

export function queryParam(name: string): string | null {
  return params.get(name);
}
