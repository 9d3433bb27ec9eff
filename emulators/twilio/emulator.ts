// An HTTP emulator of the Twilio REST API (v2010 Messages, Account and IncomingPhoneNumbers; Messaging v1
// Services) plus a simulated phone. Used by sandbox mode and the integration tests, which point the real `twilio`
// SDK at it through a RequestClient that rewrites the origin: api.twilio.com and messaging.twilio.com both land
// here, so routes are told apart by path alone.
// Wire details (form bodies, error JSON, signatures, keyword handling) follow ../../shared/reference/twilio.md;
// the Account, IncomingPhoneNumber and Messaging Service shapes follow the JSON fields twilio@6.3.1 reads
// (lib/rest/api/v2010/account.js, …/account/incomingPhoneNumber.js, lib/rest/messaging/v1/service.js) and the
// example payloads of Twilio's API reference.
import { createHash } from 'node:crypto';
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
} from '../http.js';

export type { RecordedRequest, DeliveryResult } from '../http.js';

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
  friendlyName: string;
  /** Reported by the Account resource only; the emulator does not refuse requests of a suspended account. */
  status: 'active' | 'suspended' | 'closed';
  type: 'Trial' | 'Full';
  dateCreated: Date;
}

export interface PhoneNumberCapabilities {
  voice: boolean;
  sms: boolean;
  mms: boolean;
  fax: boolean;
}

export interface TwilioNumber {
  /** `PN` + 32 hex, derived from account and number so the same seed gives the same sid after a restart. */
  sid: string;
  accountSid: string;
  e164: string;
  friendlyName: string;
  /** Where inbound messages to this number are sent (the app's inbound webhook), with `smsMethod`. */
  smsUrl: string | null;
  smsMethod: 'GET' | 'POST';
  messagingServiceSid: string | null;
  capabilities: PhoneNumberCapabilities;
  dateCreated: Date;
  dateUpdated: Date;
}

export interface TwilioMessagingService {
  sid: string;
  accountSid: string;
  friendlyName: string;
  numbers: string[];
  statusCallback: string | null;
  inboundRequestUrl: string | null;
  /**
   * Twilio's "defer to sender's webhook". True (the emulator's default, its behaviour before the flag existed):
   * the number's smsUrl wins and `inboundRequestUrl` is used when the number has none. False: as Twilio
   * documents, `inboundRequestUrl` receives every inbound message, and null there means inbound is disabled.
   */
  useInboundWebhookOnNumber: boolean;
  /** With Advanced Opt-Out the inbound webhook carries `OptOutType`. */
  advancedOptOut: boolean;
  dateCreated: Date;
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
  /** GET when the number's SmsMethod is GET: the parameters then travel in `url`'s query, and are signed there. */
  method: 'GET' | 'POST';
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

  addAccount(
    accountSid?: string,
    authToken?: string,
    opts: { friendlyName?: string; type?: TwilioAccount['type']; status?: TwilioAccount['status'] } = {},
  ): TwilioAccount {
    const account: TwilioAccount = {
      sid: accountSid ?? `AC${randomHex(16)}`,
      authToken: authToken ?? randomHex(16),
      // What Twilio names the first account of a new sign-up.
      friendlyName: opts.friendlyName ?? 'My first Twilio account',
      status: opts.status ?? 'active',
      type: opts.type ?? 'Full',
      dateCreated: new Date(this.now()),
    };
    this.accountMap.set(account.sid, account);
    return cloneAccount(account);
  }

  /**
   * Gives an account a phone number; `smsUrl` is the "A message comes in" webhook of that number. Adding a number
   * again replaces it (same account and number: same sid).
   */
  addNumber(
    accountSid: string,
    e164: string,
    opts: {
      smsUrl?: string;
      smsMethod?: 'GET' | 'POST';
      sid?: string;
      friendlyName?: string;
      capabilities?: Partial<PhoneNumberCapabilities>;
    } = {},
  ): TwilioNumber {
    if (!this.accountMap.has(accountSid)) throw new Error(`no account ${accountSid}`);
    if (!E164.test(e164)) throw new Error(`${e164} is not E.164`);
    if (opts.sid !== undefined && !/^PN[0-9a-fA-F]{32}$/.test(opts.sid)) throw new Error(`${opts.sid} is not a PN sid`);
    const at = new Date(this.now());
    const number: TwilioNumber = {
      sid: opts.sid ?? numberSid(accountSid, e164),
      accountSid,
      e164,
      friendlyName: opts.friendlyName ?? friendlyNumber(e164),
      smsUrl: opts.smsUrl ?? null,
      smsMethod: opts.smsMethod ?? 'POST',
      messagingServiceSid: null,
      capabilities: { voice: true, sms: true, mms: true, fax: false, ...opts.capabilities },
      dateCreated: at,
      dateUpdated: at,
    };
    this.numberMap.set(e164, number);
    return cloneNumber(number);
  }

  setSmsUrl(e164: string, smsUrl: string | null): void {
    const number = this.numberMap.get(e164);
    if (!number) throw new Error(`no number ${e164}`);
    number.smsUrl = smsUrl;
    number.dateUpdated = new Date(this.now());
  }

  addMessagingService(
    accountSid: string,
    opts: {
      sid?: string;
      friendlyName?: string;
      numbers?: string[];
      statusCallback?: string;
      inboundRequestUrl?: string;
      useInboundWebhookOnNumber?: boolean;
      advancedOptOut?: boolean;
    } = {},
  ): TwilioMessagingService {
    if (!this.accountMap.has(accountSid)) throw new Error(`no account ${accountSid}`);
    const service: TwilioMessagingService = {
      sid: opts.sid ?? `MG${randomHex(16)}`,
      accountSid,
      friendlyName: opts.friendlyName ?? 'Messaging Service',
      numbers: [...(opts.numbers ?? [])],
      statusCallback: opts.statusCallback ?? null,
      inboundRequestUrl: opts.inboundRequestUrl ?? null,
      useInboundWebhookOnNumber: opts.useInboundWebhookOnNumber ?? true,
      advancedOptOut: opts.advancedOptOut ?? false,
      dateCreated: new Date(this.now()),
    };
    for (const e164 of service.numbers) {
      const number = this.numberMap.get(e164);
      if (!number || number.accountSid !== accountSid) throw new Error(`number ${e164} is not in account ${accountSid}`);
      number.messagingServiceSid = service.sid;
    }
    this.serviceMap.set(service.sid, service);
    return cloneService(service);
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
    return [...this.accountMap.values()].map(cloneAccount);
  }
  /** Phone numbers in the order they were added, optionally only one account's. */
  numbers(accountSid?: string): TwilioNumber[] {
    return [...this.numberMap.values()].filter((n) => accountSid === undefined || n.accountSid === accountSid).map(cloneNumber);
  }
  number(e164: string): TwilioNumber | undefined {
    const n = this.numberMap.get(e164);
    return n ? cloneNumber(n) : undefined;
  }
  messagingServices(): TwilioMessagingService[] {
    return [...this.serviceMap.values()].map(cloneService);
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

      const accountPath = /^\/2010-04-01\/Accounts\/([^/]+)\.json$/.exec(req.path);
      if (accountPath?.[1] && req.method === 'GET') {
        return sendJson(res, 200, accountResource(this.authenticate(req, accountPath[1])), common);
      }
      const numberList = /^\/2010-04-01\/Accounts\/([^/]+)\/IncomingPhoneNumbers\.json$/.exec(req.path);
      if (numberList?.[1] && req.method === 'GET') {
        const account = this.authenticate(req, numberList[1]);
        return sendJson(res, 200, this.listNumbers(account, req), common);
      }
      const numberOne = /^\/2010-04-01\/Accounts\/([^/]+)\/IncomingPhoneNumbers\/([^/]+)\.json$/.exec(req.path);
      if (numberOne?.[1] && numberOne[2] && (req.method === 'GET' || req.method === 'POST')) {
        const account = this.authenticate(req, numberOne[1]);
        const number = [...this.numberMap.values()].find((n) => n.sid === numberOne[2] && n.accountSid === account.sid);
        if (!number) throw notFound(req.path);
        if (req.method === 'POST') this.updateNumber(number, (req.body ?? {}) as Record<string, string | string[]>);
        return sendJson(res, 200, numberResource(number), common);
      }

      // Messaging v1 lives on messaging.twilio.com; with every host rewritten to this origin, its `/v1/Services/MG…`
      // paths cannot collide with the 2010 API. Other products' `/v1/Services` (Verify VA…, Chat IS…) answer 404.
      const servicePath = /^\/v1\/Services\/([^/]+)$/.exec(req.path);
      if (servicePath?.[1] && req.method === 'GET') {
        // No account in the path: the Basic-auth username names the account, and a service of another
        // account is indistinguishable from a missing one.
        const account = this.authenticateAny(req);
        const service = this.serviceMap.get(servicePath[1]);
        if (!service || service.accountSid !== account.sid) throw notFound(req.path);
        return sendJson(res, 200, serviceResource(service), common);
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

  /** The account named in the path, which the Basic-auth credentials must be the sid and token of. */
  private authenticate(req: EmulatorRequest, accountSid: string): TwilioAccount {
    const account = this.authenticateAny(req);
    if (account.sid !== accountSid) throw unauthenticated();
    return account;
  }

  /** The account whose sid and token the Basic-auth credentials are (Messaging v1 paths carry no account). */
  private authenticateAny(req: EmulatorRequest): TwilioAccount {
    const creds = parseBasicAuth(req.headers.authorization);
    const account = creds ? this.accountMap.get(creds.user) : undefined;
    if (!creds || !account || creds.password !== account.authToken) throw unauthenticated();
    return account;
  }

  /**
   * `IncomingPhoneNumbers.json`: the account's numbers only, filtered as Twilio documents (PhoneNumber: "partial
   * numbers and '*' as a wildcard for any digit"; FriendlyName: exact), in the 2010 list envelope.
   */
  private listNumbers(account: TwilioAccount, req: EmulatorRequest): Record<string, unknown> {
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
  private updateNumber(number: TwilioNumber, form: Record<string, string | string[]>): void {
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

  private async signedPost(
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

function unauthenticated(): TwilioError {
  return new TwilioError(401, 20003, 'Authenticate', { 'www-authenticate': 'Basic realm="Twilio API"' });
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
    const body = decodeXml(bodyTag ? (bodyTag[1] ?? '') : inner.replace(/<Media>[\s\S]*?<\/Media>/g, '').replace(/<[^<>]+>/g, ''));
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

function cloneAccount(a: TwilioAccount): TwilioAccount {
  return { ...a, dateCreated: new Date(a.dateCreated) };
}

function cloneNumber(n: TwilioNumber): TwilioNumber {
  return { ...n, capabilities: { ...n.capabilities }, dateCreated: new Date(n.dateCreated), dateUpdated: new Date(n.dateUpdated) };
}

function cloneService(s: TwilioMessagingService): TwilioMessagingService {
  return { ...s, numbers: [...s.numbers], dateCreated: new Date(s.dateCreated) };
}

// ------------------------------------------------------------------ Account, IncomingPhoneNumber, Messaging Service

/**
 * Where an inbound message to `number` is sent. A number in a Messaging Service follows the service unless the
 * service defers to the sender's webhook (`use_inbound_webhook_on_number`); see TwilioMessagingService.
 */
function inboundTarget(number: TwilioNumber, service: TwilioMessagingService | undefined): { url: string; method: 'GET' | 'POST' } | null {
  if (service && !service.useInboundWebhookOnNumber) {
    return service.inboundRequestUrl ? { url: service.inboundRequestUrl, method: 'POST' } : null;
  }
  if (number.smsUrl) return { url: number.smsUrl, method: number.smsMethod };
  return service?.inboundRequestUrl ? { url: service.inboundRequestUrl, method: 'POST' } : null;
}

/** `Thu, 30 Jul 2015 23:19:04 +0000`, the v2010 date format (the SDK parses it as `ddd, DD MMM YYYY HH:mm:ss [+0000]`). */
function rfc2822(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

/** `2015-07-30T20:12:31Z`, the date format of the v1 product APIs (no milliseconds). */
function iso8601(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A `PN` sid that, like Twilio's, never changes while the account holds the number, and survives a sandbox restart. */
function numberSid(accountSid: string, e164: string): string {
  return `PN${createHash('sha256').update(`${accountSid}|${e164}`).digest('hex').slice(0, 32)}`;
}

/** Twilio's default FriendlyName of a purchased number: the national format for NANP numbers, else the E.164. */
function friendlyNumber(e164: string): string {
  const nanp = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return nanp ? `(${nanp[1]}) ${nanp[2]}-${nanp[3]}` : e164;
}

function numberType(e164: string): 'local' | 'toll-free' {
  return /^\+18(?:00|33|44|55|66|77|88)\d{7}$/.test(e164) ? 'toll-free' : 'local';
}

/**
 * The PhoneNumber list filter. Twilio documents "You can specify partial numbers and use '*' as a wildcard for any
 * digit", so the pattern may match anywhere in the E.164 number.
 */
function phoneNumberPattern(value: string): RegExp {
  const source = [...value].map((c) => (c === '*' ? '\\d' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(source);
}

/** SmsUrl must be an absolute http(s) URL (error 21402 otherwise). */
function isWebhookUrl(value: string): boolean {
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
function listEnvelope<T extends { sid: string }>(opts: {
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
function accountResource(a: TwilioAccount): Record<string, unknown> {
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
function numberResource(n: TwilioNumber): Record<string, unknown> {
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
function serviceResource(s: TwilioMessagingService): Record<string, unknown> {
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
