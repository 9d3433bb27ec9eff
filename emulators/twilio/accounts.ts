// Twilio's IncomingPhoneNumbers resource: list and update the numbers of an account.
import type { EmulatorRequest } from '../http.js';
import { API, TwilioError, type TwilioAccount, type TwilioNumber } from './internals.js';
import { phoneNumberPattern, isWebhookUrl, listEnvelope, numberResource } from './shapes.js';
import { TwilioMessages } from './messages.js';

export class TwilioAccounts extends TwilioMessages {
  /**
   * `IncomingPhoneNumbers.json`: the account's numbers only, filtered as Twilio documents (PhoneNumber: "partial
   * numbers and '*' as a wildcard for any digit"; FriendlyName: exact), in the 2010 list envelope.
   */
  protected listNumbers(account: TwilioAccount, req: EmulatorRequest): Record<string, unknown> {
    const q = req.query;
    const pattern = q.PhoneNumber !== undefined && q.PhoneNumber !== '' ? phoneNumberPattern(q.PhoneNumber) : null;
    const all = [...this.numberMap.values()]
      .filter((n) => n.accountSid === account.sid)
      .filter((n) => pattern === null || pattern.test(n.e164))
      .filter((n) => q.FriendlyName === undefined || n.friendlyName === q.FriendlyName);
    // Every emulated number is Twilio-owned, none is a hosted number.
    if (q.Origin !== undefined && q.Origin !== 'twilio') all.length = 0;
    return listEnvelope({
      all,
      query: q,
      base: `${API}/Accounts/${account.sid}/IncomingPhoneNumbers.json`,
      filterKeys: ['Beta', 'FriendlyName', 'PhoneNumber', 'Origin'],
      key: 'incoming_phone_numbers',
      requestUri: req.raw.url,
      render: numberResource,
    });
  }

  /**
   * Applies an IncomingPhoneNumber update. SmsUrl, SmsMethod and FriendlyName change the emulator's state (SmsUrl
   * routes later `reply()`s); the other update parameters (voice, fallback, trunk…) are accepted and ignored.
   * Everything is validated before anything changes, as one request either applies or fails.
   */
  protected updateNumber(number: TwilioNumber, form: Record<string, string | string[]>): void {
    const p = (key: string): string | undefined => {
      const v = form[key];
      return Array.isArray(v) ? v[v.length - 1] : v;
    };
    const smsUrl = p('SmsUrl');
    const smsMethod = p('SmsMethod');
    const friendlyName = p('FriendlyName');
    // An empty SmsUrl is how the API clears the webhook.
    if (smsUrl !== undefined && smsUrl !== '' && !isWebhookUrl(smsUrl)) throw new TwilioError(400, 21402, 'Invalid Url');
    const method = smsMethod?.toUpperCase();
    if (method !== undefined && method !== 'GET' && method !== 'POST') throw new TwilioError(400, 21403, 'Invalid Method');
    if (smsUrl !== undefined) number.smsUrl = smsUrl === '' ? null : smsUrl;
    if (method === 'GET' || method === 'POST') number.smsMethod = method;
    if (friendlyName !== undefined) number.friendlyName = friendlyName;
    number.dateUpdated = new Date(this.now());
  }
}
