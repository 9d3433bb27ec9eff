import console from 'node:console';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { buildState, DIST, removeStamp, sourceHash, writeStamp } from './build-stamp.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// The processes the build produces: the app and the operator's commands, each run with plain node.
const ENTRIES = ['server/main.ts', 'server/tools/reseal-cli.ts', 'server/tools/backup-cli.ts'];

/**
 * Builds the UI (Vite, to dist/ui) and the server (esbuild, to dist/server), then stamps dist/ with the hash of the
 * sources. The server is bundled, not transpiled file by file: one file and a few shared chunks load faster than
 * some 170 modules, and code splitting keeps the sandbox (with the emulators) in its own chunk, loaded only by the
 * dynamic import() of sandbox mode. Packages stay outside the bundle (node_modules holds them, native ones
 * included); no type checking here (`npm run typecheck`).
 */
export async function build(root = ROOT, { quiet = false } = {}) {
  const started = performance.now();
  // Loaded here, not above: the start script checks the stamp with this module, and a build's tools are
  // devDependencies a runtime install may not have.
  const [{ build: bundle }, { build: buildUi }] = await Promise.all([import('esbuild'), import('vite')]);
  const sources = sourceHash(root);
  removeStamp(root);
  await buildUi({ configFile: join(root, 'extension-ui/vite.config.ts'), logLevel: quiet ? 'warn' : 'info' });
  const serverDir = join(root, DIST, 'server');
  rmSync(serverDir, { recursive: true, force: true });
  await bundle({
    absWorkingDir: root,
    entryPoints: ENTRIES,
    outbase: 'server',
    outdir: serverDir,
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    packages: 'external',
    // Stack traces name the TypeScript lines (the start script turns source maps on); the sources are in the repository.
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'warning',
  });
  writeStamp(root, sources);
  if (!quiet) console.log(`Built the UI (dist/ui) and the server (dist/server) in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

/** Whether the build's tools (devDependencies) are installed: not after `npm ci --omit=dev` or `npm prune --omit=dev`. */
export function buildToolsInstalled() {
  try {
    import.meta.resolve('esbuild');
    import.meta.resolve('vite');
    return true;
  } catch {
    return false;
  }
}

// `node scripts/build.mjs`: always builds. `--if-stale`: only when dist/ does not hold a build of these sources.
if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  if (process.argv.includes('--if-stale') && buildState(ROOT).fresh) {
    console.log('dist/ holds a build of these sources: nothing to build.');
  } else {
    await build(ROOT, { quiet: process.argv.includes('--quiet') });
  }
}
