import { ActivitiesApi, Configuration, DealsApi, PersonsApi, PipelinesApi, StagesApi } from 'pipedrive/v2';
import {
  ActivityTypesApi,
  Configuration as V1Configuration,
  DealsApi as V1DealsApi,
  PersonFieldsApi,
  UsersApi,
  WebhooksApi,
} from 'pipedrive/v1';
import { PipedriveApiError } from '../errors.js';
import { secondsSince, type Metrics } from '../metrics.js';
import { HttpFailure, installInterceptors } from './sdk-http.js';
import type {
  CrmActivityType,
  CrmDeal,
  CrmPerson,
  CrmPersonField,
  CrmPipeline,
  CrmPort,
  CrmUser,
  CrmWebhook,
} from './crm-port.js';

/** Where the access token comes from; refreshing and persisting is the token source's business. */
export type TokenSource = {
  accessToken(): Promise<string>;
  /** Called after a 401 with the token that was refused; refreshes at most once however many calls ask. */
  refreshAfterUnauthorized(refused: string): Promise<string>;
};

export type PipedriveClientOptions = {
  apiDomain: string;
  tokens: TokenSource;
  /** Retries of one call answered 429; the wait follows x-ratelimit-reset / Retry-After, else backs off. */
  maxRateLimitRetries?: number;
  maxRateLimitWaitMs?: number;
  timeoutMs?: number;
  /** Each call's duration and outcome (every attempt), 429s counted. */
  metrics?: Metrics;
};

export function createPipedriveClient(options: PipedriveClientOptions): CrmPort {
  // Only a run's first slash may start the match, so a long run of slashes costs linear time.
  const apiDomain = options.apiDomain.replace(/(?<!\/)\/+$/, '');
  const maxRetries = options.maxRateLimitRetries ?? 3;
  const maxWait = options.maxRateLimitWaitMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 15_000;

  // The SDK asks for the token on every request; the token source decides whether it must refresh first.
  let currentToken: string | null = null;
  const accessToken = async () => {
    currentToken = await options.tokens.accessToken();
    return currentToken;
  };
  const v2 = new Configuration({ accessToken, basePath: `${apiDomain}/api/v2` });
  // v1 calls need their own basePath: the v2 one would send them to /api/v2/…, which has no such routes.
  const v1 = new V1Configuration({ accessToken, basePath: `${apiDomain}/api/v1` });
  const persons = new PersonsApi(v2);
  const deals = new DealsApi(v2);
  const activities = new ActivitiesApi(v2);
  const pipelines = new PipelinesApi(v2);
  const stages = new StagesApi(v2);
  const users = new UsersApi(v1);
  const personFields = new PersonFieldsApi(v1);
  const activityTypes = new ActivityTypesApi(v1);
  const webhooks = new WebhooksApi(v1);
  // "List permitted users" exists on v1 only.
  const dealsV1 = new V1DealsApi(v1);
  for (const api of [persons, deals, activities, pipelines, stages, users, personFields, activityTypes, webhooks, dealsV1]) {
    installInterceptors(api, timeoutMs);
  }

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      const started = process.hrtime.bigint();
      try {
        const result = await fn();
        options.metrics?.vendorCall('pipedrive', what, 200, secondsSince(started));
        return result;
      } catch (error) {
        if (!(error instanceof HttpFailure)) throw error;
        options.metrics?.vendorCall('pipedrive', what, error.status, secondsSince(started));
        const refused = error.sentToken ?? currentToken;
        if (error.status === 401 && !refreshed && refused !== null) {
          refreshed = true;
          await options.tokens.refreshAfterUnauthorized(refused);
          continue;
        }
        const wait = error.status === 429 ? rateLimitWait(error.headers, attempt) : null;
        if (wait !== null && attempt < maxRetries && wait <= maxWait) {
          await sleep(wait);
          continue;
        }
        throw new PipedriveApiError(`Pipedrive ${what} failed (${error.status || 'network'}): ${error.message}`, error.status, wait);
      }
    }
  }

  async function orNull<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await call(what, fn);
    } catch (error) {
      if (error instanceof PipedriveApiError && (error.status === 404 || error.status === 410)) return null;
      throw error;
    }
  }

  /**
   * Pipedrive answers 403 (or 404) when this user's visibility settings hide the item: for the app that is the
   * same as an item that is not there.
   */
  async function visibleOrNull<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await orNull(what, fn);
    } catch (error) {
      if (error instanceof PipedriveApiError && error.status === 403) return null;
      throw error;
    }
  }

  return {
    async getCurrentUser() {
      const res = await call('users/me', () => users.getCurrentUser());
      return toUser(res.data);
    },
    async getUser(id) {
      const res = await orNull('get user', () => users.getUser({ id }));
      return res?.data ? toUser(res.data) : null;
    },
    async getPerson(id) {
      const res = await visibleOrNull('get person', () => persons.getPerson({ id }));
      return res?.data ? toPerson(res.data) : null;
    },
    async getDeal(id) {
      const res = await visibleOrNull('get deal', () => deals.getDeal({ id }));
      return res?.data ? toDeal(res.data) : null;
    },
    async getDealPermittedUsers(id) {
      const res = await visibleOrNull('list permitted users', () => dealsV1.getDealUsers({ id }));
      if (!res) return null;
      // The SDK types the answer as a bare envelope; `data` is the list of user ids.
      const data = (res as { data?: unknown }).data;
      const ids = Array.isArray(data) ? (data as unknown[]) : [];
      return ids.map(num).filter((v): v is number => v !== null);
    },
    async setPersonField(personId, fieldKey, value) {
      await call('update person', () =>
        persons.updatePerson({ id: personId, UpdatePersonRequest: { custom_fields: { [fieldKey]: value } } as never }),
      );
    },
    async addActivity(activity) {
      const request = {
        subject: activity.subject,
        type: activity.type,
        done: activity.done,
        ...(activity.dealId ? { deal_id: activity.dealId } : {}),
        // API v2 refuses person_id as read-only ("Add a primary participant to set 'person_id' instead").
        ...(activity.personId ? { participants: [{ person_id: activity.personId, primary: true }] } : {}),
        ...(activity.note !== undefined ? { note: activity.note } : {}),
      };
      const res = await call('add activity', () => activities.addActivity({ AddActivityRequest: request as never }));
      return { id: Number((res.data as { id?: number } | undefined)?.id) };
    },
    async searchPersonsByPhone(phone) {
      const res = await call('search persons', () =>
        persons.searchPersons({ term: phone, fields: 'phone', exact_match: false, limit: 20 }),
      );
      const items = (res.data?.items ?? []) as Array<{ item?: { id?: number; name?: string } }>;
      return items
        .map((i) => i.item)
        .filter((i): i is { id: number; name?: string } => typeof i?.id === 'number')
        .map((i) => ({ id: i.id, name: i.name ?? '' }));
    },
    async listPipelines() {
      // API v2 pages with a cursor; a company rarely has more than a page, but none is cut off when it does.
      const all = async (what: string, page: (cursor: string | undefined) => Promise<{ data?: unknown; additional_data?: unknown }>) => {
        const items: Loose[] = [];
        for (let cursor: string | undefined, pages = 0; pages < 50; pages++) {
          const res = await call(what, () => page(cursor));
          items.push(...((res.data ?? []) as Loose[]));
          cursor = str((res.additional_data as Loose | undefined)?.next_cursor) ?? undefined;
          if (!cursor) break;
        }
        return items.filter((i) => i.is_deleted !== true);
      };
      const [rawPipelines, rawStages] = await Promise.all([
        all('list pipelines', (cursor) => pipelines.getPipelines({ limit: 500, ...(cursor ? { cursor } : {}) })),
        all('list stages', (cursor) => stages.getStages({ limit: 500, sort_by: 'order_nr', ...(cursor ? { cursor } : {}) })),
      ]);
      const byOrder = (a: { order: number; id: number }, b: { order: number; id: number }) => a.order - b.order || a.id - b.id;
      const result: CrmPipeline[] = rawPipelines
        .map((p) => ({ id: Number(p.id), name: str(p.name) ?? '', order: num(p.order_nr) ?? 0, stages: [] as CrmPipeline['stages'] }))
        .sort(byOrder);
      const index = new Map(result.map((p) => [p.id, p]));
      for (const s of rawStages) {
        index.get(Number(s.pipeline_id))?.stages.push({ id: Number(s.id), name: str(s.name) ?? '', order: num(s.order_nr) ?? 0 });
      }
      for (const p of result) p.stages.sort(byOrder);
      return result;
    },
    async listPersonFields() {
      const fields: CrmPersonField[] = [];
      for (let start = 0; ; ) {
        const res = await call('list person fields', () => personFields.getPersonFields({ start, limit: 500 }));
        for (const f of (res.data ?? []) as unknown[]) fields.push(toPersonField(f));
        const pagination = (res as { additional_data?: { pagination?: { more_items_in_collection?: boolean; next_start?: number } } })
          .additional_data?.pagination;
        if (!pagination?.more_items_in_collection || pagination.next_start === undefined) return fields;
        start = pagination.next_start;
      }
    },
    async addPersonField(field) {
      const res = await call('add person field', () =>
        personFields.addPersonField({
          CreateFieldRequest: {
            name: field.name,
            field_type: 'enum',
            options: field.options.map((label) => ({ label })),
            add_visible_flag: true,
          } as never,
        }),
      );
      return toPersonField(res.data);
    },
    async listActivityTypes() {
      const res = await call('list activity types', () => activityTypes.getActivityTypes());
      return ((res.data ?? []) as unknown[]).map(toActivityType);
    },
    async addActivityType(type) {
      const res = await call('add activity type', () =>
        activityTypes.addActivityType({ AddActivityTypeRequest: { name: type.name, icon_key: type.iconKey } as never }),
      );
      return toActivityType(res.data);
    },
    async listWebhooks() {
      const res = await call('list webhooks', () => webhooks.getWebhooks());
      return ((res.data ?? []) as unknown[]).map(toWebhook);
    },
    async addWebhook(webhook) {
      const res = await call('add webhook', () =>
        webhooks.addWebhook({
          AddWebhookRequest: {
            name: webhook.name,
            subscription_url: webhook.subscriptionUrl,
            event_object: webhook.eventObject,
            event_action: webhook.eventAction,
            http_auth_user: webhook.httpAuthUser,
            http_auth_password: webhook.httpAuthPassword,
            version: '2.0',
            ...(webhook.userId ? { user_id: webhook.userId } : {}),
          } as never,
        }),
      );
      return toWebhook(res.data);
    },
    async deleteWebhook(id) {
      await orNull('delete webhook', () => webhooks.deleteWebhook({ id }));
    },
  };
}

function rateLimitWait(headers: Record<string, string>, attempt: number): number {
  const reset = Number(headers['x-ratelimit-reset'] ?? headers['retry-after']);
  const base = Number.isFinite(reset) && reset >= 0 ? reset * 1000 : 500 * 2 ** attempt;
  // Jitter keeps many workers of one company from retrying in lock-step.
  return Math.round(base + Math.random() * 250);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Loose = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' && !Number.isNaN(Number(v)) ? Number(v) : null);
const idOf = (v: unknown): number | null => (v && typeof v === 'object' ? num((v as Loose).id ?? (v as Loose).value) : num(v));

function toUser(raw: unknown): CrmUser {
  const u = (raw ?? {}) as Loose;
  return {
    id: Number(u.id),
    name: str(u.name) ?? '',
    email: str(u.email),
    companyId: Number(u.company_id),
    companyName: str(u.company_name) ?? '',
    companyDomain: str(u.company_domain),
    isAdmin: u.is_admin === true || u.is_admin === 1,
    timeZone: str(u.timezone_name),
  };
}

function toPerson(raw: unknown): CrmPerson {
  const p = (raw ?? {}) as Loose;
  const phones = Array.isArray(p.phones) ? (p.phones as Loose[]) : Array.isArray(p.phone) ? (p.phone as Loose[]) : [];
  return {
    id: Number(p.id),
    name: str(p.name) ?? '',
    firstName: str(p.first_name),
    lastName: str(p.last_name),
    ownerId: idOf(p.owner_id),
    phones: phones.map((ph) => ({ value: str(ph.value) ?? '', primary: ph.primary === true, label: str(ph.label) })),
    customFields: (p.custom_fields && typeof p.custom_fields === 'object' ? p.custom_fields : {}) as Record<string, unknown>,
  };
}

function toDeal(raw: unknown): CrmDeal {
  const d = (raw ?? {}) as Loose;
  return {
    id: Number(d.id),
    title: str(d.title) ?? '',
    personId: idOf(d.person_id),
    stageId: num(d.stage_id),
    pipelineId: num(d.pipeline_id),
    ownerId: idOf(d.owner_id ?? d.user_id),
    status: str(d.status),
  };
}

function toPersonField(raw: unknown): CrmPersonField {
  const f = (raw ?? {}) as Loose;
  const options = Array.isArray(f.options) ? (f.options as Loose[]) : [];
  return {
    id: Number(f.id),
    key: str(f.key) ?? '',
    name: str(f.name) ?? '',
    fieldType: str(f.field_type) ?? '',
    options: options.map((o) => ({ id: Number(o.id), label: str(o.label) ?? '' })),
  };
}

function toActivityType(raw: unknown): CrmActivityType {
  const t = (raw ?? {}) as Loose;
  return {
    id: Number(t.id),
    name: str(t.name) ?? '',
    keyString: str(t.key_string) ?? '',
    active: t.active_flag !== false && t.active_flag !== 0,
  };
}

function toWebhook(raw: unknown): CrmWebhook {
  const w = (raw ?? {}) as Loose;
  return {
    id: Number(w.id),
    subscriptionUrl: str(w.subscription_url) ?? '',
    eventObject: str(w.event_object) ?? '',
    eventAction: str(w.event_action) ?? '',
    version: str(w.version) ?? '',
    httpAuthUser: str(w.http_auth_user),
  };
}
