import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoData } from '../../emulators/demo-data.js';
import type { PipedriveEmulator } from '../../emulators/pipedrive/emulator.js';
import type { TwilioAccount, TwilioEmulator } from '../../emulators/twilio/emulator.js';
import { createEmulatedWorld, DEMO_FROM_NUMBER } from '../../emulators/world.js';
import type { Engine, HostInfo } from './app-host.js';
import { keepEmulatorConnectionsAlive } from './emulator-keep-alive.js';
import { startPeer, type Peer } from './ipc.js';

/**
 * What every bench section runs against: the Pipedrive and Twilio emulators in this process (standing in for the
 * remote services), the app under test and the load generator in their own processes, and the demo company installed
 * through the browser flow with its consent field provisioned.
 */

export const CLIENT_ID = 'bench-client-id';
export const FROM_NUMBER = DEMO_FROM_NUMBER;

export type InstalledCompany = { id: string; consentFieldKey: string; grantedOption: string; optedOutOption: string | null };

export type Stack = {
  pd: PipedriveEmulator;
  tw: TwilioEmulator;
  twAccount: TwilioAccount;
  demo: DemoData;
  host: Peer;
  gen: Peer;
  info: HostInfo;
  /** This process, the app's and the generator's: what `watchMachine` counts as ours. */
  pids: number[];
  company: InstalledCompany;
  /** Another app process on the same PostgreSQL schema, with the same configuration (closed with the stack). */
  addInstance(): Promise<{ peer: Peer; info: HostInfo }>;
  close(): Promise<void>;
};

const here = dirname(fileURLToPath(import.meta.url));

export type StackOptions = {
  emulatorKeepAlive: boolean;
  logLevel: string;
  /** The app's database: a SQLite file (the default) or a PostgreSQL schema made for the run. */
  engine?: Engine;
  /** The app's shared sender is a Messaging Service over the demo number instead of the number itself. */
  messagingService?: boolean;
  /** Further environment for the app (SHARED_SENDER_RATE, for instance). */
  env?: Record<string, string>;
  /** The outbox worker's options (see app-host.ts: by default the pace is lifted). */
  outboxOptions?: Record<string, unknown>;
};

export async function startStack(options: StackOptions): Promise<Stack> {
  if (options.emulatorKeepAlive) keepEmulatorConnectionsAlive();
  const clientSecret = randomBytes(16).toString('hex');
  const world = await createEmulatedWorld({ pipedrive: { clientId: CLIENT_ID, clientSecret } });
  const { pipedrive: pd, twilio: tw, account: twAccount, demo } = world;

  const peers: Peer[] = [];
  const close = async () => {
    // Later instances first: the first one drops the PostgreSQL schema the others still use.
    for (const p of [...peers].reverse()) await p.close().catch(() => {});
    await world.close();
  };
  try {
    const host = await startPeer('app', join(here, 'app-host.ts'));
    peers.push(host);
    const gen = await startPeer('load generator', join(here, 'load-generator.ts'));
    peers.push(gen);
    const sender = options.messagingService
      ? { TWILIO_MESSAGING_SERVICE_SID: tw.addMessagingService(twAccount.sid, { friendlyName: 'Bench', numbers: [FROM_NUMBER] }).sid }
      : { TWILIO_FROM_NUMBER: FROM_NUMBER };
    const env = {
      PIPEDRIVE_CLIENT_ID: CLIENT_ID,
      PIPEDRIVE_CLIENT_SECRET: clientSecret,
      PIPEDRIVE_OAUTH_URL: pd.url,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      TWILIO_ACCOUNT_SID: twAccount.sid,
      TWILIO_AUTH_TOKEN: twAccount.authToken,
      ...sender,
      TWILIO_API_URL: tw.url,
      ...options.env,
    };
    const init = { logLevel: options.logLevel, engine: options.engine ?? 'sqlite', outboxOptions: options.outboxOptions, env };
    const info = await host.call<HostInfo>('init', init);
    tw.setSmsUrl(FROM_NUMBER, `${info.appUrl}/webhooks/twilio/inbound`);

    const install = await world.install(info.appUrl);
    if (install.status !== 200) throw new Error(`install failed with HTTP ${install.status}`);
    const company = await host.call<{ id: string; consentFieldKey: string | null; grantedOption: string | null; optedOutOption: string | null } | null>(
      'company',
      String(demo.companyId),
    );
    if (!company?.consentFieldKey || !company.grantedOption) throw new Error('install did not provision the consent field');
    return {
      pd,
      tw,
      twAccount,
      demo,
      host,
      gen,
      info,
      pids: [process.pid, host.pid, gen.pid],
      async addInstance() {
        if (info.engine !== 'postgres') throw new Error('a second instance needs PostgreSQL');
        const peer = await startPeer(`app ${peers.length}`, join(here, 'app-host.ts'));
        peers.push(peer);
        const joined = await peer.call<HostInfo>('init', { ...init, joinUrl: info.databaseUrl });
        return { peer, info: joined };
      },
      company: { id: company.id, consentFieldKey: company.consentFieldKey, grantedOption: company.grantedOption, optedOutOption: company.optedOutOption },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
