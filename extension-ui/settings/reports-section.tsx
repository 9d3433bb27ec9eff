import { useState } from 'react';
import { api, type ReportCounters as Counters, type ReportRow } from '../shared/api';
import { LoadError } from './load-error';
import { MessageList } from './message-list';
import { PANEL_FILTER, ReplyList } from './reply-list';
import { useResource } from './use-resource';
import { SKIP_REASON_WORDS } from './words';

const PERIODS = [7, 30, 90] as const;

const COLUMNS: ReadonlyArray<{ key: keyof Omit<Counters, 'skippedByReason' | 'total'>; label: string; help: string }> = [
  { key: 'sent', label: 'Sent', help: 'Accepted by Twilio' },
  { key: 'delivered', label: 'Delivered', help: 'Confirmed delivered to the phone' },
  { key: 'failed', label: 'Failed', help: 'Refused by Twilio or the carrier' },
  { key: 'skipped', label: 'Skipped', help: 'Not sent because a rule stopped it' },
  { key: 'replied', label: 'Replied', help: 'Messages that got a reply' },
  { key: 'optedOut', label: 'Opted out', help: 'Contacts who opted out after it' },
  { key: 'pending', label: 'Pending', help: 'Waiting to be sent' },
];

const day = (iso: string) => new Date(iso).toLocaleDateString(undefined, { month: 'short', day: 'numeric', year: 'numeric' });

/** What is opened beneath the table: one row's messages, or every reply. */
type Opened = { list: 'messages'; row: ReportRow } | { list: 'replies' } | null;

export function ReportsSection({ canDownload }: { canDownload: boolean }) {
  const [days, setDays] = useState<(typeof PERIODS)[number]>(30);
  const { resource, reload } = useResource(`reports-${days}`, () => api.reports.counts(days));
  const report = resource.data;
  const [opened, setOpened] = useState<Opened>(null);

  return (
    <section className="section" aria-labelledby="reports-title" id="reports">
      <div className="section-head">
        <h2 id="reports-title">Reports</h2>
        <div className="section-tools">
          <button type="button" className="secondary" data-testid="report-all-replies" onClick={() => setOpened({ list: 'replies' })}>
            All replies
          </button>
          <button type="button" className="secondary" data-testid="report-refresh" disabled={resource.state === 'loading'} onClick={() => void reload()}>
            Refresh
          </button>
          <label className="period">
            <span>Period</span>
            <select data-testid="report-period" value={days} onChange={(e) => setDays(Number(e.target.value) as (typeof PERIODS)[number])}>
              {PERIODS.map((p) => (
                <option key={p} value={p}>
                  Last {p} days
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>

      {resource.state === 'loading' && !report && (
        <p className="loading" role="status">
          Loading reports…
        </p>
      )}
      {resource.state === 'error' && (
        <LoadError testId="reports-error" error={resource.error} what="Reports" onRetry={() => void reload()} />
      )}
      {report && resource.state !== 'error' && (
        <>
          <p className="field-note" data-testid="report-range">
            {day(report.since)} – {day(report.until)}
            {resource.state === 'loading' && ' · updating…'}
          </p>
          {report.totals.total === 0 ? (
            <p className="empty-state" data-testid="reports-empty">
              No messages in the last {report.days} days. Once an automation or the deal panel sends, what became of each message shows here.
            </p>
          ) : (
            <div className="table-scroll" tabIndex={0} role="region" aria-label="Report table">
              <table className="report" data-testid="report-table" aria-busy={resource.state === 'loading'}>
                <caption className="visually-hidden">
                  Messages per automation, last {report.days} days
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Automation</th>
                    {COLUMNS.map((c) => (
                      <th key={c.key} scope="col" className="num" title={c.help}>
                        {c.label}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {report.rows.map((row) => (
                    <tr key={`${row.source}-${row.automationId ?? 'none'}-${row.name}`} data-testid="report-row" data-automation-id={row.automationId ?? ''}>
                      <th scope="row">
                        <RowName row={row} onOpen={() => setOpened({ list: 'messages', row })} />
                      </th>
                      {COLUMNS.map((c) => (
                        <td key={c.key} className="num" data-col={c.key}>
                          {c.key === 'skipped' ? <Skipped counters={row} /> : row[c.key]}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
                <tfoot>
                  <tr data-testid="report-totals">
                    <th scope="row">Total</th>
                    {COLUMNS.map((c) => (
                      <td key={c.key} className="num" data-col={c.key}>
                        {c.key === 'skipped' ? <Skipped counters={report.totals} /> : report.totals[c.key]}
                      </td>
                    ))}
                  </tr>
                </tfoot>
              </table>
            </div>
          )}
        </>
      )}
      {opened?.list === 'messages' && (
        <MessageList
          key={`${opened.row.source}-${opened.row.automationId ?? ''}`}
          days={days}
          scope={opened.row.source === 'panel' ? { source: 'panel' } : opened.row.automationId ? { automationId: opened.row.automationId } : {}}
          title={opened.row.source === 'panel' ? 'Sent from the deal panel' : opened.row.name}
          canDownload={canDownload}
          onClose={() => setOpened(null)}
        />
      )}
      {opened?.list === 'replies' && (
        <ReplyList
          days={days}
          options={(report?.rows ?? []).map((r) =>
            r.source === 'panel' ? { value: PANEL_FILTER, label: 'Sent from the deal panel' } : { value: r.automationId ?? '', label: r.exists ? r.name : `${r.name} (deleted)` },
          ).filter((o) => o.value !== '')}
          canDownload={canDownload}
          onClose={() => setOpened(null)}
        />
      )}
    </section>
  );
}

/** The row's name opens its messages beneath the table. */
function RowName({ row, onOpen }: { row: ReportRow; onOpen: () => void }) {
  const open = (
    <button type="button" className="link" data-testid="report-open-messages" title="Show these messages" onClick={onOpen}>
      {row.source === 'panel' ? 'Sent from the deal panel' : row.name}
    </button>
  );
  if (row.source === 'panel') return <span className="row-name">{open}</span>;
  return (
    <span className="row-name">
      {open}
      {!row.exists && (
        <span className="tag" data-testid="deleted-tag">
          deleted
        </span>
      )}
    </span>
  );
}

/** The count and, beneath it, why: "1 no consent · 1 opted out". */
function Skipped({ counters }: { counters: Counters }) {
  const reasons = Object.entries(counters.skippedByReason ?? {}).filter(([, n]) => n > 0);
  return (
    <>
      <span>{counters.skipped}</span>
      {reasons.length > 0 && (
        <ul className="reasons" aria-label="Reasons">
          {reasons.map(([reason, n]) => (
            <li key={reason}>
              {n} {SKIP_REASON_WORDS[reason] ?? reason.replace(/_/g, ' ')}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
