// The Twilio emulator driven by the real `twilio` SDK (through a RequestClient that only rewrites the origin,
// the one way to point it elsewhere), and its callbacks checked with the SDK's own signature validation.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import type TwilioRequestClient from 'twilio/lib/base/RequestClient.js';
import type * as TwilioHttpResponse from 'twilio/lib/http/response.js';
import { startTwilioEmulator, TWILIO_AUTO_REPLIES, type TwilioEmulator } from '../../emulators/twilio/emulator.js';
import { startRequestSink, type RequestSink } from '../../emulators/sink.js';

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
    const askedAt = performance.timeOrigin + performance.now();
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
    // On the high-resolution clock other processes share (the benchmark's end-to-end latency): between ask and answer.
    expect(request?.receivedAt).toBeGreaterThanOrEqual(askedAt);
    expect(request?.receivedAt).toBeLessThanOrEqual(performance.timeOrigin + performance.now());
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

describe('Account, IncomingPhoneNumbers and Messaging Services', () => {
  const basic = (sid: string, token: string): string => `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`;

  function clientOf(acc: { sid: string; authToken: string }): twilio.Twilio {
    return twilio(acc.sid, acc.authToken, { httpClient: new EmulatorRequestClient(emu.url) });
  }

  it('fetches the account with its credentials; a wrong token or another account is a 401 RestException (20003)', async () => {
    const fetched = await client().api.v2010.accounts(account.sid).fetch();
    expect(fetched).toMatchObject({
      sid: account.sid, ownerAccountSid: account.sid, friendlyName: 'My first Twilio account', status: 'active', type: 'Full',
      // The real resource carries the token too; only a caller holding it can read it.
      authToken: account.authToken, uri: `/2010-04-01/Accounts/${account.sid}.json`,
    });
    expect(fetched.dateCreated).toBeInstanceOf(Date);
    expect(fetched.subresourceUris).toMatchObject({
      incoming_phone_numbers: `/2010-04-01/Accounts/${account.sid}/IncomingPhoneNumbers.json`,
      messages: `/2010-04-01/Accounts/${account.sid}/Messages.json`,
    });

    const wrong = await client(undefined, 'wrong').api.v2010.accounts(account.sid).fetch().catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(twilio.RestException);
    expect(wrong).toMatchObject({ status: 401, code: 20003 });
    const other = emu.addAccount();
    await expect(client().api.v2010.accounts(other.sid).fetch()).rejects.toMatchObject({ status: 401, code: 20003 });

    const raw = await fetch(`${emu.url}/2010-04-01/Accounts/${account.sid}.json`, { headers: { authorization: basic(account.sid, account.authToken) } });
    const body = (await raw.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual([
      'auth_token', 'date_created', 'date_updated', 'friendly_name', 'owner_account_sid', 'sid', 'status', 'subresource_uris', 'type', 'uri',
    ]);
    expect(body.date_created).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
  });

  it('lists only the account\'s numbers, filtered by PhoneNumber (exact, partial, * wildcard)', async () => {
    const SECOND = '+14155550100';
    emu.addNumber(account.sid, SECOND);
    const other = emu.addAccount();
    emu.addNumber(other.sid, '+15557654300', { smsUrl: 'https://other.example.com/sms' });

    const all = await client().incomingPhoneNumbers.list();
    expect(all.map((n) => n.phoneNumber)).toEqual([SENDER, SECOND]);
    const sender = all[0];
    expect(sender).toMatchObject({
      sid: emu.number(SENDER)?.sid, accountSid: account.sid, phoneNumber: SENDER, friendlyName: '(555) 765-4321',
      smsUrl: `${sink.url}/webhooks/twilio/inbound`, smsMethod: 'POST', voiceUrl: '', statusCallback: '',
      capabilities: { voice: true, sms: true, mms: true, fax: false }, status: 'in-use', origin: 'twilio',
      uri: `/2010-04-01/Accounts/${account.sid}/IncomingPhoneNumbers/${emu.number(SENDER)?.sid}.json`,
    });
    expect(sender?.sid).toMatch(/^PN[0-9a-f]{32}$/);
    expect(sender?.dateCreated).toBeInstanceOf(Date);
    expect(all[1]?.smsUrl).toBe('');

    const exact = await client().incomingPhoneNumbers.list({ phoneNumber: SENDER, limit: 20 });
    expect(exact.map((n) => n.sid)).toEqual([sender?.sid]);
    expect(emu.requests.at(-1)?.query).toMatchObject({ PhoneNumber: SENDER, PageSize: '20' });
    expect((await client().incomingPhoneNumbers.list({ phoneNumber: '765' })).map((n) => n.phoneNumber)).toEqual([SENDER]);
    expect((await client().incomingPhoneNumbers.list({ phoneNumber: '+1555765432*' })).map((n) => n.phoneNumber)).toEqual([SENDER]);
    expect((await client().incomingPhoneNumbers.list({ phoneNumber: '+1415555****' })).map((n) => n.phoneNumber)).toEqual([SECOND]);
    // Another account's number is invisible even when asked for by its exact value.
    expect(await client().incomingPhoneNumbers.list({ phoneNumber: '+15557654300' })).toEqual([]);
    expect((await clientOf(other).incomingPhoneNumbers.list()).map((n) => n.phoneNumber)).toEqual(['+15557654300']);
    // The sid is stable for the number.
    expect((await client().incomingPhoneNumbers.list()).map((n) => n.sid)).toEqual(all.map((n) => n.sid));
    await expect(client(undefined, 'wrong').incomingPhoneNumbers.list()).rejects.toMatchObject({ status: 401, code: 20003 });
  });

  it('pages over more numbers than one page with the 2010 envelope', async () => {
    for (let i = 0; i < 6; i += 1) emu.addNumber(account.sid, `+1415555020${i}`);
    emu.clearRequests();
    const all = await client().incomingPhoneNumbers.list({ pageSize: 3 });
    expect(all.map((n) => n.phoneNumber)).toEqual([SENDER, ...Array.from({ length: 6 }, (_, i) => `+1415555020${i}`)]);
    expect(new Set(all.map((n) => n.sid)).size).toBe(7);
    const gets = emu.requests.filter((r) => r.method === 'GET');
    expect(gets).toHaveLength(3);
    expect(gets[1]?.query).toMatchObject({ PageSize: '3', Page: '1', PageToken: `PA${all[2]?.sid}` });
    expect((await client().incomingPhoneNumbers.list({ limit: 4 })).map((n) => n.phoneNumber)).toHaveLength(4);

    const raw = await fetch(`${emu.url}/2010-04-01/Accounts/${account.sid}/IncomingPhoneNumbers.json?PageSize=3&Page=1&PageToken=PA${all[2]?.sid}`, {
      headers: { authorization: basic(account.sid, account.authToken) },
    });
    const page = (await raw.json()) as Record<string, unknown>;
    const base = `/2010-04-01/Accounts/${account.sid}/IncomingPhoneNumbers.json`;
    expect(page).toMatchObject({
      first_page_uri: `${base}?PageSize=3&Page=0`,
      next_page_uri: `${base}?PageSize=3&Page=2&PageToken=PA${all[5]?.sid}`,
      previous_page_uri: `${base}?PageSize=3&Page=0`,
      page: 1, page_size: 3, start: 3, end: 5,
      uri: `${base}?PageSize=3&Page=1&PageToken=PA${all[2]?.sid}`,
    });
    expect((page.incoming_phone_numbers as Array<{ phone_number: string }>).map((n) => n.phone_number)).toEqual(all.slice(3, 6).map((n) => n.phoneNumber));
  });

  it('updates SmsUrl through the SDK, and the next reply goes to the new URL', async () => {
    const [number] = await client().incomingPhoneNumbers.list({ phoneNumber: SENDER, limit: 1 });
    if (!number) throw new Error('number not listed');
    const newUrl = `${sink.url}/hooks/sms?tenant=42`;
    const updated = await client().incomingPhoneNumbers(number.sid).update({ smsUrl: newUrl });
    expect(updated).toMatchObject({ sid: number.sid, smsUrl: newUrl, smsMethod: 'POST' });
    expect(emu.requests.at(-1)).toMatchObject({ method: 'POST', path: `/2010-04-01/Accounts/${account.sid}/IncomingPhoneNumbers/${number.sid}.json`, body: { SmsUrl: newUrl }, status: 200 });
    expect(emu.number(SENDER)?.smsUrl).toBe(newUrl);

    const result = await emu.reply({ from: PHONE, to: SENDER, body: 'Hello?' });
    expect(result.status).toBe(200);
    expect(sink.requests).toHaveLength(1);
    expect(sink.requests[0]).toMatchObject({ method: 'POST', path: '/hooks/sms', query: { tenant: '42' } });
    const params = formParams(sink.requests[0]?.body);
    expect(twilio.validateRequest(account.authToken, sink.requests[0]?.headers['x-twilio-signature'] ?? '', newUrl, params)).toBe(true);

    // SmsMethod GET: the parameters travel in the query string and the signature covers the full URL.
    await client().incomingPhoneNumbers(number.sid).update({ smsMethod: 'GET' });
    await emu.reply({ from: PHONE, to: SENDER, body: 'And now?' });
    const get = sink.requests[1];
    expect(get).toMatchObject({ method: 'GET', path: '/hooks/sms', query: { tenant: '42', Body: 'And now?', From: PHONE, To: SENDER } });
    const fullUrl = emu.inboundWebhooks.at(-1)?.url ?? '';
    expect(fullUrl.startsWith(`${newUrl}&`)).toBe(true);
    expect(twilio.validateRequest(account.authToken, get?.headers['x-twilio-signature'] ?? '', fullUrl, {})).toBe(true);

    await expect(client().incomingPhoneNumbers(number.sid).update({ smsUrl: 'not a url' })).rejects.toMatchObject({ status: 400, code: 21402 });
    await expect(client().incomingPhoneNumbers(number.sid).update({ smsMethod: 'PUT' })).rejects.toMatchObject({ status: 400, code: 21403 });
    expect(emu.number(SENDER)).toMatchObject({ smsUrl: newUrl, smsMethod: 'GET' });
    // An empty SmsUrl clears the webhook.
    await expect(client().incomingPhoneNumbers(number.sid).update({ smsUrl: '' })).resolves.toMatchObject({ smsUrl: '' });
    expect(emu.number(SENDER)?.smsUrl).toBeNull();
  });

  it('refuses to update a number of another account (404 20404)', async () => {
    const other = emu.addAccount();
    const theirs = emu.addNumber(other.sid, '+15557654300', { smsUrl: 'https://other.example.com/sms' });
    await expect(client().incomingPhoneNumbers(theirs.sid).update({ smsUrl: `${sink.url}/steal` })).rejects.toMatchObject({ status: 404, code: 20404 });
    await expect(client().incomingPhoneNumbers(`PN${'0'.repeat(32)}`).fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
    expect(emu.number('+15557654300')?.smsUrl).toBe('https://other.example.com/sms');
  });

  it('fetches the account\'s own Messaging Service; another account\'s or an unknown one is a 404', async () => {
    const service = emu.addMessagingService(account.sid, {
      friendlyName: 'Pipedrive SMS', numbers: [SENDER], statusCallback: `${sink.url}/status`, inboundRequestUrl: `${sink.url}/service-inbound`,
    });
    const fetched = await client().messaging.v1.services(service.sid).fetch();
    expect(fetched).toMatchObject({
      sid: service.sid, accountSid: account.sid, friendlyName: 'Pipedrive SMS', inboundRequestUrl: `${sink.url}/service-inbound`,
      inboundMethod: 'POST', statusCallback: `${sink.url}/status`, useInboundWebhookOnNumber: true, stickySender: true,
      validityPeriod: 36000, url: `https://messaging.twilio.com/v1/Services/${service.sid}`,
    });
    expect(fetched.dateCreated).toBeInstanceOf(Date);
    expect(fetched.links).toMatchObject({ phone_numbers: `https://messaging.twilio.com/v1/Services/${service.sid}/PhoneNumbers` });
    expect(emu.requests.at(-1)).toMatchObject({ method: 'GET', path: `/v1/Services/${service.sid}`, status: 200 });

    const other = emu.addAccount();
    const theirs = emu.addMessagingService(other.sid);
    const err = await client().messaging.v1.services(theirs.sid).fetch().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(twilio.RestException);
    expect(err).toMatchObject({ status: 404, code: 20404 });
    await expect(clientOf(other).messaging.v1.services(theirs.sid).fetch()).resolves.toMatchObject({ sid: theirs.sid, accountSid: other.sid });
    await expect(client().messaging.v1.services(`MG${'0'.repeat(32)}`).fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
    await expect(client(undefined, 'wrong').messaging.v1.services(service.sid).fetch()).rejects.toMatchObject({ status: 401, code: 20003 });
  });

  it('routes inbound to the service URL when the service does not defer to the number\'s webhook', async () => {
    emu.addMessagingService(account.sid, { numbers: [SENDER], inboundRequestUrl: `${sink.url}/service-inbound`, useInboundWebhookOnNumber: false });
    await emu.reply({ from: PHONE, to: SENDER, body: 'hi' });
    expect(sink.requests.map((r) => r.path)).toEqual(['/service-inbound']);
  });

  it('records the new routes and applies injected faults to them', async () => {
    emu.injectFault({ path: /IncomingPhoneNumbers\.json$/, status: 503 });
    await expect(client().incomingPhoneNumbers.list()).rejects.toMatchObject({ status: 503, code: 20503 });
    emu.injectFault({ path: /^\/v1\/Services\//, status: 429 });
    const service = emu.addMessagingService(account.sid);
    await expect(client().messaging.v1.services(service.sid).fetch()).rejects.toMatchObject({ status: 429, code: 20429 });
    emu.injectFault({ method: 'GET', path: `/2010-04-01/Accounts/${account.sid}.json`, dropConnection: true });
    const dropped = await client().api.v2010.accounts(account.sid).fetch().catch((e: unknown) => e);
    expect(dropped).not.toBeInstanceOf(twilio.RestException);
    expect(emu.requests.map((r) => [r.path, r.status])).toEqual([
      [`/2010-04-01/Accounts/${account.sid}/IncomingPhoneNumbers.json`, 503],
      [`/v1/Services/${service.sid}`, 429],
      [`/2010-04-01/Accounts/${account.sid}.json`, 0],
    ]);
  });
});
