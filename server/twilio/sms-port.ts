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

/** A sender a company wants to text from: one of its numbers, or one of its Messaging Services. */
export type SenderAddress = { from: string; messagingServiceSid?: undefined } | { messagingServiceSid: string; from?: undefined };

/** What the provider says of an account and sender the app is asked to use. */
export type SenderCheck =
  | {
      ok: true;
      /** Where the provider posts texts that arrive on the sender (the number's or the service's URL); null when unset. */
      inboundUrl: string | null;
      /** The number's own id, needed to point its inbound URL at the app; null for a Messaging Service. */
      numberSid: string | null;
    }
  | { ok: false; reason: 'credentials_refused' | 'account_inactive' | 'sender_not_found'; message: string };

export interface SmsPort {
  /** Throws SmsProviderError with the provider's status and code (`retryable` tells what may be retried). */
  send(account: SmsAccount, sms: OutboundSms): Promise<SentSms>;
  fetch(account: SmsAccount, sid: string): Promise<ProviderMessage | null>;
  /** Messages sent to `to` since `since`, newest first: used to find out whether an unconfirmed send went out. */
  listSentTo(account: SmsAccount, to: string, since: Date): Promise<ProviderMessage[]>;
  /** Checks the credentials, that the account is active and that the sender belongs to it. */
  checkSender(account: SmsAccount, sender: SenderAddress): Promise<SenderCheck>;
  /** Points the number's "a message comes in" webhook at `url` (POST). */
  setInboundUrl(account: SmsAccount, numberSid: string, url: string): Promise<void>;
  /** X-Twilio-Signature check over the public URL and every received form parameter (constant-time). */
  validateSignature(authToken: string, signature: string, url: string, params: Record<string, string>): boolean;
}
