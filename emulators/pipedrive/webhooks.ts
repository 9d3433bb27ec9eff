// Pipedrive's webhooks: creating them through the API, firing v1 and v2 events on every change (from the app or
// from a test acting as a Pipedrive user), redelivery, and the uninstall notification.
import { randomUUID } from 'node:crypto';
import { basicAuthHeader, deliver, type DeliveryResult } from '../http.js';
import { changedFields, dealV1, dealWebhookV2, personV1, personWebhookV2 } from './webhook-shapes.js';
import type { PdDeal, PdPerson, PdWebhook } from './records.js';
import { WEBHOOK_TIMEOUT_MS, WEBHOOKS_PER_USER, WEBHOOK_OBJECTS, ACTION_ALIASES, V1_ACTION, ApiError, isObject, optionalId, type WebhookDelivery, type ChangeOptions, type Entity, type Action, type Snapshot, type StoredEvent, type AuthContext } from './internals.js';
import { PipedriveOAuth } from './oauth.js';
import type { PipedriveSeed } from './seed.js';

export class PipedriveWebhooks extends PipedriveOAuth {
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
    input: Parameters<PipedriveSeed['addDeal']>[1],
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


  protected createWebhookFromApi(a: AuthContext, body: unknown): PdWebhook {
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


  protected async changeDeal(deal: PdDeal, patch: Partial<PdDeal>, opts: ChangeOptions): Promise<WebhookDelivery[]> {
    const before = this.dealSnapshot(deal);
    Object.assign(deal, structuredClone(patch), { update_time: this.isoNow() });
    const after = this.dealSnapshot(deal);
    return this.fire(deal.companyId, 'deal', 'change', deal.id, before, after, opts.userId ?? deal.owner_id, opts.changeSource ?? 'app');
  }


  protected dealSnapshot(deal: PdDeal): Snapshot {
    return { v2: dealWebhookV2(deal), v1: dealV1(deal) };
  }


  protected personSnapshot(person: PdPerson): Snapshot & { v2Custom: Record<string, unknown> } {
    const fields = this.fieldsOf(person.companyId);
    return { v2: personWebhookV2(person, fields), v1: personV1(person, fields), v2Custom: { ...person.custom_fields } };
  }

  /** Builds one payload per matching webhook of the company and delivers them all. */
  protected async fire(
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


  protected async send(webhook: PdWebhook, event: StoredEvent): Promise<WebhookDelivery> {
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


  protected background(p: Promise<unknown>): void {
    const tracked = p.catch((err: unknown) => console.error('pipedrive emulator: webhook delivery failed', err));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }
}
