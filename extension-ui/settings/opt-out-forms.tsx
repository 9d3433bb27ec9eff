import { useRef, useState } from 'react';
import { api, ApiError, type FieldProblems, type OptOutAdded } from '../shared/api';
import { snackbar } from '../shared/sdk';
import { OPT_OUT_IMPORT_MAX_BYTES, OPT_OUT_IMPORT_MAX_ROWS, OPT_OUT_REASON_MAX_LENGTH } from '../../server/http/contracts/limits';
import { DownloadButton } from './download-button';
import { describeError } from './use-resource';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** What a refused call says, naming the field when the server named one. */
function failure(error: unknown, what: string): string {
  if (!(error instanceof ApiError)) return `${what} failed: something went wrong on our side. Try again in a moment.`;
  const fields = (error.details as FieldProblems | null)?.fields;
  if (error.status === 400 && fields?.length) return fields.map((f) => f.message).join('; ');
  return describeError(error, what);
}

/** One number typed by an admin, with the reason (kept in the consent history and on the Pipedrive activity). */
export function AddNumberForm({ onAdded }: { onAdded: () => void }) {
  const [phone, setPhone] = useState('');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  const add = async () => {
    if (phone.trim() === '') return setMessage({ ok: false, text: 'Enter the phone number to add.' });
    setBusy(true);
    setMessage(null);
    try {
      const result = await api.optOuts.add({ phones: [phone.trim()], reason: reason.trim() === '' ? null : reason.trim() });
      if (result.invalid.length > 0) {
        setMessage({ ok: false, text: `"${phone.trim()}" is not a phone number. A number without + is read as a US number.` });
      } else {
        setMessage({ ok: true, text: result.added === 1 ? `${phone.trim()} is on the opt-out list.` : `${phone.trim()} was already on the opt-out list.` });
        setPhone('');
        setReason('');
        if (result.added === 1) void snackbar('Number added to the opt-out list');
        onAdded();
      }
    } catch (error) {
      setMessage({ ok: false, text: failure(error, 'Adding the number') });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      data-testid="opt-out-add-form"
      aria-labelledby="opt-out-add-title"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void add();
      }}
    >
      <h3 id="opt-out-add-title">Add a number</h3>
      <div className="field">
        <label htmlFor="opt-out-phone">Phone number</label>
        <input id="opt-out-phone" data-testid="opt-out-phone" type="tel" autoComplete="off" value={phone} onChange={(e) => setPhone(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="opt-out-reason">Reason (optional)</label>
        <input
          id="opt-out-reason"
          data-testid="opt-out-reason"
          type="text"
          maxLength={OPT_OUT_REASON_MAX_LENGTH}
          placeholder="e.g. Asked by phone not to be texted"
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />
      </div>
      <button type="submit" data-testid="opt-out-add" disabled={busy}>
        {busy ? 'Adding…' : 'Add to the opt-out list'}
      </button>
      {message && (
        <p className={message.ok ? 'ok-text' : 'field-error'} role={message.ok ? 'status' : 'alert'} data-testid="opt-out-add-result">
          {message.text}
        </p>
      )}
    </form>
  );
}

/** A CSV file chosen by the admin, sent as it is; the answer says what was added, already there, and which lines are not numbers. */
export function ImportForm({ onImported }: { onImported: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<OptOutAdded | null>(null);
  const [error, setError] = useState<string | null>(null);

  const upload = async (file: File) => {
    setResult(null);
    setError(null);
    if (file.size > OPT_OUT_IMPORT_MAX_BYTES) {
      setError(`The file is larger than ${OPT_OUT_IMPORT_MAX_BYTES / 1_000_000} MB: split it into smaller files (at most ${OPT_OUT_IMPORT_MAX_ROWS} rows each).`);
      return;
    }
    setBusy(true);
    try {
      const answer = await api.optOuts.importCsv(await file.text());
      setResult(answer);
      if (answer.added > 0) void snackbar(`${plural(answer.added, 'number', 'numbers')} added to the opt-out list`);
      onImported();
    } catch (e) {
      setError(failure(e, 'The import'));
    } finally {
      setBusy(false);
      if (input.current) input.current.value = '';
    }
  };

  return (
    <div style={{ marginTop: 20 }} data-testid="opt-out-import">
      <h3 id="opt-out-import-title">Import a CSV</h3>
      <p className="field-note" id="opt-out-import-note">
        A header row with a <code>phone</code> column and, if you like, a <code>reason</code> column; at most {OPT_OUT_IMPORT_MAX_ROWS.toLocaleString()} rows.
        Importing the same file again adds nothing.
      </p>
      <label>
        <span className="visually-hidden">CSV file to import</span>
        <input
          ref={input}
          type="file"
          accept=".csv,text/csv"
          data-testid="opt-out-file"
          aria-describedby="opt-out-import-note"
          disabled={busy}
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void upload(file);
          }}
        />
      </label>
      {busy && (
        <p className="loading" role="status">
          Importing…
        </p>
      )}
      {error && (
        <p className="field-error" role="alert" data-testid="opt-out-import-error">
          {error}
        </p>
      )}
      {result && (
        <div role="status" data-testid="opt-out-import-result">
          <p className="ok-text">
            {plural(result.added, 'number', 'numbers')} added, {result.already} already on the list
            {result.invalid.length > 0 ? `, ${plural(result.invalid.length, 'line', 'lines')} not a phone number:` : '.'}
          </p>
          {result.invalid.length > 0 && (
            <ul className="field-note" data-testid="opt-out-invalid">
              {result.invalid.slice(0, 50).map((i) => (
                <li key={i.line}>
                  Line {i.line}: {i.value === '' ? 'empty' : `"${i.value}"`}
                </li>
              ))}
              {result.invalid.length > 50 && <li>…and {result.invalid.length - 50} more</li>}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}

export function ExportButton() {
  return <DownloadButton fetchFile={() => api.optOuts.csv()} label="Export CSV" what="The export" testId="opt-out-export" />;
}
