/** The SMS provider as the app sees it. Only `twilio/` knows it is Twilio underneath. */

export type SmsAccount = { accountSid: string; authToken: string };

export type OutboundSms = {
  to: string;
  body: string;
  /** Exactly one of from / messagingServiceSid. */
  from?: string | null;
  messagingServiceSid?: string | null;
  statusCallback?: string;
  /** Seconds the provider may keep the message queued before giving up (a stale text is worse than none). */
  validityPeriod?: number;
};

export type SentSms = { sid: string; status: string; segments: number | null };

export type ProviderMessage = {
  sid: string;
  to: string;
  from: string | null;
  body: string;
  status: string;
  errorCode: number | null;
  dateCreated: Date | null;
};

export interface SmsPort {
  /** Throws SmsProviderError with the provider's status and code (`retryable` tells what may be retried). */
  send(account: SmsAccount, sms: OutboundSms): Promise<SentSms>;
  fetch(account: SmsAccount, sid: string): Promise<ProviderMessage | null>;
  /** Messages sent to `to` since `since`, newest first: used to find out whether an unconfirmed send went out. */
  listSentTo(account: SmsAccount, to: string, since: Date): Promise<ProviderMessage[]>;
  /** X-Twilio-Signature check over the public URL and every received form parameter (constant-time). */
  validateSignature(authToken: string, signature: string, url: string, params: Record<string, string>): boolean;
}
