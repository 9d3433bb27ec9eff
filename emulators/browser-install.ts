/**
 * Walks the install as a browser does: GET /oauth/start (keeping its cookie), follow Pipedrive's consent redirect,
 * land on /oauth/callback. Used by sandbox mode to install the demo company through the real flow, and by tests.
 */
export type BrowserInstallResult = { status: number; html: string; callbackUrl: string | null };

export async function installThroughBrowser(appUrl: string, fetchImpl: typeof fetch = fetch): Promise<BrowserInstallResult> {
  const cookies = new Map<string, string>();
  const remember = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq > 0) cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
  };
  const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const appOrigin = new URL(appUrl).origin;

  let url = `${appUrl}/oauth/start`;
  let callbackUrl: string | null = null;
  for (let hop = 0; hop < 5; hop++) {
    const sameOrigin = new URL(url).origin === appOrigin;
    const res = await fetchImpl(url, { redirect: 'manual', headers: sameOrigin && cookies.size ? { cookie: cookieHeader() } : {} });
    if (sameOrigin) remember(res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).toString();
      if (new URL(url).pathname === '/oauth/callback') callbackUrl = url;
      continue;
    }
    return { status: res.status, html: await res.text(), callbackUrl };
  }
  throw new Error('too many redirects during install');
}
