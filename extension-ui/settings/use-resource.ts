import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, UNREACHABLE } from '../shared/api';

export type Resource<T> =
  | { state: 'loading'; data: T | null }
  | { state: 'ready'; data: T }
  | { state: 'error'; data: T | null; error: ApiError };

/**
 * One GET the page shows, with its loading and error states. `reload` keeps the last data on screen while it runs
 * (a table that blinks to "Loading…" on every period change is harder to read). Answers to an older request are
 * dropped, so a slow 90-day report cannot overwrite the 7-day one asked for after it. `key` names what `fetch` asks
 * for (a new key loads again); `fetch` is a method of the API client.
 */
export function useResource<T>(key: string | null, fetch: () => Promise<T>) {
  const [resource, setResource] = useState<Resource<T>>({ state: 'loading', data: null });
  const latest = useRef(0);
  const fetchLatest = useRef(fetch);
  fetchLatest.current = fetch;

  const load = useCallback(async () => {
    if (key === null) return;
    const ticket = ++latest.current;
    setResource((r) => ({ state: 'loading', data: r.data }));
    try {
      const data = await fetchLatest.current();
      if (ticket === latest.current) setResource({ state: 'ready', data });
    } catch (error) {
      if (ticket !== latest.current) return;
      const apiError = error instanceof ApiError ? error : new ApiError('Unexpected answer from SMS for Pipedrive', 500, null);
      setResource((r) => ({ state: 'error', data: r.data, error: apiError }));
    }
  }, [key]);

  useEffect(() => {
    void load();
  }, [load]);

  return { resource, reload: load, setData: (data: T) => setResource({ state: 'ready', data }) };
}

/**
 * What an admin should read for a failed call. `what` names the thing that failed to load ("Reports"); 401 and 403
 * get their own words because the fix is not "try again".
 */
export function describeError(error: ApiError, what: string): string {
  if (error.status === 401) return 'Your Pipedrive session has expired. Reload the page in Pipedrive to continue.';
  if (error.status === 403) return error.message;
  if (error.status === 404 && error.message === 'No such route') return `${what} are not available on this server yet.`;
  if (error.status === 502) return `${what} could not be loaded because Pipedrive is not answering right now. Try again in a moment.`;
  if (error.status === UNREACHABLE) return 'Could not reach SMS for Pipedrive. Check your connection and try again.';
  if (error.status >= 500) return `${what} could not be loaded: something went wrong on our side. Try again in a moment.`;
  return error.message;
}
