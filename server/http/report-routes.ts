import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context.js';
import { BadRequestError, ForbiddenError } from '../errors.js';
import { decodeCursor, type ListKind } from '../reports/report-cursor.js';
import { messagesCsv, repliesCsv } from '../reports/report-csv.js';
import { createReportLists, type ListFilter, type RowVisibility } from '../reports/report-lists.js';
import { createReportVisibility } from '../reports/report-visibility.js';
import type { CallerAuth } from './caller-auth.js';
import { reportListQuery, type MessagesPage, type RepliesPage } from './contracts/index.js';
import { parseBody } from './validation.js';

const ONLY_ADMINS_CSV = 'Only a Pipedrive admin who installed the app can download the reports as CSV';
/** A Pipedrive company domain as it appears in `https://<domain>.pipedrive.com`; anything else gets no links. */
const COMPANY_DOMAIN = /^[a-z0-9-]{1,63}$/i;

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
    const q = parseBody(reportListQuery, req.query);
    // Opaque to the client; read here, as only the list that gave it out knows its form.
    const after = q.cursor === undefined ? null : decodeCursor(kind, q.cursor);
    if (q.cursor !== undefined && !after) {
      const message = 'cursor is not one this list gave out';
      throw new BadRequestError(`cursor: ${message}`, { fields: [{ path: 'cursor', message }] });
    }
    const since = new Date(ctx.clock.now() - q.days * 86_400_000).toISOString();
    const filter: ListFilter = { since, automationId: q.automationId ?? null, panelOnly: q.source === 'panel' };
    const domain = req.company!.domain;
    const pipedriveUrl = domain && COMPANY_DOMAIN.test(domain) ? `https://${domain.toLowerCase()}.pipedrive.com` : null;
    return { q, after, filter, pipedriveUrl };
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
      const { q, after, filter, pipedriveUrl } = requestOf(req, kind);
      const who = await visibilityFor(req);
      if (q.format === 'csv') {
        if (!who.admin) throw new ForbiddenError(ONLY_ADMINS_CSV);
        return sendCsv(res, kind, kinds[kind].csv(lists, company.id, filter, pipedriveUrl));
      }
      const page = await kinds[kind].page(company.id, filter, { after, limit: q.limit }, who.rows);
      res.set('cache-control', 'no-store').json({ ...page, pipedriveUrl } satisfies MessagesPage | RepliesPage);
    });
  }

  return router;
}
