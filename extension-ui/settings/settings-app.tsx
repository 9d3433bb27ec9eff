import { useEffect, useRef, useState } from 'react';
import { useDocumentTheme, useFitToContent } from '../shared/layout';
import { initialTheme, onThemeChange } from '../shared/sdk';
import { AutomationsSection, type Editing } from './automations-section';
import { ReportsSection } from './reports-section';
import { RulesSection } from './rules-section';
import { SendingWindowSection } from './sending-window-section';
import { PrivacySection } from './privacy-section';
import { OptOutSection } from './opt-out-section';
import { ReviewsSection } from './reviews-section';
import { TwilioSection } from './twilio-section';
import { api, type SettingsView } from '../shared/api';
import { LoadError } from './load-error';
import { useResource } from './use-resource';

export function SettingsApp() {
  const [theme, setTheme] = useState(initialTheme());
  const root = useRef<HTMLDivElement>(null);
  const settings = useResource('settings', api.settings.get);
  const automations = useResource('automations', api.automations.list);
  const pipelines = useResource('pipelines', api.pipelines.list);
  const [editing, setEditing] = useState<Editing>(null);

  useEffect(() => onThemeChange(setTheme), []);
  useDocumentTheme(theme);

  // Ask Pipedrive for the content's height, as its example settings app does.
  useFitToContent(root);

  const view = settings.resource.data;
  const maxSegments = view?.maxSegments ?? 1;
  const companyName = view?.company.name ?? null;
  const sessionExpired = [settings.resource, automations.resource, pipelines.resource].some((r) => r.state === 'error' && r.error.status === 401);
  const notInstalled = settings.resource.state === 'error' && settings.resource.error.status === 403;

  const edit = (next: Editing) => {
    setEditing(next);
    if (next) requestAnimationFrame(() => document.getElementById('automations')?.scrollIntoView({ block: 'start' }));
  };

  return (
    <div ref={root} className="settings" data-testid="settings-root">
      <header className="page-header">
        <div>
          <h1>SMS for Pipedrive</h1>
          <p className="company" data-testid="company-name">
            {view ? (companyName ?? `Company ${view.company.id}`) : '\u00a0'}
          </p>
        </div>
      </header>

      {sessionExpired && (
        <div className="error-box" role="alert" data-testid="session-expired">
          <p>
            <strong>Your Pipedrive session has expired.</strong> Reload the page in Pipedrive to continue; nothing was changed.
          </p>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              void settings.reload();
              void automations.reload();
              void pipelines.reload();
            }}
          >
            Try again
          </button>
        </div>
      )}

      {notInstalled ? (
        <div className="error-box" role="alert" data-testid="not-installed">
          <p>
            <strong>{settings.resource.state === 'error' ? settings.resource.error.message : ''}</strong>
          </p>
          <p>A Pipedrive admin of your company installs it from the Pipedrive Marketplace; then reopen this page.</p>
        </div>
      ) : (
        <>
          {settings.resource.state === 'loading' && !view && (
            <p className="loading" role="status">
              Loading settings…
            </p>
          )}
          {settings.resource.state === 'error' && settings.resource.error.status !== 401 && (
            <LoadError testId="settings-error" error={settings.resource.error} what="Settings" onRetry={() => void settings.reload()} />
          )}
          {view && view.provisioning.status !== 'complete' && <ProvisioningWarning view={view} />}

          {/* First: without a sender nothing below sends, and it says which number contacts see. */}
          {view && <TwilioSection view={view.twilio} canEdit={view.canEdit} onChanged={(twilio) => settings.setData({ ...view, twilio })} />}

          <AutomationsSection
            automations={automations.resource}
            reloadAutomations={() => void automations.reload()}
            setAutomations={(list) => automations.setData({ automations: list })}
            pipelines={pipelines.resource}
            reloadPipelines={() => void pipelines.reload()}
            maxSegments={maxSegments}
            companyName={companyName}
            editing={editing}
            onEdit={edit}
            onLimitLearned={(limit) => view && settings.setData({ ...view, maxSegments: limit })}
            canEdit={view?.canEdit ?? false}
          />
          <ReportsSection canDownload={view?.canEdit ?? false} />
          {view && (
            <RulesSection
              view={view}
              onSaved={(next) => settings.setData(next)}
              onEditAutomation={(id) => edit({ mode: 'edit', id })}
              editing={!!editing}
            />
          )}
          {view && <SendingWindowSection view={view} onSaved={(next) => settings.setData(next)} />}
          {view && <ReviewsSection />}
          {view && <OptOutSection canEdit={view.canEdit} />}
          {view && <PrivacySection view={view} onSaved={(next) => settings.setData(next)} />}
        </>
      )}
    </div>
  );
}

function ProvisioningWarning({ view }: { view: SettingsView }) {
  const { status, problems } = view.provisioning;
  const heading =
    status === 'pending'
      ? 'Set-up in Pipedrive is still running.'
      : status === 'needs_admin'
        ? 'Set-up is not complete: a Pipedrive admin must install the app.'
        : 'Set-up in Pipedrive is not complete.';
  return (
    <div className="warning-box" role="alert" data-testid="provisioning-warning">
      <p>
        <strong>{heading}</strong> Until it is, automations may not send and replies may not be logged in Pipedrive.
      </p>
      {problems.length > 0 && (
        <ul>
          {problems.map((p, i) => (
            <li key={`${p.step ?? 'step'}-${i}`}>{p.message ?? String(p.step ?? 'Unknown problem')}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
