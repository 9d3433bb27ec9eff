import type { z } from 'zod';
import { BadRequestError } from '../errors.js';

/**
 * Validates a request body or query at the edge with its schema from contracts/; the 400 names each wrong field
 * (its details are the contract's fieldProblemsSchema).
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
  throw new BadRequestError(fields.map((f) => `${f.path}: ${f.message}`).join('; '), { fields });
}
