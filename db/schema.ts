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
}

export interface Schema {
  companies: CompaniesTable;
  installations: InstallationsTable;
  consent_events: ConsentEventsTable;
}

export type Company = Selectable<CompaniesTable>;
export type NewCompany = Insertable<CompaniesTable>;
export type CompanyUpdate = Updateable<CompaniesTable>;
export type Installation = Selectable<InstallationsTable>;
export type NewInstallation = Insertable<InstallationsTable>;
export type ConsentEvent = Selectable<ConsentEventsTable>;
