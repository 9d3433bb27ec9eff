import { api, type ReportMessage } from '../shared/api';
import { CsvButton, ListFoot, PipedriveLink, ReplyTags, StatusBadge, usePagedList, when, type ListScope } from './report-list-parts';
import './report-lists.css';

/**
 * One row of the reports table opened: that automation's (or the deal panel's) messages of the period, newest first,
 * each with its delivery state (and why it was skipped or failed) and, beneath it, the replies it got.
 */
export function MessageList({ days, scope, title, canDownload, onClose }: { days: number; scope: ListScope; title: string; canDownload: boolean; onClose: () => void }) {
  const key = `messages-${days}-${JSON.stringify(scope)}`;
  const { list, more, retry } = usePagedList<ReportMessage>(key, async (cursor) => {
    const page = await api.reports.messages({ days, ...scope, ...(cursor ? { cursor } : {}) });
    return { rows: page.messages, nextCursor: page.nextCursor, pipedriveUrl: page.pipedriveUrl };
  });
  const base = list.pipedriveUrl;

  return (
    <div className="report-list card" data-testid="message-list" role="region" aria-labelledby="message-list-title">
      <div className="list-head">
        <h3 id="message-list-title">
          Messages: {title} <span className="list-period">· last {days} days</span>
        </h3>
        <div className="section-tools">
          {canDownload && <CsvButton list="messages" query={{ days, ...scope }} testId="messages-csv" />}
          <button type="button" className="secondary" data-testid="message-list-close" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
      {list.state === 'ready' && list.rows.length === 0 && (
        <p className="empty-state" data-testid="message-list-empty">
          No messages in the last {days} days.
        </p>
      )}
      <ol className="message-rows">
        {list.rows.map((m) => (
          <li key={m.id} data-testid="report-message" data-message-id={m.id}>
            <div className="row-meta">
              <time dateTime={m.createdAt}>{when(m.createdAt)}</time>
              <PipedriveLink base={base} what="person" id={m.personId}>
                {m.personName ?? m.to ?? 'Contact'}
              </PipedriveLink>
              <PipedriveLink base={base} what="deal" id={m.dealId}>
                {m.dealTitle ?? (m.dealId !== null ? `Deal ${m.dealId}` : 'No deal')}
              </PipedriveLink>
              <StatusBadge status={m.status} reason={m.reason} notBefore={m.notBefore} />
            </div>
            <p className="row-body" data-testid="message-body">
              {m.body ?? <em>No text: a rule stopped it before it was written.</em>}
            </p>
            {m.replies.length > 0 && (
              <ul className="reply-rows" aria-label="Replies">
                {m.replies.map((r) => (
                  <li key={r.id} data-testid="message-reply">
                    <span className="reply-mark" aria-hidden="true">
                      ↳
                    </span>
                    <time dateTime={r.receivedAt}>{when(r.receivedAt)}</time>
                    <span className="reply-body">{r.body}</span>
                    <ReplyTags reply={r} />
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ol>
      <ListFoot list={list} more={more} retry={retry} what="The messages" />
    </div>
  );
}
