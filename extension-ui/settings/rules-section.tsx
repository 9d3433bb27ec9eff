import { useState } from 'react';
import { api, ApiError, type CompanySettingsView as CompanySettings, type FieldProblems, type SettingsView, type SettingsWarning, type SettingsPatch } from '../shared/api';
import { snackbar } from '../shared/sdk';
import { describeError } from './use-resource';
import { useUnsavedChanges } from './unsaved-changes';
import {
  HELP_TEXT_MAX_LENGTH as MAX_HELP,
  MAX_SEGMENTS_MAX as MAX_SEGMENTS,
  MAX_SEGMENTS_MIN,
  SEND_RATE_MAX,
  SEND_RATE_MIN,
} from '../../server/http/contracts/limits';

type Form = {
  maxSegments: string;
  keywordReplies: CompanySettings['keywordReplies'];
  helpText: string;
  optOutWords: CompanySettings['optOutWords'];
  sendRatePerSecond: string;
};
type Errors = Partial<Record<keyof Form | 'form', string>>;

/** The stored settings out of the settings view (which has them at its top level, beside the page's other data). */
function settingsOf(view: SettingsView): CompanySettings {
  const { maxSegments, keywordReplies, helpText, optOutWords, sendRatePerSecond, retentionDays, quietHours, frequencyCap } = view;
  return { maxSegments, keywordReplies, helpText, optOutWords, sendRatePerSecond, retentionDays, quietHours, frequencyCap };
}

function formOf(settings: CompanySettings): Form {
  return {
    maxSegments: String(settings.maxSegments),
    keywordReplies: settings.keywordReplies,
    helpText: settings.helpText ?? '',
    optOutWords: settings.optOutWords,
    sendRatePerSecond: String(settings.sendRatePerSecond),
  };
}

function validate(form: Form): Errors {
  const errors: Errors = {};
  const segments = Number(form.maxSegments);
  if (!Number.isInteger(segments) || segments < MAX_SEGMENTS_MIN || segments > MAX_SEGMENTS) {
    errors.maxSegments = `A whole number from ${MAX_SEGMENTS_MIN} to ${MAX_SEGMENTS}.`;
  }
  const rate = Number(form.sendRatePerSecond);
  if (form.sendRatePerSecond.trim() === '' || !Number.isFinite(rate) || rate < SEND_RATE_MIN || rate > SEND_RATE_MAX) {
    errors.sendRatePerSecond = `From ${SEND_RATE_MIN} to ${SEND_RATE_MAX}.`;
  }
  if (form.helpText.trim().length > MAX_HELP) errors.helpText = `At most ${MAX_HELP} characters.`;
  return errors;
}

/** Only the fields that changed: a PATCH of one rule must not rewrite the others with what this page loaded. */
function patchOf(form: Form, saved: CompanySettings): SettingsPatch {
  const patch: SettingsPatch = {};
  if (Number(form.maxSegments) !== saved.maxSegments) patch.maxSegments = Number(form.maxSegments);
  if (form.keywordReplies !== saved.keywordReplies) patch.keywordReplies = form.keywordReplies;
  const help = form.helpText.trim() === '' ? null : form.helpText.trim();
  if (help !== saved.helpText) patch.helpText = help;
  if (form.optOutWords !== saved.optOutWords) patch.optOutWords = form.optOutWords;
  if (Number(form.sendRatePerSecond) !== saved.sendRatePerSecond) patch.sendRatePerSecond = Number(form.sendRatePerSecond);
  return patch;
}

export function RulesSection(props: {
  view: SettingsView;
  onSaved: (view: SettingsView) => void;
  onEditAutomation: (id: string) => void;
  editing: boolean;
}) {
  const canEdit = props.view.canEdit;
  const saved = settingsOf(props.view);
  const [form, setForm] = useState<Form>(() => formOf(saved));
  // The stored rules changed under the form (saved here, or a limit learned from a refused template): show them,
  // unless the admin had already started changing the form.
  const [shownBase, setShownBase] = useState(saved);
  if (JSON.stringify(shownBase) !== JSON.stringify(saved)) {
    setShownBase(saved);
    if (Object.keys(patchOf(form, shownBase)).length === 0) setForm(formOf(saved));
  }
  const [errors, setErrors] = useState<Errors>({});
  const [saving, setSaving] = useState(false);
  const [result, setResult] = useState<{ warnings: SettingsWarning[] } | null>(null);

  const patch = patchOf(form, saved);
  const dirty = Object.keys(patch).length > 0;
  useUnsavedChanges(dirty);

  const localErrors = validate(form);
  const set = (change: Partial<Form>) => {
    setForm((f) => ({ ...f, ...change }));
    setResult(null);
    setErrors((e) => {
      const next = { ...e, form: undefined };
      for (const key of Object.keys(change)) delete next[key as keyof Form];
      return next;
    });
  };

  const save = async () => {
    if (!dirty || Object.keys(localErrors).length > 0) return;
    setSaving(true);
    setErrors({});
    setResult(null);
    try {
      const answer = await api.settings.update(patch);
      const { warnings, ...view } = answer;
      props.onSaved(view);
      setForm(formOf(settingsOf(view)));
      setResult({ warnings: warnings ?? [] });
      void snackbar('Rules saved');
    } catch (error) {
      setErrors(errorsOf(error));
    } finally {
      setSaving(false);
    }
  };

  const shown = { ...localErrors, ...errors };
  return (
    <section className="section" aria-labelledby="rules-title" id="rules">
      <div className="section-head">
        <h2 id="rules-title">Rules</h2>
      </div>
      {!canEdit && (
        <p className="read-only-note" id="rules-read-only" data-testid="rules-read-only">
          Only the Pipedrive admin who installed SMS for Pipedrive can change the rules.
        </p>
      )}
      <form
        className="card rules"
        data-testid="rules-form"
        aria-labelledby="rules-title"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        {/* Shown to everyone, so sales staff know the limits their texts meet; only the admin can change them. */}
        <fieldset className="plain" disabled={!canEdit} aria-describedby={canEdit ? undefined : 'rules-read-only'}>
          <div className="field">
            <label htmlFor="rule-max-segments">Maximum length of a message</label>
            <div className="inline">
              <input
                id="rule-max-segments"
                data-testid="rule-max-segments"
                type="number"
                min={MAX_SEGMENTS_MIN}
                max={MAX_SEGMENTS}
                step={1}
                value={form.maxSegments}
                aria-invalid={!!shown.maxSegments}
                aria-describedby="rule-max-segments-note"
                onChange={(e) => set({ maxSegments: e.target.value })}
              />
              <span>segment(s)</span>
            </div>
            <p id="rule-max-segments-note" className="field-note">
              1 segment is 160 characters (70 with emoji or non-Latin letters); longer texts are sent as several segments and billed per segment.
              Templates that do not fit are refused; messages that do not fit after merging are not sent.
            </p>
            {shown.maxSegments && <p className="field-error">{shown.maxSegments}</p>}
          </div>

          <fieldset className="field">
            <legend>Answers to STOP, START and HELP</legend>
            <Choices
              name="keyword-replies"
              value={form.keywordReplies}
              onChange={(keywordReplies) => set({ keywordReplies })}
              options={[
                { value: 'provider', testId: 'rule-keyword-provider', label: 'Twilio answers them (Twilio’s standard opt-out handling; recommended)' },
                { value: 'app', testId: 'rule-keyword-app', label: 'SMS for Pipedrive answers them (for senders where Twilio’s opt-out handling is turned off)' },
              ]}
            />
            <p className="field-note">Opt-outs are recorded either way; this only decides who sends the confirmation, so a contact never gets it twice.</p>
          </fieldset>

          <fieldset className="field" aria-describedby="rule-opt-out-words-note">
            <legend>Which replies opt a contact out</legend>
            <Choices
              name="opt-out-words"
              value={form.optOutWords}
              onChange={(optOutWords) => set({ optOutWords })}
              options={[
                { value: 'exact', testId: 'rule-opt-out-exact', label: 'Only when the whole reply is an opt-out word (recommended)' },
                { value: 'any', testId: 'rule-opt-out-any', label: 'When a reply contains an opt-out word anywhere' },
              ]}
            />
            <p id="rule-opt-out-words-note" className="field-note">
              Opt-out words are STOP, UNSUBSCRIBE, CANCEL, END, QUIT and the like. With the first choice a longer reply such as “please stop texting me” is
              logged and flagged for your team to review; with the second it opts the contact out at once, and so does any reply that merely uses one of
              the words (“don’t stop the order”).
            </p>
            {shown.optOutWords && <p className="field-error">{shown.optOutWords}</p>}
          </fieldset>

          <div className="field">
            <label htmlFor="rule-help-text">Answer to HELP</label>
            <textarea
              id="rule-help-text"
              data-testid="rule-help-text"
              rows={2}
              value={form.helpText}
              placeholder={props.view.helpTextDefault}
              aria-invalid={!!shown.helpText}
              aria-describedby="rule-help-text-note"
              onChange={(e) => set({ helpText: e.target.value })}
            />
            <p id="rule-help-text-note" className="field-note">
              Leave empty to use the default shown. {form.helpText.trim().length}/{MAX_HELP} characters.
            </p>
            {shown.helpText && <p className="field-error">{shown.helpText}</p>}
          </div>

          <div className="field">
            <label htmlFor="rule-rate">Sending speed of your own Twilio number</label>
            <div className="inline">
              <input
                id="rule-rate"
                data-testid="rule-rate"
                type="number"
                min={SEND_RATE_MIN}
                max={SEND_RATE_MAX}
                step="any"
                value={form.sendRatePerSecond}
                aria-invalid={!!shown.sendRatePerSecond}
                aria-describedby="rule-rate-note"
                onChange={(e) => set({ sendRatePerSecond: e.target.value })}
              />
              <span>messages per second</span>
            </div>
            <p id="rule-rate-note" className="field-note">
              Applies only when your company sends through its own Twilio account. The app’s shared number is paced by its operator and shared
              fairly between companies. A US long code sends 1 per second, a toll-free number 3, a short code 100: faster sending is refused by
              carriers.
            </p>
            {shown.sendRatePerSecond && <p className="field-error">{shown.sendRatePerSecond}</p>}
          </div>
        </fieldset>

        {errors.form && (
          <p className="error-box" role="alert" data-testid="rules-error">
            {errors.form}
          </p>
        )}
        {result && (
          <div role="status" data-testid="rules-saved">
            <p className="ok-text">Rules saved.</p>
            {result.warnings.length > 0 && (
              <div className="warning-box" data-testid="rules-warnings">
                <p>
                  <strong>
                    {result.warnings.length === 1 ? 'One automation no longer fits' : `${result.warnings.length} automations no longer fit`} the new rules.
                  </strong>{' '}
                  Their messages are not sent until the message is shortened.
                </p>
                <ul>
                  {result.warnings.map((w) => (
                    <li key={w.automationId} data-testid="rules-warning">
                      <strong>{w.name}</strong>: {w.problems.join(' ')}{' '}
                      <button type="button" className="link" disabled={props.editing} onClick={() => props.onEditAutomation(w.automationId)}>
                        Edit “{w.name}”
                      </button>
                    </li>
                  ))}
                </ul>
              </div>
            )}
          </div>
        )}
        {canEdit && (
          <div className="editor-actions">
            <button type="submit" data-testid="save-rules" disabled={!dirty || saving || Object.keys(localErrors).length > 0}>
              {saving ? 'Saving…' : 'Save rules'}
            </button>
            {dirty && (
              <button type="button" className="secondary" onClick={() => { setForm(formOf(saved)); setErrors({}); }}>
                Undo changes
              </button>
            )}
          </div>
        )}
      </form>
    </section>
  );
}

/** A rule's radio buttons, each labelled with what choosing it does. */
function Choices<V extends string>(props: {
  name: string;
  value: V;
  options: ReadonlyArray<{ value: V; testId: string; label: string }>;
  onChange: (value: V) => void;
}) {
  return (
    <>
      {props.options.map((option) => (
        <label className="choice" key={option.value}>
          <input
            type="radio"
            name={props.name}
            value={option.value}
            data-testid={option.testId}
            checked={props.value === option.value}
            onChange={() => props.onChange(option.value)}
          />
          {option.label}
        </label>
      ))}
    </>
  );
}

function errorsOf(error: unknown): Errors {
  if (!(error instanceof ApiError)) return { form: 'Could not save the rules.' };
  if (error.status === 400) {
    const fields = (error.details as Partial<FieldProblems> | null)?.fields ?? [];
    const out: Errors = {};
    for (const f of fields) {
      const key = (['maxSegments', 'keywordReplies', 'helpText', 'optOutWords', 'sendRatePerSecond'] as const).find((k) => k === f.path) ?? 'form';
      out[key] = f.message;
    }
    return Object.keys(out).length ? out : { form: error.message };
  }
  return { form: describeError(error, 'Settings') };
}
