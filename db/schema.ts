import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely';

/** A column with a database default: optional on insert. */
type Defaulted<T> = ColumnType<T, T | undefined, T>;

/** Row types of the tables the migrations create. Timestamps are ISO-8601 text; flags are 0/1 integers. */

export interface CompaniesTable {
  id: string;
  name: string;
  domain: string | null;
  api_domain: string;
  settings: Defaulted<string>;
  webhook_id: string | null;
  webhook_user: string | null;
  webhook_password_sealed: string | null;
  consent_field_key: string | null;
  consent_granted_option: string | null;
  consent_opted_out_option: string | null;
  activity_type_key: string | null;
  provisioning_status: Defaulted<'pending' | 'complete' | 'needs_admin' | 'failed'>;
  provisioning_problems: Defaulted<string>;
  /** The company's own Twilio account (null: the app's default account). */
  twilio_account_sid: Defaulted<string | null>;
  twilio_auth_token_sealed: Defaulted<string | null>;
  twilio_from_number: Defaulted<string | null>;
  twilio_messaging_service_sid: Defaulted<string | null>;
  twilio_verified_at: Defaulted<string | null>;
  /** The installing admin's time zone in Pipedrive (IANA); null: UTC. */
  time_zone: Defaulted<string | null>;
  created_at: string;
  updated_at: string;
}

export interface InstallationsTable {
  company_id: string;
  user_id: string;
  user_name: string | null;
  is_admin: number;
  access_token_sealed: string;
  refresh_token_sealed: string;
  expires_at: string;
  api_domain: string;
  scopes: string;
  created_at: string;
  updated_at: string;
}

export interface ConsentEventsTable {
  id: string;
  company_id: string;
  phone_e164: string;
  sender: string | null;
  action: 'opt_out' | 'opt_in';
  source: string;
  message: string | null;
  person_id: string | null;
  created_at: string;
  /** Who made the change when a person did (a review's decision, an admin's hand entry or import). */
  actor: string | null;
}

export interface AutomationsTable {
  id: string;
  company_id: string;
  name: string;
  enabled: number;
  trigger_event: 'deal.stage_entered' | 'deal.created';
  stage_id: number;
  pipeline_id: number | null;
  template: string;
  created_at: string;
  updated_at: string;
}

export interface WebhookEventsTable {
  id: string;
  company_id: string;
  entity: string;
  action: string;
  entity_id: string | null;
  attempt: Defaulted<number>;
  queued: Defaulted<number>;
  received_at: string;
}

export type OutboundState = 'queued' | 'scheduled' | 'claimed' | 'sending' | 'sent' | 'skipped' | 'failed' | 'cancelled';

export interface OutboundMessagesTable {
  id: string;
  company_id: string;
  source: 'automation' | 'panel';
  automation_id: string | null;
  automation_name: string | null;
  event_id: string | null;
  created_by: string | null;
  deal_id: number | null;
  person_id: number | null;
  /** The person's name in Pipedrive when the message was sent (the reports show it). */
  person_name: Defaulted<string | null>;
  template: string;
  context: Defaulted<string>;
  phone_raw: string | null;
  to_e164: string | null;
  sender: string | null;
  body: string | null;
  segments: number | null;
  encoding: string | null;
  state: OutboundState;
  skip_reason: string | null;
  attempts: Defaulted<number>;
  next_attempt_at: string;
  claimed_until: string | null;
  sending_at: string | null;
  provider_sid: string | null;
  /** The Twilio account the message went out through: only that account's status callbacks apply to it. */
  account_sid: Defaulted<string | null>;
  provider_status: string | null;
  error_code: string | null;
  error_message: string | null;
  sent_at: string | null;
  status_at: string | null;
  created_at: string;
  updated_at: string;
  /** When a message held for quiet hours may go (kept once it went: it was sent later than its event). */
  not_before: Defaulted<string | null>;
  /** The worker holding the claim (or the send); see WorkersTable. */
  claimed_by: Defaulted<string | null>;
}

export interface MessageStatusEventsTable {
  id: string;
  provider_sid: string;
  /** The account that signed the callback; (provider_sid, account_sid, status) is recorded once. */
  account_sid: Defaulted<string | null>;
  status: string;
  error_code: string | null;
  received_at: string;
}

export interface JobsTable {
  id: string;
  company_id: string;
  kind: string;
  payload: string;
  state: 'queued' | 'claimed' | 'done' | 'failed';
  attempts: Defaulted<number>;
  next_attempt_at: string;
  claimed_until: string | null;
  last_error: string | null;
  /** The worker holding the claim; see WorkersTable. */
  claimed_by: Defaulted<string | null>;
  created_at: string;
  updated_at: string;
}

export type InboundKindColumn = 'opt_out' | 'opt_in' | 'help' | 'possible_opt_out' | 'none';

/**
 * How an inbound message found its company, deal and person: `conversation` (the latest message the app sent to
 * that number), `phone_search` (the company only; the person is looked up in Pipedrive when the activity is
 * logged), `none` (no company could be told apart).
 */
export type InboundAttribution = 'conversation' | 'phone_search' | 'none';

export interface InboundMessagesTable {
  id: string;
  company_id: string | null;
  provider_sid: string;
  account_sid: string;
  sender: string | null;
  to_address: string;
  from_address: string;
  /** The sender's number in E.164; null when From is not a phone number. */
  from_e164: string | null;
  body: string;
  num_media: Defaulted<number>;
  kind: InboundKindColumn;
  possible_opt_out: Defaulted<number>;
  attribution: InboundAttribution;
  reply_to_message_id: string | null;
  deal_id: number | null;
  person_id: number | null;
  activity_job_id: string | null;
  /** What the app answered in TwiML (a keyword confirmation or help text), kept for the record. */
  auto_reply: string | null;
  received_at: string;
}

/** The next moment a sender may send, shared by every worker (ms since the epoch). */
export interface SenderPaceTable {
  sender_key: string;
  next_free_at: number;
}

export interface Schema {
  companies: CompaniesTable;
  installations: InstallationsTable;
  consent_events: ConsentEventsTable;
  automations: AutomationsTable;
  webhook_events: WebhookEventsTable;
  outbound_messages: OutboundMessagesTable;
  jobs: JobsTable;
  message_status_events: MessageStatusEventsTable;
  inbound_messages: InboundMessagesTable;
  sender_pace: SenderPaceTable;
  consent_reviews: ConsentReviewsTable;
  workers: WorkersTable;
}

export type Company = Selectable<CompaniesTable>;
export type NewCompany = Insertable<CompaniesTable>;
export type CompanyUpdate = Updateable<CompaniesTable>;
export type Installation = Selectable<InstallationsTable>;
export type NewInstallation = Insertable<InstallationsTable>;
export type ConsentEvent = Selectable<ConsentEventsTable>;
export type Automation = Selectable<AutomationsTable>;
export type OutboundMessage = Selectable<OutboundMessagesTable>;
export type Job = Selectable<JobsTable>;
export type InboundMessage = Selectable<InboundMessagesTable>;

/**
 * A possible opt-out request waiting for (or given) a person's decision. At most one is pending per company and
 * number; `due_by` is 10 business days after `received_at` in the company's time zone.
 */
export interface ConsentReviewsTable {
  id: string;
  company_id: string;
  phone_e164: string;
  inbound_message_id: string | null;
  body: string;
  received_at: string;
  due_by: string;
  deal_id: number | null;
  person_id: number | null;
  state: Defaulted<'pending' | 'decided'>;
  decision: 'opt_out' | 'not_opt_out' | null;
  /** The Pipedrive user who decided. */
  decided_by: string | null;
  decided_at: string | null;
  created_at: string;
}
export type ConsentReview = Selectable<ConsentReviewsTable>;

/** A running outbox worker (one per process): its heartbeat says it is alive; claims name it in `claimed_by`. */
export interface WorkersTable {
  id: string;
  host: string;
  pid: number;
  started_at: string;
  heartbeat_at: string;
}
