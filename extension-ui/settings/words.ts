import type { MergeContext } from '../../server/messaging/template';
import type { Automation, Pipeline, Stage } from '../shared/api';

export type StageIndex = Map<number, { stage: Stage; pipeline: Pipeline }>;

export function indexStages(pipelines: readonly Pipeline[] | null | undefined): StageIndex {
  const index: StageIndex = new Map();
  for (const pipeline of pipelines ?? []) for (const stage of pipeline.stages) index.set(stage.id, { stage, pipeline });
  return index;
}

/** "Sales › Negotiation"; "stage 12" when Pipedrive does not (or no longer) know the stage. */
export function stageWords(stageId: number, index: StageIndex): string {
  const found = index.get(stageId);
  return found ? `${found.pipeline.name} › ${found.stage.name}` : `stage ${stageId}`;
}

export function triggerWords(trigger: Automation['trigger'], index: StageIndex): string {
  const where = stageWords(trigger.stageId, index);
  return trigger.event === 'deal.created' ? `Deal created in ${where}` : `Deal enters ${where}`;
}

export const MERGE_BUTTONS: ReadonlyArray<{ tag: string; label: string }> = [
  { tag: '{{person.first_name}}', label: 'First name' },
  { tag: '{{person.last_name}}', label: 'Last name' },
  { tag: '{{person.name}}', label: 'Full name' },
  { tag: '{{deal.title}}', label: 'Deal title' },
  { tag: '{{user.name}}', label: 'Deal owner' },
  { tag: '{{company.name}}', label: 'Company name' },
];

/** The values the editor's preview merges: plausible lengths, so the count says how much room real names leave. */
export function sampleContext(companyName: string | null): MergeContext {
  return {
    person: { first_name: 'Alex', last_name: 'Morgan', name: 'Alex Morgan' },
    deal: { title: 'Website redesign' },
    user: { name: 'Sam Seller' },
    company: { name: companyName ?? 'Your company' },
  };
}

export const SKIP_REASON_WORDS: Record<string, string> = {
  no_consent: 'no consent',
  opted_out: 'opted out',
  missing_phone: 'no phone number',
  invalid_phone: 'invalid phone number',
  too_long: 'too long',
  link_shortener: 'link shortener',
  no_person: 'no contact person',
  unknown_field: 'unknown merge field',
  frequency_cap: 'frequency cap reached',
  stage_changed: 'the deal left the stage',
  opt_out_review: 'possible opt-out awaiting review',
  no_sending_window: 'no sending window for the contact',
};

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
