import { CONTACT_TABLES, deleteContactData } from '../../db/contact-data.js';
import type { Database } from '../../db/database.js';
import type { Logger } from '../logger.js';
import { deleteMessagesTo } from '../outbox/outbox-store.js';
import type { OptOutList } from './opt-out-list.js';

/** What an erasure deleted: the counts the admin is shown. */
export type ContactErased = { messages: number; replies: number; reviews: number };

export type ContactErasureDeps = { database: Database; optOuts: OptOutList; logger: Logger };

/**
 * Erasing one contact on request: in one transaction, everything the company holds about the number goes (messages,
 * their delivery reports, replies, reviews, jobs), and its consent history loses the contact's words and person but
 * keeps the number, when, how and the action, so an opted-out number stays blocked. Then the database is asked to
 * make the deleted rows unreadable in its files too, as for an uninstall.
 */
export function createContactErasure(deps: ContactErasureDeps) {
  const { database, optOuts } = deps;
  const log = deps.logger.child({ subsystem: 'erasure' });

  async function erase(companyId: string, phoneE164: string): Promise<ContactErased> {
    const { deleted, consentRows } = await database.transaction(async (trx) => {
      const around = await deleteContactData(trx, companyId, phoneE164);
      const deleted = { ...around, messages: await deleteMessagesTo(trx, companyId, phoneE164) };
      return { deleted, consentRows: await optOuts.eraseMessages(companyId, phoneE164, trx) };
    });
    await database.scrubDeleted(CONTACT_TABLES);
    // The counts only: the number itself is what was asked to be forgotten.
    log.info({ companyId, ...deleted, consentRows }, 'contact erased on request');
    return { messages: deleted.messages, replies: deleted.replies, reviews: deleted.reviews };
  }

  return { erase };
}

export type ContactErasure = ReturnType<typeof createContactErasure>;
