import { installThroughBrowser, type BrowserInstallResult } from './browser-install.js';
import { seedDemo, type DemoData } from './demo-data.js';
import { startPipedriveEmulator, type PipedriveEmulator, type PipedriveEmulatorOptions } from './pipedrive/emulator.js';
import { startTwilioEmulator, type TwilioAccount, type TwilioEmulator, type TwilioEmulatorOptions } from './twilio/emulator.js';

/** The number the demo company texts from (Twilio's magic test number that always succeeds). */
export const DEMO_FROM_NUMBER = '+15005550006';

export type EmulatedWorldOptions = {
  /** The Developer Hub app the emulated Pipedrive knows: its client id and secret, and its callback URL when known. */
  pipedrive: Pick<PipedriveEmulatorOptions, 'clientId' | 'clientSecret' | 'redirectUri' | 'accessTokenTtlSeconds'>;
  twilio?: TwilioEmulatorOptions;
  /** Where the demo number's incoming texts go; set later with `twilio.setSmsUrl` when the app's URL is not known yet. */
  smsUrl?: string;
};

export type EmulatedWorld = {
  pipedrive: PipedriveEmulator;
  twilio: TwilioEmulator;
  /** The Twilio account the app sends through, and the number it owns. */
  account: TwilioAccount;
  fromNumber: string;
  /** The demo company in the emulated Pipedrive: its users, pipeline and one deal per kind of contact. */
  demo: DemoData;
  /** Installs the app for the demo company as a browser does, approving as `userId` (the demo admin by default). */
  install(appUrl: string, userId?: number): Promise<BrowserInstallResult>;
  close(): Promise<void>;
};

/**
 * The one place that builds the world the app talks to outside production: both emulators on loopback, the demo
 * company and its data, the Twilio account and number. Sandbox mode, the test rig and the bench all start from it,
 * so the three see the same company and the same install.
 */
export async function createEmulatedWorld(options: EmulatedWorldOptions): Promise<EmulatedWorld> {
  const pipedrive = await startPipedriveEmulator(options.pipedrive);
  const twilio = await startTwilioEmulator(options.twilio);
  const account = twilio.addAccount();
  const fromNumber = DEMO_FROM_NUMBER;
  twilio.addNumber(account.sid, fromNumber, options.smsUrl ? { smsUrl: options.smsUrl } : {});
  const demo = seedDemo(pipedrive);
  return {
    pipedrive,
    twilio,
    account,
    fromNumber,
    demo,
    async install(appUrl, userId = demo.adminUserId) {
      pipedrive.setConsent({ userId });
      return installThroughBrowser(appUrl);
    },
    async close() {
      await Promise.allSettled([pipedrive.close(), twilio.close()]);
    },
  };
}
