import type { Kysely } from 'kysely';
import type { Schema } from '../../db/schema.js';
import type { JobPayloads } from '../jobs/job-queue.js';

/**
 * A consent change is about to be queued for Pipedrive: earlier writes to the same person or number that are
 * still waiting (queued, or queued again for a retry after a Pipedrive error) would land after it and undo it
 * (STOP while Pipedrive is down, then START). They are dropped; an inbound job keeps its activity and loses only
 * its consent write. A write already running cannot be recalled; it lands first in the usual case.
 */
export async function supersedeConsentWrites(
  trx: Kysely<Schema>,
  target: { companyId: string; personId: number | null; phoneE164: string },
  at: string,
): Promise<void> {
  await supersedeConsentWritesOf(trx, target.companyId, [target], at);
}

/**
 * The same for many numbers (and persons) of one company at once, reading its waiting writes once: an import of
 * thousands of numbers must not read them once per number.
 */
export async function supersedeConsentWritesOf(
  trx: Kysely<Schema>,
  companyId: string,
  targets: readonly { personId: number | null; phoneE164: string }[],
  at: string,
): Promise<void> {
  const phones = new Set(targets.map((t) => t.phoneE164));
  const persons = new Set(targets.flatMap((t) => (t.personId === null ? [] : [t.personId])));
  const waiting = await trx
    .selectFrom('jobs')
    .select(['id', 'kind', 'payload'])
    .where('company_id', '=', companyId)
    .where('state', '=', 'queued')
    .where('kind', 'in', ['pipedrive.set_consent', 'consent.mirror_by_phone', 'inbound.log_reply'])
    .execute();
  const drop = (id: string) =>
    trx
      .updateTable('jobs')
      .set({ state: 'done', last_error: 'superseded by a later consent change', updated_at: at })
      .where('id', '=', id)
      .where('state', '=', 'queued')
      .execute();
  const keepOnlyActivity = (id: string, payload: object) =>
    trx
      .updateTable('jobs')
      .set({ payload: JSON.stringify({ ...payload, consent: null }), updated_at: at })
      .where('id', '=', id)
      .where('state', '=', 'queued')
      .execute();
  for (const job of waiting) {
    if (job.kind === 'pipedrive.set_consent') {
      const payload = JSON.parse(job.payload) as JobPayloads['pipedrive.set_consent'];
      if (persons.has(payload.personId) || (payload.phoneE164 !== undefined && phones.has(payload.phoneE164))) await drop(job.id);
    } else if (job.kind === 'consent.mirror_by_phone') {
      // Its field write is stale; its activity records a change that did happen, so that part still runs.
      const payload = JSON.parse(job.payload) as JobPayloads['consent.mirror_by_phone'];
      if (payload.consent === null || !phones.has(payload.phoneE164)) continue;
      await (payload.activity ? keepOnlyActivity(job.id, payload) : drop(job.id));
    } else {
      const payload = JSON.parse(job.payload) as JobPayloads['inbound.log_reply'];
      if (payload.consent === null || payload.fromE164 === null || !phones.has(payload.fromE164)) continue;
      await keepOnlyActivity(job.id, payload);
    }
  }
}
