import { pipeline } from 'node:stream/promises';
import express, { Router, type Request, type RequestHandler } from 'express';
import type { AppContext } from '../context.js';
import { createOptOutAdmin, type NumberToAdd } from '../consent/opt-out-admin.js';
import { optOutsCsv, readOptOutCsv } from '../consent/opt-out-csv.js';
import { createOptOutQueries, searchDigits, type ListScope } from '../consent/opt-out-queries.js';
import { BadRequestError, PayloadTooLargeError } from '../errors.js';
import { normalisePhone } from '../messaging/index.js';
import type { CallerAuth } from './caller-auth.js';
import { OPT_OUT_IMPORT_MAX_BYTES, OPT_OUT_IMPORT_MAX_ROWS, OPT_OUT_LIST_LIMIT, OPT_OUT_REASON_MAX_LENGTH } from './contracts/limits.js';
import { optOutAddBody, optOutListQuery, type OptOutAdded, type OptOutList, type OptOutRemoved } from './contracts/opt-outs.js';
import { parseBody } from './validation.js';

const ONLY_ADMINS = 'Only the Pipedrive admin who installed SMS for Pipedrive can see and change the opt-out list';
const CSV_TYPES = ['text/csv', 'application/csv', 'text/comma-separated-values'];

/**
 * The settings page's opt-out list, for the admin who installed (still a Pipedrive admin) only: the numbers on it,
 * searched or all of it as CSV; numbers added by hand or from a CSV; and numbers that came by hand or import taken
 * off. A number the contact opted out themselves (by text, a reviewed reply, Twilio's 21610) is refused with 409.
 */
export function createOptOutRouter(ctx: AppContext, auth: CallerAuth): Router {
  const router = Router();
  const queries = createOptOutQueries(ctx.database);
  const admin = createOptOutAdmin({ database: ctx.database, consent: ctx.consent, queries });
  router.use('/api/consent/opt-outs', auth.caller, auth.installed, auth.installingAdmin(ONLY_ADMINS));

  /** The company's list is decided by its own history and the history of the sender it texts through. */
  const scopeOf = (req: Request): ListScope => ({ companyId: req.company!.id, senderKey: ctx.senders.forCompany(req.company!)?.key ?? null });

  router.get('/api/consent/opt-outs', async (req, res) => {
    const q = parseBody(optOutListQuery, req.query);
    const scope = scopeOf(req);
    if (q.format === 'csv') {
      const day = new Date(ctx.clock.now()).toISOString().slice(0, 10);
      res.status(200).set({
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="sms-opt-outs-${day}.csv"`,
        'cache-control': 'no-store',
      });
      try {
        await pipeline(optOutsCsv(queries.batches(scope)), res);
      } catch (error) {
        // The client went away, or a read failed after the first bytes: the download ends there.
        if (!res.headersSent) throw error;
        ctx.logger.warn({ err: error }, 'opt-out CSV download ended early');
      }
      return;
    }
    const entries = await queries.list(scope, { digits: searchDigits(q.q), limit: OPT_OUT_LIST_LIMIT });
    const optOuts = entries.map(({ phone, at, source, message, personId }) => ({ phone, at, source, message, personId }));
    res.set('cache-control', 'no-store').json({ optOuts } satisfies OptOutList);
  });

  const json = express.json({ limit: '1mb' });
  const csv = express.text({ type: CSV_TYPES, limit: OPT_OUT_IMPORT_MAX_BYTES });
  /** The body parsers, with a 413 that says what the limit is. */
  const body: RequestHandler = (req, res, next) =>
    (req.is(CSV_TYPES) ? csv : json)(req, res, (error?: unknown) => {
      if ((error as { type?: string } | undefined)?.type !== 'entity.too.large') return next(error);
      next(new PayloadTooLargeError(`The file is larger than ${OPT_OUT_IMPORT_MAX_BYTES / 1_000_000} MB: split it into smaller files (at most ${OPT_OUT_IMPORT_MAX_ROWS} rows each)`));
    });

  router.post('/api/consent/opt-outs', body, async (req, res) => {
    const actor = req.caller!.userId;
    let numbers: NumberToAdd[];
    let source: 'hand' | 'import';
    if (req.is(CSV_TYPES)) {
      if (typeof req.body !== 'string') throw new BadRequestError('The CSV body is empty', { fields: [{ path: '(body)', message: 'empty' }] });
      const rows = readOptOutCsv(req.body, { maxRows: OPT_OUT_IMPORT_MAX_ROWS, maxReason: OPT_OUT_REASON_MAX_LENGTH });
      numbers = rows.map((r) => ({ line: r.line, value: r.phone, reason: r.reason }));
      source = 'import';
    } else if (req.is('application/json')) {
      const input = parseBody(optOutAddBody, req.body);
      const reason = input.reason ? input.reason : null;
      numbers = input.phones.map((value, i) => ({ line: i + 1, value, reason }));
      source = 'hand';
    } else {
      const message = 'send JSON { "phones": [...], "reason": "..." } or a CSV file (Content-Type: text/csv) with a phone column';
      throw new BadRequestError(message, { fields: [{ path: '(body)', message }] });
    }
    const outcome = await admin.add(scopeOf(req), { numbers, source, actor });
    res.json(outcome satisfies OptOutAdded);
  });

  router.delete('/api/consent/opt-outs/:phone', async (req, res) => {
    const value = String(req.params.phone);
    const phone = normalisePhone(value.length <= 64 ? value : '');
    if (!phone.ok) {
      const message = 'phone is not a phone number (a value without + is read as a US number)';
      throw new BadRequestError(`phone: ${message}`, { fields: [{ path: 'phone', message }] });
    }
    await admin.remove(scopeOf(req), phone.e164, req.caller!.userId);
    res.json({ removed: phone.e164 } satisfies OptOutRemoved);
  });

  return router;
}
