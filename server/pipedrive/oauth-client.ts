import { OAuth2Configuration } from 'pipedrive/v2';
import { PipedriveApiError } from '../errors.js';
import { HttpFailure, installInterceptors } from './sdk-http.js';

export type TokenSet = {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  apiDomain: string;
  scope: string;
};

export type OAuthClient = {
  authorizeUrl(state: string): string;
  exchangeCode(code: string): Promise<TokenSet>;
  refresh(refreshToken: string, apiDomain: string): Promise<TokenSet>;
};

/** Pipedrive refused the grant (code reused or expired, refresh token revoked): retrying cannot help. */
export class OAuthGrantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OAuthGrantError';
  }
}

export function createOAuthClient(options: {
  clientId: string;
  clientSecret: string;
  oauthUrl: string;
  redirectUri: string;
  now?: () => number;
}): OAuthClient {
  const now = options.now ?? Date.now;
  // A fresh SDK configuration per exchange: it holds token state we do not want shared between installations.
  const sdk = () => {
    const cfg = new OAuth2Configuration({
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      redirectUri: options.redirectUri,
      host: options.oauthUrl,
    });
    installInterceptors(cfg, 15_000);
    return cfg;
  };

  const toTokenSet = (raw: unknown, fallbackDomain?: string): TokenSet => {
    const t = (raw ?? {}) as Record<string, unknown>;
    if (typeof t.access_token !== 'string' || typeof t.refresh_token !== 'string') {
      throw new PipedriveApiError('Pipedrive token response without tokens', 502);
    }
    const expiresIn = typeof t.expires_in === 'number' && t.expires_in > 0 ? t.expires_in : 3600;
    const apiDomain = typeof t.api_domain === 'string' && t.api_domain ? t.api_domain : fallbackDomain;
    if (!apiDomain) throw new PipedriveApiError('Pipedrive token response without api_domain', 502);
    return {
      accessToken: t.access_token,
      refreshToken: t.refresh_token,
      expiresAt: new Date(now() + expiresIn * 1000),
      // Only a run's first slash may start the match, so a hostile api_domain of many slashes costs linear time.
      apiDomain: apiDomain.replace(/(?<!\/)\/+$/, ''),
      scope: typeof t.scope === 'string' ? t.scope : '',
    };
  };

  const translate = (error: unknown): never => {
    if (error instanceof HttpFailure) {
      if (error.status === 400 || error.status === 401) throw new OAuthGrantError(error.message);
      throw new PipedriveApiError(`Pipedrive OAuth failed (${error.status || 'network'}): ${error.message}`, error.status);
    }
    throw error;
  };

  return {
    authorizeUrl(state) {
      // The SDK's authorizationUrl has no state parameter; ours is always signed (oauth routes).
      return `${sdk().authorizationUrl}&state=${encodeURIComponent(state)}`;
    },
    async exchangeCode(code) {
      try {
        return toTokenSet(await sdk().authorize(code));
      } catch (error) {
        return translate(error);
      }
    },
    async refresh(refreshToken, apiDomain) {
      const cfg = sdk();
      cfg.updateToken({ refresh_token: refreshToken } as never);
      try {
        return toTokenSet(await cfg.tokenRefresh(), apiDomain);
      } catch (error) {
        return translate(error);
      }
    },
  };
}
