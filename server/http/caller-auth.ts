import type { RequestHandler } from 'express';
import type { CompanyProfile } from '../companies/company-store.js';
import type { AppContext } from '../context.js';
import { ForbiddenError } from '../errors.js';
import { requireCurrentAdmin } from './admin-guard.js';
import { createJwtVerifier, requireCaller } from './jwt-auth.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The caller's company, set by `installed` once the app is found installed for it. */
    company?: CompanyProfile;
  }
}

/**
 * The checks in front of the UI's routes, built once by the app and mounted by each router where it needs them:
 * who is calling (a token Pipedrive signed), whether their company has the app installed, and whether they are the
 * admin who installed it and still a Pipedrive admin.
 */
export type CallerAuth = {
  /** The caller named by `Authorization: Bearer`; 401 without a valid token. */
  caller: RequestHandler;
  /** The same, also taking `?token=`, as Pipedrive loads the iframe pages. */
  pageCaller: RequestHandler;
  /** After `caller`: sets `req.company`; 403 when the app is not installed for the caller's company. */
  installed: RequestHandler;
  /** After `installed`: lets only the admin who installed, still an admin, through; `refusal` says why to others. */
  installingAdmin(refusal: string): RequestHandler;
};

export function createCallerAuth(ctx: AppContext): CallerAuth {
  const verify = createJwtVerifier(ctx.config.pipedrive.jwtSecret, ctx.clock.now);
  return {
    caller: requireCaller(verify),
    pageCaller: requireCaller(verify, { allowQueryToken: true }),
    installed: async (req, _res, next) => {
      const company = await ctx.companies.find(req.caller!.companyId);
      if (!company) throw new ForbiddenError('SMS for Pipedrive is not installed for this company');
      req.company = company;
      next();
    },
    installingAdmin: (refusal) => async (req, _res, next) => {
      await requireCurrentAdmin(ctx, req.company!.id, req.caller!.userId, refusal);
      next();
    },
  };
}
