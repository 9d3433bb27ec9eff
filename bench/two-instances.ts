import type { EngineSetup } from './engine-section.js';
import { ENGINE_SETTINGS } from './engine-section.js';
import { roundDrain, type DrainRound } from './lib/drain-round.js';
import type { Stack } from './lib/stack.js';
import { summary } from './lib/stats.js';
import { row, type SectionRow } from './lib/table.js';

/**
 * Several instances on one PostgreSQL database: a second app process joins the first one's schema, and the same queue
 * is drained by both at once, alternated round by round with the first one alone. Every recipient must get exactly
 * one text (duplicates = 0, checked at the Twilio emulator). On this 2-core machine the two processes, PostgreSQL
 * and the emulators share two cores, so the total rate shows contention, not scale-out; how many instances one
 * PostgreSQL server carries is extrapolated from the database's CPU per message instead (see `extrapolate`).
 */

export type TwoInstancesReport = Awaited<ReturnType<typeof runTwoInstancesSection>>;

export async function runTwoInstancesSection(stack: Stack, setup: EngineSetup, check: (ok: boolean, message: string) => void) {
  const n = ENGINE_SETTINGS.drainN * 2;
  const second = await stack.addInstance();
  const both = [stack.host, second.peer];
  await setup.runDrain(ENGINE_SETTINGS.drainWarmupN, 'two instances warm-up', { drainers: both });
  const one: DrainRound[] = [];
  const two: DrainRound[] = [];
  for (let i = 0; i < ENGINE_SETTINGS.drainRounds; i++) {
    const order = i % 2 === 0 ? (['two', 'one'] as const) : (['one', 'two'] as const);
    for (const side of order) {
      const label = `${side === 'two' ? 'two instances' : 'one instance'} round ${i + 1}/${ENGINE_SETTINGS.drainRounds}`;
      if (side === 'two') two.push(await setup.runDrain(n, label, { drainers: both }));
      else one.push(await setup.runDrain(n, label));
    }
  }
  const duplicates = [...one, ...two].reduce((sum, d) => sum + d.duplicates, 0);
  check(duplicates === 0, `two instances: ${duplicates} recipients got a second text`);
  check(two.every((d) => d.shares.every((s) => s > 0)), `two instances: one instance sent nothing in some round (${two.map((d) => d.shares.join('/')).join(', ')})`);
  const figures = {
    twoPerSecond: summary(two.map((d) => d.perSecond)),
    onePerSecond: summary(one.map((d) => d.perSecond)),
    scaling: summary(two.map((d, i) => d.perSecond / (one[i] ?? one[0]!).perSecond)),
    duplicates: summary([duplicates]),
    smallerShare: summary(two.map((d) => Math.min(...d.shares) / d.shares.reduce((a, b) => a + b, 0))),
    twoQueriesPerMessage: summary(two.map((d) => d.queriesPerMessage)),
    twoDbCpuMsPerMessage: summary(two.map((d) => d.dbCpuMsPerMessage ?? Number.NaN)),
    twoAppCpuMsPerMessage: summary(two.map((d) => d.appCpuMsPerMessage)),
  };
  return { n, figures, rounds: { one: one.map(roundDrain), two: two.map(roundDrain) } };
}

export function twoInstancesTableRows(r: TwoInstancesReport): SectionRow[] {
  const f = r.figures;
  return [
    row('twoPerSecond', `Two instances draining one queue (${r.n} per round)`, f.twoPerSecond, 'msg/s', 0),
    row('twoScaling', '  … / one instance in the same rounds', f.scaling, '×', 2),
    row('twoDuplicates', '  … recipients texted twice', f.duplicates, '', 0, '= 0', f.duplicates.max === 0),
    row('twoSmallerShare', "  … the smaller instance's share", f.smallerShare, '', 2),
    row('twoQueriesPerMessage', '  … SQL statements per message', f.twoQueriesPerMessage, '', 1),
    row('twoDbCpuMsPerMessage', '  … PostgreSQL CPU per message', f.twoDbCpuMsPerMessage, 'ms', 2),
  ];
}

/**
 * How many app instances one PostgreSQL server carries, from CPU per message: a database core gives
 * 1000 / (its CPU per message) messages a second; an app instance on one core gives 1000 / (app CPU per message).
 * Webhook ingest costs the database too (one in four webhooks queues a text in the bench's mix), so both count.
 */
export function extrapolate(input: { dbCpuMsPerMessage: number; appCpuMsPerMessage: number; dbCpuUsPerRequest: number; appCpuUsPerRequest: number; webhooksPerMessage: number }) {
  const dbMsPerMessage = input.dbCpuMsPerMessage + (input.webhooksPerMessage * input.dbCpuUsPerRequest) / 1000;
  const appMsPerMessage = input.appCpuMsPerMessage + (input.webhooksPerMessage * input.appCpuUsPerRequest) / 1000;
  const messagesPerDbCore = 1000 / dbMsPerMessage;
  const messagesPerAppCore = 1000 / appMsPerMessage;
  return { dbMsPerMessage, appMsPerMessage, messagesPerDbCore, messagesPerAppCore, instancesPerDbCore: messagesPerDbCore / messagesPerAppCore };
}
