/**
 * The Pipedrive calls the app makes, in our own terms. Everything outside `pipedrive/` talks to this interface,
 * never to the SDK. One CrmPort acts as one installed user of one company.
 */

export type CrmPhone = { value: string; primary: boolean; label: string | null };

export type CrmPerson = {
  id: number;
  name: string;
  firstName: string | null;
  lastName: string | null;
  ownerId: number | null;
  phones: CrmPhone[];
  /** API v2 shape: single-option fields hold the option id (a number). */
  customFields: Record<string, unknown>;
};

export type CrmDeal = {
  id: number;
  title: string;
  personId: number | null;
  stageId: number | null;
  pipelineId: number | null;
  ownerId: number | null;
  status: string | null;
};

export type CrmUser = {
  id: number;
  name: string;
  email: string | null;
  companyId: number;
  companyName: string;
  companyDomain: string | null;
  isAdmin: boolean;
  /** The user's time zone as set in Pipedrive (IANA name, `timezone_name`); null or absent when not given. */
  timeZone?: string | null;
};

export type CrmPersonField = {
  id: number;
  key: string;
  name: string;
  fieldType: string;
  options: Array<{ id: number; label: string }>;
};

export type CrmStage = { id: number; name: string; order: number };

/** A pipeline with its stages, both in Pipedrive's display order. */
export type CrmPipeline = { id: number; name: string; order: number; stages: CrmStage[] };

export type CrmActivityType = { id: number; name: string; keyString: string; active: boolean };

export type CrmWebhook = {
  id: number;
  subscriptionUrl: string;
  eventObject: string;
  eventAction: string;
  version: string;
  httpAuthUser: string | null;
};

export type NewActivity = {
  subject: string;
  type: string;
  done: boolean;
  dealId?: number | null;
  personId?: number | null;
  /** HTML; the caller escapes user-provided text. */
  note?: string;
};

export type NewWebhook = {
  name: string;
  subscriptionUrl: string;
  eventObject: string;
  eventAction: string;
  httpAuthUser: string;
  httpAuthPassword: string;
  /** Whose permissions filter the events; an admin sees every deal. */
  userId?: number;
};

export interface CrmPort {
  getCurrentUser(): Promise<CrmUser>;
  getUser(id: number): Promise<CrmUser | null>;
  getPerson(id: number): Promise<CrmPerson | null>;
  getDeal(id: number): Promise<CrmDeal | null>;
  /**
   * The users Pipedrive lets see the deal; `null` when the deal does not exist or this installation may not see it
   * either (then nobody may be shown it through the app).
   */
  getDealPermittedUsers(id: number): Promise<number[] | null>;
  /** Sets one custom field of a person (single option: the option id). */
  setPersonField(personId: number, fieldKey: string, value: string | number | null): Promise<void>;
  addActivity(activity: NewActivity): Promise<{ id: number }>;
  /** Persons whose phone matches; the caller confirms the match on the normalised primary phone. */
  searchPersonsByPhone(phone: string): Promise<Array<{ id: number; name: string }>>;
  /** Every pipeline of the company with its stages (deleted ones left out), for choosing an automation's stage. */
  listPipelines(): Promise<CrmPipeline[]>;
  listPersonFields(): Promise<CrmPersonField[]>;
  addPersonField(field: { name: string; options: string[] }): Promise<CrmPersonField>;
  listActivityTypes(): Promise<CrmActivityType[]>;
  addActivityType(type: { name: string; iconKey: string }): Promise<CrmActivityType>;
  listWebhooks(): Promise<CrmWebhook[]>;
  addWebhook(webhook: NewWebhook): Promise<CrmWebhook>;
  deleteWebhook(id: number): Promise<void>;
}
