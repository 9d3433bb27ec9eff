import { randomUUID } from 'node:crypto';
import { webhookPayload, type Scenario } from './payloads.js';
import type { Stack } from './stack.js';

/** The consenting contacts the bench texts: distinct numbers, and a person with a deal in the Pipedrive emulator. */

/** Valid US numbers in area codes outside Florida and Oklahoma (whose state limits would hold a text). */
const AREA_CODES = ['415', '650', '212', '646', '312', '617', '303', '206'];

/** Distinct valid US numbers, +1 <area> 555 <0000-9999>, in order. */
export function usPhones(): () => string {
  let n = 0;
  return () => {
    const i = n++;
    return `+1${AREA_CODES[Math.floor(i / 10_000) % AREA_CODES.length]}555${String(i % 10_000).padStart(4, '0')}`;
  };
}

/** A person who consents to texts, at `phone`, with a deal of their own in `stageId` (both owned by the demo's sales user). */
export function addConsentingDeal(stack: Stack, contact: { phone: string; firstName: string; dealTitle: string; stageId: number }) {
  const { pd, demo, company } = stack;
  const person = pd.addPerson(demo.companyId, {
    first_name: contact.firstName,
    last_name: 'Customer',
    owner_id: demo.salesUserId,
    phones: [{ value: contact.phone, primary: true, label: 'mobile' }],
    custom_fields: { [company.consentFieldKey]: Number(company.grantedOption) },
  });
  const deal = pd.addDeal(demo.companyId, { title: contact.dealTitle, person_id: person.id, stage_id: contact.stageId, owner_id: demo.salesUserId });
  return { person, deal };
}

/** A fresh consenting contact's deal entering the automation's stage: the webhook body, and who it texts. */
export function stageMatchFor(stack: Stack, scenario: Scenario, contact: { phone: string; firstName: string; dealTitle: string }) {
  const { person, deal } = addConsentingDeal(stack, { ...contact, stageId: scenario.fromStage });
  const body = JSON.stringify(webhookPayload({ ...scenario, kind: 'stage_match', eventId: randomUUID(), dealId: deal.id, personId: person.id, title: deal.title }));
  return { body, personId: person.id };
}
