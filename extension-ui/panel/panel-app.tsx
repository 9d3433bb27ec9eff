import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { previewTemplate } from '../../server/messaging/compose';
import { api, ApiError, type PanelMessage, type PanelView } from '../shared/api';
import { useDocumentTheme, useFitToContent } from '../shared/layout';
import { connect, initialTheme, onThemeChange, onVisible, queryParam } from '../shared/sdk';
import { useMinuteClock } from '../shared/minute-clock';
import { ContactTime, OutsideWindow, ScheduledFor, useContactClock } from './contact-clock';
import { ReviewCard } from './review-card';

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'hidden' } | { state: 'ready'; view: PanelView };

// The server answers a deal the user may not see in Pipedrive exactly as one that does not exist.
const HIDDEN_TEXT = 'This deal was not found, or it is not visible to you in Pipedrive.';
const isHidden = (error: unknown) => error instanceof ApiError && error.status === 404;

const SOURCE_TEXT: Record<string, string> = {
  inbound_keyword: 'by text reply',
  twilio_21610: 'reported by Twilio',
  pipedrive_field: 'in Pipedrive',
  panel: 'from the panel',
};

const STATUS_TEXT: Record<string, string> = {
  pending: 'Waiting to send',
  queued: 'Queued at Twilio',
  accepted: 'Queued at Twilio',
  scheduled: 'Scheduled',
  sending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  undelivered: 'Not delivered',
  failed: 'Failed',
  skipped: 'Not sent',
  cancelled: 'Cancelled',
};

const when = (iso: string) =>
  new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

export function PanelApp() {
  const dealId = queryParam('selectedIds')?.split(',')[0] ?? queryParam('dealId') ?? '';
  const [theme, setTheme] = useState(initialTheme());
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const root = useRef<HTMLDivElement>(null);

  const refresh = useCallback(async () => {
    try {
      const view = await api.panel.deal(dealId);
      setLoad({ state: 'ready', view });
      // When the first data arrived, for the browser test's render-time check.
      (window as unknown as { __firstDataAt?: number }).__firstDataAt ??= performance.now();
    } catch (error) {
      if (isHidden(error)) setLoad({ state: 'hidden' });
      else setLoad({ state: 'error', message: error instanceof ApiError ? error.message : 'Could not reach SMS for Pipedrive' });
    }
  }, [dealId]);

  useEffect(() => {
    connect(root.current?.scrollHeight ?? 300);
    void refresh();
    const offVisible = onVisible(() => void refresh());
    const offTheme = onThemeChange(setTheme);
    return () => {
      offVisible();
      offTheme();
    };
  }, [refresh]);

  useDocumentTheme(theme);

  // Keep the iframe as tall as the content (Pipedrive allows 100–750 px).
  useFitToContent(root);

  return (
    <div ref={root} className="panel" data-state={load.state}>
      {load.state === 'loading' && (
        <div className="skeleton" role="status" aria-live="polite">
          Loading conversation…
        </div>
      )}
      {load.state === 'error' && (
        <div className="error-state" role="alert">
          <p>{load.message}</p>
          <button type="button" onClick={() => void refresh()}>
            Try again
          </button>
        </div>
      )}
      {load.state === 'hidden' && (
        <div className="empty" data-testid="not-visible" role="status">
          <strong>Deal not available</strong>
          <p>{HIDDEN_TEXT}</p>
        </div>
      )}
      {load.state === 'ready' && <Conversation view={load.view} dealId={dealId} onSent={refresh} />}
    </div>
  );
}

function Conversation({ view, dealId, onSent }: { view: PanelView; dealId: string; onSent: () => Promise<void> }) {
  const clock = useContactClock(view.sendingWindow, view.person?.e164 ?? null, useMinuteClock());
  if (!view.person) {
    return (
      <div className="empty" data-testid="no-person">
        <strong>No contact person</strong>
        <p>Link a person to this deal to text them.</p>
      </div>
    );
  }
  return (
    <>
      <header className="person">
        <div>
          <div className="person-name">{view.person.name}</div>
          <div className="phone" data-testid="phone">
            {view.person.phone ? (
              <>
                {view.person.phone}
                {view.person.e164 && view.person.e164 !== view.person.phone && <span className="dials"> · dials {view.person.e164}</span>}
                {view.person.e164 && <ContactTime clock={clock} />}
              </>
            ) : (
              'No phone number'
            )}
          </div>
        </div>
        <ConsentBadge view={view} />
      </header>
      {view.review && <ReviewCard review={view.review} onDecided={() => void onSent()} />}
      <Composer view={view} dealId={dealId} onSent={onSent} outside={clock.outside} />
      <section aria-label="Conversation" className="messages">
        {view.messages.length === 0 ? (
          <p className="empty-messages" data-testid="no-messages">
            No messages yet.
          </p>
        ) : (
          <ol>
            {view.messages.map((m) => (
              <MessageItem key={m.id} message={m} window={view.sendingWindow} />
            ))}
          </ol>
        )}
        {view.more && <p className="more">Older messages are in the deal’s activities.</p>}
      </section>
    </>
  );
}

function ConsentBadge({ view }: { view: PanelView }) {
  const label = view.consent === 'granted' ? 'Granted' : view.consent === 'opted_out' ? 'Opted out' : 'No consent';
  const last = view.consentHistory[0];
  return (
    <div className="consent">
      <span className={`badge badge-${view.consent}`} data-testid="consent-badge" aria-label={`SMS consent: ${label}`}>
        {label}
      </span>
      {last && (
        <span className="consent-when" data-testid="consent-history">
          {last.action === 'opt_out' ? 'Opted out' : 'Opted in'} {SOURCE_TEXT[last.source] ?? last.source}
          {last.message ? ` (“${last.message}”)` : ''}, {when(last.at)}
        </span>
      )}
    </div>
  );
}

function MessageItem({ message, window }: { message: PanelMessage; window: PanelView['sendingWindow'] }) {
  if (message.direction === 'inbound') {
    const keyword = message.keyword === 'opt_out' ? 'Opt-out' : message.keyword === 'opt_in' ? 'Opt-in' : message.keyword === 'help' ? 'Help' : null;
    return (
      <li className={`msg inbound${message.possibleOptOut ? ' possible-opt-out' : ''}`} data-testid="inbound-message">
        {message.possibleOptOut && (
          <div className="flag" role="note">
            Possible opt-out request — review and set “SMS consent” to “Opted out” if it is one.
          </div>
        )}
        <p className="body">{message.body}</p>
        <div className="meta">
          {keyword && <span className={`tag tag-${message.keyword}`}>{keyword}</span>}
          <time dateTime={message.at}>{when(message.at)}</time>
        </div>
      </li>
    );
  }
  const bad = ['failed', 'undelivered', 'skipped', 'cancelled'].includes(message.status);
  return (
    <li className={`msg outbound${bad ? ' problem' : ''}`} data-testid="outbound-message">
      {message.body && <p className="body">{message.body}</p>}
      <div className="meta">
        {message.status === 'scheduled' && message.notBefore ? (
          <ScheduledFor notBefore={message.notBefore} info={window} />
        ) : (
          <span className={`status status-${message.status}`}>{STATUS_TEXT[message.status] ?? message.status}</span>
        )}
        {message.automation && <span className="automation">{message.automation}</span>}
        <time dateTime={message.at}>{when(message.at)}</time>
      </div>
      {message.error && <div className="error">{message.error}</div>}
    </li>
  );
}

function Composer({ view, dealId, onSent, outside }: { view: PanelView; dealId: string; onSent: () => Promise<void>; outside: string | null }) {
  const [text, setText] = useState('');
  // Outside the contact's window a send takes a second click: a panel send is never held, so the person decides.
  const [armed, setArmed] = useState(false);
  const [sending, setSending] = useState(false);
  const [feedback, setFeedback] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  // The same policy code as the server: what is counted here is what will be sent.
  const preview = useMemo(() => previewTemplate(text, { person: null }, { maxSegments: view.maxSegments }), [text, view.maxSegments]);
  const disabledReason = view.canSend.ok ? null : view.canSend.message;
  const tooLong = preview.problems.includes('too_long');
  const blocked = preview.problems.length > 0;
  const limit = preview.encoding === 'GSM-7' ? (view.maxSegments === 1 ? 160 : 153 * view.maxSegments) : view.maxSegments === 1 ? 70 : 67 * view.maxSegments;

  const send = async () => {
    if (!text.trim() || blocked || disabledReason || sending) return;
    if (outside && !armed) return setArmed(true);
    setArmed(false);
    setSending(true);
    setFeedback(null);
    try {
      await api.panel.send(dealId, text);
      setText('');
      setFeedback({ kind: 'ok', text: 'Queued for sending.' });
      await onSent();
    } catch (error) {
      setFeedback({ kind: 'error', text: isHidden(error) ? HIDDEN_TEXT : error instanceof Error ? error.message : 'Could not send' });
    } finally {
      setSending(false);
    }
  };

  return (
    <form
      className="composer"
      aria-label="Send an SMS"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      {disabledReason && (
        <p className="disabled-reason" data-testid="send-disabled-reason">
          {disabledReason}
        </p>
      )}
      {outside && !disabledReason && <OutsideWindow text={outside} armed={armed} />}
      <label htmlFor="sms-text" className="visually-hidden">
        Message
      </label>
      <textarea
        id="sms-text"
        data-testid="compose"
        value={text}
        disabled={!!disabledReason || sending}
        placeholder={disabledReason ? 'Sending is not possible' : 'Write a text message…'}
        rows={3}
        onChange={(e) => {
          setText(e.target.value);
          setArmed(false);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send();
        }}
      />
      {text && (
        <div className="preview" data-testid="preview" aria-live="polite">
          <span className="preview-label">Will be sent as:</span>
          <p>{preview.body}</p>
        </div>
      )}
      <div className="composer-row">
        <span className={`counter${tooLong ? ' over' : ''}`} data-testid="counter">
          {preview.characters}/{limit} · {preview.segments} {preview.segments === 1 ? 'segment' : 'segments'} · {preview.encoding}
          {preview.problems.includes('link_shortener') && ' · public link shorteners are not allowed'}
          {tooLong && ' · too long'}
        </span>
        <button type="submit" data-testid="send" disabled={!!disabledReason || !text.trim() || blocked || sending}>
          {sending ? 'Sending…' : outside && armed ? 'Send anyway' : 'Send SMS'}
        </button>
      </div>
      {feedback && (
        <p className={`feedback ${feedback.kind}`} role={feedback.kind === 'error' ? 'alert' : 'status'}>
          {feedback.text}
        </p>
      )}
    </form>
  );
}
