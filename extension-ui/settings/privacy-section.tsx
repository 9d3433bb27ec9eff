import { useState } from 'react';
import { api, ApiError, type ContactErasedAnswer, type FieldProblems, type SettingsView } from '../shared/api';
import { snackbar } from '../shared/sdk';
import { describeError } from './use-resource';
import { RETENTION_DAYS_MAX, RETENTION_DAYS_MIN } from '../../server/http/contracts/limits';

/**
 * Privacy: how long texts are kept, and erasing one contact on request. Everyone sees the retention; only the admin
 * who installed changes it or erases a contact (the server refuses anyone else either way).
 */
export function PrivacySection(props: { view: SettingsView; onSaved: (view: SettingsView) => void }) {
  const { view } = props;
  return (
    <section className="section" aria-labelledby="privacy-title" id="privacy">
      <div className="section-head">
        <h2 id="privacy-title">Privacy</h2>
      </div>
      {!view.canEdit && (
        <p className="read-only-note" id="privacy-read-only" data-testid="privacy-read-only">
          Only the Pipedrive admin who installed SMS for Pipedrive can change how long texts are kept or erase a contact.
        </p>
      )}
      <RetentionForm view={view} onSaved={props.onSaved} />
      {view.canEdit && <EraseContact />}
    </section>
  );
}

function RetentionForm(props: { view: SettingsView; onSaved: (view: SettingsView) => void }) {
  const saved = props.view.retentionDays;
  const [limited, setLimited] = useState(saved !== null);
  const [days, setDays] = useState(String(saved ?? 365));
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [done, setDone] = useState(false);

  const wanted = limited ? Number(days) : null;
  const invalid = limited && (!Number.isInteger(wanted) || wanted! < RETENTION_DAYS_MIN || wanted! > RETENTION_DAYS_MAX);
  const dirty = wanted !== saved;

  const save = async () => {
    if (invalid || !dirty) return;
    setSaving(true);
    setError(null);
    setDone(false);
    try {
      const { warnings: _warnings, ...next } = await api.settings.update({ retentionDays: wanted });
      props.onSaved(next);
      setDone(true);
      void snackbar('Retention saved');
    } catch (e) {
      setError(failure(e, 'retentionDays', 'Settings'));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form
      className="card"
      data-testid="retention-form"
      aria-labelledby="retention-title"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <fieldset className="plain field" disabled={!props.view.canEdit} aria-describedby="retention-note">
        <legend id="retention-title">How long texts are kept</legend>
        <label className="choice">
          <input type="radio" name="retention" data-testid="retention-keep" checked={!limited} onChange={() => {
              setLimited(false);
              setDone(false);
            }} />
          Keep messages and replies until a contact is erased or the app is uninstalled
        </label>
        <label className="choice">
          <input type="radio" name="retention" data-testid="retention-limit" checked={limited} onChange={() => {
              setLimited(true);
              setDone(false);
            }} />
          Delete messages and replies older than
        </label>
        <div className="inline">
          <input
            id="retention-days"
            data-testid="retention-days"
            type="number"
            aria-label="Days to keep messages and replies"
            min={RETENTION_DAYS_MIN}
            max={RETENTION_DAYS_MAX}
            step={1}
            value={days}
            disabled={!limited}
            aria-invalid={invalid}
            onChange={(e) => {
              setDays(e.target.value);
              setDone(false);
            }}
          />
          <span>days</span>
        </div>
        <p id="retention-note" className="field-note">
          Checked every hour. The record that a number opted out is always kept, so it is never texted again.
        </p>
        {invalid && <p className="field-error">A whole number of days from {RETENTION_DAYS_MIN} to {RETENTION_DAYS_MAX}.</p>}
      </fieldset>
      {error && (
        <p className="error-box" role="alert" data-testid="retention-error">
          {error}
        </p>
      )}
      {done && (
        <p className="ok-text" role="status" data-testid="retention-saved">
          {saved === null ? 'Messages and replies are kept.' : `Messages and replies older than ${saved} days are deleted.`}
        </p>
      )}
      {props.view.canEdit && (
        <div className="editor-actions">
          <button type="submit" data-testid="save-retention" disabled={!dirty || invalid || saving}>
            {saving ? 'Saving…' : 'Save'}
          </button>
        </div>
      )}
    </form>
  );
}

type Step = { at: 'enter' } | { at: 'confirm'; phone: string } | { at: 'erasing'; phone: string } | { at: 'done'; phone: string; erased: ContactErasedAnswer['erased'] };

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function EraseContact() {
  const [phone, setPhone] = useState('');
  const [step, setStep] = useState<Step>({ at: 'enter' });
  const [error, setError] = useState<string | null>(null);

  const erase = async (number: string) => {
    setStep({ at: 'erasing', phone: number });
    setError(null);
    try {
      const { erased } = await api.contacts.erase(number);
      setStep({ at: 'done', phone: number, erased });
      setPhone('');
      void snackbar('Contact erased');
    } catch (e) {
      setError(failure(e, 'phone', 'Erasure'));
      setStep({ at: 'enter' });
    }
  };

  return (
    <form
      className="card"
      // Two cards in one section: the same gap as between sections' cards would run them together.
      style={{ marginTop: 16 }}
      data-testid="erase-form"
      aria-labelledby="erase-title"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (phone.trim() === '') setError('Enter the phone number of the contact to erase.');
        else setStep({ at: 'confirm', phone: phone.trim() });
      }}
    >
      <h3 id="erase-title">Erase a contact</h3>
      <p className="field-note">When a contact asks to be forgotten: everything SMS for Pipedrive holds about their number in your company is deleted.</p>
      <div className="field">
        <label htmlFor="erase-phone">Phone number</label>
        <div className="inline">
          <input
            id="erase-phone"
            data-testid="erase-phone"
            type="tel"
            autoComplete="off"
            value={phone}
            disabled={step.at === 'confirm' || step.at === 'erasing'}
            aria-invalid={!!error}
            aria-describedby="erase-phone-note"
            onChange={(e) => {
              setPhone(e.target.value);
              setError(null);
              if (step.at === 'done') setStep({ at: 'enter' });
            }}
          />
          {(step.at === 'enter' || step.at === 'done') && (
            <button type="submit" className="secondary" data-testid="erase-start">
              Erase…
            </button>
          )}
        </div>
        <p id="erase-phone-note" className="field-note">
          As Pipedrive shows it or in international form; a number without + is read as a US number.
        </p>
        {error && (
          <p className="field-error" role="alert" data-testid="erase-error">
            {error}
          </p>
        )}
      </div>

      {(step.at === 'confirm' || step.at === 'erasing') && (
        <div className="warning-box" role="alertdialog" aria-labelledby="erase-confirm-title" data-testid="erase-confirm">
          <p id="erase-confirm-title">
            <strong>Erase everything about {step.phone}?</strong>
          </p>
          <p>Deleted, in your company only: every text sent to this number, every reply from it, its replies waiting for review, and its updates still waiting to be written to Pipedrive.</p>
          <p>
            Kept: if the number opted out, the record that it did (the number, when and how, without their words), so it is never texted again. Activities
            already logged in Pipedrive stay there.
          </p>
          <p>This cannot be undone.</p>
          <div className="editor-actions">
            <button type="button" className="secondary danger" data-testid="erase-confirm-button" disabled={step.at === 'erasing'} onClick={() => void erase(step.phone)}>
              {step.at === 'erasing' ? 'Erasing…' : 'Erase'}
            </button>
            <button type="button" className="secondary" disabled={step.at === 'erasing'} onClick={() => setStep({ at: 'enter' })}>
              Cancel
            </button>
          </div>
        </div>
      )}

      {step.at === 'done' && (
        <p className="ok-text" role="status" data-testid="erase-result">
          {step.phone} erased: {plural(step.erased.messages, 'message', 'messages')}, {plural(step.erased.replies, 'reply', 'replies')} and{' '}
          {plural(step.erased.reviews, 'review', 'reviews')} deleted.
        </p>
      )}
    </form>
  );
}

/** The server's reason for a refused value (its field's message), or what went wrong in words. */
function failure(error: unknown, field: string, what: string): string {
  if (!(error instanceof ApiError)) return `${what} failed.`;
  if (error.status === 400) {
    const fields = (error.details as Partial<FieldProblems> | null)?.fields ?? [];
    const mine = fields.find((f) => f.path === field);
    return mine ? mine.message : error.message;
  }
  return describeError(error, what);
}
