import type { Transaction } from 'kysely';
import type { Schema } from './schema.js';

/** How many rows of each kind a contact's erasure deleted. */
export type ContactDeletion = { statusEvents: number; replies: number; reviews: number; jobs: number };

/**
 * The tables a contact's erasure deletes rows from, for the caller to scrub afterwards (deleted must mean unreadable
 * in the files too). `consent_events` is not deleted from: its rows lose the contact's words and person (the opt-out
 * list does that), and the scrub must cover it for the old words to go.
 */
export const CONTACT_TABLES = ['message_status_events', 'inbound_messages', 'consent_reviews', 'jobs', 'outbound_messages', 'consent_events'] as const;

/** At most this many ids in one IN list (far below either engine's limit on bound parameters). */
const CHUNK = 500;

/**
 * Deletes, in the caller's transaction, what a company holds about one number around its messages: their delivery
 * reports (keyed by Twilio's message id), the replies from the number or to those messages, its possible opt-out
 * reviews and every job about it (jobs have no number column: their payloads name it). The messages themselves are
 * deleted next, by their owner (the outbox store); the consent history is kept. A message already handed to Twilio
 * cannot be recalled, and its later delivery reports carry neither number nor text.
 */
export async function deleteContactData(trx: Transaction<Schema>, companyId: string, phoneE164: string): Promise<ContactDeletion> {
  const toNumber = trx.selectFrom('outbound_messages').where('company_id', '=', companyId).where('to_e164', '=', phoneE164);

  const statusEvents = await trx
    .deleteFrom('message_status_events')
    .where('provider_sid', 'in', toNumber.select('provider_sid').where('provider_sid', 'is not', null))
    .executeTakeFirst();

  const fromNumber = trx.selectFrom('inbound_messages').where('company_id', '=', companyId).where('from_e164', '=', phoneE164);
  // The jobs that log those replies in Pipedrive name the number in their payload too; by id as well, whatever it says.
  let jobs = Number(
    (await trx.deleteFrom('jobs').where('company_id', '=', companyId).where('id', 'in', fromNumber.select('activity_job_id').where('activity_job_id', 'is not', null)).executeTakeFirst())
      .numDeletedRows,
  );
  const replies = await trx
    .deleteFrom('inbound_messages')
    .where('company_id', '=', companyId)
    .where((eb) => eb.or([eb('from_e164', '=', phoneE164), eb('reply_to_message_id', 'in', toNumber.select('id'))]))
    .executeTakeFirst();

  const reviews = await trx
    .deleteFrom('consent_reviews')
    .where('company_id', '=', companyId)
    .where('phone_e164', '=', phoneE164)
    .executeTakeFirst();

  const aboutNumber = (
    await trx.selectFrom('jobs').select(['id', 'payload']).where('company_id', '=', companyId).where('payload', 'like', `%${phoneE164}%`).execute()
  ).filter((job) => namesNumber(job.payload, phoneE164));
  for (let i = 0; i < aboutNumber.length; i += CHUNK) {
    const ids = aboutNumber.slice(i, i + CHUNK).map((job) => job.id);
    jobs += Number((await trx.deleteFrom('jobs').where('id', 'in', ids).executeTakeFirst()).numDeletedRows);
  }

  return {
    statusEvents: Number(statusEvents.numDeletedRows),
    replies: Number(replies.numDeletedRows),
    reviews: Number(reviews.numDeletedRows),
    jobs,
  };
}

/**
 * Whether a job's JSON payload names the number: as a whole number, so erasing +1415555267 leaves a job about
 * +14155552671 alone. E.164 holds no character JSON or HTML escapes, so the number appears as it is.
 */
export function namesNumber(payload: string, phoneE164: string): boolean {
  for (let at = payload.indexOf(phoneE164); at !== -1; at = payload.indexOf(phoneE164, at + 1)) {
    const next = payload.charCodeAt(at + phoneE164.length);
    if (!(next >= 48 && next <= 57)) return true;
  }
  return false;
}
