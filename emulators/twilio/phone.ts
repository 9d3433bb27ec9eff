// The simulated phone and the callbacks: status callbacks as a message progresses, replies from a handset (with
// Twilio's STOP/START/HELP handling and the app's TwiML answer), each POST signed as Twilio signs it.
import twilio from 'twilio';
import { deliver, randomHex, sleep } from '../http.js';
import { TWILIO_AUTO_REPLIES, CALLBACK_TIMEOUT_MS, pairKey, classifyKeyword, segments, countryOf, rawDlrDate, parseTwimlMessages, type MessageStatus, type TwilioNumber, type TwilioMessagingService, type TwilioMessage, type InboxEntry, type SignedPost, type ReplyResult } from './internals.js';
import { inboundTarget } from './shapes.js';
import { TwilioStore } from './store.js';

export class TwilioPhone extends TwilioStore {
  /**
   * Moves a message to `status` and POSTs the status callback, signed with the owning account's token.
   * Returns the HTTP status the app answered (0 on a network error), or null when the message has no callback URL.
   */
  async sendStatus(sid: string, status: MessageStatus, opts: { errorCode?: number; errorMessage?: string } = {}): Promise<number | null> {
    const message = this.messageList.find((m) => m.sid === sid);
    if (!message) throw new Error(`no message ${sid}`);
    const at = new Date(this.now());
    message.status = status;
    message.dateUpdated = at;
    if (opts.errorCode !== undefined) {
      message.errorCode = opts.errorCode;
      message.errorMessage = opts.errorMessage ?? null;
    }
    if ((status === 'sent' || status === 'delivered' || status === 'undelivered') && !message.dateSent) message.dateSent = at;
    const service = message.messagingServiceSid ? this.serviceMap.get(message.messagingServiceSid) : undefined;
    const url = message.statusCallback ?? service?.statusCallback ?? null;
    if (!url) return null;
    const params: Record<string, string> = {};
    if (message.errorCode !== null && (status === 'failed' || status === 'undelivered')) params.ErrorCode = String(message.errorCode);
    params.SmsSid = message.sid;
    params.SmsStatus = status;
    params.MessageStatus = status;
    params.To = message.to;
    if (message.messagingServiceSid) params.MessagingServiceSid = message.messagingServiceSid;
    params.MessageSid = message.sid;
    params.AccountSid = message.accountSid;
    params.From = message.from;
    params.ApiVersion = '2010-04-01';
    if (status === 'delivered' || status === 'undelivered') params.RawDlrDoneDate = rawDlrDate(at);
    const post = await this.signedPost(message.accountSid, url, params);
    this.callbackLog.push({ ...post, messageSid: sid, messageStatus: status });
    return post.status;
  }

  /**
   * The simulated phone `from` texts `body` to the Twilio number `to`. Twilio's own keyword handling runs first
   * (opt-out keywords block the pair and auto-reply; START/YES/UNSTOP unblock; HELP/INFO auto-reply), then the
   * inbound webhook is POSTed, signed, and `<Message>` replies in the TwiML answer go back to the phone.
   * Passing the `messageSid` of an earlier reply re-posts it as Twilio's retry would, without re-running keywords.
   */
  async reply(input: {
    from: string;
    to: string;
    body: string;
    messageSid?: string;
    optOutType?: 'STOP' | 'START' | 'HELP';
    media?: Array<{ url: string; contentType: string }>;
  }): Promise<ReplyResult> {
    const number = this.numberMap.get(input.to);
    if (!number) throw new Error(`${input.to} is not a number of any emulated account`);
    const service = number.messagingServiceSid ? this.serviceMap.get(number.messagingServiceSid) : undefined;
    const sid = input.messageSid ?? `SM${randomHex(16)}`;
    const isRetry = this.messageList.some((m) => m.sid === sid && m.direction === 'inbound');
    const keyword = classifyKeyword(input.body);
    const at = new Date(this.now());

    if (!isRetry) {
      this.messageList.push({
        sid, accountSid: number.accountSid, to: input.to, from: input.from, messagingServiceSid: service?.sid ?? null,
        body: input.body, statusCallback: null, status: 'received', errorCode: null, errorMessage: null,
        direction: 'inbound', numSegments: segments(input.body), numMedia: input.media?.length ?? 0,
        dateCreated: at, dateUpdated: at, dateSent: at, params: {},
      });
      this.applyKeyword(keyword, input.from, input.to, service);
    }

    const params: Record<string, string> = {
      ToCountry: countryOf(input.to), ToState: '', SmsMessageSid: sid, NumMedia: String(input.media?.length ?? 0),
      ToCity: '', FromZip: '', SmsSid: sid,
    };
    const optOutType = input.optOutType ?? (service?.advancedOptOut ? keyword ?? undefined : undefined);
    if (optOutType) params.OptOutType = optOutType;
    Object.assign(params, {
      FromState: '', SmsStatus: 'received', FromCity: '', Body: input.body, FromCountry: countryOf(input.from), To: input.to,
    });
    if (service) params.MessagingServiceSid = service.sid;
    params.ToZip = '';
    params.NumSegments = String(segments(input.body));
    input.media?.forEach((m, i) => {
      params[`MediaUrl${i}`] = m.url;
      params[`MediaContentType${i}`] = m.contentType;
    });
    Object.assign(params, { MessageSid: sid, AccountSid: number.accountSid, From: input.from, ApiVersion: '2010-04-01' });
    const inbound = this.messageList.find((m) => m.sid === sid && m.direction === 'inbound');
    if (inbound) inbound.params = { ...params };

    const target = inboundTarget(number, service);
    if (!target) return { messageSid: sid, status: null, twiml: '', keyword, params };
    const post = await this.signedPost(number.accountSid, target.url, params, target.method);
    this.inboundLog.push({ ...post, messageSid: sid });
    if (post.status >= 200 && post.status < 300) {
      for (const m of parseTwimlMessages(post.body)) {
        this.twimlReply(number, m.to ?? input.from, m.from ?? input.to, m.body);
      }
    }
    return { messageSid: sid, status: post.status, twiml: post.body, keyword, params };
  }


  protected applyKeyword(keyword: ReplyResult['keyword'], phone: string, twilioNumber: string, service: TwilioMessagingService | undefined): void {
    if (!keyword) return;
    const senders = [twilioNumber, ...(service ? [service.sid] : [])];
    if (keyword === 'STOP') for (const s of senders) this.block(s, phone);
    if (keyword === 'START') for (const s of senders) this.blocked.delete(pairKey(s, phone));
    this.toInbox(phone, { from: twilioNumber, to: phone, body: TWILIO_AUTO_REPLIES[keyword], kind: 'auto-reply', sid: null, at: new Date(this.now()) });
  }


  protected twimlReply(number: TwilioNumber, to: string, from: string, body: string): void {
    const at = new Date(this.now());
    const blocked = this.isBlocked(from, to) || (number.messagingServiceSid !== null && this.isBlocked(number.messagingServiceSid, to));
    const message: TwilioMessage = {
      sid: `SM${randomHex(16)}`, accountSid: number.accountSid, to, from, messagingServiceSid: number.messagingServiceSid,
      body, statusCallback: null, status: blocked ? 'failed' : 'sent', errorCode: blocked ? 21610 : null,
      errorMessage: blocked ? 'Attempt to send to unsubscribed recipient' : null, direction: 'outbound-reply',
      numSegments: segments(body), numMedia: 0, dateCreated: at, dateUpdated: at, dateSent: blocked ? null : at, params: {},
    };
    this.messageList.push(message);
    if (!blocked) this.toInbox(to, { from, to, body, kind: 'twiml-reply', sid: message.sid, at });
  }


  protected pickSender(service: TwilioMessagingService, to: string): string | undefined {
    // Sticky sender: Twilio keeps using the number a recipient already heard from.
    const sticky = this.stickySender.get(`${service.sid}|${to}`);
    if (sticky && service.numbers.includes(sticky)) return sticky;
    const pick = service.numbers[this.roundRobin++ % Math.max(service.numbers.length, 1)];
    if (pick) this.stickySender.set(`${service.sid}|${to}`, pick);
    return pick;
  }


  protected async progress(sid: string): Promise<void> {
    const delay = this.opts.autoStatusDelayMs ?? 50;
    const message = this.messageList.find((m) => m.sid === sid);
    if (!message) return;
    const outcome = this.outcomes.get(message.to);
    await sleep(delay);
    if (this.closed) return;
    if (outcome?.status === 'failed') {
      await this.sendStatus(sid, 'failed', { errorCode: outcome.errorCode });
      return;
    }
    await this.sendStatus(sid, 'sent');
    await sleep(delay);
    if (this.closed) return;
    if (outcome) await this.sendStatus(sid, 'undelivered', { errorCode: outcome.errorCode });
    else await this.sendStatus(sid, 'delivered');
  }


  protected track(p: Promise<unknown>): void {
    const tracked = p.catch((err: unknown) => console.error('twilio emulator: status progression failed', err));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }


  protected async signedPost(
    accountSid: string,
    url: string,
    params: Record<string, string>,
    method: 'GET' | 'POST' = 'POST',
  ): Promise<SignedPost> {
    const account = this.accountMap.get(accountSid);
    if (!account) throw new Error(`no account ${accountSid}`);
    const headers: Record<string, string> = {
      'user-agent': 'TwilioProxy/1.1',
      'i-twilio-idempotency-token': randomHex(16),
      accept: '*/*',
    };
    if (method === 'GET') {
      // A GET webhook carries the parameters in the query string, and Twilio signs the full URL with no body params.
      const target = new URL(url);
      for (const [k, v] of Object.entries(params)) target.searchParams.append(k, v);
      const full = target.toString();
      const signature = twilio.getExpectedTwilioSignature(account.authToken, full, {});
      const result = await deliver(this.fetchImpl, full, { method: 'GET', headers: { ...headers, 'x-twilio-signature': signature } }, CALLBACK_TIMEOUT_MS);
      return { method, url: full, params, signature, ...result, at: new Date(this.now()) };
    }
    // The real SDK's algorithm, so the app's validation is checked against Twilio's, not against ours.
    const signature = twilio.getExpectedTwilioSignature(account.authToken, url, params);
    const result = await deliver(this.fetchImpl, url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'x-twilio-signature': signature,
        ...headers,
      },
      body: new URLSearchParams(params).toString(),
    }, CALLBACK_TIMEOUT_MS);
    return { method, url, params, signature, ...result, at: new Date(this.now()) };
  }


  protected toInbox(phone: string, entry: InboxEntry): void {
    const list = this.inboxes.get(phone) ?? [];
    list.push(entry);
    this.inboxes.set(phone, list);
  }
}
