import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import SqliteDriver from 'better-sqlite3';
import { createRigOn, type Rig } from '../support/rig.js';

/**
 * SQLite chooses its indexes without statistics (the app never runs ANALYZE), so an index that matches a query's order
 * better than its filter can win and read a whole company's rows. The deal panel's reads must each seek by the deal or
 * the number: checked on the statements the panel request really runs, with SQLite's own plan for each.
 */
describe('query plans of the deal panel on sqlite', () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await createRigOn('sqlite');
    await rig.installDemo();
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('reads replies through the by-deal and by-number indexes, never by scanning the company', async () => {
    const scratch = new SqliteDriver(':memory:');
    const proto = Object.getPrototypeOf(scratch) as { prepare: (this: SqliteDriver.Database, source: string) => SqliteDriver.Statement };
    scratch.close();
    const prepare = proto.prepare;
    const seen = new Set<string>();
    proto.prepare = function (source: string) {
      seen.add(source);
      return prepare.call(this, source);
    };
    try {
      const ann = rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
      const res = await request(rig.appUrl).get(`/api/panel/deals/${ann.dealId}`).set('authorization', `Bearer ${await rig.jwt()}`);
      expect(res.status).toBe(200);
    } finally {
      proto.prepare = prepare;
    }
    const reads = [...seen].filter((s) => /^select .* from "inbound_messages"/i.test(s));
    expect(reads.length).toBeGreaterThanOrEqual(2);
    const reader = new SqliteDriver(rig.dbFile, { readonly: true, fileMustExist: true });
    try {
      for (const sql of reads) {
        const params = Array.from(sql.matchAll(/\?/g), () => null);
        const plan = (reader.prepare(`explain query plan ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join(' / ');
        expect(plan, sql).toMatch(/USING (?:COVERING )?INDEX inbound_by_(?:deal|phone) \(company_id=\? AND (?:deal_id|from_e164)=\?\)/);
      }
    } finally {
      reader.close();
    }
  });
});
