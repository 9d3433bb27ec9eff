import express, { Router } from 'express';
import type { AppContext } from '../context.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { defaultHelpText, previewTemplate, validateTemplate } from '../messaging/index.js';
import { companySettingsSchema } from '../companies/company-settings.js';
import type { CompanyProfile } from '../companies/company-store.js';
import type { AutomationInput } from '../automations/automation-store.js';
import { mayEdit } from './admin-guard.js';
import type { CallerAuth } from './caller-auth.js';
import { parseBody } from './validation.js';
import { twilioView } from './twilio-view.js';
import {
  automationCreateBody,
  automationPatchBody,
  provisioningProblemSchema,
  reportQuery,
  settingsPatchBody,
  templatePreviewBody,
  type Automation,
  type AutomationList,
  type PipelineList,
  type Report,
  type SettingsSaved,
  type SettingsView,
  type TemplatePreview,
} from './contracts/index.js';

const ONLY_ADMINS = 'Only a Pipedrive admin who installed the app can change its settings';

/** The set-up problems recorded at install; a row that does not read as a list of them shows none. */
function provisioningProblems(json: string) {
  try {
    const parsed = provisioningProblemSchema.array().safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

function settingsView(ctx: AppContext, company: CompanyProfile, canEdit: boolean): SettingsView {
  return {
    ...company.parsedSettings,
    /** Whether the caller may change the settings (the page shows them read-only otherwise). */
    canEdit,
    company: { id: company.id, name: company.name },
    helpTextDefault: defaultHelpText(company.name),
    provisioning: { status: company.provisioning_status, problems: provisioningProblems(company.provisioning_problems) },
    twilio: twilioView(ctx, company),
  };
}

/**
 * The settings page's API, whose routes and response shapes are a stable interface: automations of the caller's company, the live template preview, settings, and the
 * pipelines and stages to choose from, and the reports.
 */
export function createAutomationsRouter(ctx: AppContext, auth: CallerAuth): Router {
  const router = Router();
  const json = express.json({ limit: '32kb' });
  router.use(['/api/automations', '/api/templates', '/api/settings', '/api/pipelines', '/api/reports'], auth.caller, json);
  const { installed } = auth;
  // Automations text the company's contacts: configuring them is the job of an admin, one who still is in Pipedrive.
  const admin = auth.installingAdmin(ONLY_ADMINS);

  const checkTemplate = (text: string, maxSegments: number) => {
    const v = validateTemplate(text, { maxSegments });
    if (!v.ok) {
      throw new BadRequestError(v.problems.map((p) => p.message).join(' '), {
        problems: v.problems,
        segments: v.segments,
        maxSegments,
        encoding: v.encoding,
        characters: v.characters,
      });
    }
  };

  router.get('/api/automations', installed, async (req, res) => {
    const company = req.company!;
    res.json({ automations: await ctx.automations.list(company.id) } satisfies AutomationList);
  });

  router.post('/api/automations', installed, admin, async (req, res) => {
    const company = req.company!;
    const body = parseBody(automationCreateBody, req.body);
    checkTemplate(body.template, company.parsedSettings.maxSegments);
    res.status(201).json((await ctx.automations.create(company.id, body)) satisfies Automation);
  });

  router.get('/api/automations/:id', installed, async (req, res) => {
    const company = req.company!;
    const found = await ctx.automations.get(company.id, req.params.id as string);
    if (!found) throw new NotFoundError('No such automation');
    res.json(found satisfies Automation);
  });

  router.patch('/api/automations/:id', installed, admin, async (req, res) => {
    const company = req.company!;
    const existing = await ctx.automations.get(company.id, req.params.id as string);
    if (!existing) throw new NotFoundError('No such automation');
    const patch = parseBody(automationPatchBody, req.body);
    const next: AutomationInput = {
      name: patch.name ?? existing.name,
      enabled: patch.enabled ?? existing.enabled,
      trigger: patch.trigger ?? existing.trigger,
      template: patch.template ?? existing.template,
    };
    if (patch.template !== undefined) checkTemplate(next.template, company.parsedSettings.maxSegments);
    const updated = await ctx.automations.update(company.id, existing.id, next);
    if (!updated) throw new NotFoundError('No such automation');
    res.json(updated satisfies Automation);
  });

  router.delete('/api/automations/:id', installed, admin, async (req, res) => {
    const company = req.company!;
    if (!(await ctx.automations.remove(company.id, req.params.id as string))) throw new NotFoundError('No such automation');
    res.status(204).end();
  });

  router.get('/api/settings', installed, async (req, res) => {
    const company = req.company!;
    res.json(settingsView(ctx, company, await mayEdit(ctx, company.id, req.caller!.userId)));
  });

  router.patch('/api/settings', installed, admin, async (req, res) => {
    const company = req.company!;
    const patch = parseBody(settingsPatchBody, req.body);
    const next = companySettingsSchema.parse({ ...company.parsedSettings, ...patch });
    await ctx.companies.updateSettings(company.id, next, new Date(ctx.clock.now()).toISOString());
    // A lower segment limit can leave saved templates that no longer fit: say which, rather than skip them silently.
    const warnings = (await ctx.automations.list(company.id))
      .map((a) => ({ automation: a, check: validateTemplate(a.template, { maxSegments: next.maxSegments }) }))
      .filter(({ check }) => !check.ok)
      .map(({ automation, check }) => ({ automationId: automation.id, name: automation.name, problems: check.problems.map((p) => p.message) }));
    res.json({ ...settingsView(ctx, { ...company, parsedSettings: next }, true), warnings } satisfies SettingsSaved);
  });

  // The stages an automation can watch, grouped by pipeline, read live from Pipedrive (a stage added there a moment
  // ago is offered at once). A Pipedrive failure is a 502 saying Pipedrive failed; the rest of the settings page still works.
  router.get('/api/pipelines', installed, async (req, res) => {
    const company = req.company!;
    const crm = await ctx.installations.crmForCaller(company.id, req.caller!.userId);
    const pipelines = await crm.listPipelines();
    res.set('cache-control', 'no-store').json({ pipelines } satisfies PipelineList);
  });

  // Reports: what became of the messages created in the last `days` days (default 30), per automation.
  router.get('/api/reports', installed, async (req, res) => {
    const company = req.company!;
    const { days } = parseBody(reportQuery, req.query);
    const until = new Date(ctx.clock.now());
    const since = new Date(until.getTime() - days * 86_400_000);
    const report = await ctx.reports.report(company.id, { since, until });
    res.set('cache-control', 'no-store').json({ ...report, days } satisfies Report);
  });

  router.post('/api/templates/preview', installed, async (req, res) => {
    const company = req.company!;
    const body = parseBody(templatePreviewBody, req.body);
    const sample = body.sample
      ? {
          person: body.sample.person as never,
          deal: body.sample.deal as never,
          user: body.sample.user as never,
          company: (body.sample.company ?? { name: company.name }) as never,
        }
      : undefined;
    res.json(previewTemplate(body.template, sample, { maxSegments: company.parsedSettings.maxSegments }) satisfies TemplatePreview);
  });

  return router;
}
