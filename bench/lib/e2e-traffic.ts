import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RecordedRequest } from '../../emulators/http.js';
import type { PipedriveEmulator } from '../../emulators/pipedrive/emulator.js';
import type { TwilioEmulator } from '../../emulators/twilio/emulator.js';
import { INGEST_MIX, webhookPayload, type Scenario } from './payloads.js';
import { stageMatchFor, usPhones } from './contacts.js';
import type { Stack } from './stack.js';
import { sleep } from './open-loop.js';

/**
 * What the end-to-end section sends and what it watches arrive. Every webhook that should queue a text names a fresh
 * consenting person (a number of its own) with a deal of its own, so a text reaching the Twilio emulator is matched to
 * its webhook by the recipient alone; the other requests of the mix name deals that exist nowhere and queue nothing.
 */


export type Webhooks = {
  bodies: string[];
  /** Per body: the recipient of the text it queues and that person's id, or null when it queues none. */
  texts: Array<Text | null>;
};
export type Text = { phone: string; personId: number };

export function e2eTraffic(stack: Stack, scenario: Scenario) {
  let seq = 0;
  let otherDeal = 900_000;
  const nextPhone = usPhones();

  /** A consenting person with a deal, and the webhook of that deal entering the automation's stage. */
  function fresh(): Text & { body: string } {
    const phone = nextPhone();
    seq++;
    const { body, personId } = stageMatchFor(stack, scenario, { phone, firstName: `E2e${seq}`, dealTitle: `Heat pump #${seq}` });
    return { phone, personId, body };
  }

  /** `n` webhooks of the ingest mix in its order (one in four queues a text, to a fresh person). */
  function mix(n: number): Webhooks {
    const bodies: string[] = [];
    const texts: Array<Text | null> = [];
    for (let i = 0; i < n; i++) {
      const kind = INGEST_MIX[i % INGEST_MIX.length]!;
      if (kind === 'stage_match') {
        const { body, ...text } = fresh();
        bodies.push(body);
        texts.push(text);
      } else {
        const id = otherDeal++;
        bodies.push(JSON.stringify(webhookPayload({ ...scenario, kind, eventId: randomUUID(), dealId: id, personId: id })));
        texts.push(null);
      }
    }
    return { bodies, texts };
  }

  return { fresh, mix };
}

const MESSAGES_CREATE = /^\/2010-04-01\/Accounts\/[^/]+\/Messages\.json$/;
const PERSON_READ = /^\/api\/v2\/persons\/(\d+)$/;


/**
 * The Messages create calls the Twilio emulator received, by recipient, with their arrival on the shared
 * high-resolution clock (RecordedRequest.receivedAt), read incrementally from the emulator's request log. Also when
 * the worker read each person from Pipedrive: the moment it had claimed the message and begun on it.
 */
export function watchArrivals(tw: TwilioEmulator, pd: PipedriveEmulator) {
  const byPhone = new Map<string, number[]>();
  const personReads = new Map<number, number>();
  let twSeen = 0;
  let pdSeen = 0;
  let creates = 0;
  const records: RecordedRequest[] = [];

  function poll(): void {
    const twLog = tw.requests;
    for (let i = twSeen; i < twLog.length; i++) {
      const r = twLog[i]!;
      if (r.method !== 'POST' || !MESSAGES_CREATE.test(r.path)) continue;
      const to = (r.body as Record<string, unknown> | undefined)?.To;
      const phone = typeof to === 'string' ? to : '?';
      creates++;
      const list = byPhone.get(phone) ?? [];
      list.push(r.receivedAt ?? r.at.getTime());
      byPhone.set(phone, list);
      // Its status is filled in once answered: the record itself is kept to read it later.
      records.push(r);
    }
    twSeen = twLog.length;
    const pdLog = pd.requests;
    for (let i = pdSeen; i < pdLog.length; i++) {
      const r = pdLog[i]!;
      const id = r.method === 'GET' ? PERSON_READ.exec(r.path)?.[1] : undefined;
      if (id && !personReads.has(Number(id))) personReads.set(Number(id), r.receivedAt ?? r.at.getTime());
    }
    pdSeen = pdLog.length;
  }

  /** The first arrival for `phone`, waiting up to `timeoutMs` (polled every millisecond); null when none came. */
  async function waitFor(phone: string, timeoutMs: number): Promise<number | null> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      poll();
      const first = byPhone.get(phone)?.[0];
      if (first !== undefined) return first;
      if (performance.now() > until) return null;
      await sleep(1);
    }
  }

  /** Waits until every phone of `phones` has a text or `timeoutMs` passed; answers how many are still missing. */
  async function waitForAll(phones: Iterable<string>, timeoutMs: number): Promise<number> {
    const until = performance.now() + timeoutMs;
    const missing = new Set(phones);
    for (;;) {
      poll();
      for (const p of missing) if (byPhone.has(p)) missing.delete(p);
      if (missing.size === 0 || performance.now() > until) return missing.size;
      await sleep(20);
    }
  }

  return {
    poll,
    waitFor,
    waitForAll,
    /** Every create call for `phone` so far (a correct run has exactly one per recipient). */
    arrivalsOf: (phone: string): number[] => byPhone.get(phone) ?? [],
    personReadAt: (personId: number): number | undefined => personReads.get(personId),
    /** Create calls seen so far, and those the emulator did not answer 201 (read after the answers went out). */
    creates: () => creates,
    refused: () => records.filter((r) => r.status !== 201).length,
  };
}
