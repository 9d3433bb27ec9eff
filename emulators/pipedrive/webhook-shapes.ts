// Records of the Pipedrive emulator as webhooks print them: webhook v2 (typed custom fields, string `visible_to`)
// and webhook v1 (flat custom fields, `phone`/`email`).
import type { PdPerson, PdDeal, PdPersonField } from './records.js';
import { v1Time } from './shapes.js';

/**
 * Custom field values as webhooks v2 print them, which differs from API v2: single option
 * `{"id":17,"type":"enum"}`, multiple `{"values":[{"id":13}],"type":"set"}`, text `{"type":"varchar","value":…}`.
 */
export function webhookCustomFields(
  values: Record<string, unknown>,
  fields: PdPersonField[] | null,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === undefined) continue;
    const type = fields?.find((f) => f.key === key)?.field_type ?? inferType(value);
    if (typeof value === 'object' && !Array.isArray(value)) out[key] = value;
    else if (type === 'enum') out[key] = { id: value, type: 'enum' };
    else if (type === 'set') {
      const ids = Array.isArray(value) ? (value as unknown[]) : [value];
      out[key] = { values: ids.map((id) => ({ id })), type: 'set' };
    } else out[key] = { type, value };
  }
  return out;
}

function inferType(value: unknown): string {
  if (typeof value === 'number') return 'double';
  if (Array.isArray(value)) return 'set';
  return 'varchar';
}

export function personWebhookV2(p: PdPerson, fields: PdPersonField[]): Record<string, unknown> {
  return {
    add_time: p.add_time,
    custom_fields: webhookCustomFields(p.custom_fields, fields),
    emails: p.emails.map((e) => ({ ...e })),
    first_name: p.first_name,
    id: p.id,
    label: null,
    label_ids: [...p.label_ids],
    last_name: p.last_name,
    name: p.name,
    org_id: p.org_id,
    owner_id: p.owner_id,
    phones: p.phones.map((e) => ({ ...e })),
    update_time: p.update_time,
    visible_to: String(p.visible_to),
  };
}

export function dealWebhookV2(d: PdDeal): Record<string, unknown> {
  return {
    add_time: d.add_time,
    channel: null,
    channel_id: null,
    close_time: d.close_time,
    creator_user_id: d.creator_user_id,
    currency: d.currency,
    custom_fields: webhookCustomFields(d.custom_fields, null),
    expected_close_date: d.expected_close_date,
    first_won_time: d.won_time,
    id: d.id,
    is_archived: false,
    label_ids: [...d.label_ids],
    lost_reason: d.lost_reason,
    lost_time: d.lost_time,
    org_id: d.org_id,
    origin: 'ManuallyCreated',
    origin_id: null,
    owner_id: d.owner_id,
    person_id: d.person_id,
    pipeline_id: d.pipeline_id,
    probability: d.probability,
    stage_change_time: d.stage_change_time,
    stage_id: d.stage_id,
    status: d.status,
    title: d.title,
    update_time: d.update_time,
    value: d.value,
    visible_to: String(d.visible_to),
    won_time: d.won_time,
  };
}

/** Custom fields flattened at the root with v1 values: enum → option id as a string, set → "1,2". */
function v1CustomFields(values: Record<string, unknown>, fields: PdPersonField[] | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const type = fields?.find((f) => f.key === key)?.field_type;
    if (value === null || value === undefined) out[key] = null;
    else if (type === 'enum') out[key] = String(value);
    else if (Array.isArray(value)) out[key] = value.join(',');
    else out[key] = value;
  }
  return out;
}

export function personV1(p: PdPerson, fields: PdPersonField[]): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  for (const f of fields) if (f.isCustom) flat[f.key] = null;
  return {
    id: p.id,
    company_id: p.companyId,
    owner_id: p.owner_id,
    org_id: p.org_id,
    name: p.name,
    first_name: p.first_name,
    last_name: p.last_name,
    phone: p.phones.map((e) => ({ ...e })),
    email: p.emails.map((e) => ({ ...e })),
    add_time: v1Time(p.add_time),
    update_time: v1Time(p.update_time),
    visible_to: String(p.visible_to),
    active_flag: true,
    ...flat,
    ...v1CustomFields(p.custom_fields, fields),
  };
}

export function dealV1(d: PdDeal): Record<string, unknown> {
  return {
    id: d.id,
    creator_user_id: d.creator_user_id,
    user_id: d.owner_id,
    person_id: d.person_id,
    org_id: d.org_id,
    stage_id: d.stage_id,
    pipeline_id: d.pipeline_id,
    title: d.title,
    value: d.value,
    currency: d.currency,
    add_time: v1Time(d.add_time),
    update_time: v1Time(d.update_time),
    stage_change_time: v1Time(d.stage_change_time),
    active: d.status === 'open',
    deleted: d.status === 'deleted',
    status: d.status,
    probability: d.probability,
    lost_reason: d.lost_reason,
    visible_to: String(d.visible_to),
    close_time: v1Time(d.close_time),
    won_time: v1Time(d.won_time),
    lost_time: v1Time(d.lost_time),
    expected_close_date: d.expected_close_date,
    ...v1CustomFields(d.custom_fields, null),
  };
}

/**
 * The fields of `before` whose value differs in `after`, holding the old value: webhooks v2 `previous`
 * carries only what changed. Custom fields are compared key by key; a key that was empty appears as null.
 */
export function changedFields(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[key];
    const b = after[key];
    if (key === 'custom_fields' && isPlainObject(a) && isPlainObject(b)) {
      const cf: Record<string, unknown> = {};
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null)) cf[k] = a[k] ?? null;
      }
      if (Object.keys(cf).length > 0) out[key] = cf;
    } else if (JSON.stringify(a ?? null) !== JSON.stringify(b ?? null)) {
      out[key] = a ?? null;
    }
  }
  return Object.keys(out).length > 0 ? out : null;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
