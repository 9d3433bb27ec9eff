// What the Twilio emulator's parts share: its options and records, the error a route throws, Twilio's keyword
// lists and magic numbers, and small helpers (keywords, TwiML, paging, form fields).
import { SegmentedMessage } from 'sms-segments-calculator';
import type { FetchLike } from '../http.js';

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

/** Auto-reply texts of Twilio's default keyword handling on long codes (the HELP text as users
 * report it; Twilio's pages do not quote it). */
export const TWILIO_AUTO_REPLIES = {
  STOP: 'You have successfully been unsubscribed. You will not receive any more messages from this number. Reply START to resubscribe.',
  START: 'You have successfully been re-subscribed to messages from this number. Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
  HELP: 'Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
} as const;

export const OPT_OUT = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'];
export const OPT_IN = ['START', 'YES', 'UNSTOP'];
export const HELP = ['HELP', 'INFO'];
export const E164 = /^\+[1-9]\d{1,14}$/;
export const API = '/2010-04-01';
export const CALLBACK_TIMEOUT_MS = 15_000;

/** Twilio's test-credential magic recipients, honoured for every account. */
export const MAGIC_TO: Record<string, [number, string]> = {
  '+15005550001': [21211, "The 'To' number +15005550001 is not a valid phone number."],
  '+15005550002': [21612, "The 'To' phone number is not currently reachable via SMS."],
  '+15005550003': [21408, 'Permission to send an SMS has not been enabled for the region indicated by the \'To\' number'],
  '+15005550004': [21610, 'Attempt to send to unsubscribed recipient'],
  '+15005550009': [21614, "'To' number is not a valid mobile number"],
};

export class TwilioError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface Fault extends TwilioFault {
  remaining: number;
}

export function pairKey(sender: string, recipient: string): string {
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

export function segments(body: string, smartEncoded = false): number {
  if (body === '') return 1;
  return new SegmentedMessage(body, 'auto', smartEncoded).segmentsCount;
}

export function errorBody(code: number, message: string, status: number): Record<string, unknown> {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

export function notFound(path: string): TwilioError {
  return new TwilioError(404, 20404, `The requested resource ${path} was not found`);
}

export function unauthenticated(): TwilioError {
  return new TwilioError(401, 20003, 'Authenticate', { 'www-authenticate': 'Basic realm="Twilio API"' });
}

export function defaultCode(status: number): number {
  if (status === 429) return 20429;
  if (status === 401) return 20003;
  if (status === 404) return 20404;
  if (status === 503) return 20503;
  return status >= 500 ? 20500 : 20001;
}

export function defaultMessage(status: number): string {
  if (status === 429) return 'Too Many Requests';
  if (status === 503) return 'Service Unavailable';
  if (status >= 500) return 'Internal Server Error';
  return 'Bad Request';
}

export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.hostname.includes('_');
  } catch {
    return false;
  }
}

export function countryOf(e164: string): string {
  const prefixes: Array<[string, string]> = [['+1', 'US'], ['+44', 'GB'], ['+61', 'AU'], ['+33', 'FR'], ['+49', 'DE'], ['+353', 'IE'], ['+64', 'NZ']];
  return prefixes.find(([p]) => e164.startsWith(p))?.[1] ?? '';
}

/** `YYMMDDhhmm` UTC, the carrier DLR timestamp Twilio passes on delivered/undelivered. */
export function rawDlrDate(d: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(d.getUTCFullYear() % 100)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}`;
}

/** A date-only bound covers the whole day (inclusive); a date-time bound is exact. */
export function boundary(value: string, side: 'start' | 'end'): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    return side === 'start' ? start : start + 86_400_000 - 1;
  }
  const t = Date.parse(value);
  return Number.isNaN(t) ? (side === 'start' ? -Infinity : Infinity) : t;
}

export function sameDayOrInstant(t: number, value: string): boolean {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return t >= boundary(value, 'start') && t <= boundary(value, 'end');
  return t === Date.parse(value);
}

export function decodeXml(text: string): string {
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

export function cloneMessage(m: TwilioMessage): TwilioMessage {
  return {
    ...m,
    params: { ...m.params },
    dateCreated: new Date(m.dateCreated),
    dateUpdated: new Date(m.dateUpdated),
    dateSent: m.dateSent ? new Date(m.dateSent) : null,
  };
}

export function cloneAccount(a: TwilioAccount): TwilioAccount {
  return { ...a, dateCreated: new Date(a.dateCreated) };
}

export function cloneNumber(n: TwilioNumber): TwilioNumber {
  return { ...n, capabilities: { ...n.capabilities }, dateCreated: new Date(n.dateCreated), dateUpdated: new Date(n.dateUpdated) };
}

export function cloneService(s: TwilioMessagingService): TwilioMessagingService {
  return { ...s, numbers: [...s.numbers], dateCreated: new Date(s.dateCreated) };
}
