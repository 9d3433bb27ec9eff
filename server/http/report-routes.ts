import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { ForbiddenError } from '../errors.js';
import { decodeCursor, type ListKind } from '../reports/report-cursor.js';
import { messagesCsv, repliesCsv } from '../reports/report-csv.js';
import { createReportLists, type ListFilter, type RowVisibility } from '../reports/report-lists.js';
import { createReportVisibility } from '../reports/report-visibility.js';
import type { CallerAuth } from './caller-auth.js';
import { parseBody } from './validation.js';

const ONLY_ADMINS_CSV = 'Only a Pipedrive admin who installed the app can download the reports as CSV';
/** A Pipedrive company domain as it appears in `https://<domain>.pipedrive.com`; anything else gets no links. */
const COMPANY_DOMAIN = /^[a-z0-9-]{1,63}$/i;

const listQuery = (kind: ListKind) =>
  z
    .object({
      days: z.coerce.number().int('days must be a whole number').min(1, 'days must be 1 to 365').max(365, 'days must be 1 to 365').default(30),
      automationId: z.string().trim().min(1, 'automationId is empty').max(64, 'automationId is too long').optional(),
      source: z.literal('panel', { error: 'source can only be panel' }).optional(),
      limit: z.coerce.number().int('limit must be a whole number').min(1, 'limit must be 1 to 500').max(500, 'limit must be 1 to 500').default(50),
      cursor: z
        .string()
        .transform((token, c) => {
          const key = decodeCursor(kind, token);
          if (!key) c.addIssue({ code: 'custom', message: 'cursor is not one this list gave out' });
          return key ?? z.NEVER;
        })
        .optional(),
      format: z.enum(['json', 'csv'], { error: 'format must be json or csv' }).default('json'),
    })
    .refine((q) => !(q.automationId && q.source), { path: ['source'], message: 'give automationId or source, not both' });

/**
 * The settings page's lists behind the reports table: a period's messages with their replies, and its replies,
 * newest first, a page at a time, or all of them as CSV. Who sees what: the admin who installed (still a Pipedrive
 * admin) sees every row of the company and may download CSV; any other user of the company sees only rows of deals
 * Pipedrive lets them see (asked per distinct deal of a page, kept a minute), and no CSV.
 */
export function createReportRouter(ctx: AppContext, auth: CallerAuth): Router {
  const router = Router();
  const lists = createReportLists(ctx.database);
  const visibility = createReportVisibility({ now: ctx.clock.now });

  /** Everything for the admin who installed; otherwise the deals Pipedrive lets the caller see. */
  const visibilityFor = async (req: Request): Promise<{ admin: boolean; rows: RowVisibility }> => {
    const company = req.company!;
    const userId = req.caller!.userId;
    if ((await ctx.installations.adminRight(company.id, userId)) === 'admin') return { admin: true, rows: visibility.everything() };
    const crm = await ctx.installations.crmFor(company.id);
    return { admin: false, rows: visibility.dealsOf({ userId, crm, asCaller: false }, company.id) };
  };

  const requestOf = (req: Request, kind: ListKind) => {
    const q = parseBody(listQuery(kind), req.query);
    const since = new Date(ctx.clock.now() - q.days * 86_400_000).toISOString();
    const filter: ListFilter = { since, automationId: q.automationId ?? null, panelOnly: q.source === 'panel' };
    const domain = req.company!.domain;
    const pipedriveUrl = domain && COMPANY_DOMAIN.test(domain) ? `https://${domain.toLowerCase()}.pipedrive.com` : null;
    return { q, filter, pipedriveUrl };
  };

  const sendCsv = async (res: Response, name: string, csv: NodeJS.ReadableStream) => {
    const day = new Date(ctx.clock.now()).toISOString().slice(0, 10);
    res.status(200).set({
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="sms-${name}-${day}.csv"`,
      'cache-control': 'no-store',
    });
    try {
      await pipeline(csv, res);
    } catch (error) {
      // The client went away (or a read failed after the first bytes): the download ends there, nothing to answer.
      if (!res.headersSent) throw error;
      ctx.logger.warn({ err: error, path: name }, 'CSV download ended early');
    }
  };

  const kinds = {
    messages: { page: lists.messages, csv: messagesCsv },
    replies: { page: lists.replies, csv: repliesCsv },
  } as const;
  for (const kind of ['messages', 'replies'] as const) {
    router.get(`/api/reports/${kind}`, auth.caller, auth.installed, async (req, res) => {
      const company = req.company!;
      const { q, filter, pipedriveUrl } = requestOf(req, kind);
      const who = await visibilityFor(req);
      if (q.format === 'csv') {
        if (!who.admin) throw new ForbiddenError(ONLY_ADMINS_CSV);
        return sendCsv(res, kind, kinds[kind].csv(lists, company.id, filter, pipedriveUrl));
      }
      const page = await kinds[kind].page(company.id, filter, { after: q.cursor ?? null, limit: q.limit }, who.rows);
      res.set('cache-control', 'no-store').json({ ...page, pipedriveUrl });
    });
  }

  return router;
}
