import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const manifest = JSON.parse(readFileSync('manifest.json', 'utf8'));
const readme = readFileSync('README.md', 'utf8');
const setup = readme.slice(readme.indexOf('## Pipedrive Developer Hub set-up'), readme.indexOf('## Twilio set-up'));
const twilioSetup = readme.slice(readme.indexOf('## Twilio set-up'), readme.indexOf('## Deployment'));

describe('manifest.json and the README set-up agree', () => {
  it('lists every scope, in order', () => {
    expect(manifest.scopes).toEqual(['base', 'deals:read', 'contacts:full', 'activities:full', 'admin']);
    const listed = /\*\*Scopes\*\*: (.*)\./.exec(setup)?.[1]?.match(/`([^`]+)`/g)?.map((s) => s.replace(/`/g, ''));
    expect(listed).toEqual(manifest.scopes);
  });

  it('names the callback, installation and iframe URLs', () => {
    for (const path of [manifest.callbackPath, manifest.installationPath, manifest.extensions.panel.iframePath, manifest.extensions.settings.iframePath]) {
      expect(setup).toContain(`https://sms.example.com${path}\``);
    }
    expect(twilioSetup).toContain(`APP_URL${manifest.webhooks.twilioInbound}`);
    expect(twilioSetup).toContain(`APP_URL${manifest.webhooks.twilioStatus}`);
    expect(setup).toContain(`APP_URL${manifest.webhooks.pipedrive}`);
  });

  it('matches the routes the app serves', () => {
    const oauth = readFileSync('server/http/oauth-routes.ts', 'utf8');
    expect(oauth).toContain(`'${manifest.callbackPath}'`);
    expect(oauth).toContain(`'${manifest.installationPath}'`);
  });
});
