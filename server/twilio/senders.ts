import type { TwilioConfig } from '../config.js';
import type { SmsAccount } from './sms-port.js';

/** Who sends a company's texts: the account, and the number or Messaging Service it sends from. */
export type Sender = {
  account: SmsAccount;
  from: string | null;
  messagingServiceSid: string | null;
  /** The identity an opt-out is recorded against (R8: Twilio blocks per sender). */
  key: string;
  /** True when several companies send through it (the app's default account). */
  shared: boolean;
};

export function defaultSender(twilio: TwilioConfig | null): Sender | null {
  if (!twilio) return null;
  return {
    account: { accountSid: twilio.accountSid, authToken: twilio.authToken },
    from: twilio.fromNumber,
    messagingServiceSid: twilio.messagingServiceSid,
    key: twilio.messagingServiceSid ?? twilio.fromNumber ?? twilio.accountSid,
    shared: true,
  };
}

/** The auth token that signs webhooks of an account we know, or null for a stranger. */
export function authTokenFor(accountSid: string, twilio: TwilioConfig | null): string | null {
  return twilio && twilio.accountSid === accountSid ? twilio.authToken : null;
}
