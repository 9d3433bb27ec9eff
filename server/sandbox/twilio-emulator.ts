// An HTTP emulator of the Twilio Messages API (v2010) plus a simulated phone. Used by sandbox mode and the
// integration tests, which point the real `twilio` SDK at it through a RequestClient that rewrites the origin.
// Wire details (form bodies, error JSON, signatures, keyword handling) follow ../../shared/reference/twilio.md.
import type { ServerResponse } from 'node:http';
import twilio from 'twilio';
import { SegmentedMessage } from 'sms-segments-calculator';
import {
  deliver,
  faultMatches,
  parseBasicAuth,
  randomHex,
  sendJson,
  sleep,
  startLoopbackServer,
  type EmulatorRequest,
  type FetchLike,
  type RecordedRequest,
  type StartedServer,
} from './emulator-http.js';

export type { RecordedRequest, DeliveryResult } from './emulator-http.js';

export interface TwilioEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Sandbox: after each accepted message, report `sent` then `delivered` through its status callback. */
  autoStatus?: boolean;
  /** Pause before each automatic status step; default 50 ms. */
  autoStatusDelayMs?: number;
  /** Transport for status callbacks and inbound webhooks; default global fetch. */
  fetch?: FetchLike;
  /** Clock for message dates; default Date.now. */
  now?: () => number;
}

export type MessageStatus =
  | 'queued' | 'sending' | 'sent' | 'failed' | 'delivered' | 'undelivered' | 'receiving' | 'received' | 'accepted'
  | 'scheduled' | 'read' | 'partially_delivered' | 'canceled';

export interface TwilioAccount {
  sid: string;
  authToken: string;
}

export interface TwilioNumber {
  accountSid: string;
  e164: string;
  /** Where inbound messages to this number are POSTed (the app's inbound webhook). */
  smsUrl: string | null;
  messagingServiceSid: string | null;
}

export interface TwilioMessagingService {
  sid: string;
  accountSid: string;
  numbers: string[];
  statusCallback: string | null;
  /** Used for inbound messages when the number has no smsUrl of its own. */
  inboundRequestUrl: string | null;
  /** With Advanced Opt-Out the inbound webhook carries `OptOutType`. */
  advancedOptOut: boolean;
}

export interface TwilioMessage {
  sid: string;
  accountSid: string;
  to: string;
  /** The sender; for a Messaging Service send, the pool number Twilio picked. */
  from: string;
  messagingServiceSid: string | null;
  body: string;
  statusCallback: string | null;
  status: MessageStatus;
  errorCode: number | null;
  errorMessage: string | null;
  direction: 'outbound-api' | 'outbound-reply' | 'inbound';
  numSegments: number;
  numMedia: number;
  dateCreated: Date;
  dateUpdated: Date;
  dateSent: Date | null;
  /** Every form parameter of the create request (or of the inbound webhook), as received. */
  params: Record<string, string | string[]>;
}

export interface InboxEntry {
  /** The sender as the phone sees it: a Twilio number (or the app's number for auto-replies). */
  from: string;
  to: string;
  body: string;
  kind: 'message' | 'auto-reply' | 'twiml-reply';
  sid: string | null;
  at: Date;
}

export interface SignedPost {
  url: string;
  params: Record<string, string>;
  signature: string;
  status: number;
  body: string;
  error?: string;
  at: Date;
}

export interface ReplyResult {
  messageSid: string;
  /** HTTP status the app answered; null when the number has no inbound URL. */
  status: number | null;
  twiml: string;
  /** Twilio's own keyword classification, when the body was a keyword. */
  keyword: 'STOP' | 'START' | 'HELP' | null;
  params: Record<string, string>;
}

export interface TwilioFault {
  method?: string;
  /** Tested against the pathname; default every path. */
  path?: RegExp | string;
  /** HTTP status; omit with dropConnection or with delayMs alone (then the request is served normally). */
  status?: number;
  /** Twilio error code; default by status (429 → 20429, 500 → 20500, 503 → 20503). */
  code?: number;
  message?: string;
  /** How many matching requests get the fault; default 1. */
  times?: number;
  /** Destroy the socket without answering: the SDK sees a network error. */
  dropConnection?: boolean;
  delayMs?: number;
}

/** Auto-reply texts of Twilio's default keyword handling on long codes (twilio.md §4.1). */
export const TWILIO_AUTO_REPLIES = {
  STOP: 'You have successfully been unsubscribed. You will not receive any more messages from this number. Reply START to resubscribe.',
  START: 'You have successfully been re-subscribed to messages from this number. Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
  HELP: 'Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
} as const;

const OPT_OUT = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'];
const OPT_IN = ['START', 'YES', 'UNSTOP'];
const HELP = ['HELP', 'INFO'];
const E164 = /^\+[1-9]\d{1,14}$/;
const API = '/2010-04-01';
const CALLBACK_TIMEOUT_MS = 15_000;

/** Twilio's test-credential magic recipients, honoured for every account. */
const MAGIC_TO: Record<string, [number, string]> = {
  '+15005550001': [21211, "The 'To' number +15005550001 is not a valid phone number."],
  '+15005550002': [21612, "The 'To' phone number is not currently reachable via SMS."],
  '+15005550003': [21408, 'Permission to send an SMS has not been enabled for the region indicated by the \'To\' number'],
  '+15005550004': [21610, 'Attempt to send to unsubscribed recipient'],
  '+15005550009': [21614, "'To' number is not a valid mobile number"],
};

class TwilioError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface Fault extends TwilioFault {
  remaining: number;
}

export class TwilioEmulator {
  private server: StartedServer | null = null;
  private readonly now: () => number;
  private readonly fetchImpl: FetchLike;
  private readonly accountMap = new Map<string, TwilioAccount>();
  private readonly numberMap = new Map<string, TwilioNumber>();
  private readonly serviceMap = new Map<string, TwilioMessagingService>();
  private readonly messageList: TwilioMessage[] = [];
  private readonly blocked = new Set<string>();
  private readonly inboxes = new Map<string, InboxEntry[]>();
  private readonly outcomes = new Map<string, { status: 'undelivered' | 'failed'; errorCode: number }>();
  private readonly stickySender = new Map<string, string>();
  private readonly callbackLog: Array<SignedPost & { messageSid: string; messageStatus: MessageStatus }> = [];
  private readonly inboundLog: Array<SignedPost & { messageSid: string }> = [];
  private readonly recorded: RecordedRequest[] = [];
  private faults: Fault[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private closed = false;
  private roundRobin = 0;

  constructor(private readonly opts: TwilioEmulatorOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  /** Origin to put in place of https://api.twilio.com, e.g. `http://127.0.0.1:41235`. */
  get url(): string {
    if (!this.server) throw new Error('Twilio emulator is not started');
    return this.server.url;
  }

  async start(port = 0): Promise<this> {
    this.server = await startLoopbackServer(port, (req, res) => this.handle(req, res));
    return this;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    await this.server?.close();
    this.server = null;
  }

  /** Resolves when automatic status progressions and their callbacks have finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  // ---------------------------------------------------------------- setup

  addAccount(accountSid?: string, authToken?: string): TwilioAccount {
    const account = { sid: accountSid ?? `AC${randomHex(16)}`, authToken: authToken ?? randomHex(16) };
    this.accountMap.set(account.sid, account);
    return { ...account };
  }

  /** Gives an account a phone number; `smsUrl` is the "A message comes in" webhook of that number. */
  addNumber(accountSid: string, e164: string, opts: { smsUrl?: string } = {}): TwilioNumber {
    if (!this.accountMap.has(accountSid)) throw new Error(`no account ${accountSid}`);
    if (!E164.test(e164)) throw new Error(`${e164} is not E.164`);
    const number: TwilioNumber = { accountSid, e164, smsUrl: opts.smsUrl ?? null, messagingServiceSid: null };
    this.numberMap.set(e164, number);
    return { ...number };
  }

  setSmsUrl(e164: string, smsUrl: string | null): void {
    const number = this.numberMap.get(e164);
    if (!number) throw new Error(`no number ${e164}`);
    number.smsUrl = smsUrl;
  }

  addMessagingService(
    accountSid: string,
    opts: { sid?: string; numbers?: string[]; statusCallback?: string; inboundRequestUrl?: string; advancedOptOut?: boolean } = {},
  ): TwilioMessagingService {
    if (!this.accountMap.has(accountSid)) throw new Error(`no account ${accountSid}`);
    const service: TwilioMessagingService = {
      sid: opts.sid ?? `MG${randomHex(16)}`,
      accountSid,
      numbers: [...(opts.numbers ?? [])],
      statusCallback: opts.statusCallback ?? null,
      inboundRequestUrl: opts.inboundRequestUrl ?? null,
      advancedOptOut: opts.advancedOptOut ?? false,
    };
    for (const e164 of service.numbers) {
      const number = this.numberMap.get(e164);
      if (!number || number.accountSid !== accountSid) throw new Error(`number ${e164} is not in account ${accountSid}`);
      number.messagingServiceSid = service.sid;
    }
    this.serviceMap.set(service.sid, service);
    return { ...service, numbers: [...service.numbers] };
  }

  /** Makes automatic status progression end in failure for one recipient (e.g. undelivered 30003). */
  setDeliveryOutcome(to: string, outcome: { status: 'undelivered' | 'failed'; errorCode: number } | null): void {
    if (outcome) this.outcomes.set(to, outcome);
    else this.outcomes.delete(to);
  }

  /** Puts a (sender, recipient) pair on Twilio's opt-out list, as if the recipient had texted STOP earlier. */
  block(sender: string, recipient: string): void {
    this.blocked.add(pairKey(sender, recipient));
  }

  isBlocked(sender: string, recipient: string): boolean {
    return this.blocked.has(pairKey(sender, recipient));
  }

  // ---------------------------------------------------------------- inspection

  accounts(): TwilioAccount[] {
    return [...this.accountMap.values()].map((a) => ({ ...a }));
  }
  /** Every message (outbound, TwiML replies and inbound), oldest first. */
  messages(): TwilioMessage[] {
    return this.messageList.map(cloneMessage);
  }
  message(sid: string): TwilioMessage | undefined {
    const m = this.messageList.find((x) => x.sid === sid);
    return m ? cloneMessage(m) : undefined;
  }
  /** Messages sent to a phone number through the API or as TwiML replies, oldest first. */
  messagesTo(e164: string): TwilioMessage[] {
    return this.messageList.filter((m) => m.to === e164 && m.direction !== 'inbound').map(cloneMessage);
  }
  /** What the simulated phone received, in order: app messages, TwiML replies and Twilio's auto-replies. */
  inbox(e164: string): InboxEntry[] {
    return (this.inboxes.get(e164) ?? []).map((e) => ({ ...e, at: new Date(e.at) }));
  }
  /** Every status callback POSTed, oldest first. */
  get statusCallbacks(): Array<SignedPost & { messageSid: string; messageStatus: MessageStatus }> {
    return [...this.callbackLog];
  }
  /** Every inbound-message webhook POSTed, oldest first. */
  get inboundWebhooks(): Array<SignedPost & { messageSid: string }> {
    return [...this.inboundLog];
  }
  get optOuts(): Array<{ sender: string; recipient: string }> {
    return [...this.blocked].map((k) => {
      const [sender = '', recipient = ''] = k.split('|');
      return { sender, recipient };
    });
  }
  get requests(): RecordedRequest[] {
    return [...this.recorded];
  }
  clearRequests(): void {
    this.recorded.length = 0;
  }

  injectFault(fault: TwilioFault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }
  clearFaults(): void {
    this.faults = [];
  }

  // ---------------------------------------------------------------- callbacks and the simulated phone

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

    const url = number.smsUrl ?? service?.inboundRequestUrl ?? null;
    if (!url) return { messageSid: sid, status: null, twiml: '', keyword, params };
    const post = await this.signedPost(number.accountSid, url, params);
    this.inboundLog.push({ ...post, messageSid: sid });
    if (post.status >= 200 && post.status < 300) {
      for (const m of parseTwimlMessages(post.body)) {
        this.twimlReply(number, m.to ?? input.from, m.from ?? input.to, m.body);
      }
    }
    return { messageSid: sid, status: post.status, twiml: post.body, keyword, params };
  }

  // ---------------------------------------------------------------- HTTP

  private async handle(req: EmulatorRequest, res: ServerResponse): Promise<void> {
    const record: RecordedRequest = {
      method: req.method, path: req.path, query: req.query, headers: req.headers, body: req.body, rawBody: req.rawBody, at: req.at,
    };
    this.recorded.push(record);
    res.on('finish', () => (record.status = res.statusCode));
    res.on('close', () => (record.status ??= 0));
    const common = { 'twilio-request-id': `RQ${randomHex(16)}`, 'twilio-concurrent-requests': '1' };

    const fault = this.faults.find((f) => f.remaining > 0 && faultMatches(f, req.method, req.path));
    if (fault) {
      fault.remaining -= 1;
      if (fault.delayMs) await sleep(fault.delayMs);
      if (fault.dropConnection) {
        req.raw.socket.destroy();
        return;
      }
      if (fault.status) {
        const code = fault.code ?? defaultCode(fault.status);
        sendJson(res, fault.status, errorBody(code, fault.message ?? defaultMessage(fault.status), fault.status), common);
        return;
      }
    }

    try {
      const list = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.path);
      const one = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\/([^/]+)\.json$/.exec(req.path);
      if (list?.[1] && req.method === 'POST') {
        const account = this.authenticate(req, list[1]);
        const message = this.createMessage(account, (req.body ?? {}) as Record<string, string | string[]>);
        return sendJson(res, 201, this.resource(message), common);
      }
      if (list?.[1] && req.method === 'GET') {
        const account = this.authenticate(req, list[1]);
        return sendJson(res, 200, this.listMessages(account, req), common);
      }
      if (one?.[1] && one[2] && req.method === 'GET') {
        const account = this.authenticate(req, one[1]);
        const message = this.messageList.find((m) => m.sid === one[2] && m.accountSid === account.sid);
        if (!message) throw notFound(req.path);
        return sendJson(res, 200, this.resource(message), common);
      }
      throw notFound(req.path);
    } catch (err) {
      if (err instanceof TwilioError) {
        sendJson(res, err.status, errorBody(err.code, err.message, err.status), { ...common, ...err.headers });
        return;
      }
      throw err;
    }
  }

  private authenticate(req: EmulatorRequest, accountSid: string): TwilioAccount {
    const creds = parseBasicAuth(req.headers.authorization);
    const account = this.accountMap.get(accountSid);
    if (!creds || !account || creds.user !== account.sid || creds.password !== account.authToken) {
      throw new TwilioError(401, 20003, 'Authenticate', { 'www-authenticate': 'Basic realm="Twilio API"' });
    }
    return account;
  }

  private createMessage(account: TwilioAccount, form: Record<string, string | string[]>): TwilioMessage {
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
    const validity = p('ValidityPeriod');
    if (validity !== undefined && !(Number.isInteger(Number(validity)) && Number(validity) >= 1 && Number(validity) <= 36000)) {
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

  private listMessages(account: TwilioAccount, req: EmulatorRequest): Record<string, unknown> {
    const q = req.query;
    const pageSize = Math.min(Math.max(Number(q.PageSize) || 50, 1), 1000);
    const page = Math.max(Number(q.Page) || 0, 0);
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
    const items = all.slice(page * pageSize, (page + 1) * pageSize);
    const base = `${API}/Accounts/${account.sid}/Messages.json`;
    const filters = new URLSearchParams();
    for (const key of ['To', 'From', 'DateSent', 'DateSent>', 'DateSent<']) {
      const v = q[key];
      if (v !== undefined) filters.set(key, v);
    }
    const pageUri = (n: number, token?: string): string => {
      const params = new URLSearchParams(filters);
      params.set('PageSize', String(pageSize));
      params.set('Page', String(n));
      if (token) params.set('PageToken', token);
      return `${base}?${params.toString()}`;
    };
    const last = items[items.length - 1];
    const hasNext = (page + 1) * pageSize < all.length;
    return {
      end: page * pageSize + Math.max(items.length - 1, 0),
      first_page_uri: pageUri(0),
      messages: items.map((m) => this.resource(m)),
      next_page_uri: hasNext && last ? pageUri(page + 1, `PA${last.sid}`) : null,
      page,
      page_size: pageSize,
      previous_page_uri: page > 0 ? pageUri(page - 1) : null,
      start: page * pageSize,
      uri: req.raw.url ?? base,
    };
  }

  /** The v2010 snake_case message resource. */
  private resource(m: TwilioMessage): Record<string, unknown> {
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

  // ---------------------------------------------------------------- internals

  private applyKeyword(keyword: ReplyResult['keyword'], phone: string, twilioNumber: string, service: TwilioMessagingService | undefined): void {
    if (!keyword) return;
    const senders = [twilioNumber, ...(service ? [service.sid] : [])];
    if (keyword === 'STOP') for (const s of senders) this.block(s, phone);
    if (keyword === 'START') for (const s of senders) this.blocked.delete(pairKey(s, phone));
    this.toInbox(phone, { from: twilioNumber, to: phone, body: TWILIO_AUTO_REPLIES[keyword], kind: 'auto-reply', sid: null, at: new Date(this.now()) });
  }

  private twimlReply(number: TwilioNumber, to: string, from: string, body: string): void {
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

  private pickSender(service: TwilioMessagingService, to: string): string | undefined {
    // Sticky sender: Twilio keeps using the number a recipient already heard from.
    const sticky = this.stickySender.get(`${service.sid}|${to}`);
    if (sticky && service.numbers.includes(sticky)) return sticky;
    const pick = service.numbers[this.roundRobin++ % Math.max(service.numbers.length, 1)];
    if (pick) this.stickySender.set(`${service.sid}|${to}`, pick);
    return pick;
  }

  private async progress(sid: string): Promise<void> {
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

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((err: unknown) => console.error('twilio emulator: status progression failed', err));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  private async signedPost(accountSid: string, url: string, params: Record<string, string>): Promise<SignedPost> {
    const account = this.accountMap.get(accountSid);
    if (!account) throw new Error(`no account ${accountSid}`);
    // The real SDK's algorithm, so the app's validation is checked against Twilio's, not against ours.
    const signature = twilio.getExpectedTwilioSignature(account.authToken, url, params);
    const result = await deliver(this.fetchImpl, url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'x-twilio-signature': signature,
        'user-agent': 'TwilioProxy/1.1',
        'i-twilio-idempotency-token': randomHex(16),
        accept: '*/*',
      },
      body: new URLSearchParams(params).toString(),
    }, CALLBACK_TIMEOUT_MS);
    return { url, params, signature, ...result, at: new Date(this.now()) };
  }

  private toInbox(phone: string, entry: InboxEntry): void {
    const list = this.inboxes.get(phone) ?? [];
    list.push(entry);
    this.inboxes.set(phone, list);
  }
}

export async function startTwilioEmulator(opts: TwilioEmulatorOptions = {}): Promise<TwilioEmulator> {
  return new TwilioEmulator(opts).start(opts.port ?? 0);
}

// ------------------------------------------------------------------ helpers

function pairKey(sender: string, recipient: string): string {
  return `${sender}|${recipient}`;
}

/**
 * Twilio's default keyword matching: the whole message is one keyword, case-insensitive, surrounding
 * whitespace ignored. "STOP ALL", "STOP." and "please stop" are not keywords.
 */
export function classifyKeyword(body: string): 'STOP' | 'START' | 'HELP' | null {
  const word = body.trim().toUpperCase();
  if (OPT_OUT.includes(word)) return 'STOP';
  if (OPT_IN.includes(word)) return 'START';
  if (HELP.includes(word)) return 'HELP';
  return null;
}

function segments(body: string, smartEncoded = false): number {
  if (body === '') return 1;
  return new SegmentedMessage(body, 'auto', smartEncoded).segmentsCount;
}

function errorBody(code: number, message: string, status: number): Record<string, unknown> {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

function notFound(path: string): TwilioError {
  return new TwilioError(404, 20404, `The requested resource ${path} was not found`);
}

function defaultCode(status: number): number {
  if (status === 429) return 20429;
  if (status === 401) return 20003;
  if (status === 404) return 20404;
  if (status === 503) return 20503;
  return status >= 500 ? 20500 : 20001;
}

function defaultMessage(status: number): string {
  if (status === 429) return 'Too Many Requests';
  if (status === 503) return 'Service Unavailable';
  if (status >= 500) return 'Internal Server Error';
  return 'Bad Request';
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.hostname.includes('_');
  } catch {
    return false;
  }
}

function countryOf(e164: string): string {
  const prefixes: Array<[string, string]> = [['+1', 'US'], ['+44', 'GB'], ['+61', 'AU'], ['+33', 'FR'], ['+49', 'DE'], ['+353', 'IE'], ['+64', 'NZ']];
  return prefixes.find(([p]) => e164.startsWith(p))?.[1] ?? '';
}

/** `YYMMDDhhmm` UTC, the carrier DLR timestamp Twilio passes on delivered/undelivered. */
function rawDlrDate(d: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(d.getUTCFullYear() % 100)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}`;
}

/** A date-only bound covers the whole day (inclusive); a date-time bound is exact. */
function boundary(value: string, side: 'start' | 'end'): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    return side === 'start' ? start : start + 86_400_000 - 1;
  }
  const t = Date.parse(value);
  return Number.isNaN(t) ? (side === 'start' ? -Infinity : Infinity) : t;
}

function sameDayOrInstant(t: number, value: string): boolean {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return t >= boundary(value, 'start') && t <= boundary(value, 'end');
  return t === Date.parse(value);
}

function decodeXml(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_m, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** `<Message>` verbs of a TwiML answer (text or `<Body>` form, optional to/from attributes). */
export function parseTwimlMessages(twiml: string): Array<{ body: string; to?: string; from?: string }> {
  const out: Array<{ body: string; to?: string; from?: string }> = [];
  const re = /<Message\b([^>]*?)(?:\/>|>([\s\S]*?)<\/Message>)/g;
  for (let m = re.exec(twiml); m; m = re.exec(twiml)) {
    const attrs = m[1] ?? '';
    const inner = m[2] ?? '';
    const bodyTag = /<Body>([\s\S]*?)<\/Body>/.exec(inner);
    const body = decodeXml(bodyTag ? (bodyTag[1] ?? '') : inner.replace(/<Media>[\s\S]*?<\/Media>/g, '').replace(/<[^>]+>/g, ''));
    const attr = (name: string): string | undefined => {
      const a = new RegExp(`\\b${name}="([^"]*)"`).exec(attrs);
      return a?.[1] !== undefined ? decodeXml(a[1]) : undefined;
    };
    const entry: { body: string; to?: string; from?: string } = { body };
    const to = attr('to');
    const from = attr('from');
    if (to !== undefined) entry.to = to;
    if (from !== undefined) entry.from = from;
    out.push(entry);
  }
  return out;
}

function cloneMessage(m: TwilioMessage): TwilioMessage {
  return {
    ...m,
    params: { ...m.params },
    dateCreated: new Date(m.dateCreated),
    dateUpdated: new Date(m.dateUpdated),
    dateSent: m.dateSent ? new Date(m.dateSent) : null,
  };
}
