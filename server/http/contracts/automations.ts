import { z } from 'zod';
import { pipedriveId } from './common.js';
import { AUTOMATION_NAME_MAX_LENGTH, MAX_BODY_CHARACTERS } from './limits.js';

// The settings page's automations, the live template preview and the stages to choose from.

export const TRIGGER_EVENTS = ['deal.stage_entered', 'deal.created'] as const;
export type TriggerEvent = (typeof TRIGGER_EVENTS)[number];

const trigger = z.object({
  event: z.enum(TRIGGER_EVENTS),
  stageId: pipedriveId,
  pipelineId: pipedriveId.nullable().optional(),
});
const template = z.string().max(MAX_BODY_CHARACTERS, 'template is longer than 1,600 characters');

/** POST /api/automations. */
export const automationCreateBody = z.object({
  name: z.string().trim().min(1, 'name is required').max(AUTOMATION_NAME_MAX_LENGTH),
  enabled: z.boolean().default(true),
  trigger,
  template,
});
export type AutomationCreate = z.input<typeof automationCreateBody>;

/** PATCH /api/automations/:id: any of the fields, at least one. */
export const automationPatchBody = automationCreateBody.partial().refine((b) => Object.keys(b).length > 0, 'nothing to update');
export type AutomationPatch = z.input<typeof automationPatchBody>;

/** An automation as every automation route answers it (DELETE answers 204 without a body). */
export const automationSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  enabled: z.boolean(),
  trigger: z.strictObject({ event: z.enum(TRIGGER_EVENTS), stageId: z.number(), pipelineId: z.number().nullable().optional() }),
  template: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Automation = z.infer<typeof automationSchema>;

/** GET /api/automations. */
export const automationListSchema = z.strictObject({ automations: z.array(automationSchema) });
export type AutomationList = z.infer<typeof automationListSchema>;

const encoding = z.enum(['GSM-7', 'UCS-2']);
const problemCode = z.enum(['too_long', 'link_shortener', 'unknown_field', 'empty']);

/** The `details` of a 400 for a template that breaks the length or link rules, or names an unknown field. */
export const templateRefusalSchema = z.strictObject({
  problems: z.array(z.strictObject({ code: problemCode, message: z.string() })),
  segments: z.number(),
  maxSegments: z.number(),
  encoding,
  characters: z.number(),
});
export type TemplateRefusal = z.infer<typeof templateRefusalSchema>;

const sampleEntity = z.record(z.string(), z.union([z.string(), z.number(), z.null()])).optional();

/** POST /api/templates/preview: the template and, optionally, values for its merge fields. */
export const templatePreviewBody = z.object({
  template,
  sample: z.object({ person: sampleEntity, deal: sampleEntity, user: sampleEntity, company: sampleEntity }).partial().optional(),
});
export type TemplatePreviewInput = z.input<typeof templatePreviewBody>;

/** The message exactly as it would be sent and how it measures. */
export const templatePreviewSchema = z.strictObject({
  body: z.string(),
  encoding,
  segments: z.number(),
  characters: z.number(),
  maxSegments: z.number(),
  problems: z.array(problemCode),
});
export type TemplatePreview = z.infer<typeof templatePreviewSchema>;

const stage = z.strictObject({ id: z.number(), name: z.string(), order: z.number() });
/** GET /api/pipelines: the stages an automation can watch, grouped by pipeline, in Pipedrive's order. */
export const pipelineListSchema = z.strictObject({
  pipelines: z.array(z.strictObject({ id: z.number(), name: z.string(), order: z.number(), stages: z.array(stage) })),
});
export type PipelineList = z.infer<typeof pipelineListSchema>;
export type Pipeline = PipelineList['pipelines'][number];
export type Stage = Pipeline['stages'][number];
