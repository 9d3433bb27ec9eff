import type {
  Automation,
  AutomationCreate,
  AutomationList,
  AutomationPatch,
  ContactErasedAnswer,
  PanelSent,
  PanelView,
  PipelineList,
  MessagesPage,
  OptOutAdded,
  OptOutAddInput,
  OptOutList,
  OptOutRemoved,
  RepliesPage,
  Report,
  ReportListQuery,
  Review,
  ReviewDecisionInput,
  ReviewList,
  ReviewListQuery,
  SettingsPatch,
  SettingsSaved,
  SettingsView,
  TemplatePreview,
  TemplatePreviewInput,
  TwilioConnected,
  TwilioConnectInput,
  TwilioView,
} from '../../server/http/contracts/index';
import { signedToken } from './sdk';

// The one way the UI calls the API: a method per route, whose argument and answer types are the server's contracts
// (server/http/contracts/). The import above is of types only, so no schema is bundled into the page.

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
    /** The server's `error.details` (e.g. the problems and measured segments of a refused template). */
    readonly details: Record<string, unknown> | null = null,
  ) {
    super(message);
  }
}

/** Status 0: the request never got an answer (offline, server down, blocked). */
export const UNREACHABLE = 0;

/** The request with a fresh token; an answer other than 2xx, or none, is thrown as an ApiError. */
async function send(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, csv?: string): Promise<Response> {
  let token: string;
  try {
    token = await signedToken();
  } catch {
    // Without a token from Pipedrive no call can succeed: the same situation, for the user, as an expired one.
    throw new ApiError('Pipedrive did not provide a session token', 401, 'no_token');
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(csv !== undefined ? { 'content-type': 'text/csv' } : body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: csv ?? (body !== undefined ? JSON.stringify(body) : undefined),
    });
  } catch {
    throw new ApiError('Could not reach SMS for Pipedrive', UNREACHABLE, null);
  }
  if (!res.ok) {
    const error = jsonOf(await res.text())?.error;
    throw new ApiError(error?.message ?? `Request failed (${res.status})`, res.status, error?.code ?? null, error?.details ?? null);
  }
  return res;
}

/** A proxy in front of the app can answer with an HTML error page: keep its status, not a JSON parse error. */
function jsonOf(text: string): { error?: { message?: string; code?: string; details?: Record<string, unknown> } } | null {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

async function call<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body);
  return jsonOf(await res.text()) as T;
}

/**
 * A file answer (CSV), whole, with the name the server gives it. Fetched rather than linked because the token is a
 * header, not a cookie: a plain link would be refused.
 */
async function file(path: string): Promise<{ blob: Blob; filename: string }> {
  const res = await send('GET', path);
  const named = /filename="([^"]{1,200})"/.exec(res.headers.get('content-disposition') ?? '');
  return { blob: await res.blob(), filename: named?.[1] ?? 'download.csv' };
}

// The pages take their types from here too: the contracts' types, under the names the server gives them.
export type * from '../../server/http/contracts/index';

const segment = (value: string | number) => encodeURIComponent(String(value));
/** A query string of the keys that have a value. */
const queryOf = (query: Record<string, string | number | undefined>) =>
  new URLSearchParams(Object.entries(query).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]]))).toString();

export const api = {
  settings: {
    get: () => call<SettingsView>('GET', '/api/settings'),
    update: (patch: SettingsPatch) => call<SettingsSaved>('PATCH', '/api/settings', patch),
  },
  twilio: {
    get: () => call<TwilioView>('GET', '/api/settings/twilio'),
    connect: (input: TwilioConnectInput) => call<TwilioConnected>('PUT', '/api/settings/twilio', input),
    disconnect: () => call<TwilioView>('DELETE', '/api/settings/twilio'),
  },
  automations: {
    list: () => call<AutomationList>('GET', '/api/automations'),
    get: (id: string) => call<Automation>('GET', `/api/automations/${segment(id)}`),
    create: (input: AutomationCreate) => call<Automation>('POST', '/api/automations', input),
    update: (id: string, patch: AutomationPatch) => call<Automation>('PATCH', `/api/automations/${segment(id)}`, patch),
    remove: (id: string) => call<null>('DELETE', `/api/automations/${segment(id)}`),
  },
  templates: {
    preview: (input: TemplatePreviewInput) => call<TemplatePreview>('POST', '/api/templates/preview', input),
  },
  pipelines: {
    list: () => call<PipelineList>('GET', '/api/pipelines'),
  },
  reports: {
    /** What became of the messages of the last `days` days, per automation. */
    counts: (days: number) => call<Report>('GET', `/api/reports?days=${segment(days)}`),
    /** A page of the period's messages, each with its replies, newest first; `cursor` from the previous page. */
    messages: (query: ReportListQuery) => call<MessagesPage>('GET', `/api/reports/messages?${queryOf(query)}`),
    /** A page of the period's replies, newest first. */
    replies: (query: ReportListQuery) => call<RepliesPage>('GET', `/api/reports/replies?${queryOf(query)}`),
    /** Every row of the list as a CSV file (admins only). */
    csv: (list: 'messages' | 'replies', query: Omit<ReportListQuery, 'cursor' | 'limit' | 'format'>) =>
      file(`/api/reports/${list}?${queryOf({ ...query, format: 'csv' })}`),
  },
  panel: {
    deal: (dealId: string | number) => call<PanelView>('GET', `/api/panel/deals/${segment(dealId)}`),
    send: (dealId: string | number, body: string) => call<PanelSent>('POST', `/api/panel/deals/${segment(dealId)}/messages`, { body }),
  },
  reviews: {
    /** Possible opt-outs the caller may decide: pending ones oldest due first, or decided ones newest first. */
    list: (query: ReviewListQuery) => call<ReviewList>('GET', `/api/consent/reviews?${queryOf(query)}`),
    decide: (id: string, decision: ReviewDecisionInput['decision']) => call<Review>('POST', `/api/consent/reviews/${segment(id)}`, { decision }),
  },
  optOuts: {
    /** The numbers on the opt-out list, newest first (at most OPT_OUT_LIST_LIMIT); `q`: digits of the number. */
    list: (q?: string) => call<OptOutList>('GET', `/api/consent/opt-outs?${queryOf({ q })}`),
    /** Adds numbers by hand, with the reason (admins who installed only). */
    add: (input: OptOutAddInput) => call<OptOutAdded>('POST', '/api/consent/opt-outs', input),
    /** Imports a CSV file's text (a `phone` column, an optional `reason` column) as it is: not JSON. */
    importCsv: async (text: string) => jsonOf(await (await send('POST', '/api/consent/opt-outs', undefined, text)).text()) as OptOutAdded,
    /** The whole list as a CSV file. */
    csv: () => file('/api/consent/opt-outs?format=csv'),
    /** Takes off a number that came by hand or import (409 for one the contact opted out themselves). */
    remove: (phone: string) => call<OptOutRemoved>('DELETE', `/api/consent/opt-outs/${segment(phone)}`),
  },
  contacts: {
    /** Erases what the company holds about the number (admins who installed only); the opt-out record stays. */
    erase: (phone: string) => call<ContactErasedAnswer>('DELETE', `/api/contacts/${segment(phone)}`),
  },
};
