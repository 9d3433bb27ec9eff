import type { AxiosError, AxiosInstance, AxiosResponse } from 'axios';

/** What our interceptor rejects with instead of the SDK's bare JSON body, which loses status and headers. */
export class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    readonly body: unknown,
    message: string,
    /** The bearer token this very request carried: concurrent calls may have moved on to a newer one. */
    readonly sentToken: string | null = null,
  ) {
    super(message);
  }
}

// The SDK keeps its axios instance protected; it is the only hook that keeps HTTP status and headers.
export function installInterceptors(api: object, timeoutMs: number): void {
  const axios = (api as unknown as { axios: AxiosInstance }).axios;
  axios.defaults.timeout = timeoutMs;
  axios.interceptors.response.clear();
  axios.interceptors.response.use(
    (response: AxiosResponse) => response.data,
    (error: AxiosError) => {
      const response = error.response;
      if (!response) return Promise.reject(new HttpFailure(0, {}, null, `network error: ${error.code ?? error.message}`));
      const body = response.data as { error?: unknown; message?: unknown } | undefined;
      const text = typeof body?.error === 'string' ? body.error : typeof body?.message === 'string' ? body.message : error.message;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(response.headers ?? {})) if (typeof v === 'string') headers[k.toLowerCase()] = v;
      const auth = String((error.config?.headers as Record<string, unknown> | undefined)?.Authorization ?? '');
      const sentToken = auth.startsWith('Bearer ') ? auth.slice(7) : null;
      return Promise.reject(new HttpFailure(response.status, headers, body, text, sentToken));
    },
  );
}

