import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { previewTemplate, validateTemplate } from '../../server/messaging/compose';
import { api, ApiError, type Automation, type AutomationCreate, type AutomationPatch, type FieldProblems, type Pipeline, type TemplateRefusal, type TriggerEvent } from '../shared/api';
import { describeError, type Resource } from './use-resource';
import { useEditorForm } from './unsaved-changes';
import { indexStages, MERGE_BUTTONS, plural, sampleContext, stageWords } from './words';

type Draft = { name: string; event: TriggerEvent; stageId: number | null; pipelineId: number | null; template: string; enabled: boolean };

type FieldErrors = { name?: string; stage?: string; template?: string; form?: string };

const PROBLEM_TITLES: Record<string, string> = {
  too_long: 'Too long',
  link_shortener: 'Public link shortener',
  unknown_field: 'Unknown merge field',
  empty: 'Empty message',
};

function draftOf(automation: Automation | null): Draft {
  if (!automation) return { name: '', event: 'deal.stage_entered', stageId: null, pipelineId: null, template: '', enabled: true };
  return {
    name: automation.name,
    event: automation.trigger.event,
    stageId: automation.trigger.stageId,
    pipelineId: automation.trigger.pipelineId ?? null,
    template: automation.template,
    enabled: automation.enabled,
  };
}

/** The character budget of `maxSegments` segments in this encoding (a single segment holds more than a part). */
export function characterLimit(encoding: 'GSM-7' | 'UCS-2', maxSegments: number): number {
  if (encoding === 'GSM-7') return maxSegments === 1 ? 160 : 153 * maxSegments;
  return maxSegments === 1 ? 70 : 67 * maxSegments;
}

export function AutomationEditor(props: {
  automation: Automation | null;
  pipelines: Resource<{ pipelines: Pipeline[] }>;
  reloadPipelines: () => void;
  maxSegments: number;
  companyName: string | null;
  onSaved: (automation: Automation, created: boolean) => void;
  onClose: () => void;
  onLimitLearned: (maxSegments: number) => void;
}) {
  const { automation, pipelines, maxSegments } = props;
  const initial = useMemo(() => draftOf(automation), [automation]);
  const [draft, setDraft] = useState<Draft>(initial);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saving, setSaving] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const textarea = useRef<HTMLTextAreaElement>(null);
  const ids = useId();
  const id = (name: string) => `${ids}-${name}`;

  const dirty = JSON.stringify(draft) !== JSON.stringify(initial);

  useEffect(() => {
    heading.current?.focus();
  }, []);

  const stages = indexStages(pipelines.data?.pipelines);
  const stagesAvailable = !!pipelines.data;
  // Measured as the server measures at save time: merge fields at their fallback or empty, the shortest it gets.
  const check = useMemo(() => validateTemplate(draft.template, { maxSegments }), [draft.template, maxSegments]);
  // What a contact would receive, with sample values in the merge fields.
  const preview = useMemo(
    () => previewTemplate(draft.template, sampleContext(props.companyName), { maxSegments }),
    [draft.template, maxSegments, props.companyName],
  );
  const shownProblems = check.problems.filter((p) => p.code !== 'empty');
  const sampleTooLong = preview.problems.includes('too_long') && !check.problems.some((p) => p.code === 'too_long');
  const limit = characterLimit(preview.encoding, maxSegments);

  const missing: string[] = [];
  if (!draft.name.trim()) missing.push('give the automation a name');
  if (draft.stageId === null) missing.push('choose a stage');
  if (!draft.template.trim()) missing.push('write the message');
  else if (shownProblems.length > 0) missing.push('fix the message');
  const canSave = missing.length === 0 && !saving && (dirty || !automation);

  const set = (patch: Partial<Draft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    // A field's server error is about the value the server saw; once edited, it no longer applies.
    setErrors((e) => ({
      ...e,
      ...('name' in patch ? { name: undefined } : {}),
      ...('stageId' in patch ? { stage: undefined } : {}),
      ...('template' in patch ? { template: undefined } : {}),
      form: undefined,
    }));
  };

  const insert = (tag: string) => {
    const el = textarea.current;
    const start = el?.selectionStart ?? draft.template.length;
    const end = el?.selectionEnd ?? draft.template.length;
    const next = draft.template.slice(0, start) + tag + draft.template.slice(end);
    set({ template: next });
    requestAnimationFrame(() => {
      if (!el) return;
      el.focus();
      el.setSelectionRange(start + tag.length, start + tag.length);
    });
  };

  const save = async () => {
    if (!canSave || draft.stageId === null) return;
    setSaving(true);
    setErrors({});
    // A stage id typed while the list was unavailable gets its pipeline once the list is known.
    const pipelineId = draft.pipelineId ?? stages.get(draft.stageId)?.pipeline.id ?? null;
    const trigger = { event: draft.event, stageId: draft.stageId, pipelineId };
    try {
      let saved: Automation;
      if (automation) {
        // Only what changed: renaming an automation must not re-validate (and so refuse) an unchanged template.
        const patch: AutomationPatch = {};
        if (draft.name !== initial.name) patch.name = draft.name.trim();
        if (draft.enabled !== initial.enabled) patch.enabled = draft.enabled;
        if (draft.event !== initial.event || draft.stageId !== initial.stageId || pipelineId !== initial.pipelineId) patch.trigger = trigger;
        if (draft.template !== initial.template) patch.template = draft.template;
        saved = await api.automations.update(automation.id, patch);
      } else {
        const body: AutomationCreate = { name: draft.name.trim(), enabled: draft.enabled, trigger, template: draft.template };
        saved = await api.automations.create(body);
      }
      props.onSaved(saved, !automation);
    } catch (error) {
      setErrors(errorsOf(error, maxSegments));
      const limitSeen = error instanceof ApiError ? (error.details as Partial<TemplateRefusal> | null)?.maxSegments : undefined;
      // The limit changed since the page loaded (another admin, another tab): count against the server's from now on.
      if (typeof limitSeen === 'number' && limitSeen !== maxSegments) props.onLimitLearned(limitSeen);
    } finally {
      setSaving(false);
    }
  };

  const { close, formProps } = useEditorForm({
    dirty,
    unsaved: automation ? `“${automation.name}” has unsaved changes.` : 'The new automation has not been saved.',
    save,
    onClose: props.onClose,
  });

  const pipelineList = pipelines.data?.pipelines ?? [];
  const storedStageUnknown = draft.stageId !== null && stagesAvailable && !stages.has(draft.stageId);

  return (
    <form
      className="editor card"
      aria-labelledby={id('title')}
      data-testid="automation-editor"
      {...formProps}
    >
      <h3 id={id('title')} ref={heading} tabIndex={-1} className="editor-title">
        {automation ? `Edit “${automation.name}”` : 'New automation'}
      </h3>

      <div className="field">
        <label htmlFor={id('name')}>Name</label>
        <input
          id={id('name')}
          data-testid="automation-name"
          value={draft.name}
          maxLength={120}
          required
          aria-invalid={!!errors.name}
          aria-describedby={errors.name ? id('name-error') : undefined}
          placeholder="e.g. Quote sent follow-up"
          onChange={(e) => set({ name: e.target.value })}
        />
        {errors.name && (
          <p id={id('name-error')} className="field-error" role="alert">
            {errors.name}
          </p>
        )}
      </div>

      <fieldset className="field">
        <legend>Send when</legend>
        <label className="choice">
          <input
            type="radio"
            name={id('event')}
            value="deal.stage_entered"
            checked={draft.event === 'deal.stage_entered'}
            onChange={() => set({ event: 'deal.stage_entered' })}
          />
          a deal enters the stage
        </label>
        <label className="choice">
          <input type="radio" name={id('event')} value="deal.created" checked={draft.event === 'deal.created'} onChange={() => set({ event: 'deal.created' })} />
          a deal is created in the stage
        </label>
      </fieldset>

      <div className="field">
        <label htmlFor={id('stage')}>Stage</label>
        {stagesAvailable || pipelines.state === 'loading' ? (
          <select
            id={id('stage')}
            data-testid="automation-stage"
            value={draft.stageId ?? ''}
            disabled={!stagesAvailable}
            aria-invalid={!!errors.stage}
            aria-describedby={errors.stage ? id('stage-error') : undefined}
            onChange={(e) => {
              const stageId = e.target.value ? Number(e.target.value) : null;
              set({ stageId, pipelineId: stageId !== null ? (stages.get(stageId)?.pipeline.id ?? null) : null });
            }}
          >
            <option value="">{stagesAvailable ? 'Choose a stage…' : 'Loading stages…'}</option>
            {storedStageUnknown && <option value={draft.stageId!}>{`stage ${draft.stageId} (not found in Pipedrive)`}</option>}
            {pipelineList.map((pipeline) => (
              <optgroup key={pipeline.id} label={pipeline.name}>
                {[...pipeline.stages]
                  .sort((a, b) => a.order - b.order)
                  .map((stage) => (
                    <option key={stage.id} value={stage.id}>
                      {stage.name}
                    </option>
                  ))}
              </optgroup>
            ))}
          </select>
        ) : (
          // Pipedrive did not answer: the stage id still lets an admin save, and the list comes back with "Try again".
          <input
            id={id('stage')}
            data-testid="automation-stage-id"
            type="number"
            min={1}
            step={1}
            inputMode="numeric"
            value={draft.stageId ?? ''}
            aria-describedby={id('stages-error')}
            onChange={(e) => set({ stageId: e.target.value ? Number(e.target.value) : null, pipelineId: null })}
          />
        )}
        {pipelines.state === 'error' && (
          <div id={id('stages-error')} className="inline-error" role="alert" data-testid="stages-error">
            <span>
              {describeError(pipelines.error, 'Stages')} {!stagesAvailable && 'Meanwhile you can enter the stage id.'}
            </span>
            <button type="button" className="link" onClick={props.reloadPipelines}>
              Try again
            </button>
          </div>
        )}
        {storedStageUnknown && (
          <p className="field-note warn-text">
            {stageWords(draft.stageId!, stages)} no longer exists in Pipedrive: this automation never sends. Choose another stage.
          </p>
        )}
        {errors.stage && (
          <p id={id('stage-error')} className="field-error" role="alert">
            {errors.stage}
          </p>
        )}
      </div>

      <div className="field">
        <label htmlFor={id('template')}>Message</label>
        <div className="merge-buttons" role="group" aria-label="Insert a merge field">
          <span className="merge-label" aria-hidden="true">
            Insert:
          </span>
          {MERGE_BUTTONS.map((b) => (
            <button key={b.tag} type="button" className="chip" title={`Inserts ${b.tag}`} aria-label={`${b.label} ${b.tag}`} onClick={() => insert(b.tag)}>
              {b.label}
            </button>
          ))}
        </div>
        <textarea
          id={id('template')}
          ref={textarea}
          data-testid="automation-template"
          value={draft.template}
          rows={5}
          maxLength={1600}
          aria-invalid={shownProblems.length > 0 || !!errors.template}
          aria-describedby={`${id('counter')} ${id('template-hint')}${shownProblems.length ? ` ${id('problems')}` : ''}${errors.template ? ` ${id('template-error')}` : ''}`}
          placeholder="Hi {{person.first_name|there}}, your quote for {{deal.title}} is ready."
          onChange={(e) => set({ template: e.target.value })}
        />
        <p id={id('template-hint')} className="field-note">
          A fallback fills an empty field: <code>{'{{person.first_name|there}}'}</code>. Without the word STOP, “Reply STOP to opt out” is added on a new line.
        </p>

        <div className="measure">
          <p id={id('counter')} className={`counter${shownProblems.some((p) => p.code === 'too_long') || sampleTooLong ? ' over' : ''}`} data-testid="template-counter">
            {preview.characters}/{limit} characters · {preview.segments}/{plural(maxSegments, 'segment')} · {preview.encoding}
          </p>
          {preview.encoding === 'UCS-2' && draft.template && (
            <p className="field-note" data-testid="ucs2-note">
              A character outside the GSM-7 alphabet (an emoji, an accent some phones lack…) makes the whole message UCS-2: 70 characters per segment instead of 160.
            </p>
          )}
        </div>

        {draft.template.trim() !== '' && (
          <div className="preview" data-testid="template-preview">
            <span className="preview-label">Preview with sample values</span>
            <p className="preview-body">{preview.body}</p>
          </div>
        )}

        {shownProblems.length > 0 && (
          <ul id={id('problems')} className="problems" aria-live="polite" data-testid="template-problems">
            {shownProblems.map((p) => (
              <li key={p.code} data-testid={`problem-${p.code}`}>
                <strong>{PROBLEM_TITLES[p.code] ?? p.code}:</strong> {p.message}
              </li>
            ))}
          </ul>
        )}
        {sampleTooLong && (
          <p className="field-note warn-text" data-testid="sample-too-long">
            With the sample values the message is longer than {plural(maxSegments, 'segment')}: contacts with names this long would not get it.
          </p>
        )}
        {errors.template && (
          <p id={id('template-error')} className="field-error" role="alert" data-testid="template-server-error">
            {errors.template}
          </p>
        )}
      </div>

      <label className="choice">
        <input type="checkbox" checked={draft.enabled} onChange={(e) => set({ enabled: e.target.checked })} />
        Enabled (sends as soon as it is saved)
      </label>

      {errors.form && (
        <p className="field-error" role="alert" data-testid="editor-error">
          {errors.form}
        </p>
      )}
      <div className="editor-actions">
        <button type="submit" data-testid="save-automation" disabled={!canSave} aria-describedby={missing.length ? id('missing') : undefined}>
          {saving ? 'Saving…' : automation ? 'Save changes' : 'Create automation'}
        </button>
        <button type="button" className="secondary" data-testid="cancel-automation" onClick={() => void close()}>
          Cancel
        </button>
        {missing.length > 0 && (
          <span id={id('missing')} className="field-note">
            To save, {missing.join(', ')}.
          </span>
        )}
      </div>
    </form>
  );
}

/** Puts a refused save's reasons next to the fields they are about; the form keeps every value. */
function errorsOf(error: unknown, pageLimit: number): FieldErrors {
  if (!(error instanceof ApiError)) return { form: 'Could not save the automation.' };
  if (error.status !== 400) return { form: describeError(error, 'Automations') };
  const details = (error.details ?? {}) as Partial<TemplateRefusal & FieldProblems>;
  if (details.problems) {
    // The page's own check passed, so the server knows something the page did not: usually a new segment limit. The
    // problem itself is then listed by the page's check (it counts against the new limit), so say only what changed.
    if (typeof details.maxSegments === 'number' && details.maxSegments !== pageLimit) {
      return {
        template: `Not saved: the maximum length was changed to ${plural(details.maxSegments, 'segment')} since this page was opened, and this message no longer fits.`,
      };
    }
    return { template: `Not saved: ${error.message}` };
  }
  const out: FieldErrors = {};
  for (const field of details.fields ?? []) {
    const key: keyof FieldErrors = field.path === 'name' ? 'name' : field.path.startsWith('trigger') ? 'stage' : field.path === 'template' ? 'template' : 'form';
    out[key] = out[key] ? `${out[key]} ${field.message}` : field.message;
  }
  return Object.keys(out).length ? out : { form: error.message };
}
