import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { Schema } from '../../db/schema.js';
import { BadRequestError } from '../errors.js';
import { enqueueJob, enqueueJobs, type QueuedJob } from '../jobs/job-queue.js';
import type { Logger } from '../logger.js';
import { cancelQueuedTo, personsTextedAt } from '../outbox/outbox-store.js';
import { describeConsentActivity } from './consent-activity.js';
import { supersedeConsentWrites, supersedeConsentWritesOf } from './consent-writes.js';
import type { ConsentAction, ConsentSource, OptOutList } from './opt-out-list.js';
import { companiesOnSender, type ConsentSender } from './sender-companies.js';

/** One change of a number's consent, from whichever source it came. */
export type ConsentChange = {
  /**
   * The company the change is for. Null only for a keyword on the app's shared sender that no company can be told
   * apart from: the sender blocks the number for all of them, so each of them records it.
   */
  companyId: string | null;
  phoneE164: string;
  /**
   * The sender the change came through (a keyword, Twilio's 21610). On the app's shared sender an opt-out binds every
   * company texting through it, as Twilio blocks a number per sender. Null for a company's own decision (review,
   * hand, import), which binds that company only.
   */
  sender: ConsentSender | null;
  source: ConsentSource;
  /** The contact's text, or the reason an admin gave. */
  message?: string | null;
  /** Who decided, when a person did (the Pipedrive user's id). */
  actor?: string | null;
  /** The Pipedrive person and deal the change is known to concern, if any. */
  personId?: number | null;
  dealId?: number | null;
  /**
   * Who tells Pipedrive. `service` (the default): this change queues the "SMS consent" write and an activity saying
   * what happened (for a person not known, one job that finds them by phone). `reply`: an inbound text whose reply
   * job already logs the activity and, for a person found by phone, writes the field; only a known person's field
   * write is queued here.
   */
  pipedrive?: 'service' | 'reply';
};

export type ConsentOutcome = {
  /** The companies whose history got a row. */
  companies: string[];
  /** Texts that were waiting to go to the number and never will (opt-outs only). */
  cancelled: number;
};

export type ConsentServiceDeps = { database: Database; optOuts: OptOutList; now: () => number; logger: Logger };

const E164 = /^\+[1-9]\d{1,14}$/;

/**
 * The one way a number's consent changes: a keyword, Twilio's 21610, a reviewed possible opt-out, an import or a
 * hand entry all come here, so each of them has every effect. In one transaction (the caller's, when it passes one):
 * the consent history gets its row; on an opt-out, texts still waiting to go to the number are cancelled (and, on
 * the app's shared sender, those of every company on it); a consent write still waiting for Pipedrive is superseded;
 * and the "SMS consent" write and the activity are queued as jobs, so a Pipedrive outage delays them and loses
 * nothing. An opt-in is the mirror, without the cancelling.
 */
export function createConsentService(deps: ConsentServiceDeps) {
  const { database, optOuts, now } = deps;
  const log = deps.logger.child({ subsystem: 'consent' });

  async function apply(action: ConsentAction, change: ConsentChange, trx?: Kysely<Schema>): Promise<ConsentOutcome> {
    if (!E164.test(change.phoneE164)) throw new BadRequestError('phone must be an E.164 number', { field: 'phone' });
    if (!trx) return database.transaction((own) => apply(action, change, own));
    const at = new Date(now()).toISOString();
    const { phoneE164, sender } = change;
    const personId = change.personId ?? null;
    const companies = change.companyId !== null
      ? [change.companyId]
      : sender ? await companiesOnSender(trx, { shared: sender.shared, ownerCompanyId: null }) : [];
    if (companies.length === 0) log.warn({ source: change.source }, 'consent change for no company: nothing to record it for');

    for (const companyId of companies) {
      await optOuts.record(
        { companyId, phoneE164, sender: sender?.key ?? null, action, source: change.source, message: change.message ?? null, personId, actor: change.actor ?? null },
        trx,
      );
    }

    let cancelled = 0;
    if (action === 'opt_out') {
      // The worker re-checks the list before sending anyway; cancelling here makes the reports say why. Texts queued
      // without a number yet are found by person: the one the change names, and whoever the company texted there.
      let persons: { companyId: string; personIds: number[] } | null = null;
      if (change.companyId !== null) {
        const texted = await personsTextedAt(trx, change.companyId, phoneE164);
        persons = { companyId: change.companyId, personIds: [...new Set(personId === null ? texted : [personId, ...texted])] };
      }
      cancelled = await cancelQueuedTo(trx, { phoneE164, companies: sender?.shared ? 'shared_sender' : companies, persons }, at);
    }

    // Pipedrive is told by the company the change names; one no company can be told apart from has nobody to tell.
    if (change.companyId !== null) await queuePipedriveWrites(trx, action, { ...change, companyId: change.companyId, personId }, at);
    return { companies, cancelled };
  }

  async function queuePipedriveWrites(
    trx: Kysely<Schema>,
    action: ConsentAction,
    change: ConsentChange & { companyId: string; personId: number | null },
    at: string,
  ): Promise<void> {
    const { companyId, personId, phoneE164 } = change;
    const consent = action === 'opt_out' ? 'opted_out' : 'granted';
    await supersedeConsentWrites(trx, { companyId, personId, phoneE164 }, at);
    if (personId !== null) await enqueueJob(trx, companyId, 'pipedrive.set_consent', { personId, consent, phoneE164 }, now());
    if (change.pipedrive === 'reply') return;
    const activity = describeConsentActivity({ action, source: change.source, phoneE164, message: change.message ?? null, actor: change.actor ?? null });
    const dealId = change.dealId ?? null;
    if (personId !== null) await enqueueJob(trx, companyId, 'pipedrive.add_activity', { ...activity, dealId, personId }, now());
    else await enqueueJob(trx, companyId, 'consent.mirror_by_phone', { phoneE164, consent, dealId, activity }, now());
  }

  /**
   * Many opt-outs that are one company's own decision (an import, numbers added by hand: no sender, no person known),
   * in the caller's transaction, with every effect of `optOut` for each, in statements of a few hundred numbers rather
   * than several per number: the history rows; texts still waiting to go to a number the company ever texted
   * cancelled as `optOut` does (the others have none); waiting consent writes superseded, read once; and one job per
   * number that finds the person by phone, writes the field and logs the activity.
   */
  async function optOutAll(changes: readonly ConsentChange[], trx: Kysely<Schema>): Promise<ConsentOutcome> {
    const companyId = changes[0]?.companyId ?? null;
    if (companyId === null) return { companies: [], cancelled: 0 };
    for (const c of changes) {
      if (c.companyId !== companyId || c.sender !== null || (c.personId ?? null) !== null) throw new Error('optOutAll takes one company\'s own decisions about numbers alone');
      if (!E164.test(c.phoneE164)) throw new BadRequestError('phone must be an E.164 number', { field: 'phone' });
    }
    const at = new Date(now()).toISOString();
    const phones = changes.map((c) => c.phoneE164);
    await optOuts.recordMany(
      changes.map((c) => ({ companyId, phoneE164: c.phoneE164, sender: null, action: 'opt_out' as const, source: c.source, message: c.message ?? null, personId: null, actor: c.actor ?? null })),
      trx,
    );
    let cancelled = 0;
    for (const phoneE164 of await numbersTexted(trx, companyId, phones)) {
      const persons = { companyId, personIds: await personsTextedAt(trx, companyId, phoneE164) };
      cancelled += await cancelQueuedTo(trx, { phoneE164, companies: [companyId], persons }, at);
    }
    await supersedeConsentWritesOf(trx, companyId, phones.map((phoneE164) => ({ phoneE164, personId: null })), at);
    const jobs: QueuedJob[] = changes.map((c) => ({
      kind: 'consent.mirror_by_phone',
      payload: {
        phoneE164: c.phoneE164,
        consent: 'opted_out',
        dealId: null,
        activity: describeConsentActivity({ action: 'opt_out', source: c.source, phoneE164: c.phoneE164, message: c.message ?? null, actor: c.actor ?? null }),
      },
    }));
    await enqueueJobs(trx, companyId, jobs, now());
    return { companies: [companyId], cancelled };
  }

  return {
    /** Many opt-outs of one company's own decision (an import) at once: see optOutAll above. */
    optOutAll,
    /** Opts the number out (see above); pass the caller's transaction to make it part of a larger change. */
    optOut: (change: ConsentChange, trx?: Kysely<Schema>) => apply('opt_out', change, trx),
    /** Opts the number back in: the mirror of optOut, without cancelling anything. */
    optIn: (change: ConsentChange, trx?: Kysely<Schema>) => apply('opt_in', change, trx),
    change: (action: ConsentAction, change: ConsentChange, trx?: Kysely<Schema>) => apply(action, change, trx),
  };
}

export type ConsentService = ReturnType<typeof createConsentService>;

/** Of these numbers, those the company has any text to (sent or waiting), a few hundred numbers per statement. */
async function numbersTexted(trx: Kysely<Schema>, companyId: string, phones: readonly string[]): Promise<string[]> {
  const texted: string[] = [];
  for (let i = 0; i < phones.length; i += 500) {
    const rows = await trx
      .selectFrom('outbound_messages')
      .select('to_e164')
      .distinct()
      .where('company_id', '=', companyId)
      .where('to_e164', 'in', phones.slice(i, i + 500))
      .execute();
    for (const r of rows) if (r.to_e164 !== null) texted.push(r.to_e164);
  }
  return texted;
}
