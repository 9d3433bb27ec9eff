import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createApp } from '../../server/app.js';
import { ConfigError, loadConfig } from '../../server/config.js';
import { createRigOn, engines, FROM_NUMBER, sleep, type Rig } from '../support/rig.js';

// GET /metrics (Prometheus, behind METRICS_TOKEN) after real traffic through the app, and GET /readyz.

let rig: Rig;
const TOKEN = 'metrics-token-0123456789abcdef';
const COMPANY = '1001';
const ANN_PHONE = '+14155552671';
const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
const nora = () => rig.demo.persons.find((p) => p.name === 'Nora Noconsent')!;

type Sample = { name: string; labels: Record<string, string>; value: number };

/** The exposition format's sample lines, read plainly (no label value of ours holds a quote or a comma). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([\w:]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unreadable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of match[2] ? match[2].split(',') : []) {
      const [key, quoted] = pair.split('=') as [string, string];
      labels[key] = quoted.slice(1, -1);
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(): Promise<Sample[]> {
  const res = await request(rig.appUrl).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
  expect(res.status).toBe(200);
  return parse(res.text);
}

/** The value of the one sample with exactly these labels (0 when the series does not exist yet). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()));
  expect(hits.length, `${name} ${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
  return hits[0]?.value ?? 0;
}

async function moveToQuoteSent(dealId: number) {
  return rig.pd.moveDealToStage(dealId, rig.demo.stages.quoteSent);
}

describe('METRICS_TOKEN', () => {
  it('is optional, and refused when short or holding spaces (a guessable token would open the metrics)', () => {
    const env = { PIPEDRIVE_CLIENT_ID: 'id', PIPEDRIVE_CLIENT_SECRET: 'secret', ENCRYPTION_KEY: 'a'.repeat(64) };
    expect(loadConfig(env).metricsToken).toBeNull();
    expect(loadConfig({ ...env, METRICS_TOKEN: TOKEN }).metricsToken).toBe(TOKEN);
    for (const bad of ['short', 'sixteen chars ok but spaces']) {
      expect(() => loadConfig({ ...env, METRICS_TOKEN: bad })).toThrow(ConfigError);
    }
  });
});

describe.each(engines)('metrics and readiness on %s', (engine) => {
  beforeEach(async () => {
    rig = await createRigOn(engine, { outbox: { rateLimit: false }, metricsToken: TOKEN });
    await rig.installDemo();
    await rig.ctx.automations.create(COMPANY, rig.demo.automation);
  });
  afterEach(async () => rig?.close());

  it('answers 404 without METRICS_TOKEN configured, 401 without or with a wrong token, the registry with the right one', async () => {
    const unconfigured = createApp({ ...rig.ctx, config: { ...rig.ctx.config, metricsToken: null } });
    const absent = await request(unconfigured).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    expect(absent.status).toBe(404);
    expect(absent.body).toEqual({ error: { code: 'not_found', message: 'No such route' } });

    const none = await request(rig.appUrl).get('/metrics');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    for (const header of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN]) {
      const wrong = await request(rig.appUrl).get('/metrics').set('Authorization', header);
      expect(wrong.status, header).toBe(401);
      expect(wrong.text).not.toContain('sms_');
    }

    const good = await request(rig.appUrl).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    expect(good.status).toBe(200);
    expect(good.headers['content-type']).toContain('text/plain');
    expect(good.text).toContain('# TYPE sms_sends_total counter');
    expect(good.text).toContain('nodejs_eventloop_lag_p99_seconds');
  });

  it('counts webhooks, sends, Twilio error codes, vendor calls, 429s, retries and latencies from real traffic', async () => {
    // A deal webhook, and Pipedrive's retry of it.
    const [first] = await moveToQuoteSent(ann().dealId);
    expect(first!.status).toBe(200);
    expect((await rig.pd.redeliver(first!.eventId)).status).toBe(200);
    // Pipedrive answers the person's read with a 429 once; the client waits and reads again.
    rig.pd.injectFault({ method: 'GET', path: /^\/api\/v2\/persons\/\d+$/, status: 429, headers: { 'x-ratelimit-reset': '0' } });
    await rig.drain();
    expect(rig.tw.messagesTo(ANN_PHONE)).toHaveLength(1);

    // Ann replies; Pipedrive refuses the reply's activity once (503), so the job is retried.
    rig.pd.injectFault({ method: 'POST', path: '/api/v2/activities', status: 503 });
    expect((await rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'Thanks, call me' })).status).toBe(200);
    await rig.settle();

    // Twilio blocks Ann (she unsubscribed from the number): the next text is refused with 21610.
    rig.tw.block(FROM_NUMBER, ANN_PHONE);
    await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.negotiation);
    await moveToQuoteSent(ann().dealId);
    await rig.settle();

    // Refusals: a wrong Basic password, a forged and a missing Twilio signature, a body that is not JSON.
    const basic = Buffer.from(`pd-${COMPANY}:not-the-password`).toString('base64');
    expect((await request(rig.appUrl).post('/webhooks/pipedrive').set('Authorization', `Basic ${basic}`).send({})).status).toBe(401);
    const params = { MessageSid: `SM${'c'.repeat(32)}`, AccountSid: rig.twAccount.sid, From: ANN_PHONE, To: FROM_NUMBER, Body: 'hi' };
    const forged = await request(rig.appUrl).post('/webhooks/twilio/inbound').type('form').set('X-Twilio-Signature', 'Zm9yZ2Vk').send(params);
    expect(forged.status).toBe(403);
    expect((await request(rig.appUrl).post('/webhooks/twilio/status').type('form').send(params)).status).toBe(400);

    const m = await scrape();
    expect(value(m, 'sms_webhooks_received_total', { webhook: 'pipedrive', result: 'accepted' })).toBe(3);
    expect(value(m, 'sms_webhooks_received_total', { webhook: 'pipedrive', result: 'duplicate' })).toBe(1);
    expect(value(m, 'sms_webhooks_received_total', { webhook: 'pipedrive', result: 'unauthorized' })).toBe(1);
    expect(value(m, 'sms_webhooks_received_total', { webhook: 'twilio_inbound', result: 'accepted' })).toBe(1);
    expect(value(m, 'sms_webhooks_received_total', { webhook: 'twilio_inbound', result: 'unauthorized' })).toBe(1);
    expect(value(m, 'sms_webhooks_received_total', { webhook: 'twilio_status', result: 'bad_request' })).toBe(1);

    expect(value(m, 'sms_sends_total', { result: 'sent', error_code: 'none' })).toBe(1);
    expect(value(m, 'sms_sends_total', { result: 'unsubscribed', error_code: '21610' })).toBe(1);
    expect(value(m, 'sms_send_latency_seconds_count')).toBe(2);
    expect(value(m, 'sms_end_to_end_latency_seconds_count')).toBe(1);
    expect(value(m, 'sms_end_to_end_latency_seconds_bucket', { le: '+Inf' })).toBe(1);

    expect(value(m, 'sms_vendor_rate_limited_total', { vendor: 'pipedrive', operation: 'get person' })).toBe(1);
    expect(value(m, 'sms_vendor_call_duration_seconds_count', { vendor: 'pipedrive', operation: 'get person', outcome: 'rate_limited' })).toBe(1);
    expect(value(m, 'sms_vendor_call_duration_seconds_count', { vendor: 'pipedrive', operation: 'get person', outcome: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(value(m, 'sms_vendor_call_duration_seconds_count', { vendor: 'twilio', operation: 'messages.create', outcome: 'ok' })).toBe(1);
    expect(value(m, 'sms_vendor_call_duration_seconds_count', { vendor: 'twilio', operation: 'messages.create', outcome: 'client_error' })).toBe(1);
    expect(value(m, 'sms_retries_total', { queue: 'jobs', kind: 'inbound.log_reply', outcome: 'retry' })).toBe(1);

    // No label carries a phone number, a company id or a message's text.
    const text = (await request(rig.appUrl).get('/metrics').set('Authorization', `Bearer ${TOKEN}`)).text;
    for (const secret of [ANN_PHONE, '4155552671', `"${COMPANY}"`, 'Thanks, call me', 'your quote for']) expect(text).not.toContain(secret);
  });

  it('reads the queue depth by state from the table when scraped', async () => {
    await moveToQuoteSent(ann().dealId);
    await moveToQuoteSent(nora().dealId);
    const db = rig.ctx.database.db;
    const [held] = await db.selectFrom('outbound_messages').select('id').where('deal_id', '=', nora().dealId).execute();
    await db.updateTable('outbound_messages').set({ state: 'scheduled', next_attempt_at: new Date(Date.now() + 3_600_000).toISOString() }).where('id', '=', held!.id).execute();

    let m = await scrape();
    expect(value(m, 'sms_queue_depth', { queue: 'messages', state: 'queued' })).toBe(1);
    expect(value(m, 'sms_queue_depth', { queue: 'messages', state: 'scheduled' })).toBe(1);
    expect(value(m, 'sms_queue_depth', { queue: 'messages', state: 'sending' })).toBe(0);
    expect(value(m, 'sms_queue_depth', { queue: 'jobs', state: 'queued' })).toBe(0);

    await rig.drain();
    m = await scrape();
    expect(value(m, 'sms_queue_depth', { queue: 'messages', state: 'queued' })).toBe(0);
    expect(value(m, 'sms_queue_depth', { queue: 'messages', state: 'scheduled' })).toBe(1);
  });

  it('/readyz is 200 while the database answers and the worker turns, 503 naming the check that failed', async () => {
    const notStarted = await request(rig.appUrl).get('/readyz');
    expect(notStarted.status).toBe(503);
    expect(notStarted.body).toEqual({ status: 'unavailable', failed: ['worker'], database: 'ok', worker: 'stopped' });

    rig.ctx.outbox.start();
    let ready = await request(rig.appUrl).get('/readyz');
    for (let i = 0; i < 100 && ready.status !== 200; i++) {
      await sleep(20);
      ready = await request(rig.appUrl).get('/readyz');
    }
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready' });
    expect((await request(rig.appUrl).get('/healthz')).body).toMatchObject({ status: 'ok' });

    await rig.ctx.outbox.stop();
    const stopped = await request(rig.appUrl).get('/readyz');
    expect(stopped.status).toBe(503);
    expect(stopped.body).toMatchObject({ failed: ['worker'], worker: 'stopped' });

    // With the database closed (the restart's pause), the old app answers that the database is down.
    await rig.restart(async () => {
      const down = await request(rig.appUrl).get('/readyz');
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ failed: ['database', 'worker'], database: 'down' });
    });
  });
});
