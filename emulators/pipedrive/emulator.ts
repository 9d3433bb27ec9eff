// An HTTP emulator of the slice of Pipedrive this app talks to: OAuth (authorize, token, revoke), the v1/v2 API
// calls the app makes, and webhooks it fires. Used by sandbox mode and by the integration tests, which drive it
// with the real `pipedrive` SDK, so wire details (paths, envelopes, status codes, error bodies, webhook shapes)
// follow Pipedrive's documented behaviour rather than convenience. One file per resource, each a layer of the class:
// store -> seed -> oauth -> webhooks -> persons -> activities -> this file (the HTTP server, the route table, faults).
import type { ServerResponse } from 'node:http';
import { playFault, recordRequest, sendJson, startLoopbackServer, type EmulatorRequest } from '../http.js';
import { activityTypeV1, activityV2, currentUserV1, dealV2, personFieldV1, personV2, pipelineV2, stageV2, userV1, webhookV1 } from './shapes.js';
import { ERROR_INFO, NOT_VISIBLE, ApiError, pdErrorBody, rateLimitHeaders, faultResponse, requireAdmin, v2Id, v2Page, v1Page, type PipedriveEmulatorOptions, type PipedriveFault, type Handler, type Route } from './internals.js';
import { PipedriveActivities } from './activities.js';

export type { PipedriveEmulatorOptions, PipedriveFault, IssuedToken, RevokedToken, WebhookDelivery, ChangeOptions } from './internals.js';
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

export class PipedriveEmulator extends PipedriveActivities {
  private readonly routes: Route[];

  constructor(opts: PipedriveEmulatorOptions) {
    super(opts);
    this.routes = this.buildRoutes();
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

  /** A user sets their time zone in Pipedrive's personal preferences; users/me answers it (and its offset) at once. */
  setUserTimeZone(companyId: number, userId: number, timezoneName: string): void {
    const user = this.findUser(userId, companyId);
    if (!user) throw new Error(`no user ${userId} in company ${companyId}`);
    user.timezoneName = timezoneName;
  }

  /**
   * Who may see a deal: a list makes it "owner & followers" (visible_to 1; the owner and the company's admins see
   * it too), `null` gives it back to the entire company (visible_to 3, the default of a new deal).
   */
  setDealPermittedUsers(dealId: number, followerIds: number[] | null): void {
    this.dealPermissions.restrict(this.requireDeal(dealId), followerIds);
  }


  private async handle(req: EmulatorRequest, res: ServerResponse): Promise<void> {
    recordRequest(req, res, this.recorded);
    const faulted = await playFault(this.faults, req, (fault, status) => {
      const { body, headers } = faultResponse(status);
      sendJson(res, status, fault.body ?? body, { ...headers, ...fault.headers });
    });
    if (faulted) return;

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
}

export async function startPipedriveEmulator(opts: PipedriveEmulatorOptions): Promise<PipedriveEmulator> {
  return new PipedriveEmulator(opts).start(opts.port ?? 0);
}
