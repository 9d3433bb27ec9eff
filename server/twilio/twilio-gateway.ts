import { LRUCache } from 'lru-cache';
import twilio from 'twilio';
import { SmsProviderError } from '../errors.js';
import { secondsSince, type Metrics } from '../metrics.js';
import type { ProviderMessage, SmsAccount, SmsPort } from './sms-port.js';

type RequestOptions = Parameters<InstanceType<typeof twilio.RequestClient>['request']>[0];

/**
 * The SDK cannot be pointed at another origin by option or environment (it builds every URL from fixed Twilio hosts), so a RequestClient that
 * rewrites only scheme, host and port sends every call to `apiUrl` and keeps the rest of the SDK real.
 */
class OriginRequestClient extends twilio.RequestClient {
  constructor(private readonly origin: URL | null) {
    super({ timeout: 15_000 });
  }

  override request<T>(opts: RequestOptions & { uri: string }) {
    if (this.origin) {
      const uri = new URL(opts.uri);
      uri.protocol = this.origin.protocol;
      uri.host = this.origin.host;
      opts = { ...opts, uri: uri.toString() };
    }
    return super.request<T>(opts as never);
  }
}

/** The SMS port, and which accounts it holds a client for (the bound and its contents are part of its contract). */
export type TwilioGateway = SmsPort & { cachedAccounts(): string[] };

/** Clients kept at most: a few hundred accounts cover the companies that text in any few minutes. */
const MAX_CLIENTS = 500;

export function createTwilioGateway(options: { apiUrl: string; maxClients?: number; /** Each call's duration and outcome, 429s counted. */ metrics?: Metrics }): TwilioGateway {
  const isDefault = /^https:\/\/api\.twilio\.com\/?$/.test(options.apiUrl);
  const origin = isDefault ? null : new URL(options.apiUrl);
  // One client per account and token, least recently used dropped first: companies come and go, and anyone who can
  // reach the settings page can make the app try credentials, so the cache must neither grow without end nor keep
  // a client for credentials Twilio never accepted.
  const clients = new LRUCache<string, { accountSid: string; client: ReturnType<typeof twilio> }>({ max: options.maxClients ?? MAX_CLIENTS });

  /** Runs calls on the account's client; it is kept once Twilio has accepted its credentials, and dropped when it refuses them. */
  async function withClient<T>(account: SmsAccount, operation: string, calls: (client: ReturnType<typeof twilio>) => Promise<T>): Promise<T> {
    const key = `${account.accountSid}:${account.authToken}`;
    const cached = clients.get(key);
    const client = cached?.client ?? twilio(account.accountSid, account.authToken, { httpClient: new OriginRequestClient(origin) });
    const started = process.hrtime.bigint();
    try {
      const result = await calls(client);
      options.metrics?.vendorCall('twilio', operation, 200, secondsSince(started));
      if (!cached) clients.set(key, { accountSid: account.accountSid, client });
      return result;
    } catch (error) {
      const translated = translate(error);
      options.metrics?.vendorCall('twilio', operation, translated.status, secondsSince(started));
      if (translated.status === 401 || translated.providerCode === 20003) clients.delete(key);
      throw translated;
    }
  }

  return {
    cachedAccounts: () => [...clients.values()].map((c) => c.accountSid),
    async send(account, sms) {
      const message = await withClient(account, 'messages.create', (client) =>
        client.messages.create({
          to: sms.to,
          body: sms.body,
          ...(sms.messagingServiceSid ? { messagingServiceSid: sms.messagingServiceSid } : { from: sms.from ?? undefined }),
          ...(sms.statusCallback ? { statusCallback: sms.statusCallback } : {}),
          ...(sms.validityPeriod ? { validityPeriod: sms.validityPeriod } : {}),
        }),
      );
      const segments = Number(message.numSegments);
      return { sid: message.sid, status: message.status, segments: Number.isFinite(segments) && segments > 0 ? segments : null };
    },
    async fetch(account, sid) {
      try {
        return toMessage(await withClient(account, 'messages.fetch', (client) => client.messages(sid).fetch()));
      } catch (error) {
        if ((error as SmsProviderError).status === 404) return null;
        throw error;
      }
    },
    async listSentTo(account, to, since) {
      const list = await withClient(account, 'messages.list', (client) => client.messages.list({ to, dateSentAfter: since, limit: 50 }));
      return list.map(toMessage);
    },
    async checkSender(account, sender) {
      let found;
      try {
        found = await withClient(account, 'accounts.fetch', (client) => client.api.v2010.accounts(account.accountSid).fetch());
      } catch (error) {
        const status = (error as SmsProviderError).status;
        if (status === 401 || status === 403 || status === 404) {
          return { ok: false, reason: 'credentials_refused', message: 'Twilio refused this Account SID and Auth Token.' };
        }
        throw error;
      }
      if (found.status !== 'active') {
        return { ok: false, reason: 'account_inactive', message: `The Twilio account ${account.accountSid} is ${found.status}.` };
      }
      try {
        if (sender.messagingServiceSid !== undefined) {
          const service = await withClient(account, 'services.fetch', (client) => client.messaging.v1.services(sender.messagingServiceSid).fetch());
          return { ok: true, inboundUrl: service.useInboundWebhookOnNumber ? null : (service.inboundRequestUrl ?? null), numberSid: null };
        }
        const numbers = await withClient(account, 'numbers.list', (client) => client.incomingPhoneNumbers.list({ phoneNumber: sender.from, limit: 50 }));
        const number = numbers.find((n) => n.phoneNumber === sender.from);
        if (!number) return { ok: false, reason: 'sender_not_found', message: `${sender.from} is not a number of this Twilio account.` };
        return { ok: true, inboundUrl: number.smsUrl || null, numberSid: number.sid };
      } catch (error) {
        if ((error as SmsProviderError).status === 404) {
          return { ok: false, reason: 'sender_not_found', message: `${sender.messagingServiceSid ?? sender.from} is not in this Twilio account.` };
        }
        throw error;
      }
    },
    async setInboundUrl(account, numberSid, url) {
      await withClient(account, 'numbers.update', (client) => client.incomingPhoneNumbers(numberSid).update({ smsUrl: url, smsMethod: 'POST' }));
    },
    validateSignature(authToken, signature, url, params) {
      return twilio.validateRequest(authToken, signature, url, params);
    },
  };
}

function toMessage(m: {
  sid: string;
  to: string;
  from: string | null;
  body: string;
  status: string;
  errorCode: number | null;
  dateCreated: Date | null;
}): ProviderMessage {
  return {
    sid: m.sid,
    to: m.to,
    from: m.from ?? null,
    body: m.body ?? '',
    status: m.status,
    errorCode: m.errorCode ?? null,
    dateCreated: m.dateCreated ?? null,
  };
}

/** Both RestException and the RFC 9457 TwilioServiceException carry a numeric status and code, and
 * the latter is not exported by the SDK, so the two fields' types are what identify a Twilio API error. */
function translate(error: unknown): SmsProviderError {
  if (error instanceof SmsProviderError) return error;
  const e = error as { status?: unknown; code?: unknown; message?: unknown; detail?: unknown };
  if (typeof e?.status === 'number') {
    const code = typeof e.code === 'number' ? e.code : null;
    const message = typeof e.message === 'string' && e.message ? e.message : typeof e.detail === 'string' ? e.detail : 'Twilio error';
    return new SmsProviderError(message, e.status, code);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new SmsProviderError(`network error talking to Twilio: ${message}`, 0, null);
}
