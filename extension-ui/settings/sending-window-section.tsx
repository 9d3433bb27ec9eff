import { useState } from 'react';
import { api, ApiError, type FieldProblems, type SettingsPatch, type SettingsView } from '../shared/api';
import { snackbar } from '../shared/sdk';
import { useMinuteClock } from '../shared/minute-clock';
import { describeSendingWindow, DEFAULT_SENDING_WINDOW, STATE_CAP_WINDOW, validateSendingWindow, type SendingWindow } from '../../server/messaging/sending-window';
import { FREQUENCY_CAP_MAX, FREQUENCY_CAP_MIN } from '../../server/http/contracts/limits';
import { describeError } from './use-resource';
import { useUnsavedChanges } from './unsaved-changes';

type Form = { on: boolean; start: string; end: string; cap: string };
type Field = 'quietHours' | 'start' | 'end' | 'frequencyCap' | 'form';
type Errors = Partial<Record<Field, string>>;

/** Every quarter of an hour of a day, "00:00" to "23:45": the times a window may start or end at. */
const QUARTERS = Array.from({ length: 96 }, (_, i) => `${String(Math.floor(i / 4)).padStart(2, '0')}:${String((i % 4) * 15).padStart(2, '0')}`);

/** The places the page says the window means for, right now. */
const PLACES = [
  { city: 'New York', zone: 'America/New_York' },
  { city: 'London', zone: 'Europe/London' },
  { city: 'Sydney', zone: 'Australia/Sydney' },
] as const;

function formOf(view: SettingsView): Form {
  const window = view.quietHours ?? DEFAULT_SENDING_WINDOW;
  return { on: view.quietHours !== null, start: window.start, end: window.end, cap: String(view.frequencyCap) };
}

const windowOf = (form: Form): SendingWindow | null => (form.on ? { start: form.start, end: form.end } : null);

function validate(form: Form): Errors {
  const errors: Errors = {};
  const window = validateSendingWindow(windowOf(form));
  if (!window.ok) errors[window.field ?? 'quietHours'] = window.message;
  const cap = Number(form.cap);
  if (form.cap.trim() === '' || !Number.isInteger(cap) || cap < FREQUENCY_CAP_MIN || cap > FREQUENCY_CAP_MAX) {
    errors.frequencyCap = `A whole number from ${FREQUENCY_CAP_MIN} to ${FREQUENCY_CAP_MAX}.`;
  }
  return errors;
}

function patchOf(form: Form, view: SettingsView): SettingsPatch {
  const patch: SettingsPatch = {};
  if (JSON.stringify(windowOf(form)) !== JSON.stringify(view.quietHours)) patch.quietHours = windowOf(form);
  if (Number(form.cap) !== view.frequencyCap) patch.frequencyCap = Number(form.cap);
  return patch;
}

/** "waits until 08:00 tomorrow for a contact in London (21:10)": what the window means in one place at `now`. */
function inPlace(city: string, zone: string, window: SendingWindow, now: number): string {
  const view = describeSendingWindow({ window, zone, now });
  const where = `a contact in ${city} (${view.localTime})`;
  if (view.open) return `goes at once to ${where}`;
  const days = view.opensInDays === 1 ? ' tomorrow' : view.opensInDays && view.opensInDays > 1 ? ` in ${view.opensInDays} days` : '';
  return view.opensAt ? `waits until ${view.opensAt}${days} for ${where}` : `is not sent to ${where}`;
}

/** The plain sentence under the window: what it means for a contact in New York, London and Sydney at `now`. */
export function windowSentence(window: SendingWindow | null, now: number): string {
  if (!window) {
    const times = PLACES.map((p) => `${describeSendingWindow({ window: null, zone: p.zone, now }).localTime} in ${p.city}`);
    return `Quiet hours are off: automation texts go at any hour (it is ${times[0]}, ${times[1]} and ${times[2]}).`;
  }
  const [ny, london, sydney] = PLACES.map((p) => inPlace(p.city, p.zone, window, now));
  return `Right now an automation text ${ny}, ${london}, and ${sydney}.`;
}

/**
 * Quiet hours and the frequency cap: when automation texts may go in the contact's local time, and how many one number
 * gets a day. Saved apart from the other rules (a PATCH of only these two fields).
 */
export function SendingWindowSection(props: { view: SettingsView; onSaved: (view: SettingsView) => void }) {
  const { view } = props;
  const canEdit = view.canEdit;
  const [form, setForm] = useState<Form>(() => formOf(view));
  const [base, setBase] = useState(view);
  // Saved elsewhere (or here): show the stored values unless the admin has started changing them.
  if (base.quietHours !== view.quietHours || base.frequencyCap !== view.frequencyCap) {
    setBase(view);
    if (Object.keys(patchOf(form, base)).length === 0) setForm(formOf(view));
  }
  const [errors, setErrors] = useState<Errors>({});
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState(false);
  const now = useMinuteClock();

  const patch = patchOf(form, view);
  const dirty = Object.keys(patch).length > 0;
  useUnsavedChanges(dirty);
  const localErrors = validate(form);
  const shown = { ...localErrors, ...errors };
  const set = (change: Partial<Form>) => {
    setForm((f) => ({ ...f, ...change }));
    setErrors({});
    setSaved(false);
  };

  const save = async () => {
    if (!dirty || Object.keys(localErrors).length > 0) return;
    setSaving(true);
    setErrors({});
    try {
      const { warnings: _warnings, ...next } = await api.settings.update(patch);
      props.onSaved(next);
      setForm(formOf(next));
      setSaved(true);
      void snackbar('Quiet hours and frequency cap saved');
    } catch (error) {
      setErrors(errorsOf(error));
    } finally {
      setSaving(false);
    }
  };

  const timeSelect = (which: 'start' | 'end', label: string) => (
    <label className="time-select">
      {label}{' '}
      <select
        data-testid={`quiet-hours-${which}`}
        value={form[which]}
        disabled={!form.on}
        aria-invalid={!!shown[which]}
        onChange={(e) => set({ [which]: e.target.value })}
      >
        {QUARTERS.map((q) => (
          <option key={q} value={q}>
            {q}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <section className="section" aria-labelledby="sending-window-title" id="sending-window">
      <div className="section-head">
        <h2 id="sending-window-title">Quiet hours and frequency</h2>
      </div>
      <form
        className="card rules"
        data-testid="sending-window-form"
        aria-labelledby="sending-window-title"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <fieldset className="plain" disabled={!canEdit}>
          <fieldset className="field" aria-describedby="quiet-hours-note">
            <legend>Quiet hours</legend>
            <label className="choice">
              <input type="checkbox" data-testid="quiet-hours-on" checked={form.on} onChange={(e) => set({ on: e.target.checked })} />
              Send automation texts only between these times, in the contact’s local time
            </label>
            <div className="inline">
              {timeSelect('start', 'From')}
              {timeSelect('end', 'to')}
            </div>
            {(shown.start ?? shown.end ?? shown.quietHours) && (
              <p className="field-error" data-testid="quiet-hours-error">
                {shown.start ? `Start ${shown.start}` : shown.end ? `End ${shown.end}` : `Quiet hours ${shown.quietHours}`}
              </p>
            )}
            <p className="field-note" data-testid="quiet-hours-sentence" aria-live="polite">
              {windowSentence(windowOf(form), now)}
            </p>
            <p id="quiet-hours-note" className="field-note">
              A text due outside these hours waits and goes when they begin (the reports show it as scheduled). The contact’s time comes from the
              number; when it may be in several time zones, the hours must hold in all of them. A start later than the end runs across midnight.
              Whatever is set here, numbers in Florida and Oklahoma area codes are texted only from {STATE_CAP_WINDOW.start} to {STATE_CAP_WINDOW.end}{' '}
              (those states’ laws), even with quiet hours off. Texts sent by hand from the deal panel go at once.
            </p>
          </fieldset>

          <div className="field">
            <label htmlFor="frequency-cap">Frequency cap</label>
            <div className="inline">
              <input
                id="frequency-cap"
                data-testid="frequency-cap"
                type="number"
                min={FREQUENCY_CAP_MIN}
                max={FREQUENCY_CAP_MAX}
                step={1}
                value={form.cap}
                aria-invalid={!!shown.frequencyCap}
                aria-describedby="frequency-cap-note"
                onChange={(e) => set({ cap: e.target.value })}
              />
              <span>automation texts to one number in any 24 hours</span>
            </div>
            <p id="frequency-cap-note" className="field-note">
              {Number(form.cap) === 0
                ? 'No cap: 0 lets every automation text through.'
                : `The ${ordinal(Number(form.cap) + 1)} automation text to the same number within 24 hours is not sent (reports show “frequency cap”).`}{' '}
              0 switches the cap off.
            </p>
            {shown.frequencyCap && (
              <p className="field-error" data-testid="frequency-cap-error">
                {shown.frequencyCap}
              </p>
            )}
          </div>
        </fieldset>
        {errors.form && (
          <p className="error-box" role="alert" data-testid="sending-window-error">
            {errors.form}
          </p>
        )}
        {saved && (
          <p className="ok-text" role="status" data-testid="sending-window-saved">
            Saved.
          </p>
        )}
        {canEdit && (
          <div className="editor-actions">
            <button type="submit" data-testid="save-sending-window" disabled={!dirty || saving || Object.keys(localErrors).length > 0}>
              {saving ? 'Saving…' : 'Save quiet hours and cap'}
            </button>
          </div>
        )}
      </form>
    </section>
  );
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** The server's refusal, by field: `quietHours.start`, `quietHours.end`, `quietHours` or `frequencyCap`. */
function errorsOf(error: unknown): Errors {
  if (!(error instanceof ApiError)) return { form: 'Could not save quiet hours and the cap.' };
  if (error.status === 400) {
    const out: Errors = {};
    for (const f of (error.details as Partial<FieldProblems> | null)?.fields ?? []) {
      const key: Field = f.path === 'quietHours.start' ? 'start' : f.path === 'quietHours.end' ? 'end' : f.path === 'quietHours' || f.path === 'frequencyCap' ? f.path : 'form';
      out[key] = f.message;
    }
    return Object.keys(out).length ? out : { form: error.message };
  }
  return { form: describeError(error, 'Settings') };
}
