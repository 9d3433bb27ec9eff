import { useEffect, useRef, useState } from 'react';
import { validateTemplate } from '../../server/messaging/compose';
import { api, ApiError, type Automation, type Pipeline } from '../shared/api';
import { confirmAction, snackbar } from '../shared/sdk';
import { AutomationEditor } from './automation-editor';
import { LoadError } from './load-error';
import { describeError, type Resource } from './use-resource';
import { indexStages, triggerWords, type StageIndex } from './words';

export type Editing = { mode: 'new' } | { mode: 'edit'; id: string } | null;

export function AutomationsSection(props: {
  automations: Resource<{ automations: Automation[] }>;
  reloadAutomations: () => void;
  setAutomations: (list: Automation[]) => void;
  pipelines: Resource<{ pipelines: Pipeline[] }>;
  reloadPipelines: () => void;
  maxSegments: number;
  companyName: string | null;
  editing: Editing;
  onEdit: (editing: Editing) => void;
  onLimitLearned: (maxSegments: number) => void;
  /** Only the admin who installed may change automations (the server refuses others); everyone may read them. */
  canEdit: boolean;
}) {
  const { automations, editing, canEdit } = props;
  const list = automations.data?.automations ?? [];
  const stages = indexStages(props.pipelines.data?.pipelines);
  const [status, setStatus] = useState('');
  const editedAutomation = editing?.mode === 'edit' ? (list.find((a) => a.id === editing.id) ?? null) : null;

  // When the editor closes, focus goes back to what opened it, not to the top of the page.
  const opened = useRef<Editing>(null);
  useEffect(() => {
    const previous = opened.current;
    opened.current = editing;
    if (!previous || editing) return;
    const target =
      previous.mode === 'edit'
        ? document.querySelector<HTMLElement>(`[data-id="${CSS.escape(previous.id)}"] [data-testid="edit-automation"]`)
        : document.querySelector<HTMLElement>('[data-testid="new-automation"]');
    target?.focus();
  }, [editing]);

  const replace = (next: Automation) => props.setAutomations(list.map((a) => (a.id === next.id ? next : a)));

  const onSaved = (saved: Automation, created: boolean) => {
    props.setAutomations(created ? [...list, saved] : list.map((a) => (a.id === saved.id ? saved : a)));
    props.onEdit(null);
    const message = created ? `Automation “${saved.name}” created.` : `Automation “${saved.name}” saved.`;
    setStatus(message);
    void snackbar(message);
  };

  const onDeleted = (gone: Automation) => {
    props.setAutomations(list.filter((a) => a.id !== gone.id));
    const message = `Automation “${gone.name}” deleted.`;
    setStatus(message);
    void snackbar(message);
  };

  return (
    <section className="section" aria-labelledby="automations-title" id="automations">
      <div className="section-head">
        <h2 id="automations-title">Automations</h2>
        {canEdit && !editing && automations.data && list.length > 0 && (
          <button type="button" data-testid="new-automation" onClick={() => props.onEdit({ mode: 'new' })}>
            New automation
          </button>
        )}
      </div>
      {!canEdit && (
        <p className="read-only-note" data-testid="automations-read-only">
          Only a Pipedrive admin who installed SMS for Pipedrive can add or change automations.
        </p>
      )}
      <p className="visually-hidden" role="status" aria-live="polite" data-testid="automations-status">
        {status}
      </p>

      {editing && (editing.mode === 'new' || editedAutomation) && (
        <AutomationEditor
          key={editing.mode === 'edit' ? editing.id : 'new'}
          automation={editedAutomation}
          pipelines={props.pipelines}
          reloadPipelines={props.reloadPipelines}
          maxSegments={props.maxSegments}
          companyName={props.companyName}
          onSaved={onSaved}
          onClose={() => props.onEdit(null)}
          onLimitLearned={props.onLimitLearned}
        />
      )}

      {automations.state === 'loading' && !automations.data && (
        <p className="loading" role="status">
          Loading automations…
        </p>
      )}
      {automations.state === 'error' && (
        <LoadError testId="automations-error" error={automations.error} what="Automations" onRetry={props.reloadAutomations} />
      )}

      {props.pipelines.state === 'error' && !editing && list.length > 0 && (
        <div className="inline-error" role="alert" data-testid="stages-list-error">
          <span>{describeError(props.pipelines.error, 'Stage names')} Automations are shown with their stage id.</span>
          <button type="button" className="link" onClick={props.reloadPipelines}>
            Try again
          </button>
        </div>
      )}

      {automations.data && list.length === 0 && !editing && (
        <div className="empty-state" data-testid="automations-empty">
          <p>
            <strong>No automations yet.</strong>
          </p>
          <p>An automation texts a deal’s contact person when the deal enters a stage you choose, e.g. a reminder when a quote is sent.</p>
          {canEdit && (
            <button type="button" data-testid="new-automation" onClick={() => props.onEdit({ mode: 'new' })}>
              Create your first automation
            </button>
          )}
        </div>
      )}

      {list.length > 0 && (
        <ul className="automation-list" aria-label="Automations" aria-busy={automations.state === 'loading'}>
          {list.map((automation) => (
            <AutomationItem
              key={automation.id}
              automation={automation}
              stages={stages}
              maxSegments={props.maxSegments}
              editing={editing?.mode === 'edit' && editing.id === automation.id}
              busy={!!editing}
              canEdit={canEdit}
              onEdit={() => props.onEdit({ mode: 'edit', id: automation.id })}
              onChanged={replace}
              onDeleted={() => onDeleted(automation)}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function AutomationItem(props: {
  automation: Automation;
  stages: StageIndex;
  maxSegments: number;
  editing: boolean;
  busy: boolean;
  canEdit: boolean;
  onEdit: () => void;
  onChanged: (automation: Automation) => void;
  onDeleted: () => void;
}) {
  const { automation } = props;
  const [pending, setPending] = useState<'toggle' | 'delete' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const check = validateTemplate(automation.template, { maxSegments: props.maxSegments });
  const stageKnown = props.stages.size === 0 || props.stages.has(automation.trigger.stageId);

  const toggle = async (enabled: boolean) => {
    setPending('toggle');
    setError(null);
    try {
      props.onChanged(await api.automations.update(automation.id, { enabled }));
    } catch (e) {
      setError(e instanceof ApiError ? describeError(e, 'Automations') : 'Could not change the automation.');
    } finally {
      setPending(null);
    }
  };

  const remove = async () => {
    const confirmed = await confirmAction({
      title: `Delete “${automation.name}”?`,
      description: 'No more messages are sent for it. Messages already sent stay in reports and in the deal panel.',
      okText: 'Delete',
      cancelText: 'Cancel',
      danger: true,
    });
    if (!confirmed) return;
    setPending('delete');
    setError(null);
    try {
      await api.automations.remove(automation.id);
      props.onDeleted();
    } catch (e) {
      // Deleted elsewhere in the meantime: the outcome the admin asked for.
      if (e instanceof ApiError && e.status === 404 && e.message !== 'No such route') props.onDeleted();
      else setError(e instanceof ApiError ? describeError(e, 'Automations') : 'Could not delete the automation.');
      setPending(null);
    }
  };

  const toggleId = `enabled-${automation.id}`;
  return (
    <li className={`automation${automation.enabled ? '' : ' disabled'}${props.editing ? ' editing' : ''}`} data-testid="automation-item" data-id={automation.id}>
      <div className="automation-main">
        <h3 className="automation-name">{automation.name}</h3>
        <p className="trigger" data-testid="automation-trigger">
          {triggerWords(automation.trigger, props.stages)}
        </p>
        <p className="template-excerpt">{automation.template}</p>
        {!check.ok && (
          <p className="warn-text" data-testid="automation-warning">
            Does not fit the current rules ({check.problems.map((p) => p.message).join(' ')}); its messages are not sent until the message is edited.
          </p>
        )}
        {!stageKnown && (
          <p className="warn-text" data-testid="automation-stage-missing">
            Stage {automation.trigger.stageId} is no longer in Pipedrive: this automation cannot send.
          </p>
        )}
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
      </div>
      {props.canEdit ? (
        <div className="automation-actions">
          <label className="switch" htmlFor={toggleId}>
            <input
              id={toggleId}
              type="checkbox"
              role="switch"
              data-testid="automation-enabled"
              checked={automation.enabled}
              disabled={pending !== null}
              aria-label={`Enabled: ${automation.name}`}
              onChange={(e) => void toggle(e.target.checked)}
            />
            <span aria-hidden="true">{automation.enabled ? 'On' : 'Off'}</span>
          </label>
          <button type="button" className="secondary" data-testid="edit-automation" disabled={props.busy || pending !== null} aria-label={`Edit ${automation.name}`} onClick={props.onEdit}>
            Edit
          </button>
          <button type="button" className="secondary danger" data-testid="delete-automation" disabled={props.busy || pending !== null} aria-label={`Delete ${automation.name}`} onClick={() => void remove()}>
            {pending === 'delete' ? 'Deleting…' : 'Delete'}
          </button>
        </div>
      ) : (
        <p className="automation-state" data-testid="automation-state">
          {automation.enabled ? 'On' : 'Off'}
        </p>
      )}
    </li>
  );
}
