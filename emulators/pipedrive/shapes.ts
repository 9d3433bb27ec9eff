// Record types of the Pipedrive emulator and their renderings on the wire. One record, several shapes:
// API v2 (what the SDK's v2 classes read), API v1 (fields, activity types, users, webhooks), webhook v2
// (typed custom fields, string `visible_to`) and webhook v1 (flat custom fields, `phone`/`email`).

export interface PdCompany {
  id: number;
  name: string;
  /** Subdomain: `acme` stands for `acme.pipedrive.com`. */
  domain: string;
}

export interface PdUser {
  id: number;
  companyId: number;
  name: string;
  email: string;
  isAdmin: boolean;
  locale: string;
  timezoneName: string;
  created: string;
}

export interface PdContactEntry {
  value: string;
  primary: boolean;
  label: string;
}

export interface PdPerson {
  id: number;
  companyId: number;
  name: string;
  first_name: string | null;
  last_name: string | null;
  owner_id: number;
  org_id: number | null;
  phones: PdContactEntry[];
  emails: PdContactEntry[];
  /** API-v2 values: enum → option id (number), set → number[], text → string. */
  custom_fields: Record<string, unknown>;
  notes: string | null;
  visible_to: number;
  label_ids: number[];
  add_time: string;
  update_time: string;
}

export interface PdDeal {
  id: number;
  companyId: number;
  title: string;
  person_id: number | null;
  org_id: number | null;
  stage_id: number;
  pipeline_id: number;
  owner_id: number;
  creator_user_id: number;
  status: 'open' | 'won' | 'lost' | 'deleted';
  value: number;
  currency: string;
  custom_fields: Record<string, unknown>;
  probability: number | null;
  lost_reason: string | null;
  visible_to: number;
  expected_close_date: string | null;
  label_ids: number[];
  add_time: string;
  update_time: string;
  stage_change_time: string | null;
  close_time: string | null;
  won_time: string | null;
  lost_time: string | null;
}

export interface PdPipeline {
  id: number;
  companyId: number;
  name: string;
  order_nr: number;
  is_deal_probability_enabled: boolean;
  add_time: string;
  update_time: string;
}

export interface PdStage {
  id: number;
  companyId: number;
  pipeline_id: number;
  name: string;
  order_nr: number;
  deal_probability: number;
  add_time: string;
  update_time: string;
}

export interface PdFieldOption {
  id: number;
  label: string;
}

export interface PdPersonField {
  id: number;
  companyId: number;
  /** 40-hex hash for custom fields, a plain name (`name`, `phone`) for the built-in ones. */
  key: string;
  name: string;
  field_type: string;
  options: PdFieldOption[] | null;
  isCustom: boolean;
  add_visible_flag: boolean;
  created_by_user_id: number | null;
  add_time: string;
  update_time: string;
}

export interface PdActivityType {
  id: number;
  companyId: number;
  name: string;
  key_string: string;
  icon_key: string;
  color: string | null;
  order_nr: number;
  is_custom_flag: boolean;
  active_flag: boolean;
  add_time: string;
  update_time: string;
}

export interface PdParticipant {
  person_id: number;
  primary: boolean;
}

export interface PdActivity {
  id: number;
  companyId: number;
  subject: string;
  type: string;
  owner_id: number;
  creator_user_id: number;
  deal_id: number | null;
  lead_id: string | null;
  person_id: number | null;
  org_id: number | null;
  project_id: number | null;
  due_date: string | null;
  due_time: string | null;
  duration: string | null;
  busy: boolean;
  done: boolean;
  marked_as_done_time: string | null;
  participants: PdParticipant[];
  public_description: string | null;
  priority: number | null;
  note: string | null;
  add_time: string;
  update_time: string;
}

export interface PdWebhook {
  id: number;
  companyId: number;
  owner_id: number;
  user_id: number;
  event_action: string;
  event_object: string;
  subscription_url: string;
  version: '1.0' | '2.0';
  is_active: 0 | 1;
  add_time: string;
  type: 'application' | 'general';
  http_auth_user: string | null;
  http_auth_password: string | null;
  last_delivery_time: string | null;
  last_http_status: number | null;
  name: string;
}

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
    timezone_offset: '+00:00',
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
