import { useEffect, useId, useRef, useState } from 'react';
import { api, type TwilioConnected, type TwilioConnectInput, type TwilioReplies, type TwilioView } from '../shared/api';
import { confirmAction, snackbar } from '../shared/sdk';
import { TwilioConnectForm, twilioFailure } from './twilio-connect-form';


/** Where the replies of the last connection go, known only from a PUT's answer (a GET does not ask Twilio). */
type Replies = {
  replies: TwilioReplies;
  /**
   * What was sent to connect, Auth Token included, kept in memory (never stored) while replies do not reach the app,
   * so that "Set it for me" and "Check again" need not ask for the token a second time.
   */
  input: TwilioConnectInput | null;
};

const when = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function senderWords(view: TwilioView): string {
  if (view.fromNumber) return view.fromNumber;
  return view.messagingServiceSid ? `Messaging Service ${view.messagingServiceSid}` : 'no sender';
}

/**
 * Which Twilio sender texts for the company: the app's shared number, or the company's own account. The installing
 * admin connects, changes or disconnects the company's account; everyone else sees it read-only.
 */
export function TwilioSection(props: { view: TwilioView; canEdit: boolean; onChanged: (view: TwilioView) => void }) {
  const { view, canEdit } = props;
  const [open, setOpen] = useState(false);
  const [replies, setReplies] = useState<Replies | null>(null);
  const [pending, setPending] = useState<'disconnect' | 'point' | 'check' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState('');

  // After the form closes or the account changes, focus goes to the section's action, not to the top of the page.
  const action = useRef<HTMLButtonElement>(null);
  const [refocus, setRefocus] = useState(0);
  useEffect(() => {
    if (refocus) action.current?.focus();
  }, [refocus]);

  const announce = (message: string) => {
    setStatus(message);
    void snackbar(message);
  };

  const connected = (answer: TwilioConnected, input: TwilioConnectInput) => {
    const { replies: where, ...next } = answer;
    props.onChanged(next);
    setReplies({ replies: where, input: where.pointsHere ? null : input });
    return next;
  };

  const recheck = async (pointRepliesHere: boolean) => {
    if (!replies?.input) return;
    setPending(pointRepliesHere ? 'point' : 'check');
    setError(null);
    try {
      const input = { ...replies.input, pointRepliesHere };
      connected(await api.twilio.connect(input), input);
    } catch (e) {
      setError(twilioFailure(e));
    } finally {
      setPending(null);
    }
  };

  const disconnect = async () => {
    const sender = senderWords(view);
    const confirmed = await confirmAction({
      title: 'Disconnect your Twilio account?',
      description: `${
        view.defaultAvailable
          ? 'Texts go out from the shared number of SMS for Pipedrive again'
          : 'No texts can be sent until a Twilio account is connected again'
      }, and replies to ${sender} are no longer logged. Your Twilio account itself is not changed.`,
      okText: 'Disconnect',
      cancelText: 'Cancel',
      danger: true,
    });
    if (!confirmed) return;
    setPending('disconnect');
    setError(null);
    try {
      const next = await api.twilio.disconnect();
      props.onChanged(next);
      setReplies(null);
      announce(next.mode === 'default' ? `Disconnected: texts go out from ${senderWords(next)} again.` : 'Disconnected: no Twilio account is connected.');
      setRefocus((n) => n + 1);
    } catch (e) {
      setError(twilioFailure(e));
    } finally {
      setPending(null);
    }
  };

  const busy = pending !== null;
  return (
    <section className="section" aria-labelledby="twilio-title" id="twilio" data-testid="twilio-section">
      <div className="section-head">
        <h2 id="twilio-title">Twilio sender</h2>
        {canEdit && !open && (
          <div className="section-tools">
            <button
              ref={action}
              type="button"
              // Filled only when nothing can be sent without it; otherwise it is an option, not the next step.
              className={view.mode === 'none' ? undefined : 'secondary'}
              data-testid={view.mode === 'own' ? 'twilio-change' : 'twilio-connect'}
              disabled={busy}
              onClick={() => {
                setReplies(null);
                setError(null);
                setOpen(true);
              }}
            >
              {view.mode === 'own' ? 'Change account' : 'Connect your own Twilio account'}
            </button>
            {view.mode === 'own' && (
              <button type="button" className="secondary danger" data-testid="twilio-disconnect" disabled={busy} onClick={() => void disconnect()}>
                {pending === 'disconnect' ? 'Disconnecting…' : 'Disconnect'}
              </button>
            )}
          </div>
        )}
      </div>
      <p className="visually-hidden" role="status" aria-live="polite" data-testid="twilio-status">
        {status}
      </p>

      <SenderSummary view={view} canEdit={canEdit} repliesKnown={replies !== null} />
      {error && (
        <p className="field-error" role="alert" data-testid="twilio-error">
          {error}
        </p>
      )}
      {replies && !open && <RepliesNotice view={view} replies={replies} pending={pending} onRecheck={(point) => void recheck(point)} />}

      {open && (
        <TwilioConnectForm
          view={view}
          onConnected={(answer, input) => {
            const next = connected(answer, input);
            setOpen(false);
            announce(`Twilio account connected: texts now go out from ${senderWords(next)}.`);
            setRefocus((n) => n + 1);
          }}
          onClose={() => {
            setOpen(false);
            setRefocus((n) => n + 1);
          }}
        />
      )}
    </section>
  );
}

function SenderSummary({ view, canEdit, repliesKnown }: { view: TwilioView; canEdit: boolean; repliesKnown: boolean }) {
  const readOnly = !canEdit && (
    <p className="field-note" data-testid="twilio-read-only">
      Only the Pipedrive admin who installed SMS for Pipedrive can change the Twilio account.
    </p>
  );
  if (view.mode === 'none') {
    return (
      <div className="warning-box" role="alert" data-testid="twilio-sender" data-mode="none">
        <p>
          <strong>No Twilio account is connected, so texts cannot be sent.</strong> Automations and the deal panel send nothing until{' '}
          {canEdit ? 'you connect' : 'the admin connects'} the company’s own Twilio account.
        </p>
        {readOnly}
      </div>
    );
  }
  const address = view.fromNumber ? (
    <strong data-testid="twilio-address">{view.fromNumber}</strong>
  ) : (
    <>
      Messaging Service <code data-testid="twilio-address">{view.messagingServiceSid}</code>
    </>
  );
  return (
    <div className="card sender" data-testid="twilio-sender" data-mode={view.mode}>
      {view.mode === 'own' ? (
        <>
          <p>
            Texts go out from your company’s own Twilio {view.fromNumber ? 'number' : 'account, through'} {address}.
          </p>
          <p className="sender-facts">
            Account <code data-testid="twilio-account">{view.accountSid}</code>
            {view.verifiedAt && <> · verified with Twilio on {when(view.verifiedAt)}</>}
          </p>
          {canEdit && !repliesKnown && (
            <p className="field-note">
              Replies reach SMS for Pipedrive while the {view.fromNumber ? 'number' : 'Messaging Service'} sends incoming messages to{' '}
              <code>{view.inboundUrl}</code>.
            </p>
          )}
        </>
      ) : (
        <>
          <p>
            Texts go out from the shared {view.fromNumber ? 'number' : 'sender'} of SMS for Pipedrive, {address}.
          </p>
          <p className="field-note">
            A contact who replies STOP to a shared number is opted out for every company that texts from it.
            {canEdit && ' To text from your own number, connect your own Twilio account.'}
          </p>
        </>
      )}
      {readOnly}
    </div>
  );
}

/** Whether replies to the just-connected sender reach the app, and how to make them when they do not. */
function RepliesNotice(props: { view: TwilioView; replies: Replies; pending: string | null; onRecheck: (point: boolean) => void }) {
  const { view } = props;
  const { currentUrl, pointsHere, canPointHere } = props.replies.replies;
  const sender = senderWords(view);
  if (pointsHere) {
    return (
      <p className="ok-text sender-replies" data-testid="twilio-replies-ok">
        Replies to {sender} come to SMS for Pipedrive and are logged in Pipedrive.
      </p>
    );
  }
  const canAct = props.replies.input !== null;
  return (
    <div className="warning-box" role="alert" data-testid="twilio-replies-warning">
      <p>
        <strong>Replies to {sender} will not reach SMS for Pipedrive.</strong> They are not logged in Pipedrive or shown in the deal panel, and an opt-out
        by text is only noticed when a later text to that contact is refused.
      </p>
      <p data-testid="twilio-current-url">
        {currentUrl ? (
          <>
            Its incoming messages now go to <code>{currentUrl}</code>.
          </>
        ) : (
          'It sends incoming messages nowhere yet.'
        )}
      </p>
      <p>
        {view.fromNumber
          ? `In the Twilio Console, open Phone Numbers › Manage › Active numbers › ${view.fromNumber}. Under Messaging, set “A message comes in” to Webhook, HTTP POST, with this URL:`
          : `In the Twilio Console, open Messaging › Services › ${view.messagingServiceSid} › Integration. Under Incoming Messages, choose “Send a webhook” with this Request URL:`}
      </p>
      <CopyField label="Incoming-message webhook URL" value={view.inboundUrl} />
      {canAct && (
        <div className="editor-actions">
          {canPointHere && (
            <button type="button" data-testid="twilio-point-here" disabled={props.pending !== null} onClick={() => props.onRecheck(true)}>
              {props.pending === 'point' ? 'Setting…' : 'Set it for me'}
            </button>
          )}
          <button type="button" className="secondary" data-testid="twilio-check-again" disabled={props.pending !== null} onClick={() => props.onRecheck(false)}>
            {props.pending === 'check' ? 'Checking…' : 'I have set it: check again'}
          </button>
        </div>
      )}
    </div>
  );
}

/** A URL to paste elsewhere. The clipboard may be closed to an iframe, so the text is selected for Ctrl+C as well. */
function CopyField({ label, value }: { label: string; value: string }) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<boolean | null>(null);
  const copy = async () => {
    input.current?.select();
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div className="field copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="inline">
        <input id={id} ref={input} readOnly value={value} data-testid="twilio-inbound-url" onFocus={(e) => e.target.select()} />
        <button type="button" className="secondary" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <p className="field-note" role="status">
        {copied === true ? 'Copied.' : copied === false ? 'Selected: press Ctrl+C (⌘C on a Mac) to copy.' : ''}
      </p>
    </div>
  );
}
