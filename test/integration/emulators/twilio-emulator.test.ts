// The Twilio emulator driven by the real `twilio` SDK (through a RequestClient that only rewrites the origin,
// twilio.md §1.4), and its callbacks checked with the SDK's own signature validation.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import type TwilioRequestClient from 'twilio/lib/base/RequestClient.js';
import type * as TwilioHttpResponse from 'twilio/lib/http/response.js';
import { startTwilioEmulator, TWILIO_AUTO_REPLIES, type TwilioEmulator } from '../../../server/sandbox/twilio-emulator.js';
import { startRequestSink, type RequestSink } from '../../../server/sandbox/emulator-sink.js';

class EmulatorRequestClient extends twilio.RequestClient {
  constructor(
    private readonly origin: string,
    opts?: TwilioRequestClient.RequestClientOptions,
  ) {
    super(opts);
  }

  override request<TData>(opts: TwilioRequestClient.RequestOptions<TData>): Promise<TwilioHttpResponse.default<TData>> {
    const uri = new URL(opts.uri);
    const target = new URL(this.origin);
    uri.protocol = target.protocol;
    uri.host = target.host;
    return super.request<TData>({ ...opts, uri: uri.toString() });
  }
}

const SENDER = '+15557654321';
const PHONE = '+14155552671';

let emu: TwilioEmulator;
let sink: RequestSink;
let account: { sid: string; authToken: string };

function client(opts?: TwilioRequestClient.RequestClientOptions, token = account.authToken): twilio.Twilio {
  return twilio(account.sid, token, { httpClient: new EmulatorRequestClient(emu.url, opts) });
}

function formParams(body: unknown): Record<string, string> {
  return body as Record<string, string>;
}

beforeEach(async () => {
  emu = await startTwilioEmulator();
  sink = await startRequestSink();
  account = emu.addAccount();
  emu.addNumber(account.sid, SENDER, { smsUrl: `${sink.url}/webhooks/twilio/inbound` });
});

afterEach(async () => {
  await emu.close();
  await sink.close();
});

describe('Messages API', () => {
  it('creates a message: 201 → MessageInstance, form body recorded', async () => {
    const message = await client().messages.create({
      to: PHONE, from: SENDER, body: 'Hi there, your quote is ready', statusCallback: `${sink.url}/webhooks/twilio/status`,
    });
    expect(message.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(message).toMatchObject({ status: 'queued', numSegments: '1', to: PHONE, from: SENDER, direction: 'outbound-api', accountSid: account.sid, errorCode: null });
    expect(message.dateCreated).toBeInstanceOf(Date);
    expect(emu.requests[0]?.status).toBe(201);

    const request = emu.requests[0];
    expect(request?.path).toBe(`/2010-04-01/Accounts/${account.sid}/Messages.json`);
    expect(request?.headers['content-type']).toContain('application/x-www-form-urlencoded');
    expect(request?.body).toMatchObject({ To: PHONE, From: SENDER, Body: 'Hi there, your quote is ready' });
    expect(emu.messagesTo(PHONE)).toEqual([expect.objectContaining({ sid: message.sid, body: 'Hi there, your quote is ready', statusCallback: `${sink.url}/webhooks/twilio/status` })]);
    expect(emu.inbox(PHONE).map((e) => e.body)).toEqual(['Hi there, your quote is ready']);
  });

  it('counts segments like Twilio and refuses bad input with Twilio codes', async () => {
    const twoSegments = await client().messages.create({ to: PHONE, from: SENDER, body: 'a'.repeat(161) });
    expect(twoSegments.numSegments).toBe('2');
    const emoji = await client().messages.create({ to: PHONE, from: SENDER, body: `😀${'a'.repeat(69)}` });
    expect(emoji.numSegments).toBe('2');

    await expect(client().messages.create({ to: '4155552671', from: SENDER, body: 'x' })).rejects.toMatchObject({ status: 400, code: 21211 });
    await expect(client().messages.create({ to: PHONE, body: 'x' })).rejects.toMatchObject({ status: 400, code: 21603 });
    await expect(client().messages.create({ to: PHONE, from: '+15550000000', body: 'x' })).rejects.toMatchObject({ status: 400, code: 21606 });
    await expect(client().messages.create({ to: '+15005550009', from: SENDER, body: 'x' })).rejects.toMatchObject({ status: 400, code: 21614 });
  });

  it('answers the 21610 magic number with a RestException', async () => {
    const err = await client().messages.create({ to: '+15005550004', from: SENDER, body: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(twilio.RestException);
    expect(err).toMatchObject({ status: 400, code: 21610, moreInfo: 'https://www.twilio.com/docs/errors/21610' });
    const raw = await fetch(`${emu.url}/2010-04-01/Accounts/${account.sid}/Messages.json`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${account.sid}:${account.authToken}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ To: '+15005550004', From: SENDER, Body: 'x' }).toString(),
    });
    expect(raw.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await raw.json()).toEqual({ code: 21610, message: 'Attempt to send to unsubscribed recipient', more_info: 'https://www.twilio.com/docs/errors/21610', status: 400 });
  });

  it('refuses a wrong auth token with 20003 and unknown routes with 20404', async () => {
    await expect(client(undefined, 'wrong').messages.create({ to: PHONE, from: SENDER, body: 'x' })).rejects.toMatchObject({ status: 401, code: 20003 });
    const res = await fetch(`${emu.url}/2010-04-01/Accounts/${account.sid}/Calls.json`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 20404, status: 404 });
  });

  it('injects 429 (code 20429), which the SDK retries with autoRetry, and dropped connections', async () => {
    emu.injectFault({ path: /Messages\.json$/, status: 429 });
    await expect(client().messages.create({ to: PHONE, from: SENDER, body: 'x' })).rejects.toMatchObject({ status: 429, code: 20429 });

    emu.clearRequests();
    emu.injectFault({ status: 429, times: 2 });
    const retried = await client({ autoRetry: true, maxRetries: 3, maxRetryDelay: 20 }).messages.create({ to: PHONE, from: SENDER, body: 'x' });
    expect(retried.status).toBe('queued');
    expect(emu.requests.map((r) => r.status)).toEqual([429, 429, 201]);

    emu.injectFault({ status: 500 });
    await expect(client().messages.create({ to: PHONE, from: SENDER, body: 'x' })).rejects.toMatchObject({ status: 500, code: 20500 });

    emu.injectFault({ dropConnection: true });
    const err = await client().messages.create({ to: PHONE, from: SENDER, body: 'x' }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(twilio.RestException);
    expect(err).toBeInstanceOf(Error);
  });

  it('fetches one message and lists by To/From/DateSent for reconciliation', async () => {
    const before = new Date(Date.now() - 60_000);
    const sent = await client().messages.create({ to: PHONE, from: SENDER, body: 'one' });
    await client().messages.create({ to: '+14155550000', from: SENDER, body: 'other' });
    const fetched = await client().messages(sent.sid).fetch();
    expect(fetched).toMatchObject({ sid: sent.sid, body: 'one', to: PHONE });
    const listed = await client().messages.list({ to: PHONE, from: SENDER, dateSentAfter: before });
    expect(listed.map((m) => m.sid)).toEqual([sent.sid]);
    const listRequest = emu.requests.at(-1);
    expect(listRequest?.query).toMatchObject({ To: PHONE, From: SENDER, 'DateSent>': expect.any(String) });
    await expect(client().messages('SM00000000000000000000000000000000').fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
  });

  it('pages lists through next_page_uri', async () => {
    for (let i = 0; i < 5; i += 1) await client().messages.create({ to: PHONE, from: SENDER, body: `m${i}` });
    const all = await client().messages.list({ to: PHONE, pageSize: 2 });
    expect(all.map((m) => m.body).sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(emu.requests.filter((r) => r.method === 'GET')).toHaveLength(3);
  });

  it('sends through a Messaging Service: accepted, from null until a sender is picked', async () => {
    const service = emu.addMessagingService(account.sid, { numbers: [SENDER] });
    const message = await client().messages.create({ to: PHONE, messagingServiceSid: service.sid, body: 'x' });
    expect(message).toMatchObject({ status: 'accepted', from: null, numSegments: '0', messagingServiceSid: service.sid });
    expect(emu.message(message.sid)?.from).toBe(SENDER);
  });
});

describe('callbacks and the simulated phone', () => {
  it('POSTs signed status callbacks that the SDK validates', async () => {
    const callbackUrl = `${sink.url}/webhooks/twilio/status?company=7`;
    const message = await client().messages.create({ to: PHONE, from: SENDER, body: 'x', statusCallback: callbackUrl });
    expect(await emu.sendStatus(message.sid, 'sent')).toBe(200);
    expect(await emu.sendStatus(message.sid, 'undelivered', { errorCode: 30003 })).toBe(200);

    const [sent, undelivered] = sink.requests;
    expect(sent?.headers['content-type']).toContain('application/x-www-form-urlencoded');
    const params = formParams(sent?.body);
    expect(params).toMatchObject({ MessageSid: message.sid, SmsSid: message.sid, AccountSid: account.sid, From: SENDER, To: PHONE, MessageStatus: 'sent', SmsStatus: 'sent', ApiVersion: '2010-04-01' });
    expect(params).not.toHaveProperty('ErrorCode');
    expect(twilio.validateRequest(account.authToken, sent?.headers['x-twilio-signature'] ?? '', callbackUrl, params)).toBe(true);
    expect(twilio.validateRequest('another-token', sent?.headers['x-twilio-signature'] ?? '', callbackUrl, params)).toBe(false);
    expect(formParams(undelivered?.body)).toMatchObject({ MessageStatus: 'undelivered', ErrorCode: '30003' });

    const fetched = await client().messages(message.sid).fetch();
    expect(fetched).toMatchObject({ status: 'undelivered', errorCode: 30003 });
    expect(fetched.dateSent).toBeInstanceOf(Date);
  });

  it('progresses queued → sent → delivered by itself with autoStatus', async () => {
    const auto = await startTwilioEmulator({ autoStatus: true, autoStatusDelayMs: 5 });
    try {
      const acc = auto.addAccount();
      auto.addNumber(acc.sid, SENDER);
      const c = twilio(acc.sid, acc.authToken, { httpClient: new EmulatorRequestClient(auto.url) });
      const m = await c.messages.create({ to: PHONE, from: SENDER, body: 'x', statusCallback: `${sink.url}/status` });
      await auto.idle();
      expect(sink.requests.map((r) => formParams(r.body).MessageStatus)).toEqual(['sent', 'delivered']);
      expect(auto.message(m.sid)?.status).toBe('delivered');
    } finally {
      await auto.close();
    }
  });

  it('posts a signed inbound message and delivers the TwiML reply to the phone', async () => {
    sink.respondWith({ status: 200, headers: { 'content-type': 'text/xml' }, body: '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks &amp; see you</Message></Response>' });
    const result = await emu.reply({ from: PHONE, to: SENDER, body: 'Sounds good' });
    expect(result.status).toBe(200);
    expect(result.twiml).toContain('<Message>');
    const inbound = sink.requests[0];
    const params = formParams(inbound?.body);
    expect(params).toMatchObject({
      MessageSid: result.messageSid, SmsSid: result.messageSid, SmsMessageSid: result.messageSid, AccountSid: account.sid,
      From: PHONE, To: SENDER, Body: 'Sounds good', NumMedia: '0', NumSegments: '1', SmsStatus: 'received', ApiVersion: '2010-04-01', ToCountry: 'US',
    });
    expect(params).not.toHaveProperty('OptOutType');
    const url = `${sink.url}/webhooks/twilio/inbound`;
    expect(twilio.validateRequest(account.authToken, inbound?.headers['x-twilio-signature'] ?? '', url, params)).toBe(true);
    expect(emu.inbox(PHONE)).toEqual([expect.objectContaining({ from: SENDER, body: 'Thanks & see you', kind: 'twiml-reply' })]);

    // Twilio's retry re-posts the same MessageSid.
    const retry = await emu.reply({ from: PHONE, to: SENDER, body: 'Sounds good', messageSid: result.messageSid });
    expect(retry.messageSid).toBe(result.messageSid);
    expect(formParams(sink.requests[1]?.body).MessageSid).toBe(result.messageSid);
    expect(emu.messages().filter((m) => m.direction === 'inbound')).toHaveLength(1);
  });

  it('STOP blocks the pair with Twilio\'s auto-reply until START; "STOP ALL" is not a Twilio keyword', async () => {
    sink.respondWith({ status: 200, headers: { 'content-type': 'text/xml' }, body: '<Response/>' });
    const stop = await emu.reply({ from: PHONE, to: SENDER, body: ' stop ' });
    expect(stop.keyword).toBe('STOP');
    expect(formParams(sink.requests[0]?.body).Body).toBe(' stop ');
    expect(emu.inbox(PHONE).map((e) => [e.kind, e.body])).toEqual([['auto-reply', TWILIO_AUTO_REPLIES.STOP]]);
    await expect(client().messages.create({ to: PHONE, from: SENDER, body: 'x' })).rejects.toMatchObject({ status: 400, code: 21610 });

    await emu.reply({ from: PHONE, to: SENDER, body: 'START' });
    expect(emu.inbox(PHONE).at(-1)).toMatchObject({ kind: 'auto-reply', body: TWILIO_AUTO_REPLIES.START });
    await expect(client().messages.create({ to: PHONE, from: SENDER, body: 'x' })).resolves.toMatchObject({ status: 'queued' });

    const stopAll = await emu.reply({ from: PHONE, to: SENDER, body: 'STOP ALL' });
    expect(stopAll.keyword).toBeNull();
    expect(emu.isBlocked(SENDER, PHONE)).toBe(false);
  });

  it('does not deliver a TwiML reply to a number that opted out', async () => {
    sink.respondWith({ status: 200, body: '<Response><Message>Sorry to see you go</Message></Response>' });
    await emu.reply({ from: PHONE, to: SENDER, body: 'UNSUBSCRIBE' });
    expect(emu.inbox(PHONE).map((e) => e.kind)).toEqual(['auto-reply']);
    expect(emu.messagesTo(PHONE)).toEqual([expect.objectContaining({ direction: 'outbound-reply', status: 'failed', errorCode: 21610 })]);
  });

  it('carries OptOutType when the number is in a service with Advanced Opt-Out', async () => {
    emu.addMessagingService(account.sid, { numbers: [SENDER], advancedOptOut: true });
    await emu.reply({ from: PHONE, to: SENDER, body: 'help' });
    expect(formParams(sink.requests[0]?.body)).toMatchObject({ OptOutType: 'HELP', MessagingServiceSid: expect.stringMatching(/^MG/) });
    expect(emu.inbox(PHONE).at(-1)?.body).toBe(TWILIO_AUTO_REPLIES.HELP);
  });
});
