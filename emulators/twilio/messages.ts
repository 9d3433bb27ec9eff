// Twilio's Messages resource: send (sender, segments, magic numbers, opt-outs, outcomes) and list, and a
// message as the API prints it.
import { randomHex, type EmulatorRequest } from '../http.js';
import { E164, API, MAGIC_TO, TwilioError, segments, isHttpUrl, boundary, sameDayOrInstant, type TwilioAccount, type TwilioMessagingService, type TwilioMessage } from './internals.js';
import { listEnvelope } from './shapes.js';
import { TwilioPhone } from './phone.js';

export class TwilioMessages extends TwilioPhone {

  protected createMessage(account: TwilioAccount, form: Record<string, string | string[]>): TwilioMessage {
    const p = (key: string): string | undefined => {
      const v = form[key];
      return Array.isArray(v) ? v[v.length - 1] : v;
    };
    const to = p('To');
    const body = p('Body');
    const mediaCount = Array.isArray(form.MediaUrl) ? form.MediaUrl.length : form.MediaUrl ? 1 : 0;
    const serviceSid = p('MessagingServiceSid');
    let from = p('From');
    const statusCallback = p('StatusCallback') ?? null;

    if (!to) throw new TwilioError(400, 21604, "A 'To' phone number is required.");
    if (!E164.test(to)) throw new TwilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    if (!from && !serviceSid) throw new TwilioError(400, 21603, "A 'From' phone number is required.");
    let service: TwilioMessagingService | undefined;
    if (serviceSid) {
      service = this.serviceMap.get(serviceSid);
      if (!service || service.accountSid !== account.sid) {
        throw new TwilioError(400, 21701, `The Messaging Service Sid ${serviceSid} is invalid.`);
      }
    }
    if (from) {
      const owned = this.numberMap.get(from);
      if (!owned || owned.accountSid !== account.sid) {
        throw new TwilioError(400, 21606, `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`);
      }
    }
    if ((body === undefined || body === '') && mediaCount === 0 && !p('ContentSid')) {
      throw new TwilioError(400, 21602, 'Message body is required.');
    }
    if (body !== undefined && body.length > 1600) {
      throw new TwilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    }
    if (statusCallback !== null && !isHttpUrl(statusCallback)) {
      throw new TwilioError(400, 21609, `The StatusCallback URL ${statusCallback} is not a valid URL.`);
    }
    // Seconds in Twilio's queue, 1 to 36000, written as a whole number ("600", never "6e2" or "600.0").
    const validity = p('ValidityPeriod');
    if (validity !== undefined && !(/^\d{1,5}$/.test(validity) && Number(validity) >= 1 && Number(validity) <= 36000)) {
      throw new TwilioError(400, 21629, 'The ValidityPeriod must be an integer between 1 and 36000.');
    }
    if (!from && service) from = this.pickSender(service, to);
    if (!from) throw new TwilioError(400, 21603, "A 'From' phone number is required.");
    if (from === to) throw new TwilioError(400, 21266, "'To' and 'From' number cannot be the same");
    const magic = MAGIC_TO[to];
    if (magic) throw new TwilioError(400, magic[0], magic[1]);
    // Twilio blocks per sender: the number the contact replied STOP to, and its whole Messaging Service.
    const owner = this.numberMap.get(from);
    if (this.isBlocked(from, to) || (service && this.isBlocked(service.sid, to)) ||
        (owner?.messagingServiceSid && this.isBlocked(owner.messagingServiceSid, to))) {
      throw new TwilioError(400, 21610, 'Attempt to send to unsubscribed recipient');
    }

    const at = new Date(this.now());
    const message: TwilioMessage = {
      sid: `SM${randomHex(16)}`,
      accountSid: account.sid,
      to,
      from,
      messagingServiceSid: service?.sid ?? null,
      body: body ?? '',
      statusCallback,
      status: service ? 'accepted' : 'queued',
      errorCode: null,
      errorMessage: null,
      direction: 'outbound-api',
      numSegments: segments(body ?? '', p('SmartEncoded') === 'true'),
      numMedia: mediaCount,
      dateCreated: at,
      dateUpdated: at,
      dateSent: null,
      params: { ...form },
    };
    this.messageList.push(message);
    if (!this.outcomes.has(to)) this.toInbox(to, { from, to, body: message.body, kind: 'message', sid: message.sid, at });
    if (this.opts.autoStatus) this.track(this.progress(message.sid));
    return message;
  }


  protected listMessages(account: TwilioAccount, req: EmulatorRequest): Record<string, unknown> {
    const q = req.query;
    const sentOn = q.DateSent;
    const after = q['DateSent>'];
    const before = q['DateSent<'];
    const all = this.messageList
      .filter((m) => m.accountSid === account.sid)
      .filter((m) => (q.To === undefined || m.to === q.To) && (q.From === undefined || m.from === q.From))
      .filter((m) => {
        // Twilio filters on date_sent; a message not yet handed to the carrier has none, so the emulator falls
        // back to date_created (otherwise a just-queued message would be invisible to reconciliation).
        const t = (m.dateSent ?? m.dateCreated).getTime();
        if (sentOn !== undefined && !sameDayOrInstant(t, sentOn)) return false;
        if (after !== undefined && t < boundary(after, 'start')) return false;
        if (before !== undefined && t > boundary(before, 'end')) return false;
        return true;
      })
      .sort((a, b) => b.dateCreated.getTime() - a.dateCreated.getTime());
    return listEnvelope({
      all,
      query: q,
      base: `${API}/Accounts/${account.sid}/Messages.json`,
      filterKeys: ['To', 'From', 'DateSent', 'DateSent>', 'DateSent<'],
      key: 'messages',
      requestUri: req.raw.url,
      render: (m) => this.resource(m),
    });
  }

  /** The v2010 snake_case message resource. */
  protected resource(m: TwilioMessage): Record<string, unknown> {
    const uri = `${API}/Accounts/${m.accountSid}/Messages/${m.sid}.json`;
    // A Messaging Service send answers before a sender is chosen: from null, num_segments "0".
    const undecided = m.messagingServiceSid !== null && m.status === 'accepted' && m.direction === 'outbound-api';
    return {
      account_sid: m.accountSid,
      api_version: '2010-04-01',
      body: m.body,
      date_created: m.dateCreated.toUTCString(),
      date_sent: m.dateSent ? m.dateSent.toUTCString() : null,
      date_updated: m.dateUpdated.toUTCString(),
      direction: m.direction,
      error_code: m.errorCode,
      error_message: m.errorMessage,
      from: undecided ? null : m.from,
      messaging_service_sid: m.messagingServiceSid,
      num_media: String(m.numMedia),
      num_segments: undecided ? '0' : String(m.numSegments),
      price: null,
      price_unit: 'USD',
      sid: m.sid,
      status: m.status,
      subresource_uris: { media: `${API}/Accounts/${m.accountSid}/Messages/${m.sid}/Media.json` },
      to: m.to,
      uri,
    };
  }
}
