import { z } from 'zod';

/** Every refusal and failure of the API: `{ error: { code, message, details? } }` (server/app.ts writes it). */
export const apiErrorSchema = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
});
export type ApiErrorBody = z.infer<typeof apiErrorSchema>;

/** The `details` of a 400 for a body or query that failed its schema: each wrong field and why. */
export const fieldProblemsSchema = z.object({ fields: z.array(z.object({ path: z.string(), message: z.string() })) });
export type FieldProblems = z.infer<typeof fieldProblemsSchema>;

/** An id Pipedrive gives (stages, pipelines, deals, persons). */
export const pipedriveId = z.number().int().positive();
