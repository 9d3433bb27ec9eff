import type {
  Automation,
  AutomationCreate,
  AutomationList,
  AutomationPatch,
  PanelSent,
  PanelView,
  PipelineList,
  Report,
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

async function call<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
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
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError('Could not reach SMS for Pipedrive', UNREACHABLE, null);
  }
  const text = await res.text();
  // A proxy in front of the app can answer with an HTML error page: keep its status, not a JSON parse error.
  let json: { error?: { message?: string; code?: string; details?: Record<string, unknown> } } | null = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const error = json?.error;
    throw new ApiError(error?.message ?? `Request failed (${res.status})`, res.status, error?.code ?? null, error?.details ?? null);
  }
  return json as T;
}

// The pages take their types from here too: the contracts' types, under the names the server gives them.
export type * from '../../server/http/contracts/index';

const segment = (value: string | number) => encodeURIComponent(String(value));

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
  },
  panel: {
    deal: (dealId: string | number) => call<PanelView>('GET', `/api/panel/deals/${segment(dealId)}`),
    send: (dealId: string | number, body: string) => call<PanelSent>('POST', `/api/panel/deals/${segment(dealId)}/messages`, { body }),
  },
};
