import type { AppContext } from '../context.js';
import type { CompanyProfile } from '../companies/company-store.js';

// Shared by the settings routes and the Twilio account routes, so neither route file imports the other.

/** Where Twilio must post the texts that arrive on a company's sender. */
export const inboundUrlOf = (ctx: AppContext) => `${ctx.config.appUrl}/webhooks/twilio/inbound`;

/** What the settings page shows of a company's sender. The auth token is never sent back, only whether one is set. */
export function twilioView(ctx: AppContext, company: CompanyProfile) {
  const inboundUrl = inboundUrlOf(ctx);
  if (company.twilio_account_sid) {
    return {
      mode: 'own' as const,
      accountSid: company.twilio_account_sid,
      fromNumber: company.twilio_from_number,
      messagingServiceSid: company.twilio_messaging_service_sid,
      verifiedAt: company.twilio_verified_at,
      inboundUrl,
      defaultAvailable: ctx.senders.shared !== null,
    };
  }
  const shared = ctx.senders.shared;
  return {
    mode: shared ? ('default' as const) : ('none' as const),
    // The app's own account id is not the company's business; which number texts for it is.
    accountSid: null,
    fromNumber: shared?.from ?? null,
    messagingServiceSid: shared?.messagingServiceSid ?? null,
    verifiedAt: null,
    inboundUrl,
    defaultAvailable: shared !== null,
  };
}
