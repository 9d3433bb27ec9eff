/**
 * Pipedrive v2 deal webhooks as the benchmark sends them, shaped like the reference's Example A (a full deal in `data`)
 * and Example D (a stage change: `previous` holds only the changed fields). Ids in `meta` are strings, as in v2.
 */

export type WebhookKind =
  /** A stage change into the automation's stage: recorded and queues one outbox row. */
  | 'stage_match'
  /** A stage change into a stage no automation watches: recorded, nothing queued. */
  | 'stage_other'
  /** A title edit: `previous` has no stage_id, so no trigger. */
  | 'title_edit'
  /** A deal created in a stage no automation watches. */
  | 'created_other';

/** The ingest mix: one request in four queues an SMS. */
export const INGEST_MIX: readonly WebhookKind[] = ['stage_match', 'stage_other', 'title_edit', 'created_other'];

export type Scenario = {
  companyId: number;
  pipelineId: number;
  ownerId: number;
  /** The stage deals come from, the automation's stage, and a stage nobody watches. */
  fromStage: number;
  matchStage: number;
  otherStage: number;
};

export type WebhookInput = Scenario & {
  kind: WebhookKind;
  eventId: string;
  dealId: number | string;
  personId: number | string;
  title?: string;
  /** meta.entity_id; defaults to the deal id as a string. */
  entityId?: string;
};

const AT = '2026-01-12T10:15:30Z';

export function webhookPayload(input: WebhookInput): Record<string, unknown> {
  const { kind, eventId, dealId, personId } = input;
  const stageId = kind === 'stage_match' ? input.matchStage : kind === 'stage_other' ? input.otherStage : input.fromStage;
  const previous =
    kind === 'stage_match' || kind === 'stage_other'
      ? { stage_id: input.fromStage, stage_change_time: null, update_time: '2026-01-12T09:00:00Z' }
      : kind === 'title_edit'
        ? { title: 'Old title', update_time: '2026-01-12T09:00:00Z' }
        : null;
  return {
    data: {
      add_time: '2026-01-05T13:18:55Z',
      channel: null,
      channel_id: null,
      close_time: null,
      creator_user_id: input.ownerId,
      currency: 'USD',
      custom_fields: {
        '3d0fa3429dfa2d3dec265b4fc5dc8258ab66cdf3': {
          country: 'United States',
          formatted_address: 'San Francisco, CA, USA',
          locality: 'San Francisco',
          sublocality: '',
          type: 'address',
          subpremise: '',
          route: '',
          street_number: '',
          admin_area_level_1: 'California',
          admin_area_level_2: '',
          postal_code: '',
          value: 'San Francisco, CA, USA',
        },
      },
      expected_close_date: null,
      first_won_time: null,
      id: dealId,
      label_ids: [24, 25],
      lost_reason: null,
      lost_time: null,
      org_id: 1,
      origin: 'ManuallyCreated',
      origin_id: null,
      owner_id: input.ownerId,
      person_id: personId,
      pipeline_id: input.pipelineId,
      probability: null,
      stage_change_time: kind === 'stage_match' || kind === 'stage_other' ? AT : null,
      stage_id: stageId,
      status: 'open',
      title: input.title ?? 'Solar panels for a benchmark customer',
      update_time: AT,
      value: 12500,
      visible_to: '3',
      won_time: null,
    },
    previous,
    meta: {
      action: kind === 'created_other' ? 'create' : 'change',
      company_id: String(input.companyId),
      correlation_id: eventId,
      entity_id: input.entityId ?? String(dealId),
      entity: 'deal',
      id: eventId,
      is_bulk_edit: false,
      timestamp: '2026-01-12T10:15:30.724Z',
      type: 'application',
      user_id: String(input.ownerId),
      version: '2.0',
      webhook_id: '4710827',
      webhook_owner_id: String(input.ownerId),
      change_source: 'app',
      attempt: 1,
      host: 'acme-sandbox.pipedrive.com',
      permitted_user_ids: [String(input.ownerId)],
    },
  };
}

const UUID_SLOT = '@@UUID@@';
const DEAL_SLOT = '@@DEAL@@';
const DEAL_TEXT_SLOT = '@@DEALTEXT@@';

/**
 * The body as a template with two slots (the event id, a UUID, and the deal id), so the load generator can stamp
 * thousands of distinct bodies a second without serialising JSON on its hot path.
 */
export function webhookTemplate(scenario: Scenario, kind: WebhookKind): string[] {
  const payload = webhookPayload({ ...scenario, kind, eventId: UUID_SLOT, dealId: DEAL_SLOT, personId: DEAL_SLOT, entityId: DEAL_TEXT_SLOT });
  // Deal and person ids are numbers in `data` (the quotes go), a string in `meta.entity_id` (they stay).
  return JSON.stringify(payload).replaceAll(`"${DEAL_SLOT}"`, DEAL_SLOT).split(/(@@UUID@@|@@DEALTEXT@@|@@DEAL@@)/);
}

export function renderTemplate(parts: readonly string[], uuid: string, dealId: number): string {
  let out = '';
  for (const part of parts) out += part === UUID_SLOT ? uuid : part === DEAL_SLOT || part === DEAL_TEXT_SLOT ? String(dealId) : part;
  return out;
}
