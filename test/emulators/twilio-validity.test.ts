// ValidityPeriod as Twilio takes it (seconds in its queue, a whole number from 1 to 36000), sent through the app's own
// Twilio gateway over the real SDK: automation messages carry it, so the emulator must check it as Twilio does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwilioEmulator, type TwilioEmulator } from '../../emulators/twilio/emulator.js';
import { createTwilioGateway } from '../../server/twilio/twilio-gateway.js';
import { SmsProviderError } from '../../server/errors.js';

const SENDER = '+15557654321';
const PHONE = '+14155552671';
let emu: TwilioEmulator;
let account: { accountSid: string; authToken: string };
const gateway = () => createTwilioGateway({ apiUrl: emu.url });
const send = (validityPeriod: number) => gateway().send(account, { to: PHONE, from: SENDER, body: 'Hi', validityPeriod });

beforeAll(async () => {
  emu = await startTwilioEmulator();
  const a = emu.addAccount();
  account = { accountSid: a.sid, authToken: a.authToken };
  emu.addNumber(a.sid, SENDER);
});
afterAll(async () => emu.close());

describe('ValidityPeriod', () => {
  it.each([1, 600, 14_400, 36_000])('takes %i seconds and records it', async (seconds) => {
    const sent = await send(seconds);
    expect(emu.messages().find((m) => m.sid === sent.sid)!.params.ValidityPeriod).toBe(String(seconds));
  });

  it.each([36_001, 1.5, -5, 100_000])('refuses %s with a 400 that is not retried', async (seconds) => {
    const error = await send(seconds).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmsProviderError);
    expect(error).toMatchObject({ status: 400, retryable: false });
  });

  it('is absent when the app does not give one', async () => {
    const sent = await gateway().send(account, { to: PHONE, from: SENDER, body: 'Hi' });
    expect(emu.messages().find((m) => m.sid === sent.sid)!.params.ValidityPeriod).toBeUndefined();
  });
});
