import type { Database } from '../../db/database.js';
import type { Company } from '../../db/schema.js';
import type { TwilioConfig } from '../config.js';
import type { SecretBox } from '../security/crypto.js';
import type { SmsAccount } from './sms-port.js';

/** A Twilio Account SID: AC and 32 hexadecimal characters. */
export const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;

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

/** Where an inbound text (or a status callback) arrived: the account Twilio names and the receiving address. */
export type InboundAddress = { accountSid: string; to: string; messagingServiceSid: string | null };

/** The sender a text arrived on; `ownerCompanyId` is set when it is one company's own (R11: that company owns it). */
export type ReceivingSender = { sender: Sender; ownerCompanyId: string | null };

export type SenderDirectory = {
  /** The app's default account, shared by every company without its own; null when none is configured. */
  readonly shared: Sender | null;
  /** The company's own account when it set one, else the app's default; null when neither exists. */
  forCompany(company: Pick<Company, 'twilio_account_sid' | 'twilio_auth_token_sealed' | 'twilio_from_number' | 'twilio_messaging_service_sid'>): Sender | null;
  receiving(address: InboundAddress): Promise<ReceivingSender | null>;
  /** Every auth token that may have signed a webhook naming this account: the default's and companies' own. */
  authTokensFor(accountSid: string): Promise<string[]>;
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

/**
 * The app's senders: the default account from the environment (shared by every company without its own) and the
 * accounts companies bring (SPEC §3), whose auth tokens are stored sealed and opened only when used.
 */
export function createSenderDirectory(deps: { twilio: TwilioConfig | null; secrets: SecretBox; database: Database }): SenderDirectory {
  const shared = defaultSender(deps.twilio);

  const ownSender = (company: Parameters<SenderDirectory['forCompany']>[0]): Sender | null => {
    if (!company.twilio_account_sid || !company.twilio_auth_token_sealed) return null;
    const from = company.twilio_from_number;
    const messagingServiceSid = company.twilio_messaging_service_sid;
    return {
      account: { accountSid: company.twilio_account_sid, authToken: deps.secrets.open(company.twilio_auth_token_sealed) },
      from,
      messagingServiceSid,
      key: messagingServiceSid ?? from ?? company.twilio_account_sid,
      shared: false,
    };
  };

  const companiesOfAccount = (accountSid: string) =>
    deps.database.db
      .selectFrom('companies')
      .select(['id', 'twilio_account_sid', 'twilio_auth_token_sealed', 'twilio_from_number', 'twilio_messaging_service_sid'])
      .where('twilio_account_sid', '=', accountSid)
      .orderBy('id')
      .execute();

  return {
    shared,
    forCompany: (company) => ownSender(company) ?? shared,

    async receiving(address) {
      // A company's own number or Messaging Service first: it may even live in the default account.
      for (const company of await companiesOfAccount(address.accountSid)) {
        const matches = company.twilio_messaging_service_sid
          ? company.twilio_messaging_service_sid === address.messagingServiceSid
          : company.twilio_from_number === address.to;
        const sender = matches ? ownSender(company) : null;
        if (sender) return { sender, ownerCompanyId: company.id };
      }
      if (shared && shared.account.accountSid === address.accountSid) return { sender: shared, ownerCompanyId: null };
      return null;
    },

    async authTokensFor(accountSid) {
      const tokens = new Set<string>();
      if (shared?.account.accountSid === accountSid) tokens.add(shared.account.authToken);
      for (const company of await companiesOfAccount(accountSid)) {
        if (company.twilio_auth_token_sealed) tokens.add(deps.secrets.open(company.twilio_auth_token_sealed));
      }
      return [...tokens];
    },
  };
}
