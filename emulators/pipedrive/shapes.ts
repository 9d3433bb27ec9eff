// Records of the Pipedrive emulator as the API prints them: API v2 (what the SDK's v2 classes read) and API v1
// (fields, activity types, users, webhooks). Webhook payloads are in webhook-shapes.ts.
import type { PdCompany, PdUser, PdPerson, PdDeal, PdPipeline, PdStage, PdPersonField, PdActivityType, PdActivity, PdWebhook } from './records.js';

/** RFC 3339 without milliseconds, as API v2 and webhook v2 `data` print times. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `YYYY-MM-DD HH:MM:SS` UTC, the API v1 timestamp format. */
export function v1Time(iso: string | null): string | null {
  if (iso === null) return null;
  return iso.replace('T', ' ').replace(/(\.\d+)?Z$/, '');
}

export function personV2(p: PdPerson, fields: PdPersonField[], only?: string[]): Record<string, unknown> {
  const custom: Record<string, unknown> = {};
  for (const f of fields) {
    if (!f.isCustom) continue;
    if (only && !only.includes(f.key)) continue;
    custom[f.key] = p.custom_fields[f.key] ?? null;
  }
  return {
    id: p.id,
    name: p.name,
    first_name: p.first_name,
    last_name: p.last_name,
    owner_id: p.owner_id,
    org_id: p.org_id,
    add_time: p.add_time,
    update_time: p.update_time,
    emails: p.emails.map((e) => ({ ...e })),
    phones: p.phones.map((e) => ({ ...e })),
    is_deleted: false,
    visible_to: p.visible_to,
    label_ids: [...p.label_ids],
    picture_id: null,
    custom_fields: custom,
  };
}

export function dealV2(d: PdDeal): Record<string, unknown> {
  return {
    id: d.id,
    title: d.title,
    owner_id: d.owner_id,
    person_id: d.person_id,
    org_id: d.org_id,
    pipeline_id: d.pipeline_id,
    stage_id: d.stage_id,
    value: d.value,
    currency: d.currency,
    add_time: d.add_time,
    update_time: d.update_time,
    stage_change_time: d.stage_change_time,
    is_deleted: d.status === 'deleted',
    is_archived: false,
    status: d.status,
    probability: d.probability,
    lost_reason: d.lost_reason,
    visible_to: d.visible_to,
    close_time: d.close_time,
    won_time: d.won_time,
    lost_time: d.lost_time,
    expected_close_date: d.expected_close_date,
    label_ids: [...d.label_ids],
    origin: 'ManuallyCreated',
    origin_id: null,
    channel: null,
    channel_id: null,
    custom_fields: { ...d.custom_fields },
  };
}

export function pipelineV2(p: PdPipeline): Record<string, unknown> {
  return {
    id: p.id,
    name: p.name,
    order_nr: p.order_nr,
    is_deleted: false,
    is_deal_probability_enabled: p.is_deal_probability_enabled,
    add_time: p.add_time,
    update_time: p.update_time,
  };
}

export function stageV2(s: PdStage): Record<string, unknown> {
  return {
    id: s.id,
    order_nr: s.order_nr,
    name: s.name,
    is_deleted: false,
    deal_probability: s.deal_probability,
    pipeline_id: s.pipeline_id,
    is_deal_rot_enabled: false,
    days_to_rotten: null,
    add_time: s.add_time,
    update_time: s.update_time,
  };
}

/** API v2 activity. Reading answers participants with `primary_flag` although writing takes `primary`. */
export function activityV2(a: PdActivity): Record<string, unknown> {
  return {
    id: a.id,
    subject: a.subject,
    type: a.type,
    owner_id: a.owner_id,
    creator_user_id: a.creator_user_id,
    is_deleted: false,
    add_time: a.add_time,
    update_time: a.update_time,
    deal_id: a.deal_id,
    lead_id: a.lead_id,
    person_id: a.person_id,
    org_id: a.org_id,
    project_id: a.project_id,
    due_date: a.due_date,
    due_time: a.due_time,
    duration: a.duration,
    busy: a.busy,
    done: a.done,
    marked_as_done_time: a.marked_as_done_time,
    location: null,
    participants: a.participants.map((p) => ({ person_id: p.person_id, primary_flag: p.primary })),
    attendees: [],
    conference_meeting_client: null,
    conference_meeting_url: null,
    conference_meeting_id: null,
    public_description: a.public_description,
    priority: a.priority,
    note: a.note,
  };
}

export function personFieldV1(f: PdPersonField, orderNr: number): Record<string, unknown> {
  return {
    id: f.id,
    key: f.key,
    name: f.name,
    order_nr: orderNr,
    field_type: f.field_type,
    json_column_flag: f.isCustom,
    add_time: v1Time(f.add_time),
    update_time: v1Time(f.update_time),
    last_updated_by_user_id: f.created_by_user_id,
    created_by_user_id: f.created_by_user_id,
    active_flag: true,
    edit_flag: f.isCustom,
    index_visible_flag: true,
    details_visible_flag: true,
    add_visible_flag: f.add_visible_flag,
    important_flag: false,
    bulk_edit_allowed: true,
    searchable_flag: f.isCustom ? false : true,
    filtering_allowed: true,
    sortable_flag: true,
    mandatory_flag: false,
    options: f.options ? f.options.map((o) => ({ id: o.id, label: o.label })) : null,
  };
}

export function activityTypeV1(t: PdActivityType): Record<string, unknown> {
  return {
    id: t.id,
    order_nr: t.order_nr,
    name: t.name,
    key_string: t.key_string,
    icon_key: t.icon_key,
    active_flag: t.active_flag,
    color: t.color,
    is_custom_flag: t.is_custom_flag,
    add_time: v1Time(t.add_time),
    update_time: v1Time(t.update_time),
  };
}

export function webhookV1(w: PdWebhook): Record<string, unknown> {
  return {
    id: w.id,
    company_id: w.companyId,
    owner_id: w.owner_id,
    user_id: w.user_id,
    event_action: w.event_action,
    event_object: w.event_object,
    subscription_url: w.subscription_url,
    version: w.version,
    is_active: w.is_active,
    add_time: w.add_time,
    remove_time: null,
    type: w.type,
    http_auth_user: w.http_auth_user,
    http_auth_password: w.http_auth_password,
    remove_reason: null,
    last_delivery_time: w.last_delivery_time,
    last_http_status: w.last_http_status,
    admin_id: w.owner_id,
    name: w.name,
  };
}

export function userV1(u: PdUser, company: PdCompany, isYou: boolean): Record<string, unknown> {
  return {
    id: u.id,
    name: u.name,
    default_currency: 'USD',
    locale: u.locale,
    lang: 1,
    email: u.email,
    phone: null,
    activated: true,
    last_login: v1Time(u.created),
    created: v1Time(u.created),
    modified: v1Time(u.created),
    has_created_company: u.isAdmin,
    // users/me answers 0/1 here (docs: marketplace-getting-user-data), not a boolean.
    is_admin: u.isAdmin ? 1 : 0,
    access: [{ app: 'sales', admin: u.isAdmin, permission_set_id: u.isAdmin ? 'admin-set' : 'regular-set' }],
    active_flag: true,
    timezone_name: u.timezoneName,
    timezone_offset: utcOffsetOf(u.timezoneName),
    role_id: 1,
    icon_url: null,
    is_you: isYou,
    is_deleted: false,
    company_id: company.id,
  };
}

export function currentUserV1(u: PdUser, company: PdCompany): Record<string, unknown> {
  return {
    ...userV1(u, company, true),
    company_id: company.id,
    company_name: company.name,
    company_domain: company.domain,
    company_country: 'US',
    company_industry: null,
    language: { language_code: 'en', country_code: 'US' },
  };
}

/** The zone's offset from UTC now, as Pipedrive writes it: "+02:00", "-05:00", "+00:00". */
function utcOffsetOf(zone: string): string {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    .formatToParts(Date.now())
    .find((p) => p.type === 'timeZoneName')?.value;
  // "GMT+02:00", or plain "GMT" for UTC itself.
  return name && name.length > 3 ? name.slice(3) : '+00:00';
}
