import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/database.js';
import { sealedPlaces } from '../../server/security/crypto.js';
import { backupSqlite } from '../../server/tools/backup.js';
import { CLIENT_ID, createRigOn, type Rig } from '../support/rig.js';
import { runToolCommand } from '../support/tool-command.js';

/**
 * The SQLite backup: a consistent copy taken while the app runs and writes, which the app, restarted on it with the
 * same key, serves as it was at the time of the backup.
 */
describe('npm run backup (SQLite)', () => {
  let rig: Rig;
  let dir: string;
  afterEach(async () => {
    await rig?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('copies the database while the app writes, and the app restored from the copy works as it was', async () => {
    rig = await createRigOn('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'sms-pd-backup-'));
    await rig.installDemo();
    const copy = join(dir, 'app-backup.db');

    // The app keeps writing during the backup: webhook events recorded one after another.
    let writing = true;
    const writes = (async () => {
      let n = 0;
      while (writing) {
        await rig.pd.moveDealToStage(rig.demo.persons[n % rig.demo.persons.length]!.dealId, rig.demo.stages.quoteSent);
        n += 1;
      }
      return n;
    })();
    const result = await backupSqlite(rig.dbFile, copy);
    writing = false;
    expect(await writes).toBeGreaterThan(0);
    expect(result).toMatchObject({ file: copy, companies: 1, installations: 1 });
    await expect(backupSqlite(rig.dbFile, copy)).rejects.toThrow('exists already');

    // The copy is a whole database: its secrets open with the app's key.
    const restored = openDatabase(`file:${copy}`);
    const row = await restored.db.selectFrom('installations').selectAll().executeTakeFirstOrThrow();
    expect(rig.ctx.secrets.open(row.access_token_sealed, sealedPlaces.accessToken(row.company_id, row.user_id))).toMatch(/\S/);
    const eventsInCopy = (await restored.db.selectFrom('webhook_events').select('id').execute()).length;
    await restored.close();

    // A change after the backup, then the restore: app stopped, the file replaced, its WAL files removed.
    await rig.pd.moveDealToStage(rig.demo.persons[0]!.dealId, rig.demo.stages.negotiation);
    const eventsNow = (await rig.ctx.database.db.selectFrom('webhook_events').select('id').execute()).length;
    expect(eventsNow).toBeGreaterThan(eventsInCopy);
    await rig.restart(async () => {
      for (const suffix of ['-wal', '-shm']) rmSync(`${rig.dbFile}${suffix}`, { force: true });
      copyFileSync(copy, rig.dbFile);
    });
    expect((await rig.ctx.database.db.selectFrom('webhook_events').select('id').execute()).length).toBe(eventsInCopy);
    const crm = await rig.ctx.installations.crmFor('1001');
    expect((await crm.getPerson(rig.demo.persons[0]!.id))?.name).toBe(rig.demo.persons[0]!.name);
  });

  it('is the command npm run backup, which refuses PostgreSQL and a missing file name', async () => {
    rig = await createRigOn('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'sms-pd-backup-'));
    const env = {
      PIPEDRIVE_CLIENT_ID: CLIENT_ID,
      PIPEDRIVE_CLIENT_SECRET: rig.config.pipedrive.clientSecret,
      ENCRYPTION_KEY: rig.config.encryptionKey.toString('base64'),
      DATABASE_URL: rig.config.databaseUrl,
    };
    const backup = (args: string[], overrides: Record<string, string> = {}) =>
      runToolCommand('backup-cli.ts', { cwd: dir, env: { ...env, ...overrides }, args });
    const ok = await backup(['nightly.db']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`to ${join(dir, 'nightly.db')}`);
    expect(existsSync(join(dir, 'nightly.db'))).toBe(true);
    // One file, nothing beside it.
    expect(readdirSync(dir)).toEqual(['nightly.db']);
    expect((await backup([])).stderr).toContain('Usage: npm run backup -- <new file>');
    const pg = await backup(['x.db'], { DATABASE_URL: 'postgres://app:secret@db.internal/sms' });
    expect(pg.code).toBe(1);
    expect(pg.stderr).toContain('back it up with pg_dump');
    expect(pg.stderr).not.toContain('secret');
  });
});
