import twilio from 'twilio';
import { SmsProviderError } from '../errors.js';
import type { ProviderMessage, SmsAccount, SmsPort } from './sms-port.js';

type RequestOptions = Parameters<InstanceType<typeof twilio.RequestClient>['request']>[0];

/**
 * The SDK cannot be pointed at another origin by option or environment (twilio.md §1.2), so a RequestClient that
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

export function createTwilioGateway(options: { apiUrl: string }): SmsPort {
  const isDefault = /^https:\/\/api\.twilio\.com\/?$/.test(options.apiUrl);
  const origin = isDefault ? null : new URL(options.apiUrl);
  const clients = new Map<string, ReturnType<typeof twilio>>();

  const clientFor = (account: SmsAccount) => {
    const key = `${account.accountSid}:${account.authToken}`;
    let client = clients.get(key);
    if (!client) {
      client = twilio(account.accountSid, account.authToken, { httpClient: new OriginRequestClient(origin) });
      clients.set(key, client);
    }
    return client;
  };

  return {
    async send(account, sms) {
      try {
        const message = await clientFor(account).messages.create({
          to: sms.to,
          body: sms.body,
          ...(sms.messagingServiceSid ? { messagingServiceSid: sms.messagingServiceSid } : { from: sms.from ?? undefined }),
          ...(sms.statusCallback ? { statusCallback: sms.statusCallback } : {}),
          ...(sms.validityPeriod ? { validityPeriod: sms.validityPeriod } : {}),
        });
        const segments = Number(message.numSegments);
        return { sid: message.sid, status: message.status, segments: Number.isFinite(segments) && segments > 0 ? segments : null };
      } catch (error) {
        throw translate(error);
      }
    },
    async fetch(account, sid) {
      try {
        return toMessage(await clientFor(account).messages(sid).fetch());
      } catch (error) {
        const translated = translate(error);
        if (translated.status === 404) return null;
        throw translated;
      }
    },
    async listSentTo(account, to, since) {
      try {
        const list = await clientFor(account).messages.list({ to, dateSentAfter: since, limit: 50 });
        return list.map(toMessage);
      } catch (error) {
        throw translate(error);
      }
    },
    async checkSender(account, sender) {
      const client = clientFor(account);
      try {
        const found = await client.api.v2010.accounts(account.accountSid).fetch();
        if (found.status !== 'active') {
          return { ok: false, reason: 'account_inactive', message: `The Twilio account ${account.accountSid} is ${found.status}.` };
        }
      } catch (error) {
        const translated = translate(error);
        if (translated.status === 401 || translated.status === 403 || translated.status === 404) {
          return { ok: false, reason: 'credentials_refused', message: 'Twilio refused this Account SID and Auth Token.' };
        }
        throw translated;
      }
      try {
        if (sender.messagingServiceSid !== undefined) {
          const service = await client.messaging.v1.services(sender.messagingServiceSid).fetch();
          return { ok: true, inboundUrl: service.useInboundWebhookOnNumber ? null : (service.inboundRequestUrl ?? null), numberSid: null };
        }
        const numbers = await client.incomingPhoneNumbers.list({ phoneNumber: sender.from, limit: 50 });
        const number = numbers.find((n) => n.phoneNumber === sender.from);
        if (!number) return { ok: false, reason: 'sender_not_found', message: `${sender.from} is not a number of this Twilio account.` };
        return { ok: true, inboundUrl: number.smsUrl || null, numberSid: number.sid };
      } catch (error) {
        const translated = translate(error);
        if (translated.status === 404) {
          return { ok: false, reason: 'sender_not_found', message: `${sender.messagingServiceSid ?? sender.from} is not in this Twilio account.` };
        }
        throw translated;
      }
    },
    async setInboundUrl(account, numberSid, url) {
      try {
        await clientFor(account).incomingPhoneNumbers(numberSid).update({ smsUrl: url, smsMethod: 'POST' });
      } catch (error) {
        throw translate(error);
      }
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

/** Both RestException and the RFC 9457 TwilioServiceException carry a numeric status and code (twilio.md §1.3). */
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
