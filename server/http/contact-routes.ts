import { Router } from 'express';
import type { AppContext } from '../context.js';
import { createContactErasure } from '../consent/contact-erasure.js';
import { BadRequestError } from '../errors.js';
import { normalisePhone } from '../messaging/index.js';
import type { CallerAuth } from './caller-auth.js';
import type { ContactErasedAnswer } from './contracts/index.js';

const ONLY_ADMINS = 'Only a Pipedrive admin who installed the app can erase a contact';
/** Longer than any way of writing a phone number; a longer value is not read at all. */
const PHONE_MAX_LENGTH = 64;

/**
 * A contact's erasure on request: the admin who installed (still a Pipedrive admin) names the number, in any form a
 * person's phone is read in, and everything the company holds about it goes but the opt-out record.
 */
export function createContactRouter(ctx: AppContext, auth: CallerAuth): Router {
  const router = Router();
  const erasure = createContactErasure({ database: ctx.database, optOuts: ctx.optOuts, logger: ctx.logger });
  router.use('/api/contacts', auth.caller, auth.installed, auth.installingAdmin(ONLY_ADMINS));

  router.delete('/api/contacts/:phone', async (req, res) => {
    const value = String(req.params.phone);
    const phone = normalisePhone(value.length <= PHONE_MAX_LENGTH ? value : '');
    if (!phone.ok) {
      const message = 'phone is not a phone number (a value without + is read as a US number)';
      throw new BadRequestError(`phone: ${message}`, { fields: [{ path: 'phone', message }] });
    }
    const erased = await erasure.erase(req.company!.id, phone.e164);
    res.set('cache-control', 'no-store').json({ erased } satisfies ContactErasedAnswer);
  });
  return router;
}
