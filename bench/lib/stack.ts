import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoData } from '../../emulators/demo-data.js';
import type { PipedriveEmulator } from '../../emulators/pipedrive/emulator.js';
import type { TwilioAccount, TwilioEmulator } from '../../emulators/twilio/emulator.js';
import { createEmulatedWorld, DEMO_FROM_NUMBER } from '../../emulators/world.js';
import type { HostInfo } from './app-host.js';
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
  close(): Promise<void>;
};

const here = dirname(fileURLToPath(import.meta.url));

export async function startStack(options: { emulatorKeepAlive: boolean; logLevel: string }): Promise<Stack> {
  if (options.emulatorKeepAlive) keepEmulatorConnectionsAlive();
  const clientSecret = randomBytes(16).toString('hex');
  const world = await createEmulatedWorld({ pipedrive: { clientId: CLIENT_ID, clientSecret } });
  const { pipedrive: pd, twilio: tw, account: twAccount, demo } = world;

  const peers: Peer[] = [];
  const close = async () => {
    for (const p of peers) await p.close().catch(() => {});
    await world.close();
  };
  try {
    const host = await startPeer('app', join(here, 'app-host.ts'));
    peers.push(host);
    const gen = await startPeer('load generator', join(here, 'load-generator.ts'));
    peers.push(gen);
    const info = await host.call<HostInfo>('init', {
      logLevel: options.logLevel,
      env: {
        PIPEDRIVE_CLIENT_ID: CLIENT_ID,
        PIPEDRIVE_CLIENT_SECRET: clientSecret,
        PIPEDRIVE_OAUTH_URL: pd.url,
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        TWILIO_ACCOUNT_SID: twAccount.sid,
        TWILIO_AUTH_TOKEN: twAccount.authToken,
        TWILIO_FROM_NUMBER: FROM_NUMBER,
        TWILIO_API_URL: tw.url,
      },
    });
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
      company: { id: company.id, consentFieldKey: company.consentFieldKey, grantedOption: company.grantedOption, optedOutOption: company.optedOutOption },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
