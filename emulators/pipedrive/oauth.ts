// Pipedrive's OAuth server: the consent screen (authorize), the token endpoint (code and refresh grants), revoke,
// and the bearer-token check of every API call.
import type { ServerResponse } from 'node:http';
import { parseBasicAuth, randomHex, sendJson, type EmulatorRequest } from '../http.js';
import type { PdUser } from './records.js';
import { DEFAULT_SCOPE, AUTH_CODE_TTL_MS, oauthError, noStore, type IssuedToken, type RefreshRecord, type AuthContext } from './internals.js';
import { PipedriveSeed } from './seed.js';

export class PipedriveOAuth extends PipedriveSeed {
  /**
   * What the consent screen does on the next authorizations: approve as this user (the browser's logged-in
   * user; companyId picks the company when the user is in several), or deny as if "Cancel" were clicked.
   */
  setConsent(decision: { userId?: number; companyId?: number; deny?: boolean }): void {
    this.consent = { ...decision };
  }

  /** The `code` the consent screen would hand to the callback, for tests that skip the browser step. */
  issueAuthCode(userId: number, opts: { companyId?: number; redirectUri?: string } = {}): string {
    const user = this.findUser(userId, opts.companyId);
    if (!user) throw new Error(`no user ${userId}`);
    return this.newAuthCode(user, opts.redirectUri ?? this.opts.redirectUri ?? null);
  }

  /** Every access token issued so far answers 401 from now on (refresh tokens stay valid). */
  expireAccessTokens(): void {
    for (const t of this.accessTokens.values()) t.expiresAt = 0;
  }


  protected authorize(req: EmulatorRequest, res: ServerResponse): void {
    const q = req.query;
    if (!q.client_id) return sendJson(res, 400, oauthError('Invalid client: cannot retrieve client credentials'));
    if (q.client_id !== this.opts.clientId) return sendJson(res, 400, oauthError('Invalid client: client is invalid'));
    let redirect: URL;
    try {
      redirect = new URL(q.redirect_uri ?? '');
    } catch {
      return sendJson(res, 400, oauthError('Invalid request: redirect_uri is not a valid URI'));
    }
    if (this.opts.redirectUri && q.redirect_uri !== this.opts.redirectUri) {
      return sendJson(res, 400, oauthError('Invalid request: redirect_uri is invalid'));
    }
    if (q.deny === '1' || q.deny === 'true' || this.consent.deny) {
      redirect.searchParams.set('error', 'user_denied');
    } else {
      const user = this.approvingUser();
      if (!user) return sendJson(res, 500, oauthError('Emulator has no user to approve the installation as'));
      redirect.searchParams.set('code', this.newAuthCode(user, q.redirect_uri ?? null));
    }
    // The state goes back exactly as received (and not at all when absent).
    if (q.state !== undefined) redirect.searchParams.set('state', q.state);
    res.writeHead(302, { location: redirect.toString(), 'content-length': '0' });
    res.end();
  }


  protected token(req: EmulatorRequest, res: ServerResponse): void {
    if (!(req.headers['content-type'] ?? '').toLowerCase().includes('application/x-www-form-urlencoded')) {
      return sendJson(res, 400, oauthError('Invalid request: content must be application/x-www-form-urlencoded'));
    }
    const form = (req.body ?? {}) as Record<string, string>;
    const clientError = this.checkClient(req, form);
    if (clientError) return sendJson(res, 400, oauthError(clientError));
    if (!form.grant_type) return sendJson(res, 400, oauthError('Missing parameter: grant_type'));

    if (form.grant_type === 'authorization_code') {
      const code = this.authCodes.get(form.code ?? '');
      if (!code || code.used) return sendJson(res, 400, oauthError('Invalid grant: authorization_code is invalid'));
      if (this.now() > code.expiresAt) return sendJson(res, 400, oauthError('Invalid grant: authorization_code has expired'));
      if (form.redirect_uri !== undefined && code.redirectUri !== null && form.redirect_uri !== code.redirectUri) {
        return sendJson(res, 400, oauthError('Invalid request: redirect_uri is invalid'));
      }
      if (this.opts.redirectUri && form.redirect_uri !== undefined && form.redirect_uri !== this.opts.redirectUri) {
        return sendJson(res, 400, oauthError('Invalid request: redirect_uri is invalid'));
      }
      code.used = true;
      const refresh: RefreshRecord = {
        token: `${code.companyId}:${code.userId}:${randomHex(20)}`,
        userId: code.userId,
        companyId: code.companyId,
        refreshes: 0,
        revoked: false,
        redirectUri: code.redirectUri,
      };
      this.refreshTokens.set(refresh.token, refresh);
      return sendJson(res, 200, this.issueAccessToken(refresh, 'authorization_code'), noStore());
    }
    if (form.grant_type === 'refresh_token') {
      const refresh = this.refreshTokens.get(form.refresh_token ?? '');
      if (!refresh || refresh.revoked) return sendJson(res, 400, oauthError('Invalid grant: refresh_token is invalid'));
      refresh.refreshes += 1;
      // Pipedrive answers with the same refresh token and a fresh access token; older access tokens keep
      // working until their own expiry.
      return sendJson(res, 200, this.issueAccessToken(refresh, 'refresh_token'), noStore());
    }
    return sendJson(res, 400, oauthError('Unsupported grant type: grant_type is invalid'));
  }


  protected revoke(req: EmulatorRequest, res: ServerResponse): void {
    const form = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, string>;
    const clientError = this.checkClient(req, form);
    if (clientError) return sendJson(res, 400, oauthError(clientError));
    const token = form.token ?? '';
    const refresh = this.refreshTokens.get(token);
    const access = this.accessTokens.get(token);
    if (refresh && form.token_type_hint !== 'access_token') {
      this.revokeRefresh(refresh);
    } else if (access && !access.revoked) {
      access.revoked = true;
      this.revoked.push({ token, kind: 'access_token', at: new Date(this.now()) });
    }
    // RFC 7009: an unknown token is not an error. Nothing is revoked, which a test can see in revokedTokens
    // (this is what happens to the SDK's double-encoded access token).
    sendJson(res, 200, { success: true });
  }


  protected checkClient(req: EmulatorRequest, form: Record<string, string>): string | null {
    const basic = parseBasicAuth(req.headers.authorization);
    const id = basic?.user ?? form.client_id;
    const secret = basic?.password ?? form.client_secret;
    if (!id || secret === undefined) return 'Invalid client: cannot retrieve client credentials';
    if (id !== this.opts.clientId || secret !== this.opts.clientSecret) return 'Invalid client: client is invalid';
    return null;
  }


  protected authenticate(req: EmulatorRequest): AuthContext | { error: string } {
    const header = req.headers.authorization;
    if (!header) return { error: 'unauthorized access' };
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) return { error: 'Invalid request: malformed authorization header' };
    const token = this.accessTokens.get(match[1]);
    if (!token || token.revoked || this.now() >= token.expiresAt) return { error: 'Invalid token: access_token is invalid' };
    const company = this.companyMap.get(token.companyId);
    const user = this.userMap.get(`${token.companyId}:${token.userId}`);
    if (!company || !user) return { error: 'Invalid token: access_token is invalid' };
    return { company, user, token };
  }


  protected approvingUser(): PdUser | undefined {
    const id = this.consent.userId ?? this.opts.autoApproveUserId;
    if (id !== undefined) return this.findUser(id, this.consent.companyId);
    return [...this.userMap.values()][0];
  }


  protected newAuthCode(user: PdUser, redirectUri: string | null): string {
    // Shape of Pipedrive's codes (`123.456.2d73…`); opaque to the app anyway.
    const code = `${user.companyId}.${user.id}.${randomHex(20)}`;
    this.authCodes.set(code, {
      code,
      userId: user.id,
      companyId: user.companyId,
      redirectUri,
      expiresAt: this.now() + AUTH_CODE_TTL_MS,
      used: false,
    });
    return code;
  }


  protected issueAccessToken(refresh: RefreshRecord, grantType: IssuedToken['grantType']): Record<string, unknown> {
    const ttl = this.opts.accessTokenTtlSeconds ?? 3600;
    const token: IssuedToken = {
      accessToken: `v1u:${Buffer.from(randomHex(48), 'hex').toString('base64url')}`,
      refreshToken: refresh.token,
      userId: refresh.userId,
      companyId: refresh.companyId,
      grantType,
      issuedAt: new Date(this.now()),
      expiresAt: this.now() + ttl * 1000,
      revoked: false,
    };
    this.accessTokens.set(token.accessToken, token);
    return {
      access_token: token.accessToken,
      token_type: 'Bearer',
      refresh_token: refresh.token,
      scope: this.opts.scope ?? DEFAULT_SCOPE,
      expires_in: ttl,
      api_domain: this.url,
    };
  }

  /** Revoking a refresh token means "app uninstalled" for that user: tokens die, the user's app webhooks go. */
  protected revokeRefresh(refresh: RefreshRecord): void {
    if (!refresh.revoked) {
      refresh.revoked = true;
      this.revoked.push({ token: refresh.token, kind: 'refresh_token', at: new Date(this.now()) });
    }
    for (const t of this.accessTokens.values()) if (t.refreshToken === refresh.token) t.revoked = true;
    for (const w of [...this.webhookMap.values()]) {
      if (w.companyId === refresh.companyId && w.owner_id === refresh.userId && w.type === 'application') this.webhookMap.delete(w.id);
    }
  }
}
