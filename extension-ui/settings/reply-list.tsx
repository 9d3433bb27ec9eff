import { useState } from 'react';
import { api, type ReportReply } from '../shared/api';
import { CsvButton, ListFoot, PipedriveLink, ReplyTags, usePagedList, when, type ListScope } from './report-list-parts';
import './report-lists.css';

/** The automations the filter offers: those of the reports table, and the deal panel. */
export type ReplyFilterOption = { value: string; label: string };
export const PANEL_FILTER = 'panel';

const scopeOf = (filter: string): ListScope => (filter === '' ? {} : filter === PANEL_FILTER ? { source: 'panel' } : { automationId: filter });

/** Every reply of the period with its person, deal and automation, newest first, filterable by automation. */
export function ReplyList({ days, options, canDownload, onClose }: { days: number; options: ReplyFilterOption[]; canDownload: boolean; onClose: () => void }) {
  const [filter, setFilter] = useState('');
  const scope = scopeOf(filter);
  const { list, more, retry } = usePagedList<ReportReply>(`replies-${days}-${filter}`, async (cursor) => {
    const page = await api.reports.replies({ days, ...scope, ...(cursor ? { cursor } : {}) });
    return { rows: page.replies, nextCursor: page.nextCursor, pipedriveUrl: page.pipedriveUrl };
  });
  const base = list.pipedriveUrl;

  return (
    <div className="report-list card" data-testid="reply-list" role="region" aria-labelledby="reply-list-title">
      <div className="list-head">
        <h3 id="reply-list-title">
          All replies <span className="list-period">· last {days} days</span>
        </h3>
        <div className="section-tools">
          <label className="period">
            <span>Automation</span>
            <select data-testid="reply-filter" value={filter} onChange={(e) => setFilter(e.target.value)}>
              <option value="">All</option>
              {options.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          </label>
          {canDownload && <CsvButton list="replies" query={{ days, ...scope }} testId="replies-csv" />}
          <button type="button" className="secondary" data-testid="reply-list-close" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
      {list.state === 'ready' && list.rows.length === 0 && (
        <p className="empty-state" data-testid="reply-list-empty">
          No replies in the last {days} days{filter ? ' to its messages' : ''}.
        </p>
      )}
      {list.rows.length > 0 && (
        <div className="table-scroll">
          <table className="report reply-table" aria-busy={list.state === 'loading'}>
            <thead>
              <tr>
                <th scope="col">Received</th>
                <th scope="col">From</th>
                <th scope="col">Deal</th>
                <th scope="col">Automation</th>
                <th scope="col">Reply</th>
              </tr>
            </thead>
            <tbody>
              {list.rows.map((r) => (
                <tr key={r.id} data-testid="reply-row" data-reply-id={r.id}>
                  <td className="nowrap">
                    <time dateTime={r.receivedAt}>{when(r.receivedAt)}</time>
                  </td>
                  <td className="nowrap">
                    <PipedriveLink base={base} what="person" id={r.personId}>
                      {r.personName ?? r.from}
                    </PipedriveLink>
                  </td>
                  <td>
                    {r.dealId !== null ? (
                      <PipedriveLink base={base} what="deal" id={r.dealId}>
                        {r.dealTitle ?? `Deal ${r.dealId}`}
                      </PipedriveLink>
                    ) : (
                      <span className="muted">Not linked to a deal</span>
                    )}
                  </td>
                  <td data-testid="reply-automation">{r.automationName ?? (r.messageId ? 'Deal panel' : '—')}</td>
                  <td>
                    <span className="reply-body" data-testid="reply-body">
                      {r.body}
                    </span>{' '}
                    <ReplyTags reply={r} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ListFoot list={list} more={more} retry={retry} what="The replies" />
    </div>
  );
}
