import type { Database } from '../../db/database.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { normalisePhone } from '../messaging/index.js';
import type { ConsentService } from './consent-service.js';
import type { ListScope, OptOutQueries } from './opt-out-queries.js';

/** A number an admin asks to add: its place (CSV line or position in the list), the value as given, the reason. */
export type NumberToAdd = { line: number; value: string; reason: string | null };

export type AddOutcome = { added: number; already: number; invalid: { line: number; value: string }[] };

/** The longest value echoed back for an invalid row: enough to find it in the file. */
const ECHO_MAX = 64;

const BY_CONTACT: Record<string, string> = {
  inbound_keyword: 'the contact texted an opt-out word',
  twilio_21610: 'Twilio reported that the contact unsubscribed',
  review: 'a reply of the contact was reviewed as an opt-out',
  panel: 'it was opted out from the deal panel',
  pipedrive_field: 'it was opted out in Pipedrive',
};

/**
 * What the admin who installed does to the company's opt-out list: add numbers (by hand or from a CSV) and take off
 * numbers that came by hand or import. Every change is a consent change through the consent service, so each has all
 * of its effects: the history row with the admin and the reason, queued texts to the number cancelled, and the
 * "SMS consent" write and activity queued for Pipedrive.
 */
export function createOptOutAdmin(deps: { database: Database; consent: ConsentService; queries: OptOutQueries }) {
  const { database, consent, queries } = deps;

  return {
    /**
     * Adds every valid number in one transaction (all or none), in the order given; invalid values are reported by
     * their line and change nothing. A number already on the list, or given twice, is counted in `already`, so
     * importing the same file again adds nothing.
     */
    async add(scope: ListScope, input: { numbers: readonly NumberToAdd[]; source: 'hand' | 'import'; actor: string }): Promise<AddOutcome> {
      const invalid: AddOutcome['invalid'] = [];
      const valid: { e164: string; reason: string | null }[] = [];
      for (const n of input.numbers) {
        const phone = normalisePhone(n.value);
        if (phone.ok) valid.push({ e164: phone.e164, reason: n.reason });
        else invalid.push({ line: n.line, value: n.value.slice(0, ECHO_MAX) });
      }
      if (valid.length === 0) return { added: 0, already: 0, invalid };
      return database.transaction(async (trx) => {
        const standing = await queries.standings(scope, [...new Set(valid.map((v) => v.e164))], trx);
        const seen = new Set<string>();
        const fresh = valid.filter((v) => {
          const skip = seen.has(v.e164) || standing.get(v.e164)?.optedOut === true;
          seen.add(v.e164);
          return !skip;
        });
        await consent.optOutAll(
          fresh.map((v) => ({ companyId: scope.companyId, phoneE164: v.e164, sender: null, source: input.source, message: v.reason, actor: input.actor, personId: null })),
          trx,
        );
        return { added: fresh.length, already: valid.length - fresh.length, invalid };
      });
    },

    /**
     * Takes a number off the list when it came by hand or import: an opt-in by the admin, mirrored to Pipedrive as
     * "Granted" (the admin states the contact may be texted again, and the history keeps who did). A number the
     * contact opted out themselves leaves the list only when they text START.
     */
    async remove(scope: ListScope, e164: string, actor: string): Promise<void> {
      await database.transaction(async (trx) => {
        const standing = (await queries.standings(scope, [e164], trx)).get(e164);
        if (!standing?.optedOut) throw new NotFoundError(`${e164} is not on the opt-out list`);
        if (!standing.removable) {
          const why = BY_CONTACT[standing.entry.source] ?? 'the contact opted out';
          throw new ConflictError(
            `${e164} cannot be removed from the opt-out list because ${why}: only the contact can opt back in, by texting START. Numbers added by hand or by import can be removed.`,
            'opted_out_by_contact',
          );
        }
        const source = standing.entry.source === 'import' ? 'import' : 'hand';
        await consent.optIn({ companyId: scope.companyId, phoneE164: e164, sender: null, source, message: null, actor, personId: standing.entry.personId }, trx);
      });
    },
  };
}

export type OptOutAdmin = ReturnType<typeof createOptOutAdmin>;
