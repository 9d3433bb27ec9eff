import type { Database } from '../../db/database.js';
import { COMPANY_TABLES, deleteCompanyData } from '../../db/company-data.js';
import type { Installation } from '../../db/schema.js';
import { InstallationRevokedError, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { SealedSecretError, sealedPlaces, type SecretBox } from '../security/crypto.js';
import { createAdminRights, type AdminRight } from './admin-rights.js';
import type { CrmPort, CrmUser } from './crm-port.js';
import { OAuthGrantError, type OAuthClient, type TokenSet } from './oauth-client.js';
import { createPipedriveClient, type TokenSource } from './pipedrive-client.js';

/** Refresh this long before Pipedrive's expiry so a call never leaves with a token about to die. */
const REFRESH_MARGIN_MS = 60_000;

export type Installations = {
  /** Stores (or replaces) the installing user's tokens and makes sure the company row exists. */
  save(tokens: TokenSet, me: CrmUser): Promise<{ companyId: string; userId: string; newCompany: boolean }>;
  /** A CrmPort acting as that user, or as the company's best installation (admins first) when no user is given. */
  crmFor(companyId: string, userId?: string): Promise<CrmPort>;
  /**
   * For a request made by a user in an iframe: their own authorisation (their Pipedrive permissions) when they
   * installed the app, else the company's best installation.
   */
  crmForCaller(companyId: string, userId: string): Promise<CrmPort>;
  /**
   * The same choice, saying whether the port acts as the caller. When it does not, Pipedrive's answers are the
   * installer's view, so whoever reads a deal with it must first check the caller may see that deal.
   */
  callerAccess(companyId: string, userId: string): Promise<{ crm: CrmPort; asCaller: boolean }>;
  /** True when the user installed the app as a Pipedrive admin of the company (as Pipedrive said then). */
  isInstallingAdmin(companyId: string, userId: string): Promise<boolean>;
  /**
   * Whether the user may make the writes reserved to the admin who installed: they did, and Pipedrive says they are
   * still an admin (its answer kept at most 5 minutes). Throws PipedriveApiError when Pipedrive cannot answer.
   */
  adminRight(companyId: string, userId: string): Promise<AdminRight>;
  /** Removes the user's installation; deletes the company's data when it was the last one. */
  uninstall(companyId: string, userId: string): Promise<{ removed: boolean; companyDeleted: boolean }>;
};

type CachedToken = { accessToken: string; refreshToken: string; expiresAt: number; apiDomain: string };

export function createInstallations(deps: {
  database: Database;
  oauth: OAuthClient;
  secrets: SecretBox;
  logger: Logger;
  now: () => number;
  /** Handed to each Pipedrive client: call durations and 429s. */
  metrics?: Metrics;
}): Installations {
  const { database, oauth, secrets, logger, now } = deps;
  const { db } = database;
  const tokens = new Map<string, CachedToken>();
  const refreshing = new Map<string, Promise<CachedToken>>();
  const clients = new Map<string, CrmPort>();
  const keyOf = (companyId: string, userId: string) => `${companyId}:${userId}`;
  const adminRights = createAdminRights({
    installedAsAdmin: (companyId, userId) => installations.isInstallingAdmin(companyId, userId),
    currentUser: async (companyId, userId) => (await installations.crmFor(companyId, userId)).getCurrentUser(),
    now,
    logger,
  });

  /**
   * Tokens that do not open at their row (copied from another installation, tampered with) are never used: the
   * installation counts as revoked, so its user must install again, as after a refused refresh.
   */
  const unseal = (row: Installation): CachedToken => {
    try {
      return {
        accessToken: secrets.open(row.access_token_sealed, sealedPlaces.accessToken(row.company_id, row.user_id)),
        refreshToken: secrets.open(row.refresh_token_sealed, sealedPlaces.refreshToken(row.company_id, row.user_id)),
        expiresAt: Date.parse(row.expires_at),
        apiDomain: row.api_domain,
      };
    } catch (error) {
      if (!(error instanceof SealedSecretError)) throw error;
      logger.warn({ companyId: row.company_id, userId: row.user_id, reason: error.reason, column: error.place.column }, 'stored Pipedrive tokens cannot be used; the user must reinstall');
      throw new InstallationRevokedError(row.company_id, row.user_id);
    }
  };

  async function loadRow(companyId: string, userId: string): Promise<Installation> {
    const row = await db
      .selectFrom('installations')
      .selectAll()
      .where('company_id', '=', companyId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!row) throw new InstallationRevokedError(companyId, userId);
    return row;
  }

  async function current(companyId: string, userId: string): Promise<CachedToken> {
    const key = keyOf(companyId, userId);
    const cached = tokens.get(key);
    if (cached) return cached;
    const fresh = unseal(await loadRow(companyId, userId));
    tokens.set(key, fresh);
    return fresh;
  }

  /** One refresh per installation at a time: every concurrent caller awaits the same promise. */
  function refresh(companyId: string, userId: string, refused: string | null): Promise<CachedToken> {
    const key = keyOf(companyId, userId);
    const inFlight = refreshing.get(key);
    if (inFlight) return inFlight;
    const promise = (async () => {
      // Another process sharing the database may have refreshed already; its token is as good as ours.
      const stored = unseal(await loadRow(companyId, userId));
      if (stored.accessToken !== refused && stored.expiresAt - now() > REFRESH_MARGIN_MS) {
        tokens.set(key, stored);
        return stored;
      }
      let next: TokenSet;
      try {
        next = await oauth.refresh(stored.refreshToken, stored.apiDomain);
      } catch (error) {
        if (error instanceof OAuthGrantError) {
          logger.warn({ companyId, userId }, 'refresh token refused by Pipedrive; the user must reinstall');
          throw new InstallationRevokedError(companyId, userId);
        }
        throw error;
      }
      await db
        .updateTable('installations')
        .set({
          access_token_sealed: secrets.seal(next.accessToken, sealedPlaces.accessToken(companyId, userId)),
          refresh_token_sealed: secrets.seal(next.refreshToken, sealedPlaces.refreshToken(companyId, userId)),
          expires_at: next.expiresAt.toISOString(),
          api_domain: next.apiDomain,
          updated_at: new Date(now()).toISOString(),
        })
        .where('company_id', '=', companyId)
        .where('user_id', '=', userId)
        .execute();
      const token: CachedToken = {
        accessToken: next.accessToken,
        refreshToken: next.refreshToken,
        expiresAt: next.expiresAt.getTime(),
        apiDomain: next.apiDomain,
      };
      tokens.set(key, token);
      logger.info({ companyId, userId }, 'Pipedrive access token refreshed');
      return token;
    })().finally(() => refreshing.delete(key));
    refreshing.set(key, promise);
    return promise;
  }

  function tokenSource(companyId: string, userId: string): TokenSource {
    return {
      async accessToken() {
        const token = await current(companyId, userId);
        if (token.expiresAt - now() > REFRESH_MARGIN_MS) return token.accessToken;
        return (await refresh(companyId, userId, token.accessToken)).accessToken;
      },
      async refreshAfterUnauthorized(refusedToken) {
        const token = await current(companyId, userId);
        if (token.accessToken !== refusedToken) return token.accessToken;
        return (await refresh(companyId, userId, refusedToken)).accessToken;
      },
    };
  }

  const installations: Installations = {
    async save(tokenSet, me) {
      const companyId = String(me.companyId);
      const userId = String(me.id);
      const at = new Date(now()).toISOString();
      const newCompany = await database.transaction(async (trx) => {
        const existing = await trx.selectFrom('companies').select('id').where('id', '=', companyId).executeTakeFirst();
        // The company's time zone (due dates of possible opt-outs) is its installing admin's, refreshed on each of
        // their installs; a user who is not an admin does not change it.
        const zone = me.isAdmin && me.timeZone ? { time_zone: me.timeZone } : {};
        if (existing) {
          await trx
            .updateTable('companies')
            .set({ name: me.companyName, domain: me.companyDomain, api_domain: tokenSet.apiDomain, updated_at: at, ...zone })
            .where('id', '=', companyId)
            .execute();
        } else {
          await trx
            .insertInto('companies')
            .values({
              id: companyId,
              name: me.companyName,
              domain: me.companyDomain,
              api_domain: tokenSet.apiDomain,
              ...zone,
              created_at: at,
              updated_at: at,
            })
            .execute();
        }
        const sealed = {
          user_name: me.name,
          is_admin: me.isAdmin ? 1 : 0,
          access_token_sealed: secrets.seal(tokenSet.accessToken, sealedPlaces.accessToken(companyId, userId)),
          refresh_token_sealed: secrets.seal(tokenSet.refreshToken, sealedPlaces.refreshToken(companyId, userId)),
          expires_at: tokenSet.expiresAt.toISOString(),
          api_domain: tokenSet.apiDomain,
          scopes: tokenSet.scope,
          updated_at: at,
        };
        await trx
          .insertInto('installations')
          .values({ company_id: companyId, user_id: userId, created_at: at, ...sealed })
          .onConflict((oc) => oc.columns(['company_id', 'user_id']).doUpdateSet(sealed))
          .execute();
        return !existing;
      });
      const key = keyOf(companyId, userId);
      tokens.set(key, {
        accessToken: tokenSet.accessToken,
        refreshToken: tokenSet.refreshToken,
        expiresAt: tokenSet.expiresAt.getTime(),
        apiDomain: tokenSet.apiDomain,
      });
      clients.delete(key);
      adminRights.forget(companyId, userId);
      return { companyId, userId, newCompany };
    },

    async crmFor(companyId, userId) {
      let chosen = userId;
      if (chosen === undefined) {
        const row = await db
          .selectFrom('installations')
          .select('user_id')
          .where('company_id', '=', companyId)
          .orderBy('is_admin', 'desc')
          .orderBy('updated_at', 'desc')
          .executeTakeFirst();
        if (!row) throw new NotFoundError('The company has no installation of the app');
        chosen = row.user_id;
      }
      const key = keyOf(companyId, chosen);
      const cached = clients.get(key);
      if (cached) return cached;
      const token = await current(companyId, chosen);
      const client = createPipedriveClient({ apiDomain: token.apiDomain, tokens: tokenSource(companyId, chosen), metrics: deps.metrics });
      clients.set(key, client);
      return client;
    },

    async crmForCaller(companyId, userId) {
      return (await installations.callerAccess(companyId, userId)).crm;
    },

    async callerAccess(companyId, userId) {
      try {
        return { crm: await installations.crmFor(companyId, userId), asCaller: true };
      } catch (error) {
        if (!(error instanceof InstallationRevokedError)) throw error;
        return { crm: await installations.crmFor(companyId), asCaller: false };
      }
    },

    async isInstallingAdmin(companyId, userId) {
      const row = await db
        .selectFrom('installations')
        .select('is_admin')
        .where('company_id', '=', companyId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return row?.is_admin === 1;
    },

    adminRight: (companyId, userId) => adminRights.of(companyId, userId),

    async uninstall(companyId, userId) {
      const result = await database.transaction(async (trx) => {
        const removed = await trx
          .deleteFrom('installations')
          .where('company_id', '=', companyId)
          .where('user_id', '=', userId)
          .executeTakeFirst();
        const left = await trx
          .selectFrom('installations')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('company_id', '=', companyId)
          .executeTakeFirstOrThrow();
        const companyDeleted = Number(left.n) === 0;
        if (companyDeleted) await deleteCompanyData(trx, companyId);
        return { removed: Number(removed.numDeletedRows) > 0, companyDeleted };
      });
      const key = keyOf(companyId, userId);
      tokens.delete(key);
      clients.delete(key);
      adminRights.forget(companyId, result.companyDeleted ? undefined : userId);
      if (result.companyDeleted) {
        for (const k of [...tokens.keys(), ...clients.keys()]) {
          if (k.startsWith(`${companyId}:`)) {
            tokens.delete(k);
            clients.delete(k);
          }
        }
      }
      if (result.removed) await database.scrubDeleted(result.companyDeleted ? COMPANY_TABLES : ['installations']);
      return result;
    },
  };
  return installations;
}
