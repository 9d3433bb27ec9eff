import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// What a build is made of: the sources of the server (the sandbox and its emulators included), the UI, and what
// decides how they are built. package-lock.json is in because the UI bundles its packages.
const SOURCE_DIRS = ['server', 'db', 'emulators', 'extension-ui'];
const SOURCE_FILES = ['package-lock.json', 'tsconfig.json', 'scripts/build.mjs'];

/** Where `npm run build` writes and what `npm start` runs. */
export const DIST = 'dist';
const STAMP = join(DIST, 'build-stamp.json');

/**
 * A hash of the contents of every build input under `root` (names included, so a file added, removed or renamed
 * counts). Contents rather than modification times: a checkout, a copy or a container layer may set any time.
 */
export function sourceHash(root) {
  const hash = createHash('sha256');
  const files = [
    ...SOURCE_DIRS.flatMap((dir) =>
      existsSync(join(root, dir))
        ? readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
            .filter((entry) => entry.isFile())
            .map((entry) => relative(root, join(entry.parentPath ?? entry.path, entry.name)))
        : [],
    ),
    ...SOURCE_FILES.filter((file) => existsSync(join(root, file))),
  ].sort();
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** The build in dist/: absent, or the hash of the sources it was built from. */
export function readStamp(root) {
  try {
    return JSON.parse(readFileSync(join(root, STAMP), 'utf8'));
  } catch {
    return null;
  }
}

/** Whether dist/ holds a complete build of the sources as they are now. */
export function buildState(root) {
  const stamp = readStamp(root);
  if (!stamp) return { fresh: false, reason: 'there is no build in dist/' };
  if (stamp.sources !== sourceHash(root)) return { fresh: false, reason: 'the sources changed since the last build' };
  return { fresh: true };
}

/** Removed first, so a build that stops half-way is never taken for a complete one. */
export function removeStamp(root) {
  rmSync(join(root, STAMP), { force: true });
}

/** Written last, once everything is built, by renaming a complete file into place. */
export function writeStamp(root, sources) {
  const file = join(root, STAMP);
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ sources, builtAt: new Date().toISOString() }, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}
