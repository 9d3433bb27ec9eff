import { describe, expect, it } from 'vitest';
import { createAdminRights, ADMIN_RIGHT_TTL_MS } from '../../server/pipedrive/admin-rights.js';
import { InstallationRevokedError, PipedriveApiError } from '../../server/errors.js';
import { createLogger } from '../../server/logger.js';
import type { CrmUser } from '../../server/pipedrive/crm-port.js';

/** Pipedrive as the cache sees it: whose admin right is what, and every question asked. */
function world() {
  let t = 1_000_000;
  const admins = new Map<string, boolean>();
  const asked: string[] = [];
  let failure: Error | null = null;
  let gate: Promise<void> | null = null;
  const rights = (max?: number) =>
    createAdminRights({
      installedAsAdmin: async (companyId, userId) => admins.has(`${companyId}:${userId}`),
      currentUser: async (companyId, userId): Promise<CrmUser> => {
        asked.push(`${companyId}:${userId}`);
        if (gate) await gate;
        if (failure) throw failure;
        return {
          id: Number(userId),
          name: 'U',
          email: null,
          companyId: Number(companyId),
          companyName: 'C',
          companyDomain: null,
          isAdmin: admins.get(`${companyId}:${userId}`) ?? false,
        };
      },
      now: () => t,
      logger: createLogger('silent'),
      ...(max ? { max } : {}),
    });
  return {
    rights,
    asked,
    admins,
    advance: (ms: number) => (t += ms),
    fail: (e: Error | null) => (failure = e),
    hold: () => {
      let open!: () => void;
      gate = new Promise<void>((r) => (open = r));
      return () => {
        gate = null;
        open();
      };
    },
  };
}

describe('admin rights cache', () => {
  it('keeps an answer for less than 5 minutes by the injected clock, then asks again', async () => {
    const w = world();
    w.admins.set('1:7', true);
    const r = w.rights();
    expect(await r.of('1', '7')).toBe('admin');
    w.admins.set('1:7', false);
    w.advance(ADMIN_RIGHT_TTL_MS - 1);
    expect(await r.of('1', '7')).toBe('admin');
    expect(w.asked).toHaveLength(1);
    w.advance(1);
    expect(await r.of('1', '7')).toBe('no-longer-admin');
    expect(w.asked).toHaveLength(2);
  });

  it('never asks Pipedrive about a caller who did not install as an admin', async () => {
    const w = world();
    expect(await w.rights().of('1', '8')).toBe('not-installing-admin');
    expect(w.asked).toHaveLength(0);
  });

  it('asks once for writes arriving together', async () => {
    const w = world();
    w.admins.set('1:7', true);
    const r = w.rights();
    const release = w.hold();
    const answers = Promise.all([r.of('1', '7'), r.of('1', '7'), r.of('1', '7')]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    release();
    expect(await answers).toEqual(['admin', 'admin', 'admin']);
    expect(w.asked).toHaveLength(1);
  });

  it('throws when Pipedrive cannot answer, remembers nothing, and reads a refused token as a reinstall', async () => {
    const w = world();
    w.admins.set('1:7', true);
    const r = w.rights();
    w.fail(new PipedriveApiError('down', 503));
    await expect(r.of('1', '7')).rejects.toBeInstanceOf(PipedriveApiError);
    w.fail(new PipedriveApiError('refused', 401));
    expect(await r.of('1', '7')).toBe('reinstall-needed');
    w.fail(new InstallationRevokedError('1', '7'));
    expect(await r.of('1', '7')).toBe('reinstall-needed');
    w.fail(null);
    expect(await r.of('1', '7')).toBe('admin');
    expect(w.asked).toHaveLength(4);
  });

  it('holds a bounded number of answers, dropping the least recently used', async () => {
    const w = world();
    for (const u of ['1', '2', '3']) w.admins.set(`1:${u}`, true);
    const r = w.rights(2);
    await r.of('1', '1');
    await r.of('1', '2');
    await r.of('1', '3');
    expect(w.asked).toEqual(['1:1', '1:2', '1:3']);
    await r.of('1', '3');
    await r.of('1', '1');
    expect(w.asked).toEqual(['1:1', '1:2', '1:3', '1:1']);
  });

  it('forgets a user, or a whole company, on request', async () => {
    const w = world();
    w.admins.set('1:7', true);
    w.admins.set('2:7', true);
    const r = w.rights();
    await r.of('1', '7');
    await r.of('2', '7');
    r.forget('1');
    await r.of('1', '7');
    await r.of('2', '7');
    expect(w.asked).toEqual(['1:7', '2:7', '1:7']);
  });
});
