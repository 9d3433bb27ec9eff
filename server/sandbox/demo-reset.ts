import type { AppContext } from '../context.js';
import { ConflictError } from '../errors.js';
import { COMPANY_TABLES } from '../../db/company-data.js';
import { parseCompanySettings } from '../companies/company-settings.js';
import { consentFromPerson } from '../consent/consent-field.js';
import { checkResolvedEligibility, resolveDefaultPhone } from '../messaging/index.js';
import type { DemoData } from '../../emulators/demo-data.js';
import type { PipedriveEmulator } from '../../emulators/pipedrive/emulator.js';
import type { TwilioEmulator } from '../../emulators/twilio/emulator.js';

export type DemoParts = {
  pd: PipedriveEmulator;
  tw: TwilioEmulator;
  demo: DemoData;
  /** True where the process runs the outbox worker (sandbox mode): it is paused while the demo is put back. */
  pauseWorker?: boolean;
};

/** What a demo person is to the app right now: the walk-through and the console say it in these words. */
export type DemoPersonStatus = {
  id: number;
  name: string;
  phone: string;
  e164: string | null;
  textable: boolean;
  /** "can be texted", "opted out", "no SMS consent" or "phone not valid". */
  status: string;
};

const STATUS_TEXT = { opted_out: 'opted out', no_consent: 'no SMS consent', missing_phone: 'no phone', invalid_phone: 'phone not valid' } as const;

/**
 * The demo company starts with quiet hours off, so a newcomer at any hour sees the SMS arrive; the walk-through's
 * switch turns them on. Read through the settings parser, so every other rule keeps its default.
 */
export const DEMO_SETTINGS = parseCompanySettings(JSON.stringify({ quietHours: null }));

// Tables of the company kept by a reset: the install itself (tokens, company row) and the shared sender's pace.
const KEPT = new Set<string>(['installations', 'companies', 'sender_pace']);

/**
 * "Reset the demo": the sandbox's demo company back to its first state, in the app's database (messages, replies,
 * reviews, jobs, events, the consent history of the demo's numbers, automations, settings, its own Twilio account) and in
 * the emulators (deal stages, the persons' "SMS consent", activities; the simulated phones and Twilio's opt-out list).
 * The install stays. Only the sandbox mounts this: it erases history a real deployment must keep.
 */
export function createDemoReset(ctx: AppContext, parts: DemoParts) {
  const { pd, tw, demo } = parts;
  const companyId = String(demo.companyId);

  async function statuses(): Promise<DemoPersonStatus[]> {
    const company = await ctx.companies.find(companyId);
    const sender = company ? ctx.senders.forCompany(company) : null;
    return Promise.all(
      demo.persons.map(async (p) => {
        const person = pd.person(p.id);
        const phone = resolveDefaultPhone(person?.phones ?? []);
        const e164 = phone.ok ? phone.e164 : null;
        const consent =
          person && company
            ? consentFromPerson({ id: person.id, name: person.name, firstName: null, lastName: null, ownerId: null, phones: [], customFields: person.custom_fields }, company)
            : 'none';
        const optedOut = e164 && company ? await ctx.optOuts.isOptedOut(company.id, sender?.key ?? null, e164) : false;
        const eligible = checkResolvedEligibility({ consent, optedOut, phone });
        return {
          id: p.id,
          name: person?.name ?? p.name,
          phone: p.phone,
          e164,
          textable: eligible.ok,
          status: eligible.ok ? 'can be texted' : STATUS_TEXT[eligible.reason],
        };
      }),
    );
  }

  async function reset(): Promise<void> {
    if (!(await ctx.companies.find(companyId))) throw new ConflictError('The demo company is not installed yet');
    if (parts.pauseWorker) await ctx.outbox.stop();
    try {
      // No status callback of a message about to be forgotten may arrive afterwards.
      await tw.idle();
      const numbers = demo.persons.flatMap((p) => {
        const phone = resolveDefaultPhone([{ value: p.phone, primary: true }]);
        return phone.ok ? [phone.e164] : [];
      });
      const at = new Date(ctx.clock.now()).toISOString();
      await ctx.database.db.transaction().execute(async (trx) => {
        for (const table of COMPANY_TABLES) {
          if (KEPT.has(table)) continue;
          if (table === 'message_status_events') {
            await trx
              .deleteFrom('message_status_events')
              .where('provider_sid', 'in', (eb) =>
                eb.selectFrom('outbound_messages').select('provider_sid').where('company_id', '=', companyId).where('provider_sid', 'is not', null),
              )
              .execute();
          } else if (table === 'inbound_messages') {
            await trx
              .deleteFrom('inbound_messages')
              .where((eb) => eb.or([eb('company_id', '=', companyId), eb.and([eb('company_id', 'is', null), eb('from_e164', 'in', numbers)])]))
              .execute();
          } else {
            await trx.deleteFrom(table).where('company_id', '=', companyId).execute();
          }
        }
        // The sandbox alone may forget consent history: a demo contact who replied STOP is textable again after a reset.
        await trx
          .deleteFrom('consent_events')
          .where((eb) => eb.or([eb('company_id', '=', companyId), eb('phone_e164', 'in', numbers)]))
          .execute();
      });
      await ctx.companies.updateSettings(companyId, DEMO_SETTINGS, at);
      await ctx.companies.setTwilioAccount(companyId, null, at);
      await ctx.automations.create(companyId, demo.automation);
      demo.restore();
      tw.clearTraffic();
    } finally {
      if (parts.pauseWorker) ctx.outbox.start();
    }
  }

  return { reset, statuses };
}

export type DemoReset = ReturnType<typeof createDemoReset>;
