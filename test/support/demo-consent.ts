import { expect } from 'vitest';
import type { Rig } from './rig.js';

// Steps the consent suites share on the demo company: what Pipedrive's "SMS consent" field says of a person, and a
// deal entering "Quote sent" again (the event the demo's automation texts on).

/** The person's "SMS consent" in the Pipedrive emulator, as the option's label. */
export async function consentOf(rig: Rig, companyId: string, personId: number): Promise<'Granted' | 'Opted out' | null> {
  const c = (await rig.ctx.companies.find(companyId))!;
  const value = rig.pd.person(personId)!.custom_fields[c.consent_field_key!];
  if (value === Number(c.consent_granted_option)) return 'Granted';
  if (value === Number(c.consent_opted_out_option)) return 'Opted out';
  return null;
}

/** A stage event for the demo deal: out of "Quote sent" (when there) and into it again, delivered to the app. */
export async function enterQuoteSent(rig: Rig, dealId: number): Promise<void> {
  if (rig.pd.deal(dealId)!.stage_id === rig.demo.stages.quoteSent) await rig.pd.moveDealToStage(dealId, rig.demo.stages.leadIn);
  expect((await rig.pd.moveDealToStage(dealId, rig.demo.stages.quoteSent)).map((d) => d.status)).toEqual([200]);
}

/** The demo company's automation on entering "Quote sent". */
export async function createQuoteAutomation(rig: Rig, companyId: string): Promise<void> {
  await rig.ctx.automations.create(companyId, {
    name: 'Quote sent follow-up',
    enabled: true,
    trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
    template: 'Hi {{person.first_name|there}}, your quote for {{deal.title}} is ready.',
  });
}
