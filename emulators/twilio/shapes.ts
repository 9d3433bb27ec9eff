// Twilio's Account, IncomingPhoneNumber, Messaging Service and Message resources as the API prints them: the JSON
// fields twilio@6.3.1 reads (lib/rest/api/v2010/account.js, …/account/incomingPhoneNumber.js,
// lib/rest/messaging/v1/service.js) and the example payloads of Twilio's API reference.
import { createHash } from 'node:crypto';
import { API, type TwilioAccount, type TwilioNumber, type TwilioMessagingService } from './internals.js';

/**
 * Where an inbound message to `number` is sent. A number in a Messaging Service follows the service unless the
 * service defers to the sender's webhook (`use_inbound_webhook_on_number`); see TwilioMessagingService.
 */
export function inboundTarget(number: TwilioNumber, service: TwilioMessagingService | undefined): { url: string; method: 'GET' | 'POST' } | null {
  if (service && !service.useInboundWebhookOnNumber) {
    return service.inboundRequestUrl ? { url: service.inboundRequestUrl, method: 'POST' } : null;
  }
  if (number.smsUrl) return { url: number.smsUrl, method: number.smsMethod };
  return service?.inboundRequestUrl ? { url: service.inboundRequestUrl, method: 'POST' } : null;
}

/** `Thu, 30 Jul 2015 23:19:04 +0000`, the v2010 date format (the SDK parses it as `ddd, DD MMM YYYY HH:mm:ss [+0000]`). */
export function rfc2822(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

/** `2015-07-30T20:12:31Z`, the date format of the v1 product APIs (no milliseconds). */
export function iso8601(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A `PN` sid that, like Twilio's, never changes while the account holds the number, and survives a sandbox restart. */
export function numberSid(accountSid: string, e164: string): string {
  return `PN${createHash('sha256').update(`${accountSid}|${e164}`).digest('hex').slice(0, 32)}`;
}

/** Twilio's default FriendlyName of a purchased number: the national format for NANP numbers, else the E.164. */
export function friendlyNumber(e164: string): string {
  const nanp = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return nanp ? `(${nanp[1]}) ${nanp[2]}-${nanp[3]}` : e164;
}

export function numberType(e164: string): 'local' | 'toll-free' {
  return /^\+18(?:00|33|44|55|66|77|88)\d{7}$/.test(e164) ? 'toll-free' : 'local';
}

/**
 * The PhoneNumber list filter. Twilio documents "You can specify partial numbers and use '*' as a wildcard for any
 * digit", so the pattern may match anywhere in the E.164 number.
 */
export function phoneNumberPattern(value: string): RegExp {
  const source = [...value].map((c) => (c === '*' ? '\\d' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(source);
}

/** SmsUrl must be an absolute http(s) URL (error 21402 otherwise). */
export function isWebhookUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * The 2010 API list envelope. `PageSize` defaults to 50 (max 1000); `Page` numbers the page; `PageToken` (`PA` +
 * the sid of the previous page's last record, which is what next_page_uri carries) is honoured as a cursor, so a
 * record added between two page requests neither repeats nor disappears.
 */
export function listEnvelope<T extends { sid: string }>(opts: {
  all: T[];
  query: Record<string, string>;
  base: string;
  filterKeys: string[];
  key: string;
  requestUri: string | undefined;
  render: (item: T) => Record<string, unknown>;
}): Record<string, unknown> {
  const q = opts.query;
  const pageSize = Math.min(Math.max(Number(q.PageSize) || 50, 1), 1000);
  const page = Math.max(Number(q.Page) || 0, 0);
  const afterSid = q.PageToken?.startsWith('PA') ? q.PageToken.slice(2) : undefined;
  const cursor = afterSid === undefined ? -1 : opts.all.findIndex((x) => x.sid === afterSid);
  const offset = cursor >= 0 ? cursor + 1 : page * pageSize;
  const items = opts.all.slice(offset, offset + pageSize);
  const filters = new URLSearchParams();
  for (const key of opts.filterKeys) {
    const v = q[key];
    if (v !== undefined) filters.set(key, v);
  }
  const pageUri = (n: number, token?: string): string => {
    const params = new URLSearchParams(filters);
    params.set('PageSize', String(pageSize));
    params.set('Page', String(n));
    if (token) params.set('PageToken', token);
    return `${opts.base}?${params.toString()}`;
  };
  const last = items[items.length - 1];
  const hasNext = offset + items.length < opts.all.length;
  const start = page * pageSize;
  return {
    end: start + Math.max(items.length - 1, 0),
    first_page_uri: pageUri(0),
    [opts.key]: items.map(opts.render),
    next_page_uri: hasNext && last ? pageUri(page + 1, `PA${last.sid}`) : null,
    page,
    page_size: pageSize,
    previous_page_uri: page > 0 ? pageUri(page - 1) : null,
    start,
    uri: opts.requestUri ?? pageUri(page),
  };
}

/**
 * The v2010 Account resource. `auth_token` is part of it on the real API too (documented as PII, and read by the
 * SDK as `authToken`); it only ever goes to a caller that authenticated with that very token.
 */
export function accountResource(a: TwilioAccount): Record<string, unknown> {
  const sub = (path: string): string => `${API}/Accounts/${a.sid}/${path}`;
  return {
    auth_token: a.authToken,
    date_created: rfc2822(a.dateCreated),
    date_updated: rfc2822(a.dateCreated),
    friendly_name: a.friendlyName,
    // A main account is its own owner; the emulator has no subaccounts.
    owner_account_sid: a.sid,
    sid: a.sid,
    status: a.status,
    subresource_uris: {
      available_phone_numbers: sub('AvailablePhoneNumbers.json'),
      calls: sub('Calls.json'),
      conferences: sub('Conferences.json'),
      incoming_phone_numbers: sub('IncomingPhoneNumbers.json'),
      notifications: sub('Notifications.json'),
      outgoing_caller_ids: sub('OutgoingCallerIds.json'),
      recordings: sub('Recordings.json'),
      transcriptions: sub('Transcriptions.json'),
      addresses: sub('Addresses.json'),
      signing_keys: sub('SigningKeys.json'),
      connect_apps: sub('ConnectApps.json'),
      sip: sub('SIP.json'),
      authorized_connect_apps: sub('AuthorizedConnectApps.json'),
      usage: sub('Usage.json'),
      keys: sub('Keys.json'),
      applications: sub('Applications.json'),
      short_codes: sub('SMS/ShortCodes.json'),
      queues: sub('Queues.json'),
      messages: sub('Messages.json'),
      balance: sub('Balance.json'),
    },
    type: a.type,
    uri: `${API}/Accounts/${a.sid}.json`,
  };
}

/**
 * The v2010 IncomingPhoneNumber resource. Unset URLs read as "" the way Twilio's examples show them; the
 * compliance and emergency fields are those of a plain number with none configured.
 */
export function numberResource(n: TwilioNumber): Record<string, unknown> {
  return {
    account_sid: n.accountSid,
    address_requirements: 'none',
    address_sid: null,
    api_version: '2010-04-01',
    beta: false,
    capabilities: { ...n.capabilities },
    date_created: rfc2822(n.dateCreated),
    date_updated: rfc2822(n.dateUpdated),
    emergency_status: 'Inactive',
    emergency_address_sid: null,
    emergency_address_status: 'unregistered',
    friendly_name: n.friendlyName,
    identity_sid: null,
    origin: 'twilio',
    phone_number: n.e164,
    sid: n.sid,
    sms_application_sid: '',
    sms_fallback_method: 'POST',
    sms_fallback_url: '',
    sms_method: n.smsMethod,
    sms_url: n.smsUrl ?? '',
    status_callback: '',
    status_callback_method: 'POST',
    trunk_sid: null,
    uri: `${API}/Accounts/${n.accountSid}/IncomingPhoneNumbers/${n.sid}.json`,
    voice_application_sid: '',
    voice_caller_id_lookup: false,
    voice_fallback_method: 'POST',
    voice_fallback_url: '',
    voice_method: 'POST',
    voice_url: '',
    bundle_sid: null,
    voice_receive_mode: 'voice',
    status: 'in-use',
    type: numberType(n.e164),
  };
}

/**
 * The Messaging v1 Service resource. Absolute `url`/`links` on messaging.twilio.com as the real API returns them
 * (the app's origin-rewriting client sends follow-ups here anyway). Settings the emulator does not model report
 * the defaults of a service created in the Console.
 */
export function serviceResource(s: TwilioMessagingService): Record<string, unknown> {
  const url = `https://messaging.twilio.com/v1/Services/${s.sid}`;
  return {
    account_sid: s.accountSid,
    sid: s.sid,
    date_created: iso8601(s.dateCreated),
    date_updated: iso8601(s.dateCreated),
    friendly_name: s.friendlyName,
    inbound_request_url: s.inboundRequestUrl,
    inbound_method: 'POST',
    fallback_url: null,
    fallback_method: 'POST',
    status_callback: s.statusCallback,
    // The emulator keeps a recipient on the number it first heard from (pickSender).
    sticky_sender: true,
    mms_converter: true,
    smart_encoding: true,
    fallback_to_long_code: true,
    scan_message_content: 'inherit',
    area_code_geomatch: true,
    validity_period: 36000,
    synchronous_validation: true,
    usecase: 'undeclared',
    us_app_to_person_registered: false,
    use_inbound_webhook_on_number: s.useInboundWebhookOnNumber,
    links: {
      phone_numbers: `${url}/PhoneNumbers`,
      short_codes: `${url}/ShortCodes`,
      alpha_senders: `${url}/AlphaSenders`,
      messages: `${url}/Messages`,
      us_app_to_person: `${url}/Compliance/Usa2p`,
      us_app_to_person_usecases: `${url}/Compliance/Usa2p/Usecases`,
      channel_senders: `${url}/ChannelSenders`,
      destination_alpha_senders: `${url}/DestinationAlphaSenders`,
    },
    url,
  };
}
