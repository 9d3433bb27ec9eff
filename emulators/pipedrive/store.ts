// The Pipedrive emulator's state: every company's records, tokens, events and what was asked of it, and the
// lookups the resources share. The resource files extend it, one layer each.
import type { FetchLike, RecordedRequest, StartedServer } from '../http.js';
import { isoSeconds } from './shapes.js';
import type { PdActivity, PdActivityType, PdCompany, PdDeal, PdPerson, PdPersonField, PdPipeline, PdStage, PdUser, PdWebhook } from './records.js';
import { ApiError, byCompany, type PipedriveEmulatorOptions, type IssuedToken, type RevokedToken, type WebhookDelivery, type IdKind, type StoredEvent, type AuthCode, type RefreshRecord, type Fault, type AuthContext } from './internals.js';
import { DealPermissions } from './deal-permissions.js';

export class PipedriveStore {
  protected server: StartedServer | null = null;
  protected readonly now: () => number;
  protected readonly fetchImpl: FetchLike;
  protected readonly nextId: Record<IdKind, number> = {
    company: 1, user: 1, person: 1, deal: 1, pipeline: 1, stage: 1, field: 1, option: 1, type: 1, activity: 1, webhook: 1,
  };

  protected readonly companyMap = new Map<number, PdCompany>();
  protected readonly userMap = new Map<string, PdUser>(); // key `${companyId}:${userId}`: a user can be in several companies
  protected readonly personMap = new Map<number, PdPerson>();
  protected readonly dealMap = new Map<number, PdDeal>();
  protected readonly pipelineMap = new Map<number, PdPipeline>();
  protected readonly stageMap = new Map<number, PdStage>();
  protected readonly fieldMap = new Map<number, PdPersonField>();
  protected readonly typeMap = new Map<number, PdActivityType>();
  protected readonly activityMap = new Map<number, PdActivity>();
  protected readonly webhookMap = new Map<number, PdWebhook>();
  /**
   * Some recorded v2 deliveries carry `meta.id`, `company_id`, `user_id` and `entity_id` as numbers and `timestamp` as
   * epoch seconds; set this to send that form instead of the documented strings and ISO text.
   */
  numericV2Meta = false;
  protected lastNumericEventId = 0;
  protected readonly dealPermissions = new DealPermissions();

  protected readonly authCodes = new Map<string, AuthCode>();
  protected readonly accessTokens = new Map<string, IssuedToken>();
  protected readonly refreshTokens = new Map<string, RefreshRecord>();
  protected readonly revoked: RevokedToken[] = [];
  protected consent: { userId?: number; companyId?: number; deny?: boolean } = {};

  protected readonly recorded: RecordedRequest[] = [];
  protected faults: Fault[] = [];
  protected readonly events = new Map<string, StoredEvent>();
  protected readonly deliveryLog: WebhookDelivery[] = [];
  protected readonly pending = new Set<Promise<unknown>>();

  constructor(protected readonly opts: PipedriveEmulatorOptions) {
    this.now = opts.now ?? Date.now;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  /** Origin of the emulator, e.g. `http://127.0.0.1:41234`; both the OAuth host and every company's api_domain. */
  get url(): string {
    if (!this.server) throw new Error('Pipedrive emulator is not started');
    return this.server.url;
  }


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


  protected takeId(kind: IdKind, wanted?: number): number {
    if (wanted !== undefined) {
      this.nextId[kind] = Math.max(this.nextId[kind], wanted + 1);
      return wanted;
    }
    const id = this.nextId[kind];
    this.nextId[kind] += 1;
    return id;
  }


  protected isoNow(): string {
    return isoSeconds(new Date(this.now()));
  }


  protected requireCompany(companyId: number): PdCompany {
    const company = this.companyMap.get(companyId);
    if (!company) throw new Error(`no company ${companyId}`);
    return company;
  }


  protected requireDeal(dealId: number): PdDeal {
    const deal = this.dealMap.get(dealId);
    if (!deal) throw new Error(`no deal ${dealId}`);
    return deal;
  }


  protected ownPerson(a: AuthContext, id: number): PdPerson {
    const person = this.personMap.get(id);
    // Another company's person is indistinguishable from a missing one.
    if (!person || person.companyId !== a.company.id) throw new ApiError(404, 'Person not found');
    return person;
  }


  protected findUser(userId: number, companyId?: number): PdUser | undefined {
    if (companyId !== undefined) return this.userMap.get(`${companyId}:${userId}`);
    return [...this.userMap.values()].find((u) => u.id === userId);
  }


  protected defaultUserId(companyId: number): number {
    const users = this.users(companyId);
    return (users.find((u) => u.isAdmin) ?? users[0])?.id ?? 0;
  }


  protected firstStage(companyId: number): PdStage | undefined {
    const pipelines = this.pipelines(companyId).sort((a, b) => a.order_nr - b.order_nr);
    const first = pipelines[0];
    if (!first) return undefined;
    return this.stages(companyId).filter((s) => s.pipeline_id === first.id).sort((a, b) => a.order_nr - b.order_nr)[0];
  }


  protected fieldsOf(companyId: number): PdPersonField[] {
    return [...this.fieldMap.values()].filter((f) => f.companyId === companyId);
  }
}
