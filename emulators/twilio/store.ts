// The Twilio emulator's state: accounts, numbers, Messaging Services, messages, the phones' inboxes and what was
// asked of it; set-up and inspection by plain calls (no HTTP). The resource files extend it, one layer each.
import { randomHex, type FetchLike, type RecordedRequest, type StartedServer } from '../http.js';
import { E164, pairKey, cloneMessage, cloneAccount, cloneNumber, cloneService, type TwilioEmulatorOptions, type MessageStatus, type TwilioAccount, type PhoneNumberCapabilities, type TwilioNumber, type TwilioMessagingService, type TwilioMessage, type InboxEntry, type SignedPost, type TwilioFault, type Fault } from './internals.js';
import { numberSid, friendlyNumber } from './shapes.js';

export class TwilioStore {
  protected server: StartedServer | null = null;
  protected readonly now: () => number;
  protected readonly fetchImpl: FetchLike;
  protected readonly accountMap = new Map<string, TwilioAccount>();
  protected readonly numberMap = new Map<string, TwilioNumber>();
  protected readonly serviceMap = new Map<string, TwilioMessagingService>();
  protected readonly messageList: TwilioMessage[] = [];
  protected readonly blocked = new Set<string>();
  protected readonly inboxes = new Map<string, InboxEntry[]>();
  protected readonly outcomes = new Map<string, { status: 'undelivered' | 'failed'; errorCode: number }>();
  protected readonly stickySender = new Map<string, string>();
  protected readonly callbackLog: Array<SignedPost & { messageSid: string; messageStatus: MessageStatus }> = [];
  protected readonly inboundLog: Array<SignedPost & { messageSid: string }> = [];
  protected readonly recorded: RecordedRequest[] = [];
  protected faults: Fault[] = [];
  protected readonly pending = new Set<Promise<unknown>>();
  protected closed = false;
  protected roundRobin = 0;

  constructor(protected readonly opts: TwilioEmulatorOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  /** Origin to put in place of https://api.twilio.com, e.g. `http://127.0.0.1:41235`. */
  get url(): string {
    if (!this.server) throw new Error('Twilio emulator is not started');
    return this.server.url;
  }


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


  /**
   * Forgets every message, the phones' inboxes, Twilio's opt-out list (STOP replies) and the callbacks sent, keeping
   * accounts, numbers and services: the sandbox's "Reset the demo". Call `idle()` first so no status progression of a
   * forgotten message is still on its way.
   */
  clearTraffic(): void {
    this.messageList.length = 0;
    this.inboxes.clear();
    this.blocked.clear();
    this.stickySender.clear();
    this.callbackLog.length = 0;
    this.inboundLog.length = 0;
  }


  injectFault(fault: TwilioFault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });

  }
  clearFaults(): void {
    this.faults = [];
  }
}
