import { z } from 'zod';

/**
 * A Pipedrive deal webhook reduced to what automations need. v2 payloads are the norm (`previous` holds only changed
 * fields); v1 payloads are accepted as a fallback shape. Recorded deliveries send the ids of `meta` as strings or
 * numbers (and `timestamp` as ISO text or epoch seconds): the ids the app uses are normalised here, once, and every
 * field it does not use (the timestamp, the user, the entity id among them) is ignored whatever its form, so a
 * delivery Pipedrive considers valid is never refused (a refusal makes it retry and the text is lost).
 */
export type DealEvent = {
  /**
   * Pipedrive's event id as text. A numeric id and the same digits as a string are one event: both are how
   * Pipedrive writes that id, and a retry must be recognised whichever form it comes in.
   */
  eventId: string;
  companyId: string;
  entity: string;
  action: 'create' | 'change' | 'delete' | string;
  attempt: number;
  dealId: number | null;
  /** What moved the automation: a created deal in a stage, or a stage change. Null when neither. */
  trigger: { event: 'deal.created' | 'deal.stage_entered'; stageId: number; pipelineId: number | null } | null;
  deal: DealSnapshot | null;
};

export type DealSnapshot = {
  id: number;
  title: string;
  personId: number | null;
  ownerId: number | null;
  stageId: number | null;
  pipelineId: number | null;
};

export type ParseResult = { ok: true; event: DealEvent } | { ok: false; message: string };

const wholeNumber = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const idLike = z.union([z.string().min(1).max(64), wholeNumber]).transform(String);
const eventIdLike = z.union([z.string().min(1).max(100), wholeNumber]).transform(String);
const attemptOf = z.unknown().transform((v) => {
  const n = typeof v === 'string' && /^\d{1,3}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 100 ? n : 1;
});
const versionOf = z.union([z.string().max(16), z.number()]).transform(String).optional();
// The deal object is read field by field below; validating every key of it (z.record) costs more than the rest of
// the request, so only its being a plain object is checked here.
const plainObject = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
  message: 'must be an object',
});

const v2Schema = z.object({
  meta: z.object({
    id: eventIdLike,
    action: z.string().min(1).max(32),
    entity: z.string().min(1).max(32),
    company_id: idLike,
    attempt: attemptOf.optional(),
    version: versionOf,
  }),
  data: plainObject.nullable().optional(),
  previous: plainObject.nullable().optional(),
});

const v1Schema = z.object({
  meta: z.object({
    action: z.string().min(1).max(32),
    object: z.string().min(1).max(32),
    company_id: idLike,
    id: z.union([z.number(), z.string()]).optional(),
    webhook_id: idLike.optional(),
    timestamp_micro: z.union([z.number(), z.string()]).optional(),
    timestamp: z.union([z.number(), z.string()]).optional(),
  }),
  current: plainObject.nullable().optional(),
  previous: plainObject.nullable().optional(),
  retry: z.number().int().min(0).optional(),
});

const V1_ACTIONS: Record<string, string> = { added: 'create', updated: 'change', merged: 'change', deleted: 'delete' };

export function parseDealWebhook(body: unknown): ParseResult {
  const v2 = v2Schema.safeParse(body);
  if (v2.success && (v2.data.meta.version === undefined || v2.data.meta.version.startsWith('2'))) {
    const { meta, data, previous } = v2.data;
    return ok({
      eventId: meta.id,
      companyId: meta.company_id,
      entity: meta.entity,
      action: meta.action,
      attempt: meta.attempt ?? 1,
      current: data ?? null,
      previous: previous ?? null,
      // v2 `previous` lists only what changed, so the presence of stage_id is the signal.
      stageChanged: hasOwn(previous, 'stage_id'),
    });
  }
  const v1 = v1Schema.safeParse(body);
  if (v1.success) {
    const { meta, current, previous, retry } = v1.data;
    const action = V1_ACTIONS[meta.action] ?? meta.action;
    const stamp = meta.timestamp_micro ?? meta.timestamp ?? '';
    return ok({
      // v1 has no event id; webhook + object + id + time identify one delivery across its retries.
      eventId: `v1:${meta.webhook_id ?? ''}:${meta.object}:${String(meta.id ?? current?.id ?? '')}:${String(stamp)}`,
      companyId: meta.company_id,
      entity: meta.object,
      action,
      attempt: (retry ?? 0) + 1,
      current: current ?? null,
      previous: previous ?? null,
      // v1 `previous` is the whole previous object: compare values.
      stageChanged: !!previous && !!current && num(previous.stage_id) !== num(current.stage_id),
    });
  }
  const issue = (v2.success ? null : v2.error.issues[0]) ?? null;
  return { ok: false, message: issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'not a Pipedrive webhook payload' };
}

function ok(input: {
  eventId: string;
  companyId: string;
  entity: string;
  action: string;
  attempt: number;
  current: Record<string, unknown> | null;
  previous: Record<string, unknown> | null;
  stageChanged: boolean;
}): ParseResult {
  const deal = input.entity === 'deal' && input.current ? toSnapshot(input.current) : null;
  let trigger: DealEvent['trigger'] = null;
  if (deal && deal.stageId !== null) {
    if (input.action === 'create') trigger = { event: 'deal.created', stageId: deal.stageId, pipelineId: deal.pipelineId };
    else if (input.action === 'change' && input.stageChanged && num(input.previous?.stage_id) !== deal.stageId) {
      trigger = { event: 'deal.stage_entered', stageId: deal.stageId, pipelineId: deal.pipelineId };
    }
  }
  return {
    ok: true,
    event: {
      eventId: input.eventId,
      companyId: input.companyId,
      entity: input.entity,
      action: input.action,
      attempt: input.attempt,
      dealId: deal?.id ?? null,
      trigger,
      deal,
    },
  };
}

function toSnapshot(d: Record<string, unknown>): DealSnapshot | null {
  const id = num(d.id);
  if (id === null) return null;
  return {
    id,
    title: typeof d.title === 'string' ? d.title : '',
    personId: idOf(d.person_id),
    ownerId: idOf(d.owner_id ?? d.user_id),
    stageId: num(d.stage_id),
    pipelineId: num(d.pipeline_id),
  };
}

const hasOwn = (o: Record<string, unknown> | null | undefined, k: string) => !!o && Object.prototype.hasOwnProperty.call(o, k);
const num = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null;
// v1 sends related objects as {id, name, value} in places; v2 sends the bare id.
const idOf = (v: unknown): number | null => (v && typeof v === 'object' ? num((v as Record<string, unknown>).value ?? (v as Record<string, unknown>).id) : num(v));
