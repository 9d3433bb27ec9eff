import { useState } from 'react';
import { api, ApiError, type OptOutEntry } from '../shared/api';
import { confirmAction, snackbar } from '../shared/sdk';
import { OPT_OUT_LIST_LIMIT } from '../../server/http/contracts/limits';
import { LoadError } from './load-error';
import { AddNumberForm, ExportButton, ImportForm } from './opt-out-forms';
import { describeError, useResource } from './use-resource';

/** How a number came on the list, in the admin's words. */
const SOURCE_WORDS: Record<string, string> = {
  inbound_keyword: 'Texted an opt-out word',
  twilio_21610: 'Reported by Twilio',
  review: 'Reply reviewed as an opt-out',
  import: 'Imported',
  hand: 'Added by hand',
  pipedrive_field: 'Set in Pipedrive',
  panel: 'From the deal panel',
};
/** Entries an admin may take off; the others came from the contact, who opts back in by texting START. */
const REMOVABLE = new Set(['hand', 'import']);

const MUTED = { color: 'var(--muted)' } as const;

const when = (iso: string) => new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', year: 'numeric', hour: 'numeric', minute: '2-digit' });

/**
 * The company's opt-out list, for the admin who installed: the numbers that are never texted, searchable, with
 * additions by hand and by CSV import, an export, and removal of the numbers an admin added. Others are told who can
 * see it (the server refuses them anyway).
 */
export function OptOutSection({ canEdit }: { canEdit: boolean }) {
  return (
    <section className="section" aria-labelledby="opt-outs-title" id="opt-outs">
      <div className="section-head">
        <h2 id="opt-outs-title">Opt-out list</h2>
      </div>
      {canEdit ? (
        <OptOutList />
      ) : (
        <p className="read-only-note" data-testid="opt-outs-admins-only">
          Only the Pipedrive admin who installed SMS for Pipedrive can see and change the opt-out list. Numbers on it are never texted.
        </p>
      )}
    </section>
  );
}

function OptOutList() {
  const [q, setQ] = useState('');
  const { resource, reload } = useResource(`opt-outs-${q}`, () => api.optOuts.list(q.trim() === '' ? undefined : q));
  const entries = resource.data?.optOuts ?? null;

  return (
    <>
      <p className="field-note">
        Numbers on this list are never texted by any automation or from the deal panel. A contact who texts STOP is added here and can come off it only by
        texting START; numbers you add by hand or import can be removed.
      </p>
      <div className="card">
        <AddNumberForm onAdded={() => void reload()} />
        <ImportForm onImported={() => void reload()} />
      </div>

      <div className="section-tools" style={{ margin: '16px 0 8px', justifyContent: 'space-between' }}>
        <label className="inline">
          <span>Search</span>
          <input type="search" data-testid="opt-out-search" placeholder="Digits of the number" value={q} onChange={(e) => setQ(e.target.value)} />
        </label>
        <ExportButton />
      </div>

      {resource.state === 'loading' && !entries && (
        <p className="loading" role="status">
          Loading the opt-out list…
        </p>
      )}
      {resource.state === 'error' && <LoadError testId="opt-outs-error" error={resource.error} what="The opt-out list" onRetry={() => void reload()} />}
      {entries && entries.length === 0 && (
        <p className="empty-state" data-testid="opt-outs-empty">
          {q.trim() === '' ? 'No number is on the opt-out list yet.' : 'No number on the list matches.'}
        </p>
      )}
      {entries && entries.length > 0 && (
        <>
          <div className="table-scroll" tabIndex={0} role="region" aria-label="Opt-out list">
            <table className="report" data-testid="opt-out-table" aria-busy={resource.state === 'loading'}>
              <thead>
                <tr>
                  <th scope="col">Number</th>
                  <th scope="col">Since</th>
                  <th scope="col">How</th>
                  <th scope="col">Message or reason</th>
                  <th scope="col">Person</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <EntryRow key={e.phone} entry={e} onRemoved={() => void reload()} />
                ))}
              </tbody>
            </table>
          </div>
          {entries.length >= OPT_OUT_LIST_LIMIT && (
            <p className="field-note" data-testid="opt-outs-capped">
              Showing the {OPT_OUT_LIST_LIMIT} most recent. Search by number to find others, or export the CSV for the whole list.
            </p>
          )}
        </>
      )}
    </>
  );
}

function EntryRow({ entry, onRemoved }: { entry: OptOutEntry; onRemoved: () => void }) {
  const [state, setState] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });
  const removable = REMOVABLE.has(entry.source);

  const remove = async () => {
    const ok = await confirmAction({
      title: `Remove ${entry.phone} from the opt-out list?`,
      description: 'Automations and the deal panel may text this number again, and its "SMS consent" in Pipedrive is set back to "Granted".',
      okText: 'Remove',
      danger: true,
    });
    if (!ok) return;
    setState({ busy: true, error: null });
    try {
      await api.optOuts.remove(entry.phone);
      void snackbar(`${entry.phone} removed from the opt-out list`);
      onRemoved();
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError('The removal failed', 500, null);
      setState({ busy: false, error: describeError(apiError, 'The removal') });
    }
  };

  return (
    <tr data-testid="opt-out-row" data-phone={entry.phone}>
      <th scope="row">{entry.phone}</th>
      <td>{when(entry.at)}</td>
      <td data-col="source">{SOURCE_WORDS[entry.source] ?? entry.source}</td>
      <td data-col="message">{entry.message ?? <span style={MUTED}>—</span>}</td>
      <td>{entry.personId !== null ? `Person ${entry.personId}` : <span style={MUTED}>—</span>}</td>
      <td>
        {removable ? (
          <button type="button" className="secondary" data-testid="opt-out-remove" aria-label={`Remove ${entry.phone}`} disabled={state.busy} onClick={() => void remove()}>
            Remove
          </button>
        ) : (
          <span className="field-note" title="Only the contact can opt back in, by texting START">
            Contact opted out
          </span>
        )}
        {state.error && (
          <p className="field-error" role="alert">
            {state.error}
          </p>
        )}
      </td>
    </tr>
  );
}
