import { randomUUID } from 'node:crypto';
import type { Database } from '../../db/database.js';
import type { Automation as AutomationRow } from '../../db/schema.js';

/** An automation as the API shows it (a stable response shape). */
export type Automation = {
  id: string;
  name: string;
  enabled: boolean;
  trigger: { event: 'deal.stage_entered' | 'deal.created'; stageId: number; pipelineId?: number | null };
  template: string;
  createdAt: string;
  updatedAt: string;
};

export type AutomationInput = Omit<Automation, 'id' | 'createdAt' | 'updatedAt'>;

export function toAutomation(row: AutomationRow): Automation {
  return {
    id: row.id,
    name: row.name,
    enabled: row.enabled === 1,
    trigger: {
      event: row.trigger_event,
      stageId: row.stage_id,
      ...(row.pipeline_id !== null ? { pipelineId: row.pipeline_id } : {}),
    },
    template: row.template,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toColumns(input: AutomationInput) {
  return {
    name: input.name,
    enabled: input.enabled ? 1 : 0,
    trigger_event: input.trigger.event,
    stage_id: input.trigger.stageId,
    pipeline_id: input.trigger.pipelineId ?? null,
    template: input.template,
  };
}

/** Every query is scoped by company: one company's automations are invisible to another's token. */
export function createAutomationStore(database: Database, now: () => number) {
  const { db } = database;
  return {
    async list(companyId: string): Promise<Automation[]> {
      const rows = await db.selectFrom('automations').selectAll().where('company_id', '=', companyId).orderBy('created_at').execute();
      return rows.map(toAutomation);
    },
    async get(companyId: string, id: string): Promise<Automation | null> {
      const row = await db
        .selectFrom('automations')
        .selectAll()
        .where('company_id', '=', companyId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toAutomation(row) : null;
    },
    async create(companyId: string, input: AutomationInput): Promise<Automation> {
      const at = new Date(now()).toISOString();
      const row: AutomationRow = { id: randomUUID(), company_id: companyId, ...toColumns(input), created_at: at, updated_at: at };
      await db.insertInto('automations').values(row).execute();
      return toAutomation(row);
    },
    async update(companyId: string, id: string, input: AutomationInput): Promise<Automation | null> {
      const at = new Date(now()).toISOString();
      const result = await db
        .updateTable('automations')
        .set({ ...toColumns(input), updated_at: at })
        .where('company_id', '=', companyId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0 ? this.get(companyId, id) : null;
    },
    async remove(companyId: string, id: string): Promise<boolean> {
      const result = await db.deleteFrom('automations').where('company_id', '=', companyId).where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

export type AutomationStore = ReturnType<typeof createAutomationStore>;
