// Seeding the Pipedrive emulator with plain calls (no HTTP): companies with Pipedrive's defaults, users, persons,
// pipelines and stages, deals, person fields, activity types and webhooks.
import { randomHex } from '../http.js';
import type { PdActivityType, PdCompany, PdDeal, PdPerson, PdPersonField, PdPipeline, PdStage, PdUser, PdWebhook } from './records.js';
import { contactEntries } from './internals.js';
import { PipedriveStore } from './store.js';

export type RecordsSnapshot = { persons: PdPerson[]; deals: PdDeal[] };

export class PipedriveSeed extends PipedriveStore {
  /**
   * Adds a company; by default with Pipedrive's default pipeline, stages, activity types and person fields.
   * `withDefaults: false` gives a bare company; `defaultPipeline: false` keeps the other defaults but leaves out the
   * default pipeline, for seeds that bring their own.
   */
  addCompany(input: { id?: number; name: string; domain?: string; withDefaults?: boolean; defaultPipeline?: boolean }): PdCompany {
    const id = this.takeId('company', input.id);
    const company: PdCompany = {
      id,
      name: input.name,
      domain: input.domain ?? (input.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || `company${id}`),
    };
    this.companyMap.set(id, company);
    if (input.withDefaults !== false) this.seedDefaults(id, input.defaultPipeline !== false);
    return { ...company };
  }


  addUser(input: { id?: number; companyId: number; name: string; email?: string; isAdmin: boolean; locale?: string }): PdUser {
    this.requireCompany(input.companyId);
    const id = this.takeId('user', input.id);
    const user: PdUser = {
      id,
      companyId: input.companyId,
      name: input.name,
      email: input.email ?? `${input.name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@example.com`,
      isAdmin: input.isAdmin,
      locale: input.locale ?? 'en_US',
      timezoneName: 'UTC',
      created: this.isoNow(),
    };
    this.userMap.set(`${input.companyId}:${id}`, user);
    return { ...user };
  }


  addPerson(
    companyId: number,
    input: {
      id?: number;
      name?: string;
      first_name?: string | null;
      last_name?: string | null;
      owner_id?: number;
      org_id?: number | null;
      /** `[{value, primary?, label?}]` or plain strings (the first becomes primary). */
      phones?: Array<string | { value: string; primary?: boolean; label?: string }>;
      emails?: Array<string | { value: string; primary?: boolean; label?: string }>;
      custom_fields?: Record<string, unknown>;
      notes?: string | null;
    },
  ): PdPerson {
    this.requireCompany(companyId);
    const first = input.first_name ?? (input.name ? input.name.split(' ')[0] ?? null : null);
    const last = input.last_name ?? (input.name && input.name.includes(' ') ? input.name.split(' ').slice(1).join(' ') : null);
    const now = this.isoNow();
    const person: PdPerson = {
      id: this.takeId('person', input.id),
      companyId,
      name: input.name ?? [first, last].filter(Boolean).join(' '),
      first_name: first,
      last_name: last,
      owner_id: input.owner_id ?? this.defaultUserId(companyId),
      org_id: input.org_id ?? null,
      phones: contactEntries(input.phones, 'mobile'),
      emails: contactEntries(input.emails, 'work'),
      custom_fields: { ...(input.custom_fields ?? {}) },
      notes: input.notes ?? null,
      visible_to: 3,
      label_ids: [],
      add_time: now,
      update_time: now,
    };
    this.personMap.set(person.id, person);
    return structuredClone(person);
  }


  addPipeline(companyId: number, input: { id?: number; name: string }): PdPipeline {
    this.requireCompany(companyId);
    // Ids are unique in Pipedrive: reusing one would silently replace a pipeline and orphan its stages.
    if (input.id !== undefined && this.pipelineMap.has(input.id)) throw new Error(`pipeline ${input.id} already exists`);
    const now = this.isoNow();
    const pipeline: PdPipeline = {
      id: this.takeId('pipeline', input.id),
      companyId,
      name: input.name,
      order_nr: [...this.pipelineMap.values()].filter((p) => p.companyId === companyId).length + 1,
      is_deal_probability_enabled: false,
      add_time: now,
      update_time: now,
    };
    this.pipelineMap.set(pipeline.id, pipeline);
    return { ...pipeline };
  }


  addStage(companyId: number, input: { id?: number; pipeline_id: number; name: string; order_nr?: number }): PdStage {
    const pipeline = this.pipelineMap.get(input.pipeline_id);
    if (!pipeline || pipeline.companyId !== companyId) throw new Error(`pipeline ${input.pipeline_id} is not in company ${companyId}`);
    if (input.id !== undefined && this.stageMap.has(input.id)) throw new Error(`stage ${input.id} already exists`);
    const now = this.isoNow();
    const stage: PdStage = {
      id: this.takeId('stage', input.id),
      companyId,
      pipeline_id: input.pipeline_id,
      name: input.name,
      order_nr: input.order_nr ?? [...this.stageMap.values()].filter((s) => s.pipeline_id === input.pipeline_id).length + 1,
      deal_probability: 100,
      add_time: now,
      update_time: now,
    };
    this.stageMap.set(stage.id, stage);
    return { ...stage };
  }


  addDeal(
    companyId: number,
    input: {
      id?: number;
      title: string;
      person_id?: number | null;
      org_id?: number | null;
      /** Default: the first stage of the company's first pipeline. */
      stage_id?: number;
      owner_id?: number;
      /** Alias of owner_id (the v1 name). */
      user_id?: number;
      status?: PdDeal['status'];
      value?: number;
      currency?: string;
      custom_fields?: Record<string, unknown>;
    },
  ): PdDeal {
    this.requireCompany(companyId);
    const stage = input.stage_id !== undefined ? this.stageMap.get(input.stage_id) : this.firstStage(companyId);
    if (!stage || stage.companyId !== companyId) throw new Error(`stage ${String(input.stage_id)} is not in company ${companyId}`);
    const owner = input.owner_id ?? input.user_id ?? this.defaultUserId(companyId);
    const now = this.isoNow();
    const deal: PdDeal = {
      id: this.takeId('deal', input.id),
      companyId,
      title: input.title,
      person_id: input.person_id ?? null,
      org_id: input.org_id ?? null,
      stage_id: stage.id,
      pipeline_id: stage.pipeline_id,
      owner_id: owner,
      creator_user_id: owner,
      status: input.status ?? 'open',
      value: input.value ?? 0,
      currency: input.currency ?? 'USD',
      custom_fields: { ...(input.custom_fields ?? {}) },
      probability: null,
      lost_reason: null,
      visible_to: 3,
      expected_close_date: null,
      label_ids: [],
      add_time: now,
      update_time: now,
      stage_change_time: null,
      close_time: null,
      won_time: null,
      lost_time: null,
    };
    this.dealMap.set(deal.id, deal);
    return structuredClone(deal);
  }

  /** Pre-seeds a person field (e.g. an "SMS consent" field an earlier install created). */
  addPersonField(
    companyId: number,
    input: { name: string; field_type?: string; options?: Array<string | { id?: number; label: string }>; key?: string; createdBy?: number },
  ): PdPersonField {
    this.requireCompany(companyId);
    return structuredClone(this.createPersonField(companyId, {
      name: input.name,
      field_type: input.field_type ?? 'enum',
      options: input.options?.map((o) => (typeof o === 'string' ? { label: o } : o)) ?? null,
      key: input.key,
      createdBy: input.createdBy ?? null,
      addVisible: true,
    }));
  }


  addActivityType(companyId: number, input: { name: string; icon_key?: string; color?: string | null; key_string?: string }): PdActivityType {
    this.requireCompany(companyId);
    return { ...this.createActivityType(companyId, input.name, input.icon_key ?? 'task', input.color ?? null, true, input.key_string) };
  }

  /** Pre-seeds a webhook as if the app had created it through the API. */
  addWebhook(
    companyId: number,
    input: {
      userId?: number;
      subscription_url: string;
      event_action?: string;
      event_object?: string;
      http_auth_user?: string | null;
      http_auth_password?: string | null;
      version?: '1.0' | '2.0';
      name?: string;
    },
  ): PdWebhook {
    this.requireCompany(companyId);
    const userId = input.userId ?? this.defaultUserId(companyId);
    const webhook: PdWebhook = {
      id: this.takeId('webhook'),
      companyId,
      owner_id: userId,
      user_id: userId,
      event_action: input.event_action ?? '*',
      event_object: input.event_object ?? '*',
      subscription_url: input.subscription_url,
      version: input.version ?? '2.0',
      is_active: 1,
      add_time: this.isoNow(),
      type: 'application',
      http_auth_user: input.http_auth_user ?? null,
      http_auth_password: input.http_auth_password ?? null,
      last_delivery_time: null,
      last_http_status: null,
      name: input.name ?? 'webhook',
    };
    this.webhookMap.set(webhook.id, webhook);
    return { ...webhook };
  }


  /** A copy of a company's persons and deals, to put back later with `restoreRecords`. */
  snapshotRecords(companyId: number): RecordsSnapshot {
    this.requireCompany(companyId);
    return { persons: this.persons(companyId), deals: this.deals(companyId) };
  }

  /**
   * Puts a company's persons and deals back as `snapshotRecords` copied them (others of the company are removed) and
   * removes its activities, as a restored backup would: no webhook fires, since no user changed anything. The sandbox's
   * "Reset the demo" uses it; fields, users, pipelines, webhooks and tokens are left as they are.
   */
  restoreRecords(companyId: number, snapshot: RecordsSnapshot): void {
    this.requireCompany(companyId);
    for (const [map, records] of [[this.personMap, snapshot.persons], [this.dealMap, snapshot.deals]] as const) {
      for (const record of [...map.values()]) if (record.companyId === companyId) map.delete(record.id);
      for (const record of records) (map as Map<number, PdPerson | PdDeal>).set(record.id, structuredClone(record));
    }
    for (const activity of [...this.activityMap.values()]) if (activity.companyId === companyId) this.activityMap.delete(activity.id);
  }


  protected seedDefaults(companyId: number, withPipeline: boolean): void {
    if (withPipeline) {
      const pipeline = this.addPipeline(companyId, { name: 'Pipeline' });
      for (const name of ['Qualified', 'Contact Made', 'Demo Scheduled', 'Proposal Made', 'Negotiations Started']) {
        this.addStage(companyId, { pipeline_id: pipeline.id, name });
      }
    }
    for (const [name, icon] of [['Call', 'call'], ['Meeting', 'meeting'], ['Task', 'task'], ['Deadline', 'deadline'], ['Email', 'email'], ['Lunch', 'lunch']] as const) {
      this.createActivityType(companyId, name, icon, null, false);
    }
    for (const [key, name, type] of [['name', 'Name', 'varchar'], ['phone', 'Phone', 'phone'], ['email', 'Email', 'varchar'], ['owner_id', 'Owner', 'user'], ['org_id', 'Organization', 'org']] as const) {
      const now = this.isoNow();
      const field: PdPersonField = {
        id: this.takeId('field'), companyId, key, name, field_type: type, options: null, isCustom: false,
        add_visible_flag: true, created_by_user_id: null, add_time: now, update_time: now,
      };
      this.fieldMap.set(field.id, field);
    }
  }


  protected createPersonField(
    companyId: number,
    input: { name: string; field_type: string; options: Array<{ id?: number; label: string }> | null; key?: string | undefined; createdBy: number | null; addVisible: boolean },
  ): PdPersonField {
    const now = this.isoNow();
    const field: PdPersonField = {
      id: this.takeId('field'),
      companyId,
      key: input.key ?? randomHex(20),
      name: input.name,
      field_type: input.field_type,
      options: input.options ? input.options.map((o) => ({ id: this.takeId('option', o.id), label: o.label })) : null,
      isCustom: true,
      add_visible_flag: input.addVisible,
      created_by_user_id: input.createdBy,
      add_time: now,
      update_time: now,
    };
    this.fieldMap.set(field.id, field);
    return field;
  }


  protected createActivityType(companyId: number, name: string, icon: string, color: string | null, custom: boolean, keyString?: string): PdActivityType {
    const existing = new Set(this.activityTypes(companyId).map((t) => t.key_string));
    // "generated by the API based on the given name": "Video call" → "video_call".
    const base = keyString ?? (name.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'activity');
    let key = base;
    for (let n = 2; existing.has(key); n += 1) key = `${base}_${n}`;
    const now = this.isoNow();
    const type: PdActivityType = {
      id: this.takeId('type'),
      companyId,
      name,
      key_string: key,
      icon_key: icon,
      color,
      order_nr: existing.size + 1,
      is_custom_flag: custom,
      active_flag: true,
      add_time: now,
      update_time: now,
    };
    this.typeMap.set(type.id, type);
    return type;
  }
}
