import { spawn } from 'node:child_process';
import console from 'node:console';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { buildState } from './build-stamp.mjs';

/**
 * `npm start` (and `npm run reseal` / `npm run backup`): runs the compiled server (or one of the operator's commands)
 * from dist/, building it first when dist/ does not hold a build of the sources as they are. The compiled code is
 * imported into this very process, not run as a child: a signal sent to this process (by npm, which forwards SIGTERM
 * and SIGINT to its script, run with `exec` so no shell stands in between, or by a container runtime) reaches the
 * app's own handlers.
 *
 *   node scripts/start.mjs [server | reseal | backup] [arguments of the command]
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRIES = { server: 'server/main.js', reseal: 'server/tools/reseal-cli.js', backup: 'server/tools/backup-cli.js' };

const name = process.argv[2] && Object.hasOwn(ENTRIES, process.argv[2]) ? process.argv[2] : 'server';
// The command reads its own arguments from process.argv[2] on, as when it is run by itself.
if (process.argv[2] === name) process.argv.splice(2, 1);

const state = buildState(ROOT);
if (!state.fresh) {
  const { buildToolsInstalled } = await import('./build.mjs');
  if (!buildToolsInstalled()) {
    console.error(
      `Cannot start: ${state.reason}, and the build tools (vite, esbuild) are not installed: they are devDependencies.\n` +
        'Build where they are installed (npm ci && npm run build), then remove them if you wish (npm prune --omit=dev): ' +
        'see Deployment in README.md.',
    );
    process.exit(1);
  }
  console.error(`Building first: ${state.reason}…`);
  const started = performance.now();
  await buildApart();
  console.error(`Built dist/ in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

// Stack traces name the TypeScript files and lines, through the source maps the build writes.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(join(ROOT, 'dist', ENTRIES[name])).href);

/**
 * The build runs in a process of its own, which ends before the app starts: Vite sets NODE_ENV=production in the
 * process that builds (which would turn a sandbox start into a misconfigured production one), and the app's process
 * keeps none of the build's modules. A signal meanwhile stops the build too.
 */
function buildApart() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--quiet'], { stdio: 'inherit' });
    const forward = (signal) => child.kill(signal);
    process.on('SIGTERM', forward).on('SIGINT', forward);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGTERM', forward).off('SIGINT', forward);
      if (code === 0) resolve();
      else process.exit(code ?? (signal === 'SIGINT' ? 130 : 143));
    });
  });
}
