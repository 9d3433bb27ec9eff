import type { PipedriveEmulator } from './pipedrive/emulator.js';

export type DemoPerson = { id: number; name: string; phone: string; consent: 'Granted' | 'Opted out' | 'none'; dealId: number };

export type DemoData = {
  companyId: number;
  adminUserId: number;
  salesUserId: number;
  pipelineId: number;
  stages: { leadIn: number; quoteSent: number; negotiation: number; won: number };
  persons: DemoPerson[];
  /** The automation the demo company starts with (in the shape the app's automation store takes). */
  automation: {
    name: string;
    enabled: boolean;
    trigger: { event: 'deal.stage_entered'; stageId: number };
    template: string;
  };
  /** Sets each demo person's "SMS consent" once the install has created the field; this is the demo's first state. */
  grantConsent(fieldKey: string | null, grantedOption: string | null, optedOutOption: string | null): Promise<void>;
  /** Puts the demo's persons and deals back in their first state (stages, consent field) and removes its activities. */
  restore(): void;
};

/** The demo company the sandbox installs: a pipeline, and one deal per kind of contact the rules care about. */
export function seedDemo(pd: PipedriveEmulator): DemoData {
  const company = pd.addCompany({ id: 1001, name: 'Acme Sandbox Inc.', domain: 'acme-sandbox', defaultPipeline: false });
  const admin = pd.addUser({ id: 501, companyId: company.id, name: 'Ada Admin', email: 'ada@acme.example', isAdmin: true });
  const sales = pd.addUser({ id: 502, companyId: company.id, name: 'Sam Sales', email: 'sam@acme.example', isAdmin: false });
  const pipeline = pd.addPipeline(company.id, { id: 1, name: 'Sales' });
  const stage = (id: number, name: string, orderNr: number) => pd.addStage(company.id, { id, pipeline_id: pipeline.id, name, order_nr: orderNr }).id;
  const stages = { leadIn: stage(11, 'Lead in', 1), quoteSent: stage(12, 'Quote sent', 2), negotiation: stage(13, 'Negotiation', 3), won: stage(14, 'Won', 4) };

  const people: Array<Omit<DemoPerson, 'id' | 'dealId'> & { first: string; last: string; deal: string }> = [
    { name: 'Ann Granted', first: 'Ann', last: 'Granted', phone: '(415) 555-2671', consent: 'Granted', deal: 'Solar panels for Ann' },
    { name: 'Olly Optout', first: 'Olly', last: 'Optout', phone: '+61 412 345 678', consent: 'Opted out', deal: 'Roof repair for Olly' },
    { name: 'Nora Noconsent', first: 'Nora', last: 'Noconsent', phone: '+44 20 7946 0958', consent: 'none', deal: 'Heat pump for Nora' },
    { name: 'Ivan Invalid', first: 'Ivan', last: 'Invalid', phone: '12345', consent: 'Granted', deal: 'Windows for Ivan' },
  ];
  const persons: DemoPerson[] = people.map((p) => {
    const person = pd.addPerson(company.id, {
      name: p.name,
      first_name: p.first,
      last_name: p.last,
      owner_id: sales.id,
      phones: [{ value: p.phone, primary: true, label: 'mobile' }],
    });
    const deal = pd.addDeal(company.id, { title: p.deal, person_id: person.id, stage_id: stages.leadIn, owner_id: sales.id });
    return { id: person.id, name: p.name, phone: p.phone, consent: p.consent, dealId: deal.id };
  });

  // The first state: as seeded, then with the consent field once grantConsent has set it.
  let first = pd.snapshotRecords(company.id);
  return {
    companyId: company.id,
    adminUserId: admin.id,
    salesUserId: sales.id,
    pipelineId: pipeline.id,
    stages,
    persons,
    automation: {
      name: 'Quote sent follow-up',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: stages.quoteSent },
      template: 'Hi {{person.first_name|there}}, your quote for {{deal.title}} is ready. {{user.name}}, {{company.name}}',
    },
    async grantConsent(fieldKey, grantedOption, optedOutOption) {
      if (!fieldKey) return;
      for (const p of persons) {
        const option = p.consent === 'Granted' ? grantedOption : p.consent === 'Opted out' ? optedOutOption : null;
        if (option) await pd.updatePerson(p.id, { custom_fields: { [fieldKey]: Number(option) } });
      }
      first = pd.snapshotRecords(company.id);
    },
    restore() {
      pd.restoreRecords(company.id, first);
    },
  };
}
