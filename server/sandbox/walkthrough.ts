import express, { Router } from 'express';
import { SignJWT } from 'jose';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { parseBody } from '../http/validation.js';
import { createDemoReset, type DemoParts } from './demo-reset.js';
import { parseCompanySettings } from '../companies/company-settings.js';
import { checkSendingWindow, describeSendingWindow, resolveDefaultPhone, type SendingWindow } from '../messaging/index.js';
import { HOST_JS, HOST_PAGE_JS, SETTINGS_HOST_JS, WALKTHROUGH_JS, hostPageHtml, settingsHostPageHtml, walkthroughPageHtml } from './walkthrough-pages.js';

export type SandboxParts = DemoParts & { fromNumber: string };

const moveBody = z.object({ dealId: z.number().int().positive(), stageId: z.number().int().positive() });
const quietHoursBody = z.object({ on: z.boolean() });
const resetBody = z.object({ confirm: z.literal(true) });
const replyBody = z.object({ from: z.string().regex(/^\+[1-9]\d{1,14}$/), body: z.string().min(1).max(1600) });

/**
 * The sandbox walk-through, mounted only in sandbox mode (no real Pipedrive or Twilio account needed): a page standing in for Pipedrive's deal view
 * (the real panel in an iframe, driven over the real SDK message protocol), the emulated pipeline, and a simulated
 * phone. Everything it shows goes through the app's real routes, webhooks and the real SDKs.
 */
export function createSandboxRouter(ctx: AppContext, parts: SandboxParts): Router {
  const router = Router();
  const { pd, tw, demo } = parts;
  const companyId = demo.companyId;
  const json = express.json({ limit: '16kb' });
  const demoState = createDemoReset(ctx, parts);

  const token = (userId: number) =>
    new SignJWT({ userId, companyId })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(ctx.config.pipedrive.jwtSecret));

  router.get('/', (_req, res) => res.redirect(302, '/sandbox'));
  router.get('/sandbox', (_req, res) => res.type('html').send(walkthroughPageHtml()));
  // A bare host page: the panel alone inside the SDK protocol (used by the browser tests and for screenshots).
  router.get('/sandbox/host', (_req, res) => res.type('html').send(hostPageHtml()));
  // The app-settings page inside the same SDK host, as the demo company's admin sees it.
  router.get('/sandbox/settings', (_req, res) => res.type('html').send(settingsHostPageHtml()));

  for (const [file, source] of [
    ['host.js', HOST_JS],
    ['host-page.js', HOST_PAGE_JS],
    ['walkthrough.js', WALKTHROUGH_JS],
    ['settings-host.js', SETTINGS_HOST_JS],
  ] as const) {
    router.get(`/sandbox/assets/${file}`, (_req, res) => res.type('application/javascript').send(source));
  }

  router.get('/sandbox/api/token', async (req, res) => {
    const userId = Number(req.query.userId) || demo.adminUserId;
    res.json({ token: await token(userId) });
  });

  router.get('/sandbox/api/state', async (req, res) => {
    const company = await ctx.companies.find(String(companyId));
    // The demo pipeline only (a company may have others).
    const stages = pd.stages(companyId).filter((st) => st.pipeline_id === demo.pipelineId).sort((a, b) => a.order_nr - b.order_nr);
    const deals = pd.deals(companyId).map((d) => {
      const person = d.person_id ? pd.person(d.person_id) : undefined;
      const phone = person?.phones.find((p) => p.primary)?.value ?? person?.phones[0]?.value ?? null;
      return { id: d.id, title: d.title, stageId: d.stage_id, person: person ? { id: person.id, name: person.name, phone } : null };
    });
    const dealId = Number(req.query.dealId) || deals[0]?.id;
    const deal = deals.find((d) => d.id === dealId) ?? null;
    const e164 = req.query.phone ? String(req.query.phone) : null;
    const quietHours = company?.parsedSettings.quietHours ?? null;
    res.json({
      company: company
        ? { id: company.id, name: company.name, provisioning: company.provisioning_status, webhookId: company.webhook_id, consentFieldKey: company.consent_field_key }
        : null,
      adminUserId: demo.adminUserId,
      fromNumber: parts.fromNumber,
      stages: stages.map((s) => ({ id: s.id, name: s.name })),
      automations: company ? await ctx.automations.list(company.id) : [],
      deals,
      deal,
      // Whom the app would text now, as the console said at start.
      persons: await demoState.statuses(),
      quietHours,
      contactClock: deal?.person ? await contactClock(deal.person.name, deal.person.phone, quietHours, company?.time_zone ?? null) : null,
      phone: e164 ? { e164, inbox: phoneConversation(e164) } : null,
      activities: deal
        ? pd
            .activities(companyId)
            .filter((a) => a.deal_id === deal.id)
            .map((a) => ({ id: a.id, subject: a.subject, type: a.type, note: a.note, at: a.add_time }))
            .reverse()
        : [],
    });
  });

  router.post('/sandbox/api/move', json, async (req, res) => {
    const { dealId, stageId } = parseBody(moveBody, req.body);
    if (!pd.deal(dealId)) throw new NotFoundError('No such deal');
    if (!pd.stages(companyId).some((s) => s.id === stageId)) throw new BadRequestError('No such stage');
    const deliveries = await pd.moveDealToStage(dealId, stageId);
    res.json({ deliveries: deliveries.map((d) => ({ status: d.status, body: d.body })) });
  });

  router.post('/sandbox/api/reply', json, async (req, res) => {
    const { from, body } = parseBody(replyBody, req.body);
    const result = await tw.reply({ from, to: parts.fromNumber, body });
    res.json({ status: result.status, keyword: result.keyword, twiml: result.twiml });
  });

  // The walk-through's quiet hours switch: off is the demo's first state (a text arrives at any hour); on is the default window.
  router.post('/sandbox/api/quiet-hours', json, async (req, res) => {
    const { on } = parseBody(quietHoursBody, req.body);
    const company = await ctx.companies.find(String(companyId));
    if (!company) throw new NotFoundError('The demo company is not installed yet');
    // Through the settings parser: a window left out (undefined is not written as JSON) reads as the default one.
    const settings = parseCompanySettings(JSON.stringify({ ...company.parsedSettings, quietHours: on ? undefined : null }));
    await ctx.companies.updateSettings(company.id, settings, new Date(ctx.clock.now()).toISOString());
    res.json({ quietHours: settings.quietHours });
  });

  // "Reset the demo": the first state again (a restart does the same).
  router.post('/sandbox/api/reset', json, async (req, res) => {
    // A JSON body: a page of another site cannot send one without the browser asking this server first.
    parseBody(resetBody, req.body);
    await demoState.reset();
    res.json({ persons: await demoState.statuses() });
  });

  /** The contact's local time in each zone of the number, and whether a text due now would go or wait (and until when). */
  async function contactClock(name: string, phone: string | null, window: SendingWindow | null, companyZone: string | null) {
    const resolved = resolveDefaultPhone([{ value: phone, primary: true }]);
    if (!resolved.ok) return null;
    const now = ctx.clock.now();
    const zones = await ctx.zones.zonesOf(resolved.e164);
    const decision = checkSendingWindow({ window, zones, companyZone: companyZone ?? 'UTC', e164: resolved.e164, now });
    const views = (zones.length > 0 ? zones : [companyZone ?? 'UTC']).map((zone) => describeSendingWindow({ window, zone, now, e164: resolved.e164 }));
    const first = views[0];
    return {
      name: name.split(' ')[0],
      zones: views.map((v) => ({ zone: v.zone, localTime: v.localTime })),
      open: decision.open,
      notBefore: decision.open || decision.notBefore === null ? null : new Date(decision.notBefore).toISOString(),
      // In the first zone's local time (the walk-through's demo numbers have one).
      opensAt: decision.open || decision.notBefore === null || !first ? null : describeSendingWindow({ window, zone: first.zone, now: decision.notBefore }).localTime,
    };
  }

  /** What the simulated phone shows: texts it received (app messages, Twilio auto-replies) and the replies it sent. */
  function phoneConversation(e164: string) {
    const received = tw.inbox(e164).map((m) => ({ from: m.from, body: m.body, kind: m.kind as string, at: m.at }));
    const sent = tw
      .messages()
      .filter((m) => m.direction === 'inbound' && m.from === e164)
      .map((m) => ({ from: m.from, body: m.body, kind: 'reply', at: m.dateCreated }));
    return [...received, ...sent].sort((a, b) => a.at.getTime() - b.at.getTime());
  }

  return router;
}
