// What the Pipedrive emulator's parts share: its options and records of what happened, the error a route throws,
// the constants of the real API and small helpers.
import type { ServerResponse } from 'node:http';
import type { DeliveryResult, EmulatorRequest, FetchLike } from '../http.js';
import type { PdCompany, PdContactEntry, PdPersonField, PdUser } from './records.js';

export interface PipedriveEmulatorOptions {
  clientId: string;
  clientSecret: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** `expires_in` of issued access tokens; default 3600. */
  accessTokenTtlSeconds?: number;
  /** The user the consent screen "approves as"; default the first user added. */
  autoApproveUserId?: number;
  /**
   * The Developer Hub "Callback URL". When set, authorize and token exchange refuse any other redirect_uri,
   * as Pipedrive does; uninstall notifications go there.
   */
  redirectUri?: string;
  /** Scope string of issued tokens; default the scopes this app asks for. */
  scope?: string;
  /** Transport for outgoing webhooks; default global fetch (override to reach an in-process app). */
  fetch?: FetchLike;
  /** Clock for timestamps and token expiry; default Date.now. */
  now?: () => number;
}

export interface PipedriveFault {
  method?: string;
  /** Exact pathname, or a RegExp tested against it (e.g. /^\/api\//). */
  path: string | RegExp;
  status: number;
  /** How many matching requests get the fault; default 1. */
  times?: number;
  /** Replaces the Pipedrive-shaped default body for that status. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait before answering (timeouts). */
  delayMs?: number;
  /** Destroy the socket instead of answering (network error). */
  dropConnection?: boolean;
}

export interface IssuedToken {
  accessToken: string;
  refreshToken: string;
  userId: number;
  companyId: number;
  grantType: 'authorization_code' | 'refresh_token';
  issuedAt: Date;
  /** ms since epoch; 0 once expireAccessTokens() ran. */
  expiresAt: number;
  revoked: boolean;
}

export interface RevokedToken {
  token: string;
  kind: 'access_token' | 'refresh_token';
  at: Date;
}

export interface WebhookDelivery extends DeliveryResult {
  webhookId: number;
  /** `meta.id` of a v2 payload (a UUID); for v1 payloads an emulator-side id with the same role. */
  eventId: string;
  attempt: number;
  url: string;
  version: '1.0' | '2.0';
  payload: Record<string, unknown>;
  headers: Record<string, string>;
  at: Date;
}

export interface ChangeOptions {
  /** Who made the change (meta.user_id); default the deal/person owner. */
  userId?: number;
  /** meta.change_source; `app` (the Pipedrive UI) by default, `api` for API calls. */
  changeSource?: 'app' | 'api';
}

export type Entity = 'deal' | 'person' | 'activity';
export type IdKind = 'company' | 'user' | 'person' | 'deal' | 'pipeline' | 'stage' | 'field' | 'option' | 'type' | 'activity' | 'webhook';
export type Action = 'create' | 'change' | 'delete';

export interface Snapshot {
  v2: Record<string, unknown>;
  v1: Record<string, unknown>;
}

export interface StoredEvent {
  eventId: string;
  webhookId: number;
  version: '1.0' | '2.0';
  payload: Record<string, unknown>;
  attempt: number;
}

export interface AuthCode {
  code: string;
  userId: number;
  companyId: number;
  redirectUri: string | null;
  expiresAt: number;
  used: boolean;
}

export interface RefreshRecord {
  token: string;
  userId: number;
  companyId: number;
  refreshes: number;
  revoked: boolean;
  redirectUri: string | null;
}

export interface Fault extends PipedriveFault {
  remaining: number;
}

export interface AuthContext {
  company: PdCompany;
  user: PdUser;
  token: IssuedToken;
}

export const DEFAULT_SCOPE = 'base,deals:read,contacts:full,activities:full,admin';
export const ERROR_INFO = 'Please check developers.pipedrive.com';
/** A user's own token asking for an item that Pipedrive's visibility settings hide from them. */
export const NOT_VISIBLE = 'You do not have permissions to access this item.';
export const AUTH_CODE_TTL_MS = 5 * 60 * 1000;
export const WEBHOOK_TIMEOUT_MS = 10_000;
export const WEBHOOKS_PER_USER = 40;
export const FIELD_TYPES = [
  'address', 'date', 'daterange', 'double', 'enum', 'monetary', 'org', 'people', 'phone', 'set', 'text', 'time',
  'timerange', 'user', 'varchar', 'varchar_auto', 'visible_to',
];
export const ICON_KEYS = [
  'task', 'email', 'meeting', 'deadline', 'call', 'lunch', 'calendar', 'downarrow', 'document', 'smartphone',
  'camera', 'scissors', 'cogs', 'bubble', 'uparrow', 'checkbox', 'signpost', 'shuffle', 'addressbook',
  'linegraph', 'picture', 'car', 'world', 'search', 'clip', 'sound', 'brush', 'key', 'padlock', 'pricetag',
  'suitcase', 'finish', 'plane', 'loop', 'wifi', 'truck', 'cart', 'bulb', 'bell', 'presentation',
];
export const WEBHOOK_OBJECTS = [
  'activity', 'deal', 'lead', 'note', 'organization', 'person', 'pipeline', 'product', 'stage', 'user', '*',
];
/** v1 webhooks were created with v1 action names; both vocabularies are accepted and mapped to v2. */
export const ACTION_ALIASES: Record<string, Action | '*'> = {
  create: 'create', added: 'create', change: 'change', updated: 'change', merged: 'change',
  delete: 'delete', deleted: 'delete', '*': '*',
};
export const V1_ACTION: Record<Action, string> = { create: 'added', change: 'updated', delete: 'deleted' };

/** Thrown inside route handlers to answer with a Pipedrive-shaped error. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export type Handler = (req: EmulatorRequest, res: ServerResponse, params: string[], auth: AuthContext) => unknown;

export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

export function byCompany<T extends { companyId: number; id: number }>(map: Map<number, T>, companyId: number): T[] {
  return [...map.values()].filter((x) => x.companyId === companyId).sort((a, b) => a.id - b.id).map((x) => structuredClone(x));
}

export function contactEntries(
  input: Array<string | { value: string; primary?: boolean; label?: string }> | undefined,
  defaultLabel: string,
): PdContactEntry[] {
  const entries = (input ?? []).map((e) => (typeof e === 'string' ? { value: e } : e));
  const anyPrimary = entries.some((e) => e.primary === true);
  return entries.map((e, i) => ({
    value: e.value,
    primary: anyPrimary ? e.primary === true : i === 0,
    label: e.label ?? defaultLabel,
  }));
}

export function pdErrorBody(error: string): Record<string, unknown> {
  return { success: false, error, error_info: ERROR_INFO, data: null, additional_data: null };
}

export function oauthError(message: string): Record<string, unknown> {
  return { success: false, message };
}

export function noStore(): Record<string, string> {
  return { 'cache-control': 'no-store' };
}

/** Pipedrive sends its burst-limit headers on every API answer, not only on 429s. */
export function rateLimitHeaders(remaining = 79): Record<string, string> {
  return { 'x-ratelimit-limit': '80', 'x-ratelimit-remaining': String(remaining), 'x-ratelimit-reset': '2' };
}

export function faultResponse(status: number): { body: Record<string, unknown>; headers: Record<string, string> } {
  if (status === 429) return { body: pdErrorBody('Request over limit'), headers: rateLimitHeaders(0) };
  if (status === 401) return { body: { success: false, error: 'unauthorized access', errorCode: 401, error_info: ERROR_INFO }, headers: {} };
  if (status === 403) return { body: pdErrorBody('Scope and URL mismatch'), headers: {} };
  if (status === 404) return { body: pdErrorBody('Not found'), headers: {} };
  if (status === 503) return { body: pdErrorBody('Service unavailable'), headers: {} };
  if (status >= 500) return { body: pdErrorBody('Internal server error'), headers: {} };
  return { body: pdErrorBody('Bad request'), headers: {} };
}

export function requireAdmin(a: AuthContext): void {
  if (!a.user.isAdmin) throw new ApiError(403, 'You do not have permissions to perform this action. Please contact your company admin.');
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function v2Id(raw: string | undefined): number {
  const id = Number(raw);
  if (!Number.isInteger(id) || id <= 0) throw new ApiError(400, 'The id must be a positive integer', { code: 'ERR_BAD_REQUEST' });
  return id;
}

export function optionalId(body: Record<string, unknown>, key: string): number | null {
  const v = body[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ApiError(400, `${key} must be an integer`, { code: 'ERR_BAD_REQUEST' });
  return v;
}

export function badField(key: string, expected: string): ApiError {
  return new ApiError(400, `${key} must be ${expected}`, { code: 'ERR_BAD_REQUEST' });
}

/** API v2 takes typed custom field values: an option id (number) for enum, ids for set, strings for text. */
export function validateCustomValue(field: PdPersonField, value: unknown): void {
  if (value === null) return;
  const optionIds = (field.options ?? []).map((o) => o.id);
  const fail = (expected: string): never => {
    throw new ApiError(400, `Invalid value for custom field ${field.key} (${field.name}): expected ${expected}`, { code: 'ERR_BAD_REQUEST' });
  };
  switch (field.field_type) {
    case 'enum':
      if (typeof value !== 'number' || !optionIds.includes(value)) fail(`one of the option ids ${optionIds.join(', ')}`);
      return;
    case 'set':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && optionIds.includes(v))) fail('an array of option ids');
      return;
    case 'double':
    case 'monetary':
      if (typeof value !== 'number' && !isObject(value)) fail('a number');
      return;
    default:
      if (typeof value !== 'string' && !isObject(value)) fail('a string');
  }
}

export function withoutUpdateTime(v: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...v };
  delete rest.update_time;
  return rest;
}

export function clampLimit(raw: string | undefined, fallback = 100): number {
  const n = Number(raw);
  if (!raw || !Number.isInteger(n) || n <= 0) return fallback;
  return Math.min(n, 500);
}

/** Cursor pagination of API v2: an opaque cursor, `additional_data.next_cursor` null on the last page. */
export function v2Page<T>(all: T[], query: Record<string, string>): { items: T[]; next: string | null } {
  const limit = clampLimit(query.limit);
  const start = query.cursor ? Number(Buffer.from(query.cursor, 'base64url').toString('utf8')) || 0 : 0;
  const items = all.slice(start, start + limit);
  const next = start + limit < all.length ? Buffer.from(String(start + limit)).toString('base64url') : null;
  return { items, next };
}

/** Offset pagination of API v1 (`start`, `limit`, `additional_data.pagination`). */
export function v1Page<T>(all: T[], query: Record<string, string>): { items: T[]; pagination: Record<string, unknown> } {
  const limit = clampLimit(query.limit);
  const start = Number(query.start) || 0;
  const items = all.slice(start, start + limit);
  const more = start + limit < all.length;
  return { items, pagination: { start, limit, more_items_in_collection: more, ...(more ? { next_start: start + limit } : {}) } };
}

