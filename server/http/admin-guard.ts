import type { AppContext } from '../context.js';
import { ForbiddenError, PipedriveApiError } from '../errors.js';

const NO_LONGER_ADMIN =
  'You are no longer a Pipedrive admin of this company, so you cannot change SMS for Pipedrive any more; ask a Pipedrive admin.';
const REINSTALL =
  'Pipedrive no longer accepts your authorisation of SMS for Pipedrive: reinstall the app from the Pipedrive Marketplace to change it.';

/**
 * Lets a write reserved to the admin who installed go ahead only while Pipedrive still calls them an admin; a caller
 * who never was that admin is refused with `onlyAdmins`. Pipedrive not answering refuses the write too (502).
 */
export async function requireCurrentAdmin(ctx: AppContext, companyId: string, userId: string, onlyAdmins: string): Promise<void> {
  const right = await ctx.installations.adminRight(companyId, userId);
  if (right === 'admin') return;
  throw new ForbiddenError(right === 'no-longer-admin' ? NO_LONGER_ADMIN : right === 'reinstall-needed' ? REINSTALL : onlyAdmins);
}

/**
 * The settings page's read-only flag, from the same answer as the writes. While Pipedrive cannot be asked the page is
 * read-only (its writes would be refused), rather than not shown at all.
 */
export async function mayEdit(ctx: AppContext, companyId: string, userId: string): Promise<boolean> {
  try {
    return (await ctx.installations.adminRight(companyId, userId)) === 'admin';
  } catch (error) {
    if (!(error instanceof PipedriveApiError)) throw error;
    ctx.logger.warn({ companyId, userId, status: error.status }, 'Pipedrive could not say whether the caller is an admin; settings shown read-only');
    return false;
  }
}
