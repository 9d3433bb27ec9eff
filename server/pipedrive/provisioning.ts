import type { Database } from '../../db/database.js';
import { PipedriveApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import { randomToken, SealedSecretError, sealedPlaces, type SecretBox } from '../security/crypto.js';
import type { CrmPort } from './crm-port.js';

export const CONSENT_FIELD_NAME = 'SMS consent';
export const CONSENT_GRANTED = 'Granted';
export const CONSENT_OPTED_OUT = 'Opted out';
export const ACTIVITY_TYPE_NAME = 'SMS';
export const WEBHOOK_PATH = '/webhooks/pipedrive';

export type ProvisioningStep = 'consent_field' | 'activity_type' | 'webhook';
export type ProvisioningProblem = { step: ProvisioningStep; needsAdmin: boolean; message: string };
export type ProvisioningResult = {
  status: 'complete' | 'needs_admin' | 'failed';
  problems: ProvisioningProblem[];
  consentFieldKey: string | null;
  activityTypeKey: string | null;
  webhookId: string | null;
};

const ADMIN_HINT = 'A Pipedrive admin of your company must install the app (or reinstall it) to finish the set-up.';

/**
 * Makes sure the company has what the app needs in Pipedrive: the "SMS consent" person field, the "SMS" activity
 * type and a v2 deal webhook with our per-company Basic credentials. Idempotent: existing items are reused, so a
 * second install (or a non-admin install after an admin's) changes nothing. Each step is independent: a refused
 * step is recorded with what an admin must do, and the others still run.
 */
export function createProvisioner(deps: {
  database: Database;
  secrets: SecretBox;
  logger: Logger;
  appUrl: string;
  now: () => number;
}) {
  const { database, secrets, logger } = deps;
  const { db } = database;
  const subscriptionUrl = `${deps.appUrl}${WEBHOOK_PATH}`;
  // Two installs of one company at the same moment must not create two fields or two webhooks.
  const running = new Map<string, Promise<ProvisioningResult>>();

  async function consentField(crm: CrmPort) {
    const fields = await crm.listPersonFields();
    let field = fields.find((f) => f.name.trim().toLowerCase() === CONSENT_FIELD_NAME.toLowerCase() && f.fieldType === 'enum');
    if (!field) field = await crm.addPersonField({ name: CONSENT_FIELD_NAME, options: [CONSENT_GRANTED, CONSENT_OPTED_OUT] });
    const option = (label: string) => field.options.find((o) => o.label.trim().toLowerCase() === label.toLowerCase());
    const granted = option(CONSENT_GRANTED);
    const optedOut = option(CONSENT_OPTED_OUT);
    const missing = [!granted && CONSENT_GRANTED, !optedOut && CONSENT_OPTED_OUT].filter(Boolean);
    return { key: field.key, granted: granted?.id ?? null, optedOut: optedOut?.id ?? null, missing: missing as string[] };
  }

  async function activityType(crm: CrmPort) {
    const types = await crm.listActivityTypes();
    const existing = types.find((t) => t.name.trim().toLowerCase() === ACTIVITY_TYPE_NAME.toLowerCase() && t.active);
    if (existing) return existing.keyString;
    return (await crm.addActivityType({ name: ACTIVITY_TYPE_NAME, iconKey: 'bubble' })).keyString;
  }

  /** A stored password that no longer opens at this company's row (copied, tampered) is replaced by a new webhook. */
  function opensHere(companyId: string, sealed: string): boolean {
    try {
      secrets.open(sealed, sealedPlaces.webhookPassword(companyId));
      return true;
    } catch (error) {
      if (!(error instanceof SealedSecretError)) throw error;
      logger.warn({ companyId, reason: error.reason }, 'stored webhook password cannot be used; the webhook is replaced');
      return false;
    }
  }

  async function webhook(crm: CrmPort, companyId: string, userId: number) {
    const company = await db
      .selectFrom('companies')
      .select(['webhook_id', 'webhook_user', 'webhook_password_sealed'])
      .where('id', '=', companyId)
      .executeTakeFirstOrThrow();
    const hooks = await crm.listWebhooks();
    const ours = hooks.filter((h) => h.subscriptionUrl === subscriptionUrl);
    const usable = company.webhook_password_sealed !== null && opensHere(companyId, company.webhook_password_sealed);
    const kept = ours.find((h) => String(h.id) === company.webhook_id && usable && h.eventObject === 'deal' && h.version === '2.0');
    if (kept) return String(kept.id);
    // A webhook to our URL whose credentials we no longer hold would be refused by us forever: replace it.
    for (const stale of ours) await crm.deleteWebhook(stale.id);
    const user = `pd-${companyId}`;
    const password = randomToken(32);
    const created = await crm.addWebhook({
      name: 'SMS for Pipedrive: deal events',
      subscriptionUrl,
      eventObject: 'deal',
      eventAction: '*',
      httpAuthUser: user,
      httpAuthPassword: password,
      userId,
    });
    await db
      .updateTable('companies')
      .set({ webhook_id: String(created.id), webhook_user: user, webhook_password_sealed: secrets.seal(password, sealedPlaces.webhookPassword(companyId)) })
      .where('id', '=', companyId)
      .execute();
    return String(created.id);
  }

  async function run(crm: CrmPort, companyId: string, userId: number): Promise<ProvisioningResult> {
    const problems: ProvisioningProblem[] = [];
    const attempt = async <T>(step: ProvisioningStep, what: string, fn: () => Promise<T>): Promise<T | null> => {
      try {
        return await fn();
      } catch (error) {
        const needsAdmin = error instanceof PipedriveApiError && (error.status === 403 || error.status === 401);
        const message = needsAdmin
          ? `${what}: Pipedrive refused it because the installing user is not an admin. ${ADMIN_HINT}`
          : `${what} failed: ${error instanceof Error ? error.message : String(error)}. Reinstalling the app retries it.`;
        problems.push({ step, needsAdmin, message });
        logger.warn({ companyId, step, needsAdmin, err: error }, 'provisioning step failed');
        return null;
      }
    };

    const field = await attempt('consent_field', `Creating the person field "${CONSENT_FIELD_NAME}"`, () => consentField(crm));
    if (field && field.missing.length > 0) {
      problems.push({
        step: 'consent_field',
        needsAdmin: false,
        message: `The person field "${CONSENT_FIELD_NAME}" exists but lacks the option(s) ${field.missing
          .map((m) => `"${m}"`)
          .join(' and ')}. Add them in Pipedrive (Company settings → Data fields → Person), then reinstall.`,
      });
    }
    const typeKey = await attempt('activity_type', `Creating the activity type "${ACTIVITY_TYPE_NAME}"`, () => activityType(crm));
    const webhookId = await attempt('webhook', 'Creating the deal webhook', () => webhook(crm, companyId, userId));

    const status = problems.length === 0 ? 'complete' : problems.some((p) => p.needsAdmin) ? 'needs_admin' : 'failed';
    // Keep what an earlier (admin) install found when this one could not look.
    await db
      .updateTable('companies')
      .set({
        ...(field ? { consent_field_key: field.key, consent_granted_option: str(field.granted), consent_opted_out_option: str(field.optedOut) } : {}),
        ...(typeKey ? { activity_type_key: typeKey } : {}),
        provisioning_status: status,
        provisioning_problems: JSON.stringify(problems),
        updated_at: new Date(deps.now()).toISOString(),
      })
      .where('id', '=', companyId)
      .execute();
    logger.info({ companyId, status, problems: problems.length }, 'company provisioned');
    return { status, problems, consentFieldKey: field?.key ?? null, activityTypeKey: typeKey, webhookId };
  }

  return {
    subscriptionUrl,
    provision(crm: CrmPort, companyId: string, userId: number): Promise<ProvisioningResult> {
      const inFlight = running.get(companyId);
      const next = (inFlight ?? Promise.resolve())
        .catch(() => undefined)
        .then(() => run(crm, companyId, userId))
        .finally(() => {
          if (running.get(companyId) === next) running.delete(companyId);
        });
      running.set(companyId, next);
      return next;
    },
  };
}

export type Provisioner = ReturnType<typeof createProvisioner>;

const str = (v: number | null) => (v === null ? null : String(v));
