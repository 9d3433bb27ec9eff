import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { BadRequestError, UnauthorizedError } from '../errors.js';
import { OAuthGrantError } from '../pipedrive/oauth-client.js';
import { createPipedriveClient } from '../pipedrive/pipedrive-client.js';
import { basicAuthMatches } from '../security/crypto.js';
import { createStateSigner } from './oauth-state.js';
import { escapeHtml, page } from './pages.js';

const NONCE_COOKIE = 'pd_oauth_nonce';

const uninstallBody = z.object({
  client_id: z.union([z.string(), z.number()]).transform(String),
  company_id: z.union([z.string().regex(/^\d+$/), z.number().int()]).transform(String),
  user_id: z.union([z.string().regex(/^\d+$/), z.number().int()]).transform(String),
  timestamp: z.unknown().optional(),
});

/** Install (GET /oauth/start → Pipedrive → GET /oauth/callback) and uninstall (DELETE /oauth/callback). */
export function createOAuthRouter(ctx: AppContext): Router {
  const router = Router();
  const { pipedrive, appUrl } = ctx.config;
  const states = createStateSigner(pipedrive.clientSecret, ctx.clock.now);
  const secureCookie = appUrl.startsWith('https://');
  const log = ctx.logger.child({ subsystem: 'oauth' });

  router.get('/oauth/start', (_req, res) => {
    const { state, nonce } = states.issue();
    res.cookie(NONCE_COOKIE, nonce, { httpOnly: true, sameSite: 'lax', secure: secureCookie, path: '/oauth', maxAge: 10 * 60_000 });
    res.redirect(302, ctx.oauth.authorizeUrl(state));
  });

  router.get('/oauth/callback', async (req: Request, res: Response) => {
    const q = req.query as Record<string, unknown>;
    const error = typeof q.error === 'string' ? q.error : undefined;
    if (error) {
      res.clearCookie(NONCE_COOKIE, { path: '/oauth' });
      const cancelled = error === 'user_denied';
      res
        .status(cancelled ? 200 : 400)
        .type('html')
        .send(
          page(
            cancelled ? 'Installation cancelled' : 'Installation failed',
            cancelled
              ? `<h1>Installation cancelled</h1><p>SMS for Pipedrive was not installed and nothing was stored. You can <a href="/oauth/start">start the installation again</a> at any time.</p>`
              : `<h1>Installation failed</h1><p>Pipedrive answered: ${escapeHtml(error)}.</p><p><a href="/oauth/start">Try again</a></p>`,
          ),
        );
      return;
    }
    const cookie = readNonceCookie(req);
    const refusal = cookie.problem ?? states.check(typeof q.state === 'string' ? q.state : undefined, cookie.nonce);
    if (refusal) {
      log.warn({ reason: refusal }, 'install callback refused');
      res
        .status(400)
        .type('html')
        .send(page('Installation link not valid', `<h1>This installation link is not valid</h1><p>${escapeHtml(refusal)}. Please <a href="/oauth/start">start the installation again</a>.</p>`));
      return;
    }
    const code = typeof q.code === 'string' ? q.code : '';
    if (!code) throw new BadRequestError('the callback has neither code nor error');
    res.clearCookie(NONCE_COOKIE, { path: '/oauth' });

    let tokens;
    try {
      tokens = await ctx.oauth.exchangeCode(code);
    } catch (e) {
      if (e instanceof OAuthGrantError) {
        res
          .status(400)
          .type('html')
          .send(page('Installation expired', `<h1>The authorisation expired</h1><p>Pipedrive's code is valid for five minutes and once only. Please <a href="/oauth/start">start again</a>.</p>`));
        return;
      }
      throw e;
    }
    const crm = createPipedriveClient({
      apiDomain: tokens.apiDomain,
      metrics: ctx.metrics,
      tokens: { accessToken: async () => tokens.accessToken, refreshAfterUnauthorized: async () => tokens.accessToken },
    });
    const me = await crm.getCurrentUser();
    const saved = await ctx.installations.save(tokens, me);
    const result = await ctx.provisioner.provision(crm, saved.companyId, me.id);
    log.info({ companyId: saved.companyId, userId: saved.userId, provisioning: result.status }, 'app installed');

    const back = me.companyDomain
      ? `https://${encodeURIComponent(me.companyDomain)}.pipedrive.com/settings/marketplace/app/${encodeURIComponent(pipedrive.clientId)}/app-settings`
      : null;
    const problems = result.problems.length
      ? `<div class="warn"><p><strong>Set-up is not finished.</strong></p><ul>${result.problems
          .map((p) => `<li>${escapeHtml(p.message)}</li>`)
          .join('')}</ul></div>`
      : '<p class="ok">Everything is set up: the "SMS consent" person field, the "SMS" activity type and the deal webhook.</p>';
    res
      .status(200)
      .type('html')
      .send(
        page(
          'SMS for Pipedrive is installed',
          `<h1>SMS for Pipedrive is installed</h1><p>Installed for <strong>${escapeHtml(me.companyName)}</strong> by ${escapeHtml(me.name)}.</p>${problems}${
            back ? `<p><a class="button" href="${escapeHtml(back)}">Back to Pipedrive</a></p>` : ''
          }`,
        ),
      );
  });

  // Pipedrive's notice when a user installs or extension visibility changes; nothing to do, but it must not fail.
  router.post('/oauth/callback', (_req, res) => {
    res.status(200).json({ ok: true });
  });

  router.delete('/oauth/callback', express.json({ limit: '16kb' }), async (req, res) => {
    if (!basicAuthMatches(req.headers.authorization, pipedrive.clientId, pipedrive.clientSecret)) {
      throw new UnauthorizedError('uninstall needs Basic client credentials');
    }
    const parsed = uninstallBody.safeParse(req.body);
    if (!parsed.success) throw new BadRequestError('uninstall body must have client_id, company_id and user_id');
    if (parsed.data.client_id !== pipedrive.clientId) throw new BadRequestError('client_id is not this app');
    const { company_id: companyId, user_id: userId } = parsed.data;
    const result = await ctx.installations.uninstall(companyId, userId);
    log.info({ companyId, userId, ...result }, 'app uninstalled');
    res.status(200).json({ ok: true, ...result });
  });

  return router;
}

/** What /oauth/start sets: base64url of 18 random bytes. */
const NONCE_SHAPE = /^[\w-]{16,64}$/;

/**
 * The install nonce from the Cookie header, or why it cannot be used. The header is the browser's (or anyone's)
 * input: broken percent-encoding, a value that is not a nonce, or the name twice (which one did we set?) make the
 * link not valid, a 400, rather than a crash or a guess.
 */
function readNonceCookie(req: Request): { nonce?: string; problem?: string } {
  const header = req.headers.cookie;
  if (!header) return {};
  const values: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === NONCE_COOKIE) values.push(part.slice(eq + 1).trim());
  }
  if (values.length === 0) return {};
  if (values.length > 1) return { problem: 'the session cookie is ambiguous' };
  let value: string;
  try {
    value = decodeURIComponent(values[0]!);
  } catch {
    return { problem: 'the session cookie is malformed' };
  }
  return NONCE_SHAPE.test(value) ? { nonce: value } : { problem: 'the session cookie is malformed' };
}
