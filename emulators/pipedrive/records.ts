// The records the Pipedrive emulator keeps, one per object of the real API; shapes.ts and webhook-shapes.ts render
// them on the wire.

export interface PdCompany {
  id: number;
  name: string;
  /** Subdomain: `acme` stands for `acme.pipedrive.com`. */
  domain: string;
}

export interface PdUser {
  id: number;
  companyId: number;
  name: string;
  email: string;
  isAdmin: boolean;
  locale: string;
  timezoneName: string;
  created: string;
}

export interface PdContactEntry {
  value: string;
  primary: boolean;
  label: string;
}

export interface PdPerson {
  id: number;
  companyId: number;
  name: string;
  first_name: string | null;
  last_name: string | null;
  owner_id: number;
  org_id: number | null;
  phones: PdContactEntry[];
  emails: PdContactEntry[];
  /** API-v2 values: enum → option id (number), set → number[], text → string. */
  custom_fields: Record<string, unknown>;
  notes: string | null;
  visible_to: number;
  label_ids: number[];
  add_time: string;
  update_time: string;
}

export interface PdDeal {
  id: number;
  companyId: number;
  title: string;
  person_id: number | null;
  org_id: number | null;
  stage_id: number;
  pipeline_id: number;
  owner_id: number;
  creator_user_id: number;
  status: 'open' | 'won' | 'lost' | 'deleted';
  value: number;
  currency: string;
  custom_fields: Record<string, unknown>;
  probability: number | null;
  lost_reason: string | null;
  visible_to: number;
  expected_close_date: string | null;
  label_ids: number[];
  add_time: string;
  update_time: string;
  stage_change_time: string | null;
  close_time: string | null;
  won_time: string | null;
  lost_time: string | null;
}

export interface PdPipeline {
  id: number;
  companyId: number;
  name: string;
  order_nr: number;
  is_deal_probability_enabled: boolean;
  add_time: string;
  update_time: string;
}

export interface PdStage {
  id: number;
  companyId: number;
  pipeline_id: number;
  name: string;
  order_nr: number;
  deal_probability: number;
  add_time: string;
  update_time: string;
}

export interface PdFieldOption {
  id: number;
  label: string;
}

export interface PdPersonField {
  id: number;
  companyId: number;
  /** 40-hex hash for custom fields, a plain name (`name`, `phone`) for the built-in ones. */
  key: string;
  name: string;
  field_type: string;
  options: PdFieldOption[] | null;
  isCustom: boolean;
  add_visible_flag: boolean;
  created_by_user_id: number | null;
  add_time: string;
  update_time: string;
}

export interface PdActivityType {
  id: number;
  companyId: number;
  name: string;
  key_string: string;
  icon_key: string;
  color: string | null;
  order_nr: number;
  is_custom_flag: boolean;
  active_flag: boolean;
  add_time: string;
  update_time: string;
}

export interface PdParticipant {
  person_id: number;
  primary: boolean;
}

export interface PdActivity {
  id: number;
  companyId: number;
  subject: string;
  type: string;
  owner_id: number;
  creator_user_id: number;
  deal_id: number | null;
  lead_id: string | null;
  person_id: number | null;
  org_id: number | null;
  project_id: number | null;
  due_date: string | null;
  due_time: string | null;
  duration: string | null;
  busy: boolean;
  done: boolean;
  marked_as_done_time: string | null;
  participants: PdParticipant[];
  public_description: string | null;
  priority: number | null;
  note: string | null;
  add_time: string;
  update_time: string;
}

export interface PdWebhook {
  id: number;
  companyId: number;
  owner_id: number;
  user_id: number;
  event_action: string;
  event_object: string;
  subscription_url: string;
  version: '1.0' | '2.0';
  is_active: 0 | 1;
  add_time: string;
  type: 'application' | 'general';
  http_auth_user: string | null;
  http_auth_password: string | null;
  last_delivery_time: string | null;
  last_http_status: number | null;
  name: string;
}
