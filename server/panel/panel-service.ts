import { randomUUID } from 'node:crypto';
import type { Database } from '../../db/database.js';
import type { OutboundMessage } from '../../db/schema.js';
import type { CompanyProfile } from '../companies/company-store.js';
import { consentFromPerson } from '../consent/consent-field.js';
import { failureTextOf } from '../errors.js';
import type { OptOutList } from '../consent/opt-out-list.js';
import { checkResolvedEligibility, composeMessage, resolveDefaultPhone, type Consent } from '../messaging/index.js';
import type { CrmDeal, CrmPerson } from '../pipedrive/crm-port.js';
import type { SenderDirectory } from '../twilio/senders.js';
import type { InboundStore, PanelInbound } from '../inbound/inbound-store.js';
import { enqueuePanelMessage } from '../outbox/outbox-store.js';
import { pendingReview } from '../consent/review-store.js';
import { createDealAccess, type Viewer } from './deal-access.js';
import { createTimedAnswers } from '../timed-answers.js';
import type { RecipientZones } from '../geo/recipient-zones.js';
import type { SendingWindow } from '../messaging/index.js';

export type PanelMessage =
  | {
      id: string;
      direction: 'outbound';
      body: string | null;
      status: string;
      at: string;
      automation: string | null;
      error: string | null;
      errorCode: string | null;
      /** The rule's code when it was skipped or cancelled (no_consent, frequency_cap, stage_changed …), else null. */
      reason: string | null;
      /** While it waits for the contact's sending window (status `scheduled`): when it may go. */
      notBefore: string | null;
    }
  | {
      id: string;
      direction: 'inbound';
      body: string;
      at: string;
      keyword: string | null;
      possibleOptOut: boolean;
    };

export type PanelView = {
  deal: { id: number; title: string };
  person: { id: number; name: string; phone: string | null; e164: string | null } | null;
  consent: Consent;
  /** How consent changed, newest first (opt-outs, opt-ins, Twilio refusals). */
  consentHistory: Array<{ action: 'opt_out' | 'opt_in'; source: string; at: string; message: string | null }>;
  /** Whether the send box may be used, and why not. */
  canSend: { ok: true } | { ok: false; reason: string; message: string };
  maxSegments: number;
  /** The company's window and the contact's zones (from the number): the panel shows their local time and warns outside it. */
  sendingWindow: { quietHours: SendingWindow | null; zones: string[]; companyZone: string | null };
  messages: PanelMessage[];
  /** True when older messages exist beyond `messages`. */
  more: boolean;
  /** The contact's possible opt-out waiting for a person's decision, if any. */
  review: { id: string; body: string; receivedAt: string; dueBy: string } | null;
};

const SKIP_TEXT: Record<string, string> = {
  no_consent: 'Not sent: the contact has not given SMS consent',
  opted_out: 'Not sent: the contact opted out',
  opt_out_review: 'Not sent: a possible opt-out request from the contact is waiting for a decision',
  missing_phone: 'Not sent: the contact has no phone number',
  invalid_phone: 'Not sent: the phone number is not valid',
  too_long: 'Not sent: the message is too long after merging',
  link_shortener: 'Not sent: the message contains a public link shortener',
  unknown_field: 'Not sent: the template uses an unknown field',
  no_person: 'Not sent: the deal has no contact person',
  company_removed: 'Cancelled: the app was uninstalled',
  frequency_cap: 'Not sent: the contact already had the most automated texts a day allows',
  stage_changed: 'Not sent: the deal left the stage before the text could go',
  no_sending_window: 'Not sent: no hour is inside the sending window for this contact',
};

const CANNOT_SEND: Record<string, string> = {
  no_consent: 'This contact has not given SMS consent ("SMS consent" is not "Granted").',
  opted_out: 'This contact opted out of SMS.',
  missing_phone: 'This contact has no phone number.',
  invalid_phone: 'The contact’s default phone is not a valid number.',
  no_person: 'This deal has no contact person.',
  no_sender: 'No Twilio sender is configured.',
};

type OutboundForPanel = Pick<
  OutboundMessage,
  'id' | 'state' | 'provider_status' | 'skip_reason' | 'error_message' | 'error_code' | 'body' | 'sent_at' | 'created_at' | 'automation_name' | 'not_before'
>;

function toPanelMessage(row: OutboundForPanel): PanelMessage {
  // Before Twilio has it the status is ours (pending, scheduled, sending, skipped, failed, cancelled); after, Twilio's.
  const status =
    row.state === 'sent' ? (row.provider_status ?? 'sent') : row.state === 'claimed' || row.state === 'queued' ? 'pending' : row.state;
  const error =
    row.state === 'skipped' || row.state === 'cancelled'
      ? (SKIP_TEXT[row.skip_reason ?? ''] ?? `Not sent: ${row.skip_reason}`)
      : row.state === 'failed' || status === 'undelivered' || status === 'failed'
        ? (failureTextOf(row.error_code, row.error_message) ?? (row.error_code ? `Twilio error ${row.error_code}` : 'Failed'))
        : null;
  return {
    id: row.id,
    direction: 'outbound',
    body: row.body,
    status,
    at: row.sent_at ?? row.created_at,
    automation: row.automation_name,
    error,
    errorCode: row.error_code,
    reason: row.state === 'skipped' || row.state === 'cancelled' ? row.skip_reason : null,
    notBefore: row.state === 'scheduled' ? row.not_before : null,
  };
}

function toInboundMessage(m: PanelInbound): PanelMessage {
  const keyword = m.kind === 'opt_out' || m.kind === 'opt_in' || m.kind === 'help' ? m.kind : null;
  return { id: m.id, direction: 'inbound', body: m.body, at: m.receivedAt, keyword, possibleOptOut: m.possibleOptOut };
}

/**
 * Reads for the panel: our database plus one (briefly cached) Pipedrive read of the deal and its person. Nothing
 * of a deal is read, shown or sent for a viewer Pipedrive does not let see it: to them it does not exist.
 */
export function createPanelService(deps: {
  database: Database;
  inbound: InboundStore;
  optOuts: OptOutList;
  senders: SenderDirectory;
  zones: RecipientZones;
  now: () => number;
  cacheMs?: number;
  permissionTtlMs?: number;
}) {
  const { db } = deps.database;
  const cacheMs = deps.cacheMs ?? 10_000;
  const access = createDealAccess({ now: deps.now, ...(deps.permissionTtlMs ? { ttlMs: deps.permissionTtlMs } : {}) });
  // A deal not found is not kept: it may be created (or made visible) a moment later.
  const reads = createTimedAnswers<{ deal: CrmDeal; person: CrmPerson | null } | null>({ now: deps.now, ttlMs: cacheMs, max: 5_000, keep: (read) => read !== null });

  async function load(viewer: Viewer, companyId: string, dealId: number, fresh = false) {
    if (!(await access.mayRead(viewer, companyId, dealId))) return null;
    // Per user: a read made with one user's own token shows what that user may see, never what another may. Panels
    // opened together (or an expired entry under load) share one Pipedrive read.
    return reads.get(
      `${companyId}:${viewer.userId}:${dealId}`,
      async () => {
        const deal = await viewer.crm.getDeal(dealId);
        if (!deal) return null;
        return { deal, person: deal.personId ? await viewer.crm.getPerson(deal.personId) : null };
      },
      { fresh },
    );
  }

  async function consentOf(company: CompanyProfile, person: CrmPerson | null) {
    const sender = deps.senders.forCompany(company);
    const phone = person ? resolveDefaultPhone(person.phones) : null;
    const e164 = phone?.ok ? phone.e164 : null;
    const optedOut = e164 ? await deps.optOuts.isOptedOut(company.id, sender?.key ?? null, e164) : false;
    const field = person ? consentFromPerson(person, company) : 'none';
    const consent: Consent = optedOut ? 'opted_out' : field;
    return { sender, phone, e164, optedOut, field, consent };
  }

  return {
    /** Null when the deal does not exist or the viewer may not see it (the same answer, on purpose). */
    async view(viewer: Viewer, company: CompanyProfile, dealId: number, limit: number): Promise<PanelView | null> {
      const loaded = await load(viewer, company.id, dealId);
      if (!loaded) return null;
      const { deal, person } = loaded;
      const { sender, phone, e164, optedOut, field, consent } = await consentOf(company, person);

      const [outbound, inbound, history, zones] = await Promise.all([
        db
          .selectFrom('outbound_messages')
          // Only what the panel shows: the full rows (templates, context) cost several times more to read.
          .select(['id', 'state', 'provider_status', 'skip_reason', 'error_message', 'error_code', 'body', 'sent_at', 'created_at', 'automation_name', 'not_before'])
          .where('company_id', '=', company.id)
          .where('deal_id', '=', dealId)
          .orderBy('created_at', 'desc')
          .limit(limit + 1)
          .execute(),
        deps.inbound.listForPanel(company.id, dealId, e164, limit + 1),
        e164
          ? db
              .selectFrom('consent_events')
              .select(['action', 'source', 'created_at', 'message'])
              .where('phone_e164', '=', e164)
              .where((eb) => (sender ? eb.or([eb('company_id', '=', company.id), eb('sender', '=', sender.key)]) : eb('company_id', '=', company.id)))
              .orderBy('created_at', 'desc')
              .limit(20)
              .execute()
          : Promise.resolve([]),
        e164 ? deps.zones.zonesOf(e164) : Promise.resolve([]),
      ]);
      const review = e164 ? await pendingReview(db, company.id, e164) : undefined;
      // The contact's review, when it is of this deal or of another the viewer may see too (it may be decided here).
      const reviewShown = review && (review.deal_id === null ? false : Number(review.deal_id) === dealId || (await access.mayRead(viewer, company.id, Number(review.deal_id))));
      const messages = [...outbound.map(toPanelMessage), ...inbound.map(toInboundMessage)].sort((a, b) =>
        a.at < b.at ? 1 : a.at > b.at ? -1 : 0,
      );

      let canSend: PanelView['canSend'] = { ok: true };
      if (!person) canSend = { ok: false, reason: 'no_person', message: CANNOT_SEND.no_person! };
      else if (!sender) canSend = { ok: false, reason: 'no_sender', message: CANNOT_SEND.no_sender! };
      else {
        const eligible = checkResolvedEligibility({ consent: field, optedOut, phone: phone! });
        if (!eligible.ok) canSend = { ok: false, reason: eligible.reason, message: CANNOT_SEND[eligible.reason]! };
      }

      return {
        deal: { id: deal.id, title: deal.title },
        person: person
          ? { id: person.id, name: person.name, phone: phone?.ok ? phone.raw : (person.phones.find((p) => p.primary)?.value ?? person.phones[0]?.value ?? null), e164 }
          : null,
        consent,
        consentHistory: history.map((h) => ({ action: h.action, source: h.source, at: h.created_at, message: h.message })),
        canSend,
        maxSegments: company.parsedSettings.maxSegments,
        sendingWindow: { quietHours: company.parsedSettings.quietHours, zones, companyZone: company.time_zone },
        messages: messages.slice(0, limit),
        more: messages.length > limit,
        review: reviewShown ? { id: review.id, body: review.body, receivedAt: review.received_at, dueBy: review.due_by } : null,
      };
    },

    /**
     * Queues a message typed in the panel. The same rules as automations apply (checked here for a clear answer,
     * and again by the worker at send time).
     */
    async queue(viewer: Viewer, company: CompanyProfile, dealId: number, text: string) {
      const loaded = await load(viewer, company.id, dealId, true);
      if (!loaded) return { ok: false as const, reason: 'no_deal', message: 'No such deal' };
      const { deal, person } = loaded;
      if (!person) return { ok: false as const, reason: 'no_person', message: CANNOT_SEND.no_person! };
      const { sender, field, optedOut, phone } = await consentOf(company, person);
      if (!sender) return { ok: false as const, reason: 'no_sender', message: CANNOT_SEND.no_sender! };
      const eligible = checkResolvedEligibility({ consent: field, optedOut, phone: phone! });
      if (!eligible.ok) return { ok: false as const, reason: eligible.reason, message: CANNOT_SEND[eligible.reason]! };
      const composed = composeMessage(text, { company: { name: company.name } }, { maxSegments: company.parsedSettings.maxSegments });
      if (!composed.ok) {
        return { ok: false as const, reason: composed.reason, message: composed.detail ?? SKIP_TEXT[composed.reason]!, segments: composed.segments };
      }
      const at = new Date(deps.now()).toISOString();
      const id = randomUUID();
      await enqueuePanelMessage(db, {
        id,
        companyId: company.id,
        createdBy: viewer.userId,
        dealId: deal.id,
        personId: person.id,
        template: text,
        context: JSON.stringify({ deal: { id: deal.id, title: deal.title, personId: person.id, ownerId: deal.ownerId, stageId: deal.stageId, pipelineId: deal.pipelineId } }),
        at,
      });
      return { ok: true as const, id, body: composed.body, segments: composed.segments, encoding: composed.encoding };
    },
  };
}

export type PanelService = ReturnType<typeof createPanelService>;
