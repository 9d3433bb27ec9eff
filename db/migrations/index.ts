import type { AppMigration } from './migration-types.js';
import * as initial from './2026-11-27T1400-initial.js';
import * as automationsOutbox from './2026-11-27T1500-automations-outbox.js';
import * as inbound from './2026-11-27T1600-inbound.js';
import * as consentByPhone from './2026-11-27T1700-consent-by-phone.js';
import * as reports from './2026-11-27T1800-reports.js';
import * as companyTwilio from './2026-11-27T1900-company-twilio.js';
import * as housekeeping from './2026-11-27T2000-housekeeping.js';
import * as senderPace from './2026-11-27T2100-sender-pace.js';
import * as repliesByMessage from './2026-11-27T2200-replies-by-message.js';
import * as tenantKeys from './2026-12-01T1000-tenant-keys.js';
import * as sealedPlaces from './2026-12-01T1100-sealed-places.js';
import * as fairShare from './2026-12-01T1200-fair-share.js';
import * as abuseLimits from './2026-12-01T1300-abuse-limits.js';
import * as consentActor from './2026-12-01T1400-consent-actor.js';
import * as reportLists from './2026-12-01T1500-report-lists.js';
import * as consentReviews from './2026-12-01T1600-consent-reviews.js';
import * as scheduled from './2026-12-01T1900-scheduled.js';
import * as consentBySender from './2026-12-01T2000-consent-by-sender.js';
import * as workers from './2026-12-01T2100-workers.js';
import * as personName from './2026-12-01T2200-person-name.js';
import * as inboundPanelOrder from './2026-12-02T1000-inbound-panel-order.js';

export type { AppMigration, MigrationInput } from './migration-types.js';

/** Listed explicitly (not read from the folder) so the same list works under tsx, tsc output and bundlers. */
export const migrations: Record<string, AppMigration> = {
  '2026-11-27T1400-initial': initial,
  '2026-11-27T1500-automations-outbox': automationsOutbox,
  '2026-11-27T1600-inbound': inbound,
  '2026-11-27T1700-consent-by-phone': consentByPhone,
  '2026-11-27T1800-reports': reports,
  '2026-11-27T1900-company-twilio': companyTwilio,
  '2026-11-27T2000-housekeeping': housekeeping,
  '2026-11-27T2100-sender-pace': senderPace,
  '2026-11-27T2200-replies-by-message': repliesByMessage,
  '2026-12-01T1000-tenant-keys': tenantKeys,
  '2026-12-01T1100-sealed-places': sealedPlaces,
  '2026-12-01T1200-fair-share': fairShare,
  '2026-12-01T1300-abuse-limits': abuseLimits,
  '2026-12-01T1400-consent-actor': consentActor,
  '2026-12-01T1500-report-lists': reportLists,
  '2026-12-01T1600-consent-reviews': consentReviews,
  '2026-12-01T1900-scheduled': scheduled,
  '2026-12-01T2000-consent-by-sender': consentBySender,
  '2026-12-01T2100-workers': workers,
  '2026-12-01T2200-person-name': personName,
  '2026-12-02T1000-inbound-panel-order': inboundPanelOrder,
};
