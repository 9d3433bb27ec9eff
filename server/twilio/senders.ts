import type { Database } from '../../db/database.js';
import type { Company } from '../../db/schema.js';
import type { TwilioConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { SealedSecretError, sealedPlaces, type SecretBox } from '../security/crypto.js';
import type { SmsAccount } from './sms-port.js';

/** Who sends a company's texts: the account, and the number or Messaging Service it sends from. */
export type Sender = {
  account: SmsAccount;
  from: string | null;
  messagingServiceSid: string | null;
  /** The identity an opt-out is recorded against (Twilio blocks an opted-out number per sender,
   * so an opt-out on a shared sender applies to every company on it). */
  key: string;
  /** True when several companies send through it (the app's default account). */
  shared: boolean;
};

/** Where an inbound text (or a status callback) arrived: the account Twilio names and the receiving address. */
export type InboundAddress = { accountSid: string; to: string; messagingServiceSid: string | null };

/** The sender a text arrived on; `ownerCompanyId` is set when it is one company's own (then its replies belong to that
 * company). */
export type ReceivingSender = { sender: Sender; ownerCompanyId: string | null };

export type SenderDirectory = {
  /** The app's default account, shared by every company without its own; null when none is configured. */
  readonly shared: Sender | null;
  /**
   * The company's own account when it set one, else the app's default; null when neither exists, and null when its
   * own account's stored auth token cannot be used (its texts never fall back to the shared sender).
   */
  forCompany(company: Pick<Company, 'id' | 'twilio_account_sid' | 'twilio_auth_token_sealed' | 'twilio_from_number' | 'twilio_messaging_service_sid'>): Sender | null;
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
 * accounts companies bring on the settings page, whose auth tokens are stored sealed and opened only when used.
 */
export function createSenderDirectory(deps: { twilio: TwilioConfig | null; secrets: SecretBox; database: Database; logger?: Logger }): SenderDirectory {
  const shared = defaultSender(deps.twilio);

  /**
   * The company's own auth token, or null when the stored value does not open at the company's row (copied from
   * another company, tampered with): that account is unusable until an admin connects it again.
   */
  const authTokenOf = (companyId: string, sealed: string): string | null => {
    try {
      return deps.secrets.open(sealed, sealedPlaces.twilioAuthToken(companyId));
    } catch (error) {
      if (!(error instanceof SealedSecretError)) throw error;
      deps.logger?.warn({ companyId, reason: error.reason }, "the company's stored Twilio auth token cannot be used; an admin must connect the account again");
      return null;
    }
  };

  const ownSender = (company: Parameters<SenderDirectory['forCompany']>[0]): Sender | 'unusable' | null => {
    if (!company.twilio_account_sid || !company.twilio_auth_token_sealed) return null;
    const authToken = authTokenOf(company.id, company.twilio_auth_token_sealed);
    if (authToken === null) return 'unusable';
    const from = company.twilio_from_number;
    const messagingServiceSid = company.twilio_messaging_service_sid;
    return {
      account: { accountSid: company.twilio_account_sid, authToken },
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
    forCompany: (company) => {
      const own = ownSender(company);
      return own === 'unusable' ? null : (own ?? shared);
    },

    async receiving(address) {
      // A company's own number or Messaging Service first: it may even live in the default account.
      for (const company of await companiesOfAccount(address.accountSid)) {
        const matches = company.twilio_messaging_service_sid
          ? company.twilio_messaging_service_sid === address.messagingServiceSid
          : company.twilio_from_number === address.to;
        const sender = matches ? ownSender(company) : null;
        // The company's number, but its account cannot be used: not attributed to the shared sender either.
        if (sender === 'unusable') return null;
        if (sender) return { sender, ownerCompanyId: company.id };
      }
      if (shared && shared.account.accountSid === address.accountSid) return { sender: shared, ownerCompanyId: null };
      return null;
    },

    async authTokensFor(accountSid) {
      const tokens = new Set<string>();
      if (shared?.account.accountSid === accountSid) tokens.add(shared.account.authToken);
      for (const company of await companiesOfAccount(accountSid)) {
        const token = company.twilio_auth_token_sealed ? authTokenOf(company.id, company.twilio_auth_token_sealed) : null;
        if (token !== null) tokens.add(token);
      }
      return [...tokens];
    },
  };
}
