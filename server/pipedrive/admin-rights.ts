import { InstallationRevokedError, PipedriveApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CrmUser } from './crm-port.js';
import { createTimedAnswers } from '../timed-answers.js';

/** How long Pipedrive's word on a user's admin right is trusted: a demoted admin keeps their rights at most this long. */
export const ADMIN_RIGHT_TTL_MS = 5 * 60_000;

/**
 * Whether a caller may make the writes reserved to the admin who installed the app:
 * - `admin`: they installed as an admin and Pipedrive says they still are one;
 * - `not-installing-admin`: they have no installation, or installed without admin rights;
 * - `no-longer-admin`: they installed as an admin and Pipedrive says they are not one any more;
 * - `reinstall-needed`: Pipedrive refuses their authorisation even after a refresh, so nobody can ask on their behalf.
 * Pipedrive failing to answer (5xx, network, rate limit) is not an answer: the PipedriveApiError is thrown, so a write
 * is never let through unchecked.
 */
export type AdminRight = 'admin' | 'not-installing-admin' | 'no-longer-admin' | 'reinstall-needed';

export type AdminRights = {
  of(companyId: string, userId: string): Promise<AdminRight>;
  /** Drops a remembered answer (the user reinstalled or uninstalled); without a user, the whole company's. */
  forget(companyId: string, userId?: string): void;
};

export function createAdminRights(deps: {
  /** The installation row's own record: did this user install as an admin? */
  installedAsAdmin(companyId: string, userId: string): Promise<boolean>;
  /** GET users/me with the user's own token (refreshed once on a 401 by the adapter). */
  currentUser(companyId: string, userId: string): Promise<CrmUser>;
  now: () => number;
  logger: Logger;
  ttlMs?: number;
  /** Answers kept at once; the least recently used go first. */
  max?: number;
}): AdminRights {
  // Judged against the context clock, so tests can cross the window; one question per user at a time.
  const answers = createTimedAnswers<boolean>({ now: deps.now, ttlMs: deps.ttlMs ?? ADMIN_RIGHT_TTL_MS, max: deps.max ?? 10_000 });

  async function ask(companyId: string, userId: string): Promise<boolean> {
    const me = await deps.currentUser(companyId, userId);
    // The token speaks for this user of this company; anything else is not an answer about them.
    const isAdmin = me.isAdmin && String(me.id) === userId && String(me.companyId) === companyId;
    if (!isAdmin) deps.logger.info({ companyId, userId }, 'the installing admin is no longer a Pipedrive admin');
    return isAdmin;
  }

  return {
    async of(companyId, userId) {
      if (!(await deps.installedAsAdmin(companyId, userId))) return 'not-installing-admin';
      let isAdmin: boolean;
      try {
        isAdmin = await answers.get(`${companyId}:${userId}`, () => ask(companyId, userId));
      } catch (error) {
        if (error instanceof InstallationRevokedError) return 'reinstall-needed';
        if (error instanceof PipedriveApiError && error.status === 401) return 'reinstall-needed';
        throw error;
      }
      return isAdmin ? 'admin' : 'no-longer-admin';
    },
    forget(companyId, userId) {
      if (userId !== undefined) answers.forget(`${companyId}:${userId}`);
      else answers.forgetPrefix(`${companyId}:`);
    },
  };
}
