import { signedToken } from './sdk';

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

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
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
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
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
