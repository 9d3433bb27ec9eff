import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError, api, type ReportListQuery, type ReportMessageReply } from '../shared/api';
import { DownloadButton } from './download-button';
import { describeError } from './use-resource';
import { SKIP_REASON_WORDS } from './words';

/** What a list shows of the reports table's choice: one automation's rows, the deal panel's, or all. */
export type ListScope = { automationId: string } | { source: 'panel' } | Record<string, never>;

type Page<T> = { rows: T[]; nextCursor: string | null; pipedriveUrl: string | null };
type Paged<T> =
  | { state: 'loading'; rows: T[]; nextCursor: string | null; pipedriveUrl: string | null }
  | { state: 'ready'; rows: T[]; nextCursor: string | null; pipedriveUrl: string | null }
  | { state: 'error'; rows: T[]; nextCursor: string | null; pipedriveUrl: string | null; error: ApiError };

/**
 * A list read a page at a time: the first page when `key` changes, the next one (appended) on `more`. Answers to an
 * older key are dropped, so a slow page of the previous filter never lands in the new one.
 */
export function usePagedList<T>(key: string, fetchPage: (cursor: string | undefined) => Promise<Page<T>>) {
  const [list, setList] = useState<Paged<T>>({ state: 'loading', rows: [], nextCursor: null, pipedriveUrl: null });
  const latest = useRef(0);
  const fetchLatest = useRef(fetchPage);
  fetchLatest.current = fetchPage;

  const load = useCallback(
    async (cursor: string | undefined) => {
      const ticket = cursor === undefined ? ++latest.current : latest.current;
      setList((l) => (cursor === undefined ? { state: 'loading', rows: [], nextCursor: null, pipedriveUrl: l.pipedriveUrl } : { ...l, state: 'loading' }));
      try {
        const page = await fetchLatest.current(cursor);
        if (ticket !== latest.current) return;
        setList((l) => ({ state: 'ready', rows: cursor === undefined ? page.rows : [...l.rows, ...page.rows], nextCursor: page.nextCursor, pipedriveUrl: page.pipedriveUrl }));
      } catch (error) {
        if (ticket !== latest.current) return;
        const apiError = error instanceof ApiError ? error : new ApiError('Unexpected answer from SMS for Pipedrive', 500, null);
        setList((l) => ({ ...l, state: 'error', error: apiError }));
      }
    },
    // `key` names what fetchPage asks for: a new key starts the list again.
    [key],
  );

  useEffect(() => {
    void load(undefined);
  }, [load]);

  return { list, more: () => list.nextCursor && void load(list.nextCursor), retry: () => void load(list.rows.length ? (list.nextCursor ?? undefined) : undefined) };
}

/** A link into the company's Pipedrive, in a new tab; plain text when the company's domain is not known. */
export function PipedriveLink({ base, what, id, children }: { base: string | null; what: 'deal' | 'person'; id: number | null; children: ReactNode }) {
  if (!base || id === null) return <span>{children}</span>;
  return (
    <a href={`${base}/${what}/${id}`} target="_blank" rel="noopener noreferrer" data-testid={`${what}-link`}>
      {children}
    </a>
  );
}

const STATUS_WORDS: Record<string, string> = {
  pending: 'Waiting to send',
  scheduled: 'Scheduled',
  sending: 'Sending',
  sent: 'Sent',
  queued: 'Sent',
  delivered: 'Delivered',
  undelivered: 'Not delivered',
  failed: 'Failed',
  skipped: 'Skipped',
  cancelled: 'Cancelled',
};
const FAILURE_WORDS: Record<string, string> = {
  '21211': 'invalid phone number',
  '21408': 'country not enabled',
  '21610': 'the contact unsubscribed at Twilio',
  '21614': 'not a mobile number',
  '30003': 'phone unreachable',
  '30005': 'unknown or inactive number',
  '30006': 'landline or unreachable carrier',
  '30007': 'blocked as spam by the carrier',
  no_sender: 'no Twilio sender configured',
  installation_revoked: 'the app lost access to Pipedrive',
};
const TONE: Record<string, string> = { delivered: 'ok', sent: 'ok', undelivered: 'bad', failed: 'bad', skipped: 'warn', cancelled: 'warn' };

/** "Delivered", "Skipped: no consent", "Failed: invalid phone number (21211)". */
export function statusWords(status: string, reason: string | null): string {
  const base = STATUS_WORDS[status] ?? status;
  if (!reason) return base;
  if (status === 'skipped' || status === 'cancelled') return `${base}: ${SKIP_REASON_WORDS[reason] ?? reason.replace(/_/g, ' ')}`;
  const words = FAILURE_WORDS[reason];
  return `${base}: ${words ? `${words}${/^\d+$/.test(reason) ? ` (${reason})` : ''}` : `error ${reason}`}`;
}

export function StatusBadge({ status, reason, notBefore = null }: { status: string; reason: string | null; notBefore?: string | null }) {
  return (
    <span className={`status-badge ${TONE[status] ?? 'neutral'}`} data-testid="message-status" data-status={status}>
      {statusWords(status, reason)}
      {notBefore && ` until ${when(notBefore)} (the contact's quiet hours)`}
    </span>
  );
}

const KEYWORD_WORDS: Record<string, string> = { opt_out: 'Opt-out keyword', opt_in: 'Opt-in keyword', help: 'Help keyword' };

/** The reply's keyword and possible-opt-out tags. */
export function ReplyTags({ reply }: { reply: Pick<ReportMessageReply, 'keyword' | 'possibleOptOut'> }) {
  return (
    <>
      {reply.keyword && (
        <span className={`tag keyword-${reply.keyword}`} data-testid="reply-keyword">
          {KEYWORD_WORDS[reply.keyword]}
        </span>
      )}
      {reply.possibleOptOut && (
        <span className="tag possible-opt-out" data-testid="reply-possible-opt-out">
          Possible opt-out
        </span>
      )}
    </>
  );
}

export const when = (iso: string) =>
  new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', year: 'numeric', hour: 'numeric', minute: '2-digit' });

/** Downloads the whole list as CSV (the server allows it to the admin who installed the app). */
export function CsvButton({ list, query, testId }: { list: 'messages' | 'replies'; query: Omit<ReportListQuery, 'cursor' | 'limit' | 'format'>; testId: string }) {
  return <DownloadButton fetchFile={() => api.reports.csv(list, query)} label="Download CSV" what="The download" testId={testId} />;
}

/** The list's foot: more, an error with retry, or where the list ends. */
export function ListFoot<T>({ list, more, retry, what }: { list: Paged<T>; more: () => void; retry: () => void; what: string }) {
  if (list.state === 'error') {
    return (
      <div className="error-box" role="alert">
        <p>{describeError(list.error, what)}</p>
        <button type="button" className="secondary" onClick={retry}>
          Try again
        </button>
      </div>
    );
  }
  if (list.state === 'loading') {
    return (
      <p className="loading" role="status">
        Loading…
      </p>
    );
  }
  if (list.nextCursor) {
    return (
      <button type="button" className="secondary load-more" data-testid="load-more" onClick={more}>
        Show more
      </button>
    );
  }
  return null;
}
