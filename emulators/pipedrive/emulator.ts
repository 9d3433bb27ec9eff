// An HTTP emulator of the slice of Pipedrive this app talks to: OAuth (authorize, token, revoke), the v1/v2 API
// calls the app makes, and webhooks it fires. Used by sandbox mode and by the integration tests, which drive it
// with the real `pipedrive` SDK, so wire details (paths, envelopes, status codes, error bodies, webhook shapes)
// follow ../../shared/reference/pipedrive.md rather than convenience.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  basicAuthHeader,
  deliver,
  faultMatches,
  parseBasicAuth,
  randomHex,
  sendJson,
  sleep,
  startLoopbackServer,
  type DeliveryResult,
  type EmulatorRequest,
  type FetchLike,
  type RecordedRequest,
  type StartedServer,
} from '../http.js';
import { DealPermissions } from './deal-permissions.js';
import { activityTypeV1, activityV2, currentUserV1, dealV2, isoSeconds, personFieldV1, personV2, pipelineV2, stageV2, userV1, webhookV1 } from './shapes.js';
import { changedFields, dealV1, dealWebhookV2, personV1, personWebhookV2 } from './webhook-shapes.js';
import type {
  PdActivity,
  PdActivityType,
  PdCompany,
  PdContactEntry,
  PdDeal,
  PdPerson,
  PdPersonField,
  PdPipeline,
  PdStage,
  PdUser,
  PdWebhook,
} from './records.js';

export type {
  PdActivity,
  PdActivityType,
  PdCompany,
  PdContactEntry,
  PdDeal,
  PdPerson,
  PdPersonField,
  PdPipeline,
  PdStage,
  PdUser,
  PdWebhook,
} from './records.js';
export type { RecordedRequest, DeliveryResult } from '../http.js';

export interface PipedriveEmulatorOptions {
  clientId: string;
  clientSecret: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** `expires_in` of issued access tokens; default 3600. */
  accessTokenTtlSeconds?: number;
  /** The user the consent screen "approves as"; default the first user added. */
  autoApproveUserId?: number;
  /**
   * The Developer Hub "Callback URL". When set, authorize and token exchange refuse any other redirect_uri,
   * as Pipedrive does; uninstall notifications go there.
   */
  redirectUri?: string;
  /** Scope string of issued tokens; default the scopes this app asks for. */
  scope?: string;
  /** Transport for outgoing webhooks; default global fetch (override to reach an in-process app). */
  fetch?: FetchLike;
  /** Clock for timestamps and token expiry; default Date.now. */
  now?: () => number;
}

export interface PipedriveFault {
  method?: string;
  /** Exact pathname, or a RegExp tested against it (e.g. /^\/api\//). */
  path: string | RegExp;
  status: number;
  /** How many matching requests get the fault; default 1. */
  times?: number;
  /** Replaces the Pipedrive-shaped default body for that status. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait before answering (timeouts). */
  delayMs?: number;
  /** Destroy the socket instead of answering (network error). */
  dropConnection?: boolean;
}

export interface IssuedToken {
  accessToken: string;
  refreshToken: string;
  userId: number;
  companyId: number;
  grantType: 'authorization_code' | 'refresh_token';
  issuedAt: Date;
  /** ms since epoch; 0 once expireAccessTokens() ran. */
  expiresAt: number;
  revoked: boolean;
}

export interface RevokedToken {
  token: string;
  kind: 'access_token' | 'refresh_token';
  at: Date;
}

export interface WebhookDelivery extends DeliveryResult {
  webhookId: number;
  /** `meta.id` of a v2 payload (a UUID); for v1 payloads an emulator-side id with the same role. */
  eventId: string;
  attempt: number;
  url: string;
  version: '1.0' | '2.0';
  payload: Record<string, unknown>;
  headers: Record<string, string>;
  at: Date;
}

export interface ChangeOptions {
  /** Who made the change (meta.user_id); default the deal/person owner. */
  userId?: number;
  /** meta.change_source; `app` (the Pipedrive UI) by default, `api` for API calls. */
  changeSource?: 'app' | 'api';
}

type Entity = 'deal' | 'person' | 'activity';
type IdKind = 'company' | 'user' | 'person' | 'deal' | 'pipeline' | 'stage' | 'field' | 'option' | 'type' | 'activity' | 'webhook';
type Action = 'create' | 'change' | 'delete';

interface Snapshot {
  v2: Record<string, unknown>;
  v1: Record<string, unknown>;
}

interface StoredEvent {
  eventId: string;
  webhookId: number;
  version: '1.0' | '2.0';
  payload: Record<string, unknown>;
  attempt: number;
}

interface AuthCode {
  code: string;
  userId: number;
  companyId: number;
  redirectUri: string | null;
  expiresAt: number;
  used: boolean;
}

interface RefreshRecord {
  token: string;
  userId: number;
  companyId: number;
  refreshes: number;
  revoked: boolean;
  redirectUri: string | null;
}

interface Fault extends PipedriveFault {
  remaining: number;
}

interface AuthContext {
  company: PdCompany;
  user: PdUser;
  token: IssuedToken;
}

const DEFAULT_SCOPE = 'base,deals:read,contacts:full,activities:full,admin';
const ERROR_INFO = 'Please check developers.pipedrive.com';
/** A user's own token asking for an item that Pipedrive's visibility settings hide from them. */
const NOT_VISIBLE = 'You do not have permissions to access this item.';
const AUTH_CODE_TTL_MS = 5 * 60 * 1000;
const WEBHOOK_TIMEOUT_MS = 10_000;
const WEBHOOKS_PER_USER = 40;
const FIELD_TYPES = [
  'address', 'date', 'daterange', 'double', 'enum', 'monetary', 'org', 'people', 'phone', 'set', 'text', 'time',
  'timerange', 'user', 'varchar', 'varchar_auto', 'visible_to',
];
const ICON_KEYS = [
  'task', 'email', 'meeting', 'deadline', 'call', 'lunch', 'calendar', 'downarrow', 'document', 'smartphone',
  'camera', 'scissors', 'cogs', 'bubble', 'uparrow', 'checkbox', 'signpost', 'shuffle', 'addressbook',
  'linegraph', 'picture', 'car', 'world', 'search', 'clip', 'sound', 'brush', 'key', 'padlock', 'pricetag',
  'suitcase', 'finish', 'plane', 'loop', 'wifi', 'truck', 'cart', 'bulb', 'bell', 'presentation',
];
const WEBHOOK_OBJECTS = [
  'activity', 'deal', 'lead', 'note', 'organization', 'person', 'pipeline', 'product', 'stage', 'user', '*',
];
/** v1 webhooks were created with v1 action names; both vocabularies are accepted and mapped to v2. */
const ACTION_ALIASES: Record<string, Action | '*'> = {
  create: 'create', added: 'create', change: 'change', updated: 'change', merged: 'change',
  delete: 'delete', deleted: 'delete', '*': '*',
};
const V1_ACTION: Record<Action, string> = { create: 'added', change: 'updated', delete: 'deleted' };

/** Thrown inside route handlers to answer with a Pipedrive-shaped error. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type Handler = (req: EmulatorRequest, res: ServerResponse, params: string[], auth: AuthContext) => unknown;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

export class PipedriveEmulator {
  private server: StartedServer | null = null;
  private readonly now: () => number;
  private readonly fetchImpl: FetchLike;
  private readonly nextId: Record<IdKind, number> = {
    company: 1, user: 1, person: 1, deal: 1, pipeline: 1, stage: 1, field: 1, option: 1, type: 1, activity: 1, webhook: 1,
  };

  private readonly companyMap = new Map<number, PdCompany>();
  private readonly userMap = new Map<string, PdUser>(); // key `${companyId}:${userId}`: a user can be in several companies
  private readonly personMap = new Map<number, PdPerson>();
  private readonly dealMap = new Map<number, PdDeal>();
  private readonly pipelineMap = new Map<number, PdPipeline>();
  private readonly stageMap = new Map<number, PdStage>();
  private readonly fieldMap = new Map<number, PdPersonField>();
  private readonly typeMap = new Map<number, PdActivityType>();
  private readonly activityMap = new Map<number, PdActivity>();
  private readonly webhookMap = new Map<number, PdWebhook>();
  /**
   * Some recorded v2 deliveries carry `meta.id`, `company_id`, `user_id` and `entity_id` as numbers and `timestamp` as
   * epoch seconds; set this to send that form instead of the documented strings and ISO text.
   */
  numericV2Meta = false;
  private lastNumericEventId = 0;
  private readonly dealPermissions = new DealPermissions();

  private readonly authCodes = new Map<string, AuthCode>();
  private readonly accessTokens = new Map<string, IssuedToken>();
  private readonly refreshTokens = new Map<string, RefreshRecord>();
  private readonly revoked: RevokedToken[] = [];
  private consent: { userId?: number; companyId?: number; deny?: boolean } = {};

  private readonly recorded: RecordedRequest[] = [];
  private faults: Fault[] = [];
  private readonly events = new Map<string, StoredEvent>();
  private readonly deliveryLog: WebhookDelivery[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly routes: Route[];

  constructor(private readonly opts: PipedriveEmulatorOptions) {
    this.now = opts.now ?? Date.now;
    this.fetchImpl = opts.fetch ?? fetch;
    this.routes = this.buildRoutes();
  }

  /** Origin of the emulator, e.g. `http://127.0.0.1:41234`; both the OAuth host and every company's api_domain. */
  get url(): string {
    if (!this.server) throw new Error('Pipedrive emulator is not started');
    return this.server.url;
  }

  async start(port = 0): Promise<this> {
    this.server = await startLoopbackServer(port, (req, res) => this.handle(req, res));
    return this;
  }

  async close(): Promise<void> {
    await this.idle();
    await this.server?.close();
    this.server = null;
  }

  /** Resolves when every webhook fired in the background (by API writes) has been delivered. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  // ---------------------------------------------------------------- seeding (plain calls, no HTTP)

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

  // ---------------------------------------------------------------- inspection

  companies(): PdCompany[] {
    return [...this.companyMap.values()].map((c) => ({ ...c }));
  }
  users(companyId?: number): PdUser[] {
    return [...this.userMap.values()].filter((u) => companyId === undefined || u.companyId === companyId).map((u) => ({ ...u }));
  }
  persons(companyId: number): PdPerson[] {
    return byCompany(this.personMap, companyId);
  }
  person(id: number): PdPerson | undefined {
    const p = this.personMap.get(id);
    return p ? structuredClone(p) : undefined;
  }
  deals(companyId: number): PdDeal[] {
    return byCompany(this.dealMap, companyId);
  }
  deal(id: number): PdDeal | undefined {
    const d = this.dealMap.get(id);
    return d ? structuredClone(d) : undefined;
  }
  pipelines(companyId: number): PdPipeline[] {
    return byCompany(this.pipelineMap, companyId);
  }
  stages(companyId: number): PdStage[] {
    return byCompany(this.stageMap, companyId);
  }
  personFields(companyId: number): PdPersonField[] {
    return byCompany(this.fieldMap, companyId);
  }
  activityTypes(companyId: number): PdActivityType[] {
    return byCompany(this.typeMap, companyId);
  }
  activities(companyId: number): PdActivity[] {
    return byCompany(this.activityMap, companyId);
  }
  webhooks(companyId: number): PdWebhook[] {
    return byCompany(this.webhookMap, companyId);
  }
  /** Every access token issued (code exchanges and refreshes), oldest first. */
  get tokens(): IssuedToken[] {
    return [...this.accessTokens.values()].map((t) => ({ ...t, issuedAt: new Date(t.issuedAt) }));
  }
  get revokedTokens(): RevokedToken[] {
    return this.revoked.map((r) => ({ ...r }));
  }
  /** Successful refresh_token grants, for one refresh token or in total. */
  refreshCount(refreshToken?: string): number {
    if (refreshToken !== undefined) return this.refreshTokens.get(refreshToken)?.refreshes ?? 0;
    let n = 0;
    for (const r of this.refreshTokens.values()) n += r.refreshes;
    return n;
  }
  get requests(): RecordedRequest[] {
    return [...this.recorded];
  }
  clearRequests(): void {
    this.recorded.length = 0;
  }
  /** Every webhook delivery attempt, oldest first. */
  get deliveries(): WebhookDelivery[] {
    return [...this.deliveryLog];
  }

  // ---------------------------------------------------------------- test controls

  injectFault(fault: PipedriveFault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }
  clearFaults(): void {
    this.faults = [];
  }

  /** An admin of the company grants or takes away a user's admin right; users/me and users/{id} answer it at once. */
  setUserAdmin(companyId: number, userId: number, isAdmin: boolean): void {
    const user = this.findUser(userId, companyId);
    if (!user) throw new Error(`no user ${userId} in company ${companyId}`);
    user.isAdmin = isAdmin;
  }

  /**
   * Who may see a deal: a list makes it "owner & followers" (visible_to 1; the owner and the company's admins see
   * it too), `null` gives it back to the entire company (visible_to 3, the default of a new deal).
   */
  setDealPermittedUsers(dealId: number, followerIds: number[] | null): void {
    this.dealPermissions.restrict(this.requireDeal(dealId), followerIds);
  }

  /**
   * What the consent screen does on the next authorizations: approve as this user (the browser's logged-in
   * user; companyId picks the company when the user is in several), or deny as if "Cancel" were clicked.
   */
  setConsent(decision: { userId?: number; companyId?: number; deny?: boolean }): void {
    this.consent = { ...decision };
  }

  /** The `code` the consent screen would hand to the callback, for tests that skip the browser step. */
  issueAuthCode(userId: number, opts: { companyId?: number; redirectUri?: string } = {}): string {
    const user = this.findUser(userId, opts.companyId);
    if (!user) throw new Error(`no user ${userId}`);
    return this.newAuthCode(user, opts.redirectUri ?? this.opts.redirectUri ?? null);
  }

  /** Every access token issued so far answers 401 from now on (refresh tokens stay valid). */
  expireAccessTokens(): void {
    for (const t of this.accessTokens.values()) t.expiresAt = 0;
  }

  /** Changes a deal's stage like a user dragging it in the pipeline view, and fires deal change webhooks. */
  async moveDealToStage(dealId: number, stageId: number, opts: ChangeOptions = {}): Promise<WebhookDelivery[]> {
    const deal = this.requireDeal(dealId);
    const stage = this.stageMap.get(stageId);
    if (!stage || stage.companyId !== deal.companyId) throw new Error(`stage ${stageId} is not in the deal's company`);
    return this.changeDeal(deal, { stage_id: stage.id, pipeline_id: stage.pipeline_id, stage_change_time: this.isoNow() }, opts);
  }

  /** Applies changes to a deal and fires deal change webhooks (previous = only the changed fields). */
  async updateDeal(dealId: number, changes: Partial<Omit<PdDeal, 'id' | 'companyId'>>, opts: ChangeOptions = {}): Promise<WebhookDelivery[]> {
    const deal = this.requireDeal(dealId);
    const patch: Partial<PdDeal> = { ...changes };
    if (changes.stage_id !== undefined && changes.stage_id !== deal.stage_id) {
      const stage = this.stageMap.get(changes.stage_id);
      if (!stage || stage.companyId !== deal.companyId) throw new Error(`stage ${changes.stage_id} is not in the deal's company`);
      patch.pipeline_id = stage.pipeline_id;
      patch.stage_change_time ??= this.isoNow();
    }
    return this.changeDeal(deal, patch, opts);
  }

  /** Creates a deal as a user would in the UI and fires deal create webhooks. */
  async createDealAndNotify(
    companyId: number,
    input: Parameters<PipedriveEmulator['addDeal']>[1],
    opts: ChangeOptions = {},
  ): Promise<{ deal: PdDeal; deliveries: WebhookDelivery[] }> {
    const created = this.addDeal(companyId, input);
    const deal = this.requireDeal(created.id);
    const deliveries = await this.fire(deal.companyId, 'deal', 'create', deal.id, null, this.dealSnapshot(deal), opts.userId ?? deal.owner_id, opts.changeSource ?? 'app');
    return { deal: structuredClone(deal), deliveries };
  }

  /** Deletes a deal and fires deal delete webhooks (data null, previous the last state). */
  async deleteDeal(dealId: number, opts: ChangeOptions = {}): Promise<WebhookDelivery[]> {
    const deal = this.requireDeal(dealId);
    const before = this.dealSnapshot(deal);
    this.dealMap.delete(dealId);
    return this.fire(deal.companyId, 'deal', 'delete', deal.id, before, null, opts.userId ?? deal.owner_id, opts.changeSource ?? 'app');
  }

  /** Applies changes to a person (as a user editing it) and fires person change webhooks. */
  async updatePerson(personId: number, changes: Partial<Omit<PdPerson, 'id' | 'companyId'>>, opts: ChangeOptions = {}): Promise<WebhookDelivery[]> {
    const person = this.personMap.get(personId);
    if (!person) throw new Error(`no person ${personId}`);
    const before = this.personSnapshot(person);
    Object.assign(person, structuredClone(changes), { update_time: this.isoNow() });
    if (changes.custom_fields) person.custom_fields = { ...before.v2Custom, ...changes.custom_fields };
    return this.fire(person.companyId, 'person', 'change', person.id, before, this.personSnapshot(person), opts.userId ?? person.owner_id, opts.changeSource ?? 'app');
  }

  /**
   * Sends a stored event again with `attempt` + 1 and the same `meta.id`, as Pipedrive's retries do
   * (after 3 s, 30 s, 150 s in production; here when the test asks).
   */
  async redeliver(eventId: string): Promise<WebhookDelivery> {
    const event = this.events.get(eventId);
    if (!event) throw new Error(`no webhook event ${eventId}`);
    const webhook = this.webhookMap.get(event.webhookId);
    if (!webhook) throw new Error(`webhook ${event.webhookId} was deleted`);
    event.attempt += 1;
    if (event.version === '2.0') (event.payload.meta as Record<string, unknown>).attempt = event.attempt;
    else event.payload.retry = event.attempt - 1;
    return this.send(webhook, event);
  }

  /**
   * Uninstall as Pipedrive performs it: the user's tokens are revoked, the app's webhooks of that user are
   * removed, and a DELETE with Basic client credentials and `{client_id, company_id, user_id, timestamp}` goes
   * to the callback URL (default: the `redirectUri` option, else the redirect_uri of the user's last install).
   */
  async uninstall(input: { userId: number; companyId?: number; callbackUrl?: string }): Promise<DeliveryResult> {
    const user = this.findUser(input.userId, input.companyId);
    if (!user) throw new Error(`no user ${input.userId}`);
    let lastRedirect: string | null = null;
    for (const r of this.refreshTokens.values()) {
      if (r.userId !== user.id || r.companyId !== user.companyId) continue;
      lastRedirect = r.redirectUri ?? lastRedirect;
      this.revokeRefresh(r);
    }
    const url = input.callbackUrl ?? this.opts.redirectUri ?? lastRedirect;
    if (!url) throw new Error('no callback URL known for uninstall');
    return deliver(this.fetchImpl, url, {
      method: 'DELETE',
      headers: {
        'content-type': 'application/json',
        authorization: basicAuthHeader(this.opts.clientId, this.opts.clientSecret),
      },
      body: JSON.stringify({
        client_id: this.opts.clientId,
        company_id: user.companyId,
        user_id: user.id,
        timestamp: new Date(this.now()).toISOString(),
      }),
    }, WEBHOOK_TIMEOUT_MS);
  }

  // ---------------------------------------------------------------- HTTP

  private async handle(req: EmulatorRequest, res: ServerResponse): Promise<void> {
    const record: RecordedRequest = {
      method: req.method, path: req.path, query: req.query, headers: req.headers, body: req.body, rawBody: req.rawBody, at: req.at,
    };
    this.recorded.push(record);
    res.on('finish', () => (record.status = res.statusCode));
    res.on('close', () => (record.status ??= 0));

    const fault = this.faults.find((f) => f.remaining > 0 && faultMatches(f, req.method, req.path));
    if (fault) {
      fault.remaining -= 1;
      if (fault.delayMs) await sleep(fault.delayMs);
      if (fault.dropConnection) {
        req.raw.socket.destroy();
        return;
      }
      if (fault.status) {
        const { body, headers } = faultResponse(fault.status);
        sendJson(res, fault.status, fault.body ?? body, { ...headers, ...fault.headers });
        return;
      }
    }

    try {
      if (req.path === '/oauth/authorize' && req.method === 'GET') return this.authorize(req, res);
      if (req.path === '/oauth/token' && req.method === 'POST') return this.token(req, res);
      if (req.path === '/oauth/revoke' && req.method === 'POST') return this.revoke(req, res);
      if (req.path.startsWith('/api/')) return await this.api(req, res);
      sendJson(res, 404, pdErrorBody('Unknown method .'));
    } catch (err) {
      if (err instanceof ApiError) {
        sendJson(res, err.status, { ...pdErrorBody(err.message), ...err.extra }, rateLimitHeaders());
        return;
      }
      throw err;
    }
  }

  private authorize(req: EmulatorRequest, res: ServerResponse): void {
    const q = req.query;
    if (!q.client_id) return sendJson(res, 400, oauthError('Invalid client: cannot retrieve client credentials'));
    if (q.client_id !== this.opts.clientId) return sendJson(res, 400, oauthError('Invalid client: client is invalid'));
    let redirect: URL;
    try {
      redirect = new URL(q.redirect_uri ?? '');
    } catch {
      return sendJson(res, 400, oauthError('Invalid request: redirect_uri is not a valid URI'));
    }
    if (this.opts.redirectUri && q.redirect_uri !== this.opts.redirectUri) {
      return sendJson(res, 400, oauthError('Invalid request: redirect_uri is invalid'));
    }
    if (q.deny === '1' || q.deny === 'true' || this.consent.deny) {
      redirect.searchParams.set('error', 'user_denied');
    } else {
      const user = this.approvingUser();
      if (!user) return sendJson(res, 500, oauthError('Emulator has no user to approve the installation as'));
      redirect.searchParams.set('code', this.newAuthCode(user, q.redirect_uri ?? null));
    }
    // The state goes back exactly as received (and not at all when absent).
    if (q.state !== undefined) redirect.searchParams.set('state', q.state);
    res.writeHead(302, { location: redirect.toString(), 'content-length': '0' });
    res.end();
  }

  private token(req: EmulatorRequest, res: ServerResponse): void {
    if (!(req.headers['content-type'] ?? '').toLowerCase().includes('application/x-www-form-urlencoded')) {
      return sendJson(res, 400, oauthError('Invalid request: content must be application/x-www-form-urlencoded'));
    }
    const form = (req.body ?? {}) as Record<string, string>;
    const clientError = this.checkClient(req, form);
    if (clientError) return sendJson(res, 400, oauthError(clientError));
    if (!form.grant_type) return sendJson(res, 400, oauthError('Missing parameter: grant_type'));

    if (form.grant_type === 'authorization_code') {
      const code = this.authCodes.get(form.code ?? '');
      if (!code || code.used) return sendJson(res, 400, oauthError('Invalid grant: authorization_code is invalid'));
      if (this.now() > code.expiresAt) return sendJson(res, 400, oauthError('Invalid grant: authorization_code has expired'));
      if (form.redirect_uri !== undefined && code.redirectUri !== null && form.redirect_uri !== code.redirectUri) {
        return sendJson(res, 400, oauthError('Invalid request: redirect_uri is invalid'));
      }
      if (this.opts.redirectUri && form.redirect_uri !== undefined && form.redirect_uri !== this.opts.redirectUri) {
        return sendJson(res, 400, oauthError('Invalid request: redirect_uri is invalid'));
      }
      code.used = true;
      const refresh: RefreshRecord = {
        token: `${code.companyId}:${code.userId}:${randomHex(20)}`,
        userId: code.userId,
        companyId: code.companyId,
        refreshes: 0,
        revoked: false,
        redirectUri: code.redirectUri,
      };
      this.refreshTokens.set(refresh.token, refresh);
      return sendJson(res, 200, this.issueAccessToken(refresh, 'authorization_code'), noStore());
    }
    if (form.grant_type === 'refresh_token') {
      const refresh = this.refreshTokens.get(form.refresh_token ?? '');
      if (!refresh || refresh.revoked) return sendJson(res, 400, oauthError('Invalid grant: refresh_token is invalid'));
      refresh.refreshes += 1;
      // Pipedrive answers with the same refresh token and a fresh access token; older access tokens keep
      // working until their own expiry.
      return sendJson(res, 200, this.issueAccessToken(refresh, 'refresh_token'), noStore());
    }
    return sendJson(res, 400, oauthError('Unsupported grant type: grant_type is invalid'));
  }

  private revoke(req: EmulatorRequest, res: ServerResponse): void {
    const form = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, string>;
    const clientError = this.checkClient(req, form);
    if (clientError) return sendJson(res, 400, oauthError(clientError));
    const token = form.token ?? '';
    const refresh = this.refreshTokens.get(token);
    const access = this.accessTokens.get(token);
    if (refresh && form.token_type_hint !== 'access_token') {
      this.revokeRefresh(refresh);
    } else if (access && !access.revoked) {
      access.revoked = true;
      this.revoked.push({ token, kind: 'access_token', at: new Date(this.now()) });
    }
    // RFC 7009: an unknown token is not an error. Nothing is revoked, which a test can see in revokedTokens
    // (this is what happens to the SDK's double-encoded access token).
    sendJson(res, 200, { success: true });
  }

  private checkClient(req: EmulatorRequest, form: Record<string, string>): string | null {
    const basic = parseBasicAuth(req.headers.authorization);
    const id = basic?.user ?? form.client_id;
    const secret = basic?.password ?? form.client_secret;
    if (!id || secret === undefined) return 'Invalid client: cannot retrieve client credentials';
    if (id !== this.opts.clientId || secret !== this.opts.clientSecret) return 'Invalid client: client is invalid';
    return null;
  }

  private async api(req: EmulatorRequest, res: ServerResponse): Promise<void> {
    const auth = this.authenticate(req);
    if ('error' in auth) {
      sendJson(res, 401, { success: false, error: auth.error, errorCode: 401, error_info: ERROR_INFO }, rateLimitHeaders());
      return;
    }
    for (const route of this.routes) {
      if (route.method !== req.method) continue;
      const match = route.pattern.exec(req.path);
      if (!match) continue;
      await route.handler(req, res, match.slice(1), auth);
      return;
    }
    sendJson(res, 404, pdErrorBody('Unknown method .'), rateLimitHeaders());
  }

  private authenticate(req: EmulatorRequest): AuthContext | { error: string } {
    const header = req.headers.authorization;
    if (!header) return { error: 'unauthorized access' };
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) return { error: 'Invalid request: malformed authorization header' };
    const token = this.accessTokens.get(match[1]);
    if (!token || token.revoked || this.now() >= token.expiresAt) return { error: 'Invalid token: access_token is invalid' };
    const company = this.companyMap.get(token.companyId);
    const user = this.userMap.get(`${token.companyId}:${token.userId}`);
    if (!company || !user) return { error: 'Invalid token: access_token is invalid' };
    return { company, user, token };
  }

  private buildRoutes(): Route[] {
    const r = (method: string, pattern: RegExp, handler: Handler): Route => ({ method, pattern, handler });
    const ok = (res: ServerResponse, data: unknown, additional: unknown = null, status = 200): void =>
      sendJson(res, status, { success: true, data, additional_data: additional }, rateLimitHeaders());
    return [
      r('GET', /^\/api\/v1\/users\/me$/, (_req, res, _p, a) => ok(res, currentUserV1(a.user, a.company))),
      r('GET', /^\/api\/v1\/users$/, (_req, res, _p, a) =>
        ok(res, this.users(a.company.id).map((u) => userV1(u, a.company, u.id === a.user.id)))),
      r('GET', /^\/api\/v1\/users\/(\d+)$/, (_req, res, [id], a) => {
        const user = this.userMap.get(`${a.company.id}:${Number(id)}`);
        if (!user) throw new ApiError(404, 'User not found');
        ok(res, userV1(user, a.company, user.id === a.user.id));
      }),

      r('GET', /^\/api\/v2\/persons\/search$/, (req, res, _p, a) => ok(res, { items: this.searchPersons(req, a) }, { next_cursor: null })),
      r('GET', /^\/api\/v2\/persons$/, (req, res, _p, a) => {
        const fields = this.fieldsOf(a.company.id);
        const all = this.persons(a.company.id).map((p) => personV2(p, fields));
        const page = v2Page(all, req.query);
        ok(res, page.items, { next_cursor: page.next });
      }),
      r('GET', /^\/api\/v2\/persons\/([^/]+)$/, (req, res, [id], a) => {
        const person = this.ownPerson(a, v2Id(id));
        const dealsOfPerson = () => this.deals(a.company.id).filter((d) => d.person_id === person.id);
        if (!this.dealPermissions.canSeePerson(person, a.user, dealsOfPerson)) throw new ApiError(403, NOT_VISIBLE);
        const only = req.query.custom_fields ? req.query.custom_fields.split(',').map((s) => s.trim()) : undefined;
        ok(res, personV2(person, this.fieldsOf(a.company.id), only));
      }),
      r('PATCH', /^\/api\/v2\/persons\/([^/]+)$/, (req, res, [id], a) => ok(res, personV2(this.patchPerson(a, v2Id(id), req.body), this.fieldsOf(a.company.id)))),

      r('GET', /^\/api\/v2\/deals$/, (req, res, _p, a) => {
        let all = this.deals(a.company.id).filter((d) => d.status !== 'deleted');
        for (const key of ['stage_id', 'pipeline_id', 'person_id', 'owner_id'] as const) {
          const v = req.query[key];
          if (v !== undefined) all = all.filter((d) => d[key] === Number(v));
        }
        if (req.query.status) all = all.filter((d) => d.status === req.query.status);
        const page = v2Page(all.map(dealV2), req.query);
        ok(res, page.items, { next_cursor: page.next });
      }),
      r('GET', /^\/api\/v2\/deals\/([^/]+)$/, (_req, res, [id], a) => {
        const deal = this.dealMap.get(v2Id(id));
        if (!deal || deal.companyId !== a.company.id) throw new ApiError(404, 'Deal not found');
        if (!this.dealPermissions.canSeeDeal(deal, a.user)) throw new ApiError(403, NOT_VISIBLE);
        ok(res, dealV2(deal));
      }),
      r('GET', /^\/api\/v1\/deals\/(\d+)\/permittedUsers$/, (_req, res, [id], a) => {
        const deal = this.dealMap.get(Number(id));
        if (!deal || deal.companyId !== a.company.id) throw new ApiError(404, 'Deal not found');
        if (!this.dealPermissions.canSeeDeal(deal, a.user)) throw new ApiError(403, NOT_VISIBLE);
        sendJson(res, 200, { success: true, data: this.dealPermissions.permittedUsers(deal, this.users(a.company.id)) }, rateLimitHeaders());
      }),
      r('GET', /^\/api\/v2\/pipelines$/, (req, res, _p, a) => {
        const page = v2Page(this.pipelines(a.company.id).map(pipelineV2), req.query);
        ok(res, page.items, { next_cursor: page.next });
      }),
      r('GET', /^\/api\/v2\/pipelines\/([^/]+)$/, (_req, res, [id], a) => {
        const p = this.pipelineMap.get(v2Id(id));
        if (!p || p.companyId !== a.company.id) throw new ApiError(404, 'Pipeline not found');
        ok(res, pipelineV2(p));
      }),
      r('GET', /^\/api\/v2\/stages$/, (req, res, _p, a) => {
        let all = this.stages(a.company.id);
        if (req.query.pipeline_id !== undefined) all = all.filter((s) => s.pipeline_id === Number(req.query.pipeline_id));
        all.sort((x, y) => x.pipeline_id - y.pipeline_id || x.order_nr - y.order_nr);
        const page = v2Page(all.map(stageV2), req.query);
        ok(res, page.items, { next_cursor: page.next });
      }),
      r('GET', /^\/api\/v2\/stages\/([^/]+)$/, (_req, res, [id], a) => {
        const s = this.stageMap.get(v2Id(id));
        if (!s || s.companyId !== a.company.id) throw new ApiError(404, 'Stage not found');
        ok(res, stageV2(s));
      }),

      r('POST', /^\/api\/v2\/activities$/, (req, res, _p, a) => ok(res, activityV2(this.createActivity(a, req.body)))),
      r('GET', /^\/api\/v2\/activities$/, (req, res, _p, a) => {
        let all = this.activities(a.company.id);
        for (const key of ['deal_id', 'person_id', 'owner_id', 'org_id'] as const) {
          const v = req.query[key];
          if (v !== undefined) all = all.filter((x) => x[key] === Number(v));
        }
        if (req.query.done !== undefined) all = all.filter((x) => x.done === (req.query.done === 'true' || req.query.done === '1'));
        if (req.query.sort_direction === 'desc') all.reverse();
        const page = v2Page(all.map(activityV2), req.query);
        ok(res, page.items, { next_cursor: page.next });
      }),
      r('GET', /^\/api\/v2\/activities\/([^/]+)$/, (_req, res, [id], a) => {
        const act = this.activityMap.get(v2Id(id));
        if (!act || act.companyId !== a.company.id) throw new ApiError(404, 'Activity not found');
        ok(res, activityV2(act));
      }),

      r('GET', /^\/api\/v1\/personFields$/, (req, res, _p, a) => {
        const all = this.fieldsOf(a.company.id).map((f, i) => personFieldV1(f, i + 1));
        const page = v1Page(all, req.query);
        ok(res, page.items, { pagination: page.pagination });
      }),
      r('GET', /^\/api\/v1\/personFields\/(\d+)$/, (_req, res, [id], a) => {
        const fields = this.fieldsOf(a.company.id);
        const index = fields.findIndex((f) => f.id === Number(id));
        const field = fields[index];
        if (!field) throw new ApiError(404, 'Field not found');
        ok(res, personFieldV1(field, index + 1));
      }),
      r('POST', /^\/api\/v1\/personFields$/, (req, res, _p, a) => {
        requireAdmin(a);
        const field = this.createPersonFieldFromApi(a, req.body);
        ok(res, personFieldV1(field, this.fieldsOf(a.company.id).length));
      }),
      r('GET', /^\/api\/v1\/activityTypes$/, (_req, res, _p, a) => ok(res, this.activityTypes(a.company.id).map(activityTypeV1))),
      r('POST', /^\/api\/v1\/activityTypes$/, (req, res, _p, a) => {
        requireAdmin(a);
        ok(res, activityTypeV1(this.createActivityTypeFromApi(a, req.body)));
      }),
      r('GET', /^\/api\/v1\/webhooks$/, (_req, res, _p, a) =>
        sendJson(res, 200, { status: 'ok', success: true, data: this.webhooks(a.company.id).map(webhookV1) }, rateLimitHeaders())),
      r('POST', /^\/api\/v1\/webhooks$/, (req, res, _p, a) => {
        requireAdmin(a);
        const webhook = this.createWebhookFromApi(a, req.body);
        sendJson(res, 201, { status: 'ok', success: true, data: webhookV1(webhook) }, rateLimitHeaders());
      }),
      r('DELETE', /^\/api\/v1\/webhooks\/(\d+)$/, (_req, res, [id], a) => {
        const webhook = this.webhookMap.get(Number(id));
        if (!webhook || webhook.companyId !== a.company.id) {
          throw new ApiError(404, 'Webhook not found', { status: 'error' });
        }
        this.webhookMap.delete(webhook.id);
        sendJson(res, 200, { status: 'ok', success: true }, rateLimitHeaders());
      }),
    ];
  }

  // ---------------------------------------------------------------- API behaviour

  private searchPersons(req: EmulatorRequest, a: AuthContext): unknown[] {
    const term = req.query.term ?? '';
    const exact = req.query.exact_match === 'true' || req.query.exact_match === '1';
    if (term.length < (exact ? 1 : 2)) {
      throw new ApiError(400, 'term must be at least 2 characters long (1 when exact_match is used)', { code: 'ERR_BAD_REQUEST' });
    }
    const allowed = ['custom_fields', 'email', 'notes', 'phone', 'name'];
    const fields = req.query.fields ? req.query.fields.split(',').map((f) => f.trim()) : allowed;
    for (const f of fields) {
      if (!allowed.includes(f)) throw new ApiError(400, `fields must be one of ${allowed.join(', ')}`, { code: 'ERR_BAD_REQUEST' });
    }
    const lower = term.toLowerCase();
    const digits = term.replace(/\D/g, '');
    const text = (value: string | null | undefined): number => {
      if (!value) return 0;
      const v = value.toLowerCase();
      if (v === lower) return 1;
      return !exact && v.includes(lower) ? 0.5 : 0;
    };
    // Phone search compares digits only, so "+1 (415) 555-2671" and "14155552671" are the same number;
    // without exact_match a fragment of the digits matches too.
    const phone = (value: string): number => {
      const d = value.replace(/\D/g, '');
      if (!digits || !d) return 0;
      if (d === digits) return 1;
      return !exact && d.includes(digits) ? 0.5 : 0;
    };
    const results: Array<{ result_score: number; item: Record<string, unknown> }> = [];
    for (const p of this.persons(a.company.id)) {
      let score = 0;
      if (fields.includes('name')) score = Math.max(score, text(p.name));
      if (fields.includes('email')) for (const e of p.emails) score = Math.max(score, text(e.value));
      if (fields.includes('phone')) for (const ph of p.phones) score = Math.max(score, phone(ph.value));
      if (fields.includes('notes')) score = Math.max(score, text(p.notes));
      const matchedCustom: string[] = [];
      if (fields.includes('custom_fields')) {
        for (const v of Object.values(p.custom_fields)) {
          if (typeof v === 'string' && text(v) > 0) {
            score = Math.max(score, text(v));
            matchedCustom.push(v);
          }
        }
      }
      if (score === 0) continue;
      results.push({
        result_score: score,
        item: {
          id: p.id,
          type: 'person',
          name: p.name,
          phones: p.phones.map((x) => x.value),
          emails: p.emails.map((x) => x.value),
          visible_to: p.visible_to,
          owner: { id: p.owner_id },
          organization: null,
          custom_fields: matchedCustom,
          notes: p.notes ? [p.notes] : [],
        },
      });
    }
    results.sort((x, y) => y.result_score - x.result_score || (x.item.id as number) - (y.item.id as number));
    return results.slice(0, clampLimit(req.query.limit));
  }

  private patchPerson(a: AuthContext, id: number, body: unknown): PdPerson {
    const person = this.ownPerson(a, id);
    if (!isObject(body)) throw new ApiError(400, 'Request body must be a JSON object', { code: 'ERR_BAD_REQUEST' });
    const before = this.personSnapshot(person);
    const fields = this.fieldsOf(a.company.id);
    const next = structuredClone(person);
    for (const [key, value] of Object.entries(body)) {
      switch (key) {
        case 'name':
        case 'first_name':
        case 'last_name':
        case 'notes':
          if (value !== null && typeof value !== 'string') throw badField(key, 'a string');
          next[key] = value as string;
          break;
        case 'owner_id':
          if (typeof value !== 'number' || !this.userMap.has(`${a.company.id}:${value}`)) throw badField(key, 'an existing user id');
          next.owner_id = value;
          break;
        case 'org_id':
          if (value !== null && typeof value !== 'number') throw badField(key, 'a number');
          next.org_id = value as number | null;
          break;
        case 'visible_to':
          if (typeof value !== 'number') throw badField(key, 'a number');
          next.visible_to = value;
          break;
        case 'phones':
        case 'emails':
          if (!Array.isArray(value) || !value.every((e) => isObject(e) && typeof e.value === 'string')) {
            throw badField(key, 'an array of {value, primary, label}');
          }
          next[key] = contactEntries(value as Array<{ value: string; primary?: boolean; label?: string }>, key === 'phones' ? 'mobile' : 'work');
          break;
        case 'custom_fields':
          if (!isObject(value)) throw badField(key, 'an object');
          for (const [fieldKey, fieldValue] of Object.entries(value)) {
            const field = fields.find((f) => f.key === fieldKey && f.isCustom);
            if (!field) throw new ApiError(400, `Unknown custom field: ${fieldKey}`, { code: 'ERR_BAD_REQUEST' });
            validateCustomValue(field, fieldValue);
            next.custom_fields[fieldKey] = fieldValue;
          }
          break;
        default:
          // API v2 validates strictly; unknown top-level keys are refused rather than silently dropped.
          throw new ApiError(400, `Unknown parameter: ${key}`, { code: 'ERR_BAD_REQUEST' });
      }
    }
    if ('first_name' in body || 'last_name' in body) {
      if (!('name' in body)) next.name = [next.first_name, next.last_name].filter(Boolean).join(' ');
    }
    next.update_time = this.isoNow();
    const after = this.personSnapshot(next);
    if (changedFields(withoutUpdateTime(before.v2), withoutUpdateTime(after.v2)) === null) {
      // Nothing but the timestamp would change: Pipedrive keeps the record as is and fires nothing.
      return person;
    }
    Object.assign(person, next);
    this.background(this.fire(a.company.id, 'person', 'change', person.id, before, after, a.user.id, 'api'));
    return person;
  }

  private createActivity(a: AuthContext, body: unknown): PdActivity {
    if (!isObject(body)) throw new ApiError(400, 'Request body must be a JSON object', { code: 'ERR_BAD_REQUEST' });
    // Verbatim behaviour of API v2 (devcommunity thread 19734): person_id is read-only on write.
    if ('person_id' in body) {
      throw new ApiError(400, "'person_id' is a read-only field. Add a primary participant to set 'person_id' instead.", { code: 'ERR_BAD_REQUEST' });
    }
    const bad = (msg: string): ApiError => new ApiError(400, msg, { code: 'ERR_BAD_REQUEST' });
    const types = this.activityTypes(a.company.id).filter((t) => t.active_flag);
    const typeKey = body.type ?? 'task';
    if (typeof typeKey !== 'string' || !types.some((t) => t.key_string === typeKey)) throw bad(`Invalid activity type: ${String(typeKey)}`);
    for (const key of ['done', 'busy'] as const) {
      if (key in body && typeof body[key] !== 'boolean') throw bad(`${key} must be a boolean`);
    }
    for (const key of ['subject', 'note', 'public_description', 'due_date', 'due_time', 'duration'] as const) {
      if (key in body && body[key] !== null && typeof body[key] !== 'string') throw bad(`${key} must be a string`);
    }
    if (typeof body.due_date === 'string' && !/^\d{4}-\d{2}-\d{2}$/.test(body.due_date)) throw bad('due_date must be YYYY-MM-DD');
    if (typeof body.due_time === 'string' && !/^\d{2}:\d{2}$/.test(body.due_time)) throw bad('due_time must be HH:MM');
    const dealId = optionalId(body, 'deal_id');
    if (dealId !== null) {
      const deal = this.dealMap.get(dealId);
      if (!deal || deal.companyId !== a.company.id) throw bad(`Deal with id ${dealId} not found`);
    }
    const orgId = optionalId(body, 'org_id');
    const ownerId = optionalId(body, 'owner_id') ?? a.user.id;
    if (!this.userMap.has(`${a.company.id}:${ownerId}`)) throw bad(`User with id ${ownerId} not found`);
    const participants: PdActivity['participants'] = [];
    if (body.participants !== undefined) {
      if (!Array.isArray(body.participants)) throw bad('participants must be an array');
      for (const p of body.participants) {
        if (!isObject(p) || typeof p.person_id !== 'number') throw bad('participants[].person_id must be a number');
        if (p.primary !== undefined && typeof p.primary !== 'boolean') throw bad('participants[].primary must be a boolean');
        const person = this.personMap.get(p.person_id);
        if (!person || person.companyId !== a.company.id) throw bad(`Person with id ${p.person_id} not found`);
        participants.push({ person_id: p.person_id, primary: p.primary === true });
      }
    }
    const primary = participants.find((p) => p.primary) ?? participants[0];
    const type = types.find((t) => t.key_string === typeKey);
    const now = this.isoNow();
    const done = body.done === true;
    const activity: PdActivity = {
      id: this.takeId('activity'),
      companyId: a.company.id,
      subject: typeof body.subject === 'string' ? body.subject : (type?.name ?? typeKey),
      type: typeKey,
      owner_id: ownerId,
      creator_user_id: a.user.id,
      deal_id: dealId,
      lead_id: typeof body.lead_id === 'string' ? body.lead_id : null,
      person_id: primary?.person_id ?? null,
      org_id: orgId,
      project_id: optionalId(body, 'project_id'),
      due_date: typeof body.due_date === 'string' ? body.due_date : now.slice(0, 10),
      due_time: typeof body.due_time === 'string' ? body.due_time : null,
      duration: typeof body.duration === 'string' ? body.duration : null,
      busy: body.busy === true,
      done,
      marked_as_done_time: done ? now : null,
      participants,
      public_description: typeof body.public_description === 'string' ? body.public_description : null,
      priority: typeof body.priority === 'number' ? body.priority : null,
      note: typeof body.note === 'string' ? body.note : null,
      add_time: now,
      update_time: now,
    };
    this.activityMap.set(activity.id, activity);
    const snap = { v2: activityV2(activity), v1: activityV2(activity) };
    this.background(this.fire(a.company.id, 'activity', 'create', activity.id, null, snap, a.user.id, 'api'));
    return activity;
  }

  private createPersonFieldFromApi(a: AuthContext, body: unknown): PdPersonField {
    if (!isObject(body)) throw new ApiError(400, 'Request body must be a JSON object');
    if (typeof body.name !== 'string' || body.name.trim() === '') throw new ApiError(400, 'Name must be given');
    if (typeof body.field_type !== 'string' || !FIELD_TYPES.includes(body.field_type)) {
      throw new ApiError(400, `field_type must be one of ${FIELD_TYPES.join(', ')}`);
    }
    let options: Array<{ label: string }> | null = null;
    if (body.field_type === 'enum' || body.field_type === 'set') {
      if (!Array.isArray(body.options) || body.options.length === 0) throw new ApiError(400, 'Options must be given for enum and set fields');
      options = body.options.map((o: unknown) => {
        if (!isObject(o) || typeof o.label !== 'string' || o.label === '') throw new ApiError(400, 'Each option needs a label');
        return { label: o.label };
      });
    }
    return this.createPersonField(a.company.id, {
      name: body.name,
      field_type: body.field_type,
      options,
      createdBy: a.user.id,
      addVisible: body.add_visible_flag !== false,
    });
  }

  private createActivityTypeFromApi(a: AuthContext, body: unknown): PdActivityType {
    if (!isObject(body)) throw new ApiError(400, 'Request body must be a JSON object');
    if (typeof body.name !== 'string' || body.name.trim() === '') throw new ApiError(400, 'Name must be given');
    if (typeof body.icon_key !== 'string' || !ICON_KEYS.includes(body.icon_key)) {
      throw new ApiError(400, `icon_key must be one of ${ICON_KEYS.join(', ')}`);
    }
    if (body.color !== undefined && body.color !== null && (typeof body.color !== 'string' || !/^[0-9a-f]{6}$/i.test(body.color))) {
      throw new ApiError(400, 'color must be a 6-character HEX color');
    }
    return this.createActivityType(a.company.id, body.name, body.icon_key, (body.color as string | undefined) ?? null, true);
  }

  private createWebhookFromApi(a: AuthContext, body: unknown): PdWebhook {
    const invalid = (field: string, msg: string): ApiError =>
      new ApiError(400, `${field}: ${msg}`, { status: 'error', errors: { [field]: [msg] } });
    if (!isObject(body)) throw new ApiError(400, 'Request body must be a JSON object', { status: 'error' });
    const url = body.subscription_url;
    if (typeof url !== 'string' || !/^https?:\/\/[^/]+/.test(url)) throw invalid('subscription_url', 'must be a valid URL');
    if (typeof body.event_action !== 'string' || !(body.event_action in ACTION_ALIASES)) throw invalid('event_action', 'invalid value');
    if (typeof body.event_object !== 'string' || !WEBHOOK_OBJECTS.includes(body.event_object)) throw invalid('event_object', 'invalid value');
    if (typeof body.name !== 'string' || body.name === '') throw invalid('name', 'is required');
    const version = body.version ?? '2.0';
    if (version !== '1.0' && version !== '2.0') throw invalid('version', 'must be 1.0 or 2.0');
    for (const key of ['http_auth_user', 'http_auth_password'] as const) {
      if (body[key] !== undefined && body[key] !== null && typeof body[key] !== 'string') throw invalid(key, 'must be a string');
    }
    const userId = optionalId(body, 'user_id') ?? a.user.id;
    if (!this.userMap.has(`${a.company.id}:${userId}`)) throw invalid('user_id', 'user not found');
    const mine = [...this.webhookMap.values()].filter((w) => w.companyId === a.company.id && w.owner_id === a.user.id);
    if (mine.length >= WEBHOOKS_PER_USER) throw new ApiError(422, 'Webhooks limit reached', { status: 'error' });
    return this.addWebhook(a.company.id, {
      userId,
      subscription_url: url,
      event_action: body.event_action,
      event_object: body.event_object,
      http_auth_user: (body.http_auth_user as string | null | undefined) ?? null,
      http_auth_password: (body.http_auth_password as string | null | undefined) ?? null,
      version,
      name: body.name,
    });
  }

  // ---------------------------------------------------------------- webhooks

  private async changeDeal(deal: PdDeal, patch: Partial<PdDeal>, opts: ChangeOptions): Promise<WebhookDelivery[]> {
    const before = this.dealSnapshot(deal);
    Object.assign(deal, structuredClone(patch), { update_time: this.isoNow() });
    const after = this.dealSnapshot(deal);
    return this.fire(deal.companyId, 'deal', 'change', deal.id, before, after, opts.userId ?? deal.owner_id, opts.changeSource ?? 'app');
  }

  private dealSnapshot(deal: PdDeal): Snapshot {
    return { v2: dealWebhookV2(deal), v1: dealV1(deal) };
  }

  private personSnapshot(person: PdPerson): Snapshot & { v2Custom: Record<string, unknown> } {
    const fields = this.fieldsOf(person.companyId);
    return { v2: personWebhookV2(person, fields), v1: personV1(person, fields), v2Custom: { ...person.custom_fields } };
  }

  /** Builds one payload per matching webhook of the company and delivers them all. */
  private async fire(
    companyId: number,
    entity: Entity,
    action: Action,
    entityId: number,
    before: Snapshot | null,
    after: Snapshot | null,
    userId: number,
    changeSource: 'app' | 'api',
  ): Promise<WebhookDelivery[]> {
    const previous = action === 'change' && before && after ? changedFields(before.v2, after.v2) : before?.v2 ?? null;
    if (action === 'change' && previous === null) return [];
    const company = this.requireCompany(companyId);
    const permitted = this.users(companyId).map((u) => u.id);
    const correlationId = randomUUID();
    const timestamp = new Date(this.now());
    const matching = [...this.webhookMap.values()].filter((w) => {
      if (w.companyId !== companyId || w.is_active !== 1) return false;
      const wAction = ACTION_ALIASES[w.event_action];
      return (w.event_object === '*' || w.event_object === entity) && (wAction === '*' || wAction === action);
    });
    const sends = matching.map((webhook) => {
      const numeric = this.numericV2Meta && webhook.version === '2.0';
      const eventId = numeric ? String(++this.lastNumericEventId) : randomUUID();
      const payload: Record<string, unknown> =
        webhook.version === '2.0'
          ? {
              data: after?.v2 ?? null,
              previous: action === 'create' ? null : previous,
              meta: {
                action,
                company_id: numeric ? companyId : String(companyId),
                correlation_id: correlationId,
                entity_id: numeric ? entityId : String(entityId),
                entity,
                id: numeric ? Number(eventId) : eventId,
                is_bulk_edit: false,
                timestamp: numeric ? Math.floor(timestamp.getTime() / 1000) : timestamp.toISOString(),
                type: webhook.type,
                user_id: numeric ? userId : String(userId),
                version: '2.0',
                webhook_id: String(webhook.id),
                webhook_owner_id: String(webhook.owner_id),
                change_source: changeSource,
                permitted_user_ids: permitted.map(String),
                attempt: 1,
                host: `${company.domain}.pipedrive.com`,
              },
            }
          : {
              v: 1,
              matches_filters: { current: [] },
              meta: {
                action: V1_ACTION[action],
                change_source: changeSource,
                company_id: companyId,
                host: `${company.domain}.pipedrive.com`,
                id: entityId,
                is_bulk_update: false,
                matches_filters: { current: [] },
                object: entity,
                permitted_user_ids: permitted,
                pipedrive_service_name: false,
                timestamp: Math.floor(timestamp.getTime() / 1000),
                timestamp_micro: timestamp.getTime() * 1000,
                prepublish_timestamp: timestamp.getTime(),
                trans_pending: false,
                user_id: userId,
                v: 1,
                webhook_id: String(webhook.id),
              },
              current: after?.v1 ?? null,
              previous: before?.v1 ?? null,
              retry: 0,
              event: `${V1_ACTION[action]}.${entity}`,
            };
      const event: StoredEvent = { eventId, webhookId: webhook.id, version: webhook.version, payload, attempt: 1 };
      this.events.set(eventId, event);
      return this.send(webhook, event);
    });
    return Promise.all(sends);
  }

  private async send(webhook: PdWebhook, event: StoredEvent): Promise<WebhookDelivery> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Pipedrive Webhooks' };
    if (webhook.http_auth_user) {
      headers.authorization = basicAuthHeader(webhook.http_auth_user, webhook.http_auth_password ?? '');
    }
    const payload = structuredClone(event.payload);
    const result = await deliver(this.fetchImpl, webhook.subscription_url, { method: 'POST', headers, body: JSON.stringify(payload) }, WEBHOOK_TIMEOUT_MS);
    webhook.last_delivery_time = this.isoNow();
    webhook.last_http_status = result.status || null;
    const delivery: WebhookDelivery = {
      ...result,
      webhookId: webhook.id,
      eventId: event.eventId,
      attempt: event.attempt,
      url: webhook.subscription_url,
      version: event.version,
      payload,
      headers,
      at: new Date(this.now()),
    };
    this.deliveryLog.push(delivery);
    return delivery;
  }

  private background(p: Promise<unknown>): void {
    const tracked = p.catch((err: unknown) => console.error('pipedrive emulator: webhook delivery failed', err));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  // ---------------------------------------------------------------- internals

  private approvingUser(): PdUser | undefined {
    const id = this.consent.userId ?? this.opts.autoApproveUserId;
    if (id !== undefined) return this.findUser(id, this.consent.companyId);
    return [...this.userMap.values()][0];
  }

  private newAuthCode(user: PdUser, redirectUri: string | null): string {
    // Shape of Pipedrive's codes (`123.456.2d73…`); opaque to the app anyway.
    const code = `${user.companyId}.${user.id}.${randomHex(20)}`;
    this.authCodes.set(code, {
      code,
      userId: user.id,
      companyId: user.companyId,
      redirectUri,
      expiresAt: this.now() + AUTH_CODE_TTL_MS,
      used: false,
    });
    return code;
  }

  private issueAccessToken(refresh: RefreshRecord, grantType: IssuedToken['grantType']): Record<string, unknown> {
    const ttl = this.opts.accessTokenTtlSeconds ?? 3600;
    const token: IssuedToken = {
      accessToken: `v1u:${Buffer.from(randomHex(48), 'hex').toString('base64url')}`,
      refreshToken: refresh.token,
      userId: refresh.userId,
      companyId: refresh.companyId,
      grantType,
      issuedAt: new Date(this.now()),
      expiresAt: this.now() + ttl * 1000,
      revoked: false,
    };
    this.accessTokens.set(token.accessToken, token);
    return {
      access_token: token.accessToken,
      token_type: 'Bearer',
      refresh_token: refresh.token,
      scope: this.opts.scope ?? DEFAULT_SCOPE,
      expires_in: ttl,
      api_domain: this.url,
    };
  }

  /** Revoking a refresh token means "app uninstalled" for that user: tokens die, the user's app webhooks go. */
  private revokeRefresh(refresh: RefreshRecord): void {
    if (!refresh.revoked) {
      refresh.revoked = true;
      this.revoked.push({ token: refresh.token, kind: 'refresh_token', at: new Date(this.now()) });
    }
    for (const t of this.accessTokens.values()) if (t.refreshToken === refresh.token) t.revoked = true;
    for (const w of [...this.webhookMap.values()]) {
      if (w.companyId === refresh.companyId && w.owner_id === refresh.userId && w.type === 'application') this.webhookMap.delete(w.id);
    }
  }

  private seedDefaults(companyId: number, withPipeline: boolean): void {
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

  private createPersonField(
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

  private createActivityType(companyId: number, name: string, icon: string, color: string | null, custom: boolean, keyString?: string): PdActivityType {
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

  private takeId(kind: IdKind, wanted?: number): number {
    if (wanted !== undefined) {
      this.nextId[kind] = Math.max(this.nextId[kind], wanted + 1);
      return wanted;
    }
    const id = this.nextId[kind];
    this.nextId[kind] += 1;
    return id;
  }

  private isoNow(): string {
    return isoSeconds(new Date(this.now()));
  }

  private requireCompany(companyId: number): PdCompany {
    const company = this.companyMap.get(companyId);
    if (!company) throw new Error(`no company ${companyId}`);
    return company;
  }

  private requireDeal(dealId: number): PdDeal {
    const deal = this.dealMap.get(dealId);
    if (!deal) throw new Error(`no deal ${dealId}`);
    return deal;
  }

  private ownPerson(a: AuthContext, id: number): PdPerson {
    const person = this.personMap.get(id);
    // Another company's person is indistinguishable from a missing one.
    if (!person || person.companyId !== a.company.id) throw new ApiError(404, 'Person not found');
    return person;
  }

  private findUser(userId: number, companyId?: number): PdUser | undefined {
    if (companyId !== undefined) return this.userMap.get(`${companyId}:${userId}`);
    return [...this.userMap.values()].find((u) => u.id === userId);
  }

  private defaultUserId(companyId: number): number {
    const users = this.users(companyId);
    return (users.find((u) => u.isAdmin) ?? users[0])?.id ?? 0;
  }

  private firstStage(companyId: number): PdStage | undefined {
    const pipelines = this.pipelines(companyId).sort((a, b) => a.order_nr - b.order_nr);
    const first = pipelines[0];
    if (!first) return undefined;
    return this.stages(companyId).filter((s) => s.pipeline_id === first.id).sort((a, b) => a.order_nr - b.order_nr)[0];
  }

  private fieldsOf(companyId: number): PdPersonField[] {
    return [...this.fieldMap.values()].filter((f) => f.companyId === companyId);
  }
}

export async function startPipedriveEmulator(opts: PipedriveEmulatorOptions): Promise<PipedriveEmulator> {
  return new PipedriveEmulator(opts).start(opts.port ?? 0);
}

// ------------------------------------------------------------------ helpers

function byCompany<T extends { companyId: number; id: number }>(map: Map<number, T>, companyId: number): T[] {
  return [...map.values()].filter((x) => x.companyId === companyId).sort((a, b) => a.id - b.id).map((x) => structuredClone(x));
}

function contactEntries(
  input: Array<string | { value: string; primary?: boolean; label?: string }> | undefined,
  defaultLabel: string,
): PdContactEntry[] {
  const entries = (input ?? []).map((e) => (typeof e === 'string' ? { value: e } : e));
  const anyPrimary = entries.some((e) => e.primary === true);
  return entries.map((e, i) => ({
    value: e.value,
    primary: anyPrimary ? e.primary === true : i === 0,
    label: e.label ?? defaultLabel,
  }));
}

function pdErrorBody(error: string): Record<string, unknown> {
  return { success: false, error, error_info: ERROR_INFO, data: null, additional_data: null };
}

function oauthError(message: string): Record<string, unknown> {
  return { success: false, message };
}

function noStore(): Record<string, string> {
  return { 'cache-control': 'no-store' };
}

/** Pipedrive sends its burst-limit headers on every API answer, not only on 429s. */
function rateLimitHeaders(remaining = 79): Record<string, string> {
  return { 'x-ratelimit-limit': '80', 'x-ratelimit-remaining': String(remaining), 'x-ratelimit-reset': '2' };
}

function faultResponse(status: number): { body: Record<string, unknown>; headers: Record<string, string> } {
  if (status === 429) return { body: pdErrorBody('Request over limit'), headers: rateLimitHeaders(0) };
  if (status === 401) return { body: { success: false, error: 'unauthorized access', errorCode: 401, error_info: ERROR_INFO }, headers: {} };
  if (status === 403) return { body: pdErrorBody('Scope and URL mismatch'), headers: {} };
  if (status === 404) return { body: pdErrorBody('Not found'), headers: {} };
  if (status === 503) return { body: pdErrorBody('Service unavailable'), headers: {} };
  if (status >= 500) return { body: pdErrorBody('Internal server error'), headers: {} };
  return { body: pdErrorBody('Bad request'), headers: {} };
}

function requireAdmin(a: AuthContext): void {
  if (!a.user.isAdmin) throw new ApiError(403, 'You do not have permissions to perform this action. Please contact your company admin.');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function v2Id(raw: string | undefined): number {
  const id = Number(raw);
  if (!Number.isInteger(id) || id <= 0) throw new ApiError(400, 'The id must be a positive integer', { code: 'ERR_BAD_REQUEST' });
  return id;
}

function optionalId(body: Record<string, unknown>, key: string): number | null {
  const v = body[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ApiError(400, `${key} must be an integer`, { code: 'ERR_BAD_REQUEST' });
  return v;
}

function badField(key: string, expected: string): ApiError {
  return new ApiError(400, `${key} must be ${expected}`, { code: 'ERR_BAD_REQUEST' });
}

/** API v2 takes typed custom field values: an option id (number) for enum, ids for set, strings for text. */
function validateCustomValue(field: PdPersonField, value: unknown): void {
  if (value === null) return;
  const optionIds = (field.options ?? []).map((o) => o.id);
  const fail = (expected: string): never => {
    throw new ApiError(400, `Invalid value for custom field ${field.key} (${field.name}): expected ${expected}`, { code: 'ERR_BAD_REQUEST' });
  };
  switch (field.field_type) {
    case 'enum':
      if (typeof value !== 'number' || !optionIds.includes(value)) fail(`one of the option ids ${optionIds.join(', ')}`);
      return;
    case 'set':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && optionIds.includes(v))) fail('an array of option ids');
      return;
    case 'double':
    case 'monetary':
      if (typeof value !== 'number' && !isObject(value)) fail('a number');
      return;
    default:
      if (typeof value !== 'string' && !isObject(value)) fail('a string');
  }
}

function withoutUpdateTime(v: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...v };
  delete rest.update_time;
  return rest;
}

function clampLimit(raw: string | undefined, fallback = 100): number {
  const n = Number(raw);
  if (!raw || !Number.isInteger(n) || n <= 0) return fallback;
  return Math.min(n, 500);
}

/** Cursor pagination of API v2: an opaque cursor, `additional_data.next_cursor` null on the last page. */
function v2Page<T>(all: T[], query: Record<string, string>): { items: T[]; next: string | null } {
  const limit = clampLimit(query.limit);
  const start = query.cursor ? Number(Buffer.from(query.cursor, 'base64url').toString('utf8')) || 0 : 0;
  const items = all.slice(start, start + limit);
  const next = start + limit < all.length ? Buffer.from(String(start + limit)).toString('base64url') : null;
  return { items, next };
}

/** Offset pagination of API v1 (`start`, `limit`, `additional_data.pagination`). */
function v1Page<T>(all: T[], query: Record<string, string>): { items: T[]; pagination: Record<string, unknown> } {
  const limit = clampLimit(query.limit);
  const start = Number(query.start) || 0;
  const items = all.slice(start, start + limit);
  const more = start + limit < all.length;
  return { items, pagination: { start, limit, more_items_in_collection: more, ...(more ? { next_start: start + limit } : {}) } };
}
