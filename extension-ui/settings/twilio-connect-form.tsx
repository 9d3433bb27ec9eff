import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { api, ApiError, type FieldProblems, type TwilioConnected, type TwilioConnectInput, type TwilioRefusalReason, type TwilioView } from '../shared/api';
import { ACCOUNT_SID, AUTH_TOKEN, E164_NUMBER, MESSAGING_SERVICE_SID } from '../../server/http/contracts/limits';
import { describeError } from './use-resource';
import { useEditorForm } from './unsaved-changes';

type Form = {
  accountSid: string;
  authToken: string;
  kind: 'number' | 'service';
  fromNumber: string;
  messagingServiceSid: string;
  pointRepliesHere: boolean;
};
type Field = 'accountSid' | 'authToken' | 'sender';
type Errors = Partial<Record<Field | 'form', string>>;

// The server's checks (its contract's patterns), made here too so a typo is caught before Twilio is asked.

/** What Twilio's refusal means for the admin, and which field it is about. */
const REFUSALS: Record<TwilioRefusalReason, { field: Field; fix: string }> = {
  credentials_refused: { field: 'authToken', fix: 'Copy both from Account Info on the Twilio Console’s start page.' },
  account_inactive: { field: 'accountSid', fix: 'Reactivate it in Twilio, or connect another account.' },
  sender_not_found: { field: 'sender', fix: 'Use a number or Messaging Service of this same account.' },
};

function formOf(view: TwilioView): Form {
  // The current sender only when it is the company's own: the shared number is not in the admin's account.
  const own = view.mode === 'own';
  return {
    accountSid: own ? (view.accountSid ?? '') : '',
    authToken: '',
    kind: own && view.messagingServiceSid ? 'service' : 'number',
    fromNumber: own ? (view.fromNumber ?? '') : '',
    messagingServiceSid: own ? (view.messagingServiceSid ?? '') : '',
    // The app is only complete when replies reach it; the label says that this replaces the number's webhook.
    pointRepliesHere: true,
  };
}

/** Spaces, dashes, dots and brackets are how numbers are written down; Twilio wants them without. */
const compactNumber = (value: string) => value.replace(/[\s().-]/g, '');

function validate(form: Form): Errors {
  const errors: Errors = {};
  if (!ACCOUNT_SID.test(form.accountSid.trim())) errors.accountSid = 'An Account SID is AC followed by 32 letters a–f and digits.';
  if (!AUTH_TOKEN.test(form.authToken.trim())) errors.authToken = 'An Auth Token is 32 letters a–f and digits.';
  if (form.kind === 'number') {
    const number = compactNumber(form.fromNumber);
    if (!number.startsWith('+')) errors.sender = 'Write the number with its country code, starting with +, e.g. +14155552671.';
    else if (!E164_NUMBER.test(number)) errors.sender = 'This is not a phone number in international form, e.g. +14155552671.';
  } else if (!MESSAGING_SERVICE_SID.test(form.messagingServiceSid.trim())) {
    errors.sender = 'A Messaging Service SID is MG followed by 32 letters a–f and digits.';
  }
  return errors;
}

function inputOf(form: Form): TwilioConnectInput {
  const account = { accountSid: form.accountSid.trim(), authToken: form.authToken.trim() };
  return form.kind === 'number'
    ? { ...account, fromNumber: compactNumber(form.fromNumber), pointRepliesHere: form.pointRepliesHere }
    : { ...account, messagingServiceSid: form.messagingServiceSid.trim() };
}

/** Words for a failed call about the Twilio account, none of which changed anything. */
export function twilioFailure(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Something went wrong; nothing was changed.';
  // 502: Twilio was down or slow while the server asked it; the admin's input may well be right.
  if (error.status === 502) return 'Twilio could not be asked whether this account works, so nothing was changed. Try again in a moment.';
  if (error.status === 400 || error.status === 403 || error.status === 409) return error.message;
  if (error.status >= 500) return 'Something went wrong on our side; nothing was changed. Try again in a moment.';
  return describeError(error, 'The Twilio settings');
}

/** Puts a refusal next to the field it is about; the form keeps every value, the Auth Token too. */
function errorsOf(error: unknown): Errors {
  // 409: the number or service is the shared one, or another company's: said next to it.
  if (error instanceof ApiError && error.status === 409) return { sender: error.message };
  if (!(error instanceof ApiError) || error.status !== 400) return { form: twilioFailure(error) };
  const details = (error.details ?? {}) as { reason?: TwilioRefusalReason } & Partial<FieldProblems>;
  const refusal = details.reason ? REFUSALS[details.reason] : undefined;
  if (refusal) return { [refusal.field]: `${error.message} ${refusal.fix}` };
  const out: Errors = {};
  for (const f of details.fields ?? []) {
    const key: Field | 'form' =
      f.path === 'accountSid' || f.path === 'authToken' ? f.path : f.path === 'fromNumber' || f.path === 'messagingServiceSid' ? 'sender' : 'form';
    out[key] = out[key] ? `${out[key]} ${f.message}` : f.message;
  }
  return Object.keys(out).length ? out : { form: error.message };
}

/**
 * Connects (or changes) the company's own Twilio account. Twilio is asked first whether the account and sender are
 * good; only then does the server store them, so a refused form changes nothing and stays as typed.
 */
export function TwilioConnectForm(props: { view: TwilioView; onConnected: (answer: TwilioConnected, input: TwilioConnectInput) => void; onClose: () => void }) {
  const [initial] = useState(() => formOf(props.view));
  const [form, setForm] = useState(initial);
  const [errors, setErrors] = useState<Errors>({});
  const [saving, setSaving] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const ids = useId();
  const id = (name: string) => `${ids}-${name}`;
  const changing = props.view.mode === 'own';

  const dirty = JSON.stringify(form) !== JSON.stringify(initial);
  useEffect(() => heading.current?.focus(), []);

  const set = (change: Partial<Form>) => {
    setForm((f) => ({ ...f, ...change }));
    // An error is about the value it was given for; once that value changes it no longer applies.
    setErrors((e) => {
      const next = { ...e, form: undefined };
      if ('accountSid' in change) delete next.accountSid;
      if ('authToken' in change) delete next.authToken;
      if ('kind' in change || 'fromNumber' in change || 'messagingServiceSid' in change) delete next.sender;
      return next;
    });
  };

  const save = async () => {
    const local = validate(form);
    setErrors(local);
    const first = (['accountSid', 'authToken', 'sender'] as const).find((k) => local[k]);
    if (first) {
      document.getElementById(id(first))?.focus();
      return;
    }
    setSaving(true);
    const input = inputOf(form);
    try {
      props.onConnected(await api.twilio.connect(input), input);
    } catch (error) {
      const found = errorsOf(error);
      setErrors(found);
      const field = (['accountSid', 'authToken', 'sender'] as const).find((k) => found[k]);
      if (field) document.getElementById(id(field))?.focus();
    } finally {
      setSaving(false);
    }
  };

  const { close, formProps } = useEditorForm({ dirty, unsaved: 'The Twilio account has not been connected.', save, onClose: props.onClose });
  const field = (name: Field) => ({ id: id(name), error: errors[name] });

  return (
    <form className="editor card twilio-form" aria-labelledby={id('title')} data-testid="twilio-form" noValidate {...formProps}>
      <h3 id={id('title')} ref={heading} tabIndex={-1} className="editor-title">
        {changing ? 'Change the Twilio account' : 'Connect your own Twilio account'}
      </h3>
      <p className="field-note form-intro">
        Texts then go out from your number and Twilio bills your account. Twilio is asked first whether the account and the sender work: nothing changes until
        it says yes.
      </p>

      <TextField
        {...field('accountSid')}
        label="Account SID"
        testId="twilio-account-sid"
        value={form.accountSid}
        placeholder="AC…"
        note="Under Account Info on the Twilio Console’s start page."
        onChange={(accountSid) => set({ accountSid })}
      />
      <TextField
        {...field('authToken')}
        label="Auth Token"
        testId="twilio-auth-token"
        type="password"
        value={form.authToken}
        // "new-password": the browser must not fill in a saved Pipedrive password here.
        autoComplete="new-password"
        note={`${changing ? 'Enter it again to change the account or sender. ' : ''}It is stored encrypted and never shown again.`}
        onChange={(authToken) => set({ authToken })}
      />

      <fieldset className="field">
        <legend>Send from</legend>
        <label className="choice">
          <input type="radio" name={id('kind')} value="number" data-testid="twilio-kind-number" checked={form.kind === 'number'} onChange={() => set({ kind: 'number' })} />
          A phone number of this account
        </label>
        <label className="choice">
          <input type="radio" name={id('kind')} value="service" data-testid="twilio-kind-service" checked={form.kind === 'service'} onChange={() => set({ kind: 'service' })} />
          A Messaging Service of this account
        </label>
      </fieldset>

      {form.kind === 'number' ? (
        <TextField
          {...field('sender')}
          label="Phone number"
          testId="twilio-from-number"
          type="tel"
          value={form.fromNumber}
          placeholder="+14155552671"
          note="With its country code, as listed under Phone Numbers › Active numbers."
          onChange={(fromNumber) => set({ fromNumber })}
        />
      ) : (
        <TextField
          {...field('sender')}
          label="Messaging Service SID"
          testId="twilio-service-sid"
          value={form.messagingServiceSid}
          placeholder="MG…"
          note={
            <>
              Under Messaging › Services. Replies reach SMS for Pipedrive when the service’s incoming messages are sent to the webhook{' '}
              <code>{props.view.inboundUrl}</code>, set in Twilio.
            </>
          }
          onChange={(messagingServiceSid) => set({ messagingServiceSid })}
        />
      )}

      {form.kind === 'number' && (
        <div className="field">
          <label className="choice">
            <input
              type="checkbox"
              data-testid="twilio-point-replies"
              checked={form.pointRepliesHere}
              aria-describedby={id('replies-note')}
              onChange={(e) => set({ pointRepliesHere: e.target.checked })}
            />
            Send replies to SMS for Pipedrive (sets the number’s incoming-message webhook)
          </label>
          <p id={id('replies-note')} className="field-note">
            This replaces the number’s current webhook. Untick it if another system answers this number; replies are then not logged in Pipedrive.
          </p>
        </div>
      )}

      {errors.form && (
        <p className="error-box" role="alert" data-testid="twilio-form-error">
          {errors.form}
        </p>
      )}
      <div className="editor-actions">
        <button type="submit" data-testid="twilio-save" disabled={saving}>
          {saving ? 'Checking with Twilio…' : changing ? 'Save account' : 'Connect account'}
        </button>
        <button type="button" className="secondary" data-testid="twilio-cancel" onClick={() => void close()}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** A labelled text input with its note and, after a refusal, its error, both read out with the field. */
function TextField(props: {
  id: string;
  label: string;
  testId: string;
  value: string;
  note: ReactNode;
  error?: string;
  type?: 'text' | 'password' | 'tel';
  placeholder?: string;
  autoComplete?: string;
  onChange: (value: string) => void;
}) {
  const { id, error } = props;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        data-testid={props.testId}
        type={props.type ?? 'text'}
        value={props.value}
        autoComplete={props.autoComplete ?? 'off'}
        spellCheck={false}
        placeholder={props.placeholder}
        aria-invalid={!!error}
        aria-describedby={`${id}-note${error ? ` ${id}-error` : ''}`}
        onChange={(e) => props.onChange(e.target.value)}
      />
      <p id={`${id}-note`} className="field-note">
        {props.note}
      </p>
      {error && (
        <p id={`${id}-error`} className="field-error" role="alert" data-testid={`${props.testId}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}
