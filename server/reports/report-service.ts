import { sql, type CompiledQuery } from 'kysely';
import type { Database } from '../../db/database.js';
import type { Report, ReportCounters, ReportRow } from './report-types.js';

export type { Report, ReportCounters, ReportRow } from './report-types.js';

const PANEL_ROW_NAME = 'Sent from the deal panel';

const zero = (): ReportCounters => ({
  total: 0,
  pending: 0,
  sent: 0,
  delivered: 0,
  failed: 0,
  skipped: 0,
  skippedByReason: {},
  replied: 0,
  optedOut: 0,
});

/**
 * Reports: per automation, what happened to the messages created in a period. Counted from the outbox
 * itself, so a report always agrees with the panel and with what was actually sent; a message is counted once, in
 * the period it was created, whatever happened to it later.
 */
export function createReportService(database: Database) {
  const db = database.db;

  return {
    async report(companyId: string, period: { since: Date; until: Date }): Promise<Report> {
      const since = period.since.toISOString();
      const until = period.until.toISOString();
      // A year of a busy company's messages is seconds of reading: off the main thread (see Database.readAside).
      const aside = <R,>(query: { compile(executor: typeof db): CompiledQuery<R> }) => database.readAside(query.compile(db));
      const [outcomes, answers, automations] = await Promise.all([
        // One pass over the period's messages: grouped by skip reason too, so the reasons need no second scan.
        aside(sql<
          { source: string; automation_id: string | null; name: string | null; reason: string | null } & Record<
            'total' | 'pending' | 'sent' | 'delivered' | 'failed' | 'skipped' | 'refused_opted_out',
            number | string
          >
        >`
          SELECT source, automation_id, skip_reason AS reason, MAX(automation_name) AS name,
                 COUNT(*) AS total,
                 SUM(CASE WHEN state IN ('queued', 'claimed', 'sending', 'scheduled') THEN 1 ELSE 0 END) AS pending,
                 SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END) AS sent,
                 SUM(CASE WHEN state = 'sent' AND provider_status = 'delivered' THEN 1 ELSE 0 END) AS delivered,
                 SUM(CASE WHEN state = 'failed' OR (state = 'sent' AND provider_status IN ('undelivered', 'failed')) THEN 1 ELSE 0 END) AS failed,
                 SUM(CASE WHEN state IN ('skipped', 'cancelled') THEN 1 ELSE 0 END) AS skipped,
                 SUM(CASE WHEN state = 'failed' AND error_code = '21610' THEN 1 ELSE 0 END) AS refused_opted_out
          FROM outbound_messages
          WHERE company_id = ${companyId} AND created_at >= ${since} AND created_at <= ${until}
          GROUP BY source, automation_id, skip_reason`),
        // Replies are attributed to the message they answer; only replies to messages of the period count.
        aside(sql<{ source: string; automation_id: string | null; replied: number | string; opted_out: number | string }>`
          SELECT o.source, o.automation_id,
                 COUNT(DISTINCT CASE WHEN i.kind IN ('none', 'possible_opt_out') THEN o.id END) AS replied,
                 COUNT(DISTINCT CASE WHEN i.kind = 'opt_out' THEN o.id END) AS opted_out
          FROM inbound_messages i
          JOIN outbound_messages o ON o.id = i.reply_to_message_id
          WHERE i.company_id = ${companyId} AND i.received_at >= ${since}
            AND o.company_id = ${companyId} AND o.created_at >= ${since} AND o.created_at <= ${until}
          GROUP BY o.source, o.automation_id`),
        db.selectFrom('automations').select(['id', 'name']).where('company_id', '=', companyId).execute(),
      ]);

      const rows = new Map<string, ReportRow>();
      const keyOf = (source: string, automationId: string | null) => (source === 'panel' ? 'panel' : `a:${automationId ?? ''}`);
      const rowFor = (source: string, automationId: string | null, name: string | null): ReportRow => {
        const key = keyOf(source, automationId);
        let row = rows.get(key);
        if (!row) {
          const isPanel = source === 'panel';
          row = {
            automationId: isPanel ? null : automationId,
            name: isPanel ? PANEL_ROW_NAME : (name ?? 'Deleted automation'),
            source: isPanel ? 'panel' : 'automation',
            exists: isPanel,
            ...zero(),
          };
          rows.set(key, row);
        }
        return row;
      };
      // Every automation has a row, so one that texted nobody in the period shows as such.
      for (const a of automations) Object.assign(rowFor('automation', a.id, a.name), { name: a.name, exists: true });

      for (const o of outcomes) {
        const row = rowFor(o.source, o.automation_id, o.name);
        row.total += Number(o.total);
        row.pending += Number(o.pending);
        row.sent += Number(o.sent);
        row.delivered += Number(o.delivered);
        row.failed += Number(o.failed);
        row.skipped += Number(o.skipped);
        row.optedOut += Number(o.refused_opted_out);
        const skipped = Number(o.skipped);
        if (skipped > 0) {
          const reason = o.reason ?? 'unknown';
          row.skippedByReason[reason] = (row.skippedByReason[reason] ?? 0) + skipped;
        }
      }
      for (const a of answers) {
        const row = rowFor(a.source, a.automation_id, null);
        row.replied += Number(a.replied);
        row.optedOut += Number(a.opted_out);
      }

      const ordered = [...rows.values()].sort(
        (a, b) =>
          rank(a) - rank(b) || a.name.localeCompare(b.name) || (a.automationId ?? '').localeCompare(b.automationId ?? ''),
      );
      const totals = zero();
      for (const row of ordered) {
        for (const k of ['total', 'pending', 'sent', 'delivered', 'failed', 'skipped', 'replied', 'optedOut'] as const) totals[k] += row[k];
        for (const [reason, n] of Object.entries(row.skippedByReason)) totals.skippedByReason[reason] = (totals.skippedByReason[reason] ?? 0) + n;
      }
      return { since, until, rows: ordered, totals };
    },
  };
}

/** Live automations first, then deleted ones, then the panel's row. */
const rank = (row: ReportRow) => (row.source === 'panel' ? 2 : row.exists ? 0 : 1);

export type ReportService = ReturnType<typeof createReportService>;
