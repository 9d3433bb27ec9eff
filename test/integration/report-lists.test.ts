// The settings page's lists of messages and replies (GET /api/reports/messages and /api/reports/replies), on SQLite
// and PostgreSQL. The traffic goes through the app's own webhooks, outbox, the Twilio emulator's status callbacks and
// simulated replies; rows for paging and CSV volume are written straight into the database.
import { get as httpGet, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { parse } from 'csv-parse/sync';
import type { ReportMessage, ReportReply as Reply } from '../../server/reports/report-list-types.js';
import { createRigOn, FROM_NUMBER, type Rig } from '../support/rig.js';

const COMPANY = '1001';
const OTHER_COMPANY = 2002;
const OTHER_ADMIN = 601;
const SAM = 502; // the demo's sales user: owns the demo deals, no installation
const PAT = 503; // a colleague without an installation, and not a follower of the private deal
const ANN = '+14155552671';
const BULK = 130;
const VOLUME = 20_000;
/** About 800 bytes of CSV a row: the export (16 MB) is more than the sockets' buffers hold, so a paused client holds it up. */
const FILLER = ' Lorem ipsum dolor sit amet.'.repeat(25);

type Message = ReportMessage;

describe.each(['sqlite', 'postgres'] as const)('report lists on %s', (kind) => {
  let rig: Rig;
  const tokens = new Map<number, string>();
  let otherToken: string;
  let quote: { id: string };
  let privateDealId: number;
  const person = (name: string) => rig.demo.persons.find((p) => p.name.startsWith(name))!;
  const api = (path: string, userId: number = rig.demo.adminUserId) =>
    request(rig.appUrl).get(path).set('authorization', `Bearer ${tokens.get(userId)}`);
  const messages = async (query: string, userId?: number) => {
    const res = await api(`/api/reports/messages${query}`, userId);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { messages: Message[]; nextCursor: string | null; pipedriveUrl: string | null };
  };
  const replies = async (query: string, userId?: number) => {
    const res = await api(`/api/reports/replies${query}`, userId);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { replies: Reply[]; nextCursor: string | null };
  };
  /** Every page of a list, following nextCursor. */
  const all = async <T,>(path: string, key: 'messages' | 'replies', query: string, userId?: number) => {
    const rows: T[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api(`${path}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, userId);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      rows.push(...(res.body[key] as T[]));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    return { rows, pages };
  };
  /** Rows written straight into the table: sent and delivered, as the worker leaves them. */
  const seedMessages = async (companyId: string, n: number, row: (i: number) => { id: string; at: string; automationId: string | null; dealId: number; body: string }) => {
    const db = rig.ctx.database.db;
    for (let from = 0; from < n; from += 500) {
      const values = Array.from({ length: Math.min(500, n - from) }, (_, k) => {
        const r = row(from + k);
        return {
          id: r.id,
          company_id: companyId,
          source: r.automationId ? ('automation' as const) : ('panel' as const),
          automation_id: r.automationId,
          automation_name: r.automationId ? 'Bulk follow-up' : null,
          deal_id: r.dealId,
          person_id: person('Ann').id,
          template: 'seeded',
          context: JSON.stringify({ deal: { id: r.dealId, title: 'Solar panels for Ann' } }),
          to_e164: ANN,
          body: r.body,
          state: 'sent' as const,
          provider_status: 'delivered',
          next_attempt_at: r.at,
          sent_at: r.at,
          created_at: r.at,
          updated_at: r.at,
        };
      });
      await db.insertInto('outbound_messages').values(values).execute();
    }
  };

  beforeAll(async () => {
    rig = await createRigOn(kind, { outbox: { rateLimit: false } });
    await rig.installDemo();
    rig.pd.addUser({ id: PAT, companyId: Number(COMPANY), name: 'Pat Peer', isAdmin: false });
    for (const id of [rig.demo.adminUserId, SAM, PAT]) tokens.set(id, await rig.jwt({ userId: id, companyId: Number(COMPANY) }, { expiresIn: '30m' }));
    const admin = tokens.get(rig.demo.adminUserId)!;

    quote = await rig.ctx.automations.create(COMPANY, {
      name: 'Quote follow-up',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
      template: 'Hi {{person.first_name|there}}, about {{deal.title}}.',
    });
    // Ann gets it and it is delivered; Olly, Nora and Ivan are skipped by the rules (opted out, no consent, bad phone).
    for (const name of ['Ann', 'Olly', 'Nora', 'Ivan']) {
      expect((await rig.pd.moveDealToStage(person(name).dealId, rig.demo.stages.quoteSent)).map((d) => d.status)).toEqual([200]);
    }
    await rig.drain();
    expect(await rig.tw.sendStatus(rig.tw.messagesTo(ANN).at(-1)!.sid, 'delivered')).toBe(204);
    await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'Sounds good, call me tomorrow' });
    await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'Please remove me from this list' });

    // The deal panel: a text starting like a spreadsheet formula, on Ann's deal.
    const sent = await request(rig.appUrl)
      .post(`/api/panel/deals/${person('Ann').dealId}/messages`)
      .set('authorization', `Bearer ${admin}`)
      .send({ body: '=1+2 is the price, see you Tuesday' });
    expect(sent.status).toBe(202);
    await rig.drain();

    // A deal of Ann's that only its owner (Sam) and the admins may see; the admin texts it and Ann answers STOP.
    const deal = rig.pd.addDeal(Number(COMPANY), { title: 'Private: boiler for Ann', person_id: person('Ann').id, owner_id: SAM, stage_id: rig.demo.stages.leadIn });
    rig.pd.setDealPermittedUsers(deal.id, []);
    privateDealId = deal.id;
    const secret = await request(rig.appUrl).post(`/api/panel/deals/${deal.id}/messages`).set('authorization', `Bearer ${admin}`).send({ body: 'About the boiler' });
    expect(secret.status).toBe(202);
    await rig.drain();
    await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'STOP' });
    await rig.settle();

    // 130 messages of one automation created at the same moment an hour ago: the id breaks the tie between pages.
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    await seedMessages(COMPANY, BULK, (i) => ({ id: `bulk-${String(i).padStart(3, '0')}`, at: hourAgo, automationId: 'bulk-automation', dealId: person('Ann').dealId, body: `Bulk ${i}` }));

    // Another company, with a lot of messages of its own.
    rig.pd.addCompany({ id: OTHER_COMPANY, name: 'Other Co' });
    rig.pd.addUser({ id: OTHER_ADMIN, companyId: OTHER_COMPANY, name: 'Olga Other', isAdmin: true });
    expect((await rig.install(OTHER_ADMIN)).status).toBe(200);
    otherToken = await rig.jwt({ userId: OTHER_ADMIN, companyId: OTHER_COMPANY }, { expiresIn: '30m' });
    tokens.set(OTHER_ADMIN, otherToken);
    const base = Date.now() - 10 * 86_400_000;
    await seedMessages(String(OTHER_COMPANY), VOLUME, (i) => ({
      id: `vol-${String(i).padStart(6, '0')}`,
      at: new Date(base + i * 1000).toISOString(),
      automationId: 'other-automation',
      dealId: 7,
      body: i % 1000 === 0 ? `@SUM(A1:A9) number ${i}` : `Hello number ${i}, with "quotes", commas and a line\nbreak.${FILLER}`,
    }));
  }, 120_000);
  afterAll(async () => rig?.close());

  it("lists a period's messages newest first, each with its state, why it was not sent, and its replies", async () => {
    const page = await messages(`?automationId=${quote.id}`);
    expect(page.pipedriveUrl).toBe('https://acme-sandbox.pipedrive.com');
    expect(page.nextCursor).toBeNull();
    const byDeal = new Map(page.messages.map((m) => [m.dealId, m]));
    expect(page.messages).toHaveLength(4);
    expect(page.messages.map((m) => m.createdAt)).toEqual([...page.messages.map((m) => m.createdAt)].sort().reverse());
    const ann = byDeal.get(person('Ann').dealId)!;
    expect(ann).toMatchObject({
      automationId: quote.id,
      automationName: 'Quote follow-up',
      source: 'automation',
      dealTitle: 'Solar panels for Ann',
      personId: person('Ann').id,
      personName: person('Ann').name,
      to: ANN,
      body: expect.stringContaining('Hi Ann, about Solar panels for Ann.'),
      status: 'delivered',
      reason: null,
    });
    expect(ann.sentAt).not.toBeNull();
    expect(ann.replies.map((r) => [r.body, r.keyword, r.possibleOptOut])).toEqual([
      ['Sounds good, call me tomorrow', null, false],
      ['Please remove me from this list', null, true],
    ]);
    expect(byDeal.get(person('Olly').dealId)).toMatchObject({ status: 'skipped', reason: 'opted_out', replies: [] });
    expect(byDeal.get(person('Nora').dealId)).toMatchObject({ status: 'skipped', reason: 'no_consent', body: null });
    expect(byDeal.get(person('Ivan').dealId)).toMatchObject({ status: 'skipped', reason: 'invalid_phone' });
  });

  it("lists the deal panel's messages with source=panel, and everything without a filter", async () => {
    const panel = await messages('?source=panel');
    expect(panel.messages.map((m) => [m.source, m.automationId, m.dealId])).toEqual([
      ['panel', null, privateDealId],
      ['panel', null, person('Ann').dealId],
    ]);
    expect(panel.messages[0]!.replies.map((r) => [r.body, r.keyword])).toEqual([['STOP', 'opt_out']]);
    const everything = await all<Message>('/api/reports/messages', 'messages', '?limit=500');
    expect(everything.rows).toHaveLength(4 + 2 + BULK);
    expect(everything.pages).toBe(1);
  });

  it('pages by cursor without losing or repeating a row, ties on the same moment broken by id', async () => {
    const { rows, pages } = await all<Message>('/api/reports/messages', 'messages', '?automationId=bulk-automation&limit=50');
    expect(pages).toBe(3);
    expect(rows.map((m) => m.id)).toEqual(Array.from({ length: BULK }, (_, i) => `bulk-${String(BULK - 1 - i).padStart(3, '0')}`));

    // A message created after the first page was read does not shift the next one.
    const first = await messages('?automationId=bulk-automation&limit=50');
    await seedMessages(COMPANY, 1, () => ({ id: 'bulk-late', at: new Date().toISOString(), automationId: 'bulk-automation', dealId: person('Ann').dealId, body: 'Late' }));
    const second = await messages(`?automationId=bulk-automation&limit=50&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(second.messages[0]!.id).toBe(rows[50]!.id);
    expect((await messages('?automationId=bulk-automation&limit=1')).messages[0]!.id).toBe('bulk-late');
    await rig.ctx.database.db.deleteFrom('outbound_messages').where('id', '=', 'bulk-late').execute();
  });

  it('lists every reply of the period with its deal, message, automation and tags, filterable by automation', async () => {
    const page = await replies('');
    expect(page.replies.map((r) => [r.body, r.from, r.keyword, r.possibleOptOut])).toEqual([
      ['STOP', ANN, 'opt_out', false],
      ['Please remove me from this list', ANN, null, true],
      ['Sounds good, call me tomorrow', ANN, null, false],
    ]);
    const quoteMessage = (await messages(`?automationId=${quote.id}`)).messages.find((m) => m.dealId === person('Ann').dealId)!;
    expect(page.replies[1]).toMatchObject({ dealId: person('Ann').dealId, messageId: quoteMessage.id, automationId: quote.id, personName: person('Ann').name });
    expect(page.replies[0]).toMatchObject({ dealId: privateDealId, automationId: null });

    expect((await replies(`?automationId=${quote.id}`)).replies.map((r) => r.body)).toEqual(['Please remove me from this list', 'Sounds good, call me tomorrow']);
    expect((await replies('?source=panel')).replies.map((r) => r.body)).toEqual(['STOP']);
    expect((await replies('?automationId=no-such-automation')).replies).toEqual([]);
    const paged = await all<Reply>('/api/reports/replies', 'replies', '?limit=1');
    expect(paged.rows.map((r) => r.id)).toEqual(page.replies.map((r) => r.id));
  });

  it('keeps to the period', async () => {
    const db = rig.ctx.database.db;
    const { created_at: was } = await db.selectFrom('outbound_messages').select('created_at').where('id', '=', 'bulk-000').executeTakeFirstOrThrow();
    await db.updateTable('outbound_messages').set({ created_at: new Date(Date.now() - 40 * 86_400_000).toISOString() }).where('id', '=', 'bulk-000').execute();
    try {
      const month = await all<Message>('/api/reports/messages', 'messages', '?automationId=bulk-automation&limit=500&days=30');
      const quarter = await all<Message>('/api/reports/messages', 'messages', '?automationId=bulk-automation&limit=500&days=90');
      expect(month.rows).toHaveLength(BULK - 1);
      expect(month.rows.map((m) => m.id)).not.toContain('bulk-000');
      expect(quarter.rows.at(-1)!.id).toBe('bulk-000');
      expect(quarter.rows).toHaveLength(BULK);
    } finally {
      await db.updateTable('outbound_messages').set({ created_at: was }).where('id', '=', 'bulk-000').execute();
    }
  });

  it('answers bad input with a 400 naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['?days=0', 'days'], ['?days=366', 'days'], ['?days=abc', 'days'], ['?days=1.5', 'days'], ['?days=1&days=2', 'days'],
      ['?limit=0', 'limit'], ['?limit=501', 'limit'], ['?limit=ten', 'limit'],
      ['?cursor=not-a-cursor', 'cursor'], ['?cursor=', 'cursor'],
      [`?cursor=${Buffer.from(JSON.stringify(['m', 'yesterday', 'x'])).toString('base64url')}`, 'cursor'],
      ['?source=automation', 'source'], [`?automationId=${quote.id}&source=panel`, 'source'],
      ['?format=xlsx', 'format'], [`?automationId=${'x'.repeat(65)}`, 'automationId'],
    ];
    for (const [query, field] of cases) {
      for (const list of ['messages', 'replies']) {
        const res = await api(`/api/reports/${list}${query}`);
        expect(res.status, `${list}${query}`).toBe(400);
        expect(res.body.error.message, `${list}${query}`).toMatch(new RegExp(`^${field}:`));
      }
    }
    // One list's cursor is not the other's.
    const cursor = (await messages('?limit=1')).nextCursor!;
    const crossed = await api(`/api/reports/replies?cursor=${encodeURIComponent(cursor)}`);
    expect([crossed.status, crossed.body.error.message]).toEqual([400, expect.stringMatching(/^cursor:/)]);

    expect((await request(rig.appUrl).get('/api/reports/messages')).status).toBe(401);
    const stranger = await rig.jwt({ userId: 9, companyId: 424242 });
    expect((await request(rig.appUrl).get('/api/reports/replies').set('authorization', `Bearer ${stranger}`)).status).toBe(403);
  });

  it("never shows one company another's messages, replies or CSV, whatever cursor it sends", async () => {
    const mine = await messages('?limit=500', OTHER_ADMIN);
    expect(mine.messages.every((m) => m.id.startsWith('vol-'))).toBe(true);
    expect(mine.messages).toHaveLength(500);
    expect((await replies('', OTHER_ADMIN)).replies).toEqual([]);
    const theirs = (await messages('?limit=1')).nextCursor!;
    const crossed = await messages(`?cursor=${encodeURIComponent(theirs)}`, OTHER_ADMIN);
    expect(crossed.messages.every((m) => m.id.startsWith('vol-'))).toBe(true);
    const acme = await all<Message>('/api/reports/messages', 'messages', '?limit=500');
    expect(acme.rows.some((m) => m.id.startsWith('vol-'))).toBe(false);
    const csv = await api('/api/reports/messages?format=csv&automationId=other-automation');
    expect(parse(csv.text, { bom: true, columns: true })).toEqual([]);
  });

  it("shows a user who is not an admin only the deals Pipedrive lets them see, and no CSV", async () => {
    const pat = await all<Message>('/api/reports/messages', 'messages', '?limit=50', PAT);
    expect(pat.rows.length).toBe(4 + 1 + BULK);
    expect(pat.rows.some((m) => m.dealId === privateDealId)).toBe(false);
    expect(JSON.stringify(pat.rows)).not.toMatch(/boiler/);
    const patReplies = await replies('', PAT);
    expect(patReplies.replies.map((r) => r.body)).toEqual(['Please remove me from this list', 'Sounds good, call me tomorrow']);

    // The deal's owner sees it; so does the admin.
    const sam = await messages('?source=panel', SAM);
    expect(sam.messages.map((m) => m.dealId)).toContain(privateDealId);
    expect((await replies('', SAM)).replies.map((r) => r.body)).toContain('STOP');

    for (const list of ['messages', 'replies']) {
      const refused = await api(`/api/reports/${list}?format=csv`, PAT);
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toMatch(/admin/);
    }
  });

  it('answers 502 rather than showing anything unchecked when Pipedrive cannot be asked', async () => {
    const deal = rig.pd.addDeal(Number(COMPANY), { title: 'Private: attic for Ann', person_id: person('Ann').id, owner_id: SAM, stage_id: rig.demo.stages.leadIn });
    rig.pd.setDealPermittedUsers(deal.id, []);
    await seedMessages(COMPANY, 1, () => ({ id: 'attic-1', at: new Date().toISOString(), automationId: null, dealId: deal.id, body: 'About the attic' }));
    try {
      rig.pd.injectFault({ path: `/api/v1/deals/${deal.id}/permittedUsers`, status: 503, times: 1 });
      const down = await api('/api/reports/messages?source=panel', PAT);
      expect(down.status).toBe(502);
      expect(JSON.stringify(down.body)).not.toMatch(/attic|Ann/);
      // The failure is not remembered as an answer: asked again, Pipedrive says no.
      const after = await messages('?source=panel', PAT);
      expect(after.messages.map((m) => m.dealId)).toEqual([person('Ann').dealId]);
    } finally {
      await rig.ctx.database.db.deleteFrom('outbound_messages').where('id', '=', 'attic-1').execute();
    }
  });

  it('downloads both lists as CSV with links to Pipedrive, formulas defused', async () => {
    const res = await api(`/api/reports/messages?format=csv&automationId=${quote.id}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="sms-messages-\d{4}-\d{2}-\d{2}\.csv"$/);
    expect(res.text.charCodeAt(0)).toBe(0xfeff);
    const rows = parse(res.text, { bom: true, columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(4);
    const ann = rows.find((r) => r.deal_id === String(person('Ann').dealId))!;
    expect(ann).toMatchObject({
      automation: 'Quote follow-up',
      deal_title: 'Solar panels for Ann',
      deal_url: `https://acme-sandbox.pipedrive.com/deal/${person('Ann').dealId}`,
      person_url: `https://acme-sandbox.pipedrive.com/person/${person('Ann').id}`,
      to: `'${ANN}`,
      status: 'delivered',
      replies: '2',
    });
    expect(rows.find((r) => r.deal_id === String(person('Nora').dealId))).toMatchObject({ status: 'skipped', reason: 'no_consent', body: '' });

    const panel = parse((await api('/api/reports/messages?format=csv&source=panel')).text, { bom: true, columns: true }) as Array<Record<string, string>>;
    expect(panel.map((r) => r.automation)).toEqual(['Deal panel', 'Deal panel']);
    expect(panel[1]!.body).toMatch(/^'=1\+2 is the price/);

    const repliesCsv = await api('/api/reports/replies?format=csv');
    expect(repliesCsv.headers['content-disposition']).toMatch(/filename="sms-replies-/);
    const replyRows = parse(repliesCsv.text, { bom: true, columns: true }) as Array<Record<string, string>>;
    expect(replyRows.map((r) => [r.body, r.keyword, r.possible_opt_out, r.automation])).toEqual([
      ['STOP', 'opt_out', 'no', 'Deal panel'],
      ['Please remove me from this list', '', 'yes', 'Quote follow-up'],
      ['Sounds good, call me tomorrow', '', 'no', 'Quote follow-up'],
    ]);
    expect(replyRows[0]!.deal_url).toBe(`https://acme-sandbox.pipedrive.com/deal/${privateDealId}`);
  });

  it('streams a large CSV in batches, reading only as fast as the client takes it', async () => {
    const database = rig.ctx.database;
    const readAside = database.readAside.bind(database);
    let reads = 0;
    database.readAside = (query) => {
      reads++;
      return readAside(query);
    };
    try {
      const url = new URL(`${rig.appUrl}/api/reports/messages?format=csv`);
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        httpGet(url, { headers: { authorization: `Bearer ${otherToken}` } }, resolve).on('error', reject);
      });
      expect(res.statusCode).toBe(200);
      res.pause();
      await new Promise((r) => setTimeout(r, 500));
      // Two reads (messages, their replies) per batch of 1,000: a paused client holds the export a few batches in.
      const whilePaused = reads;
      expect(whilePaused).toBeLessThan((2 * VOLUME) / 1000);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.resume();
      await new Promise((r) => res.on('end', r));
      const rows = parse(text, { bom: true, columns: true }) as Array<Record<string, string>>;
      expect(rows).toHaveLength(VOLUME);
      expect(rows[0]!.message_id).toBe(`vol-${String(VOLUME - 1).padStart(6, '0')}`);
      expect(rows.at(-1)!.message_id).toBe('vol-000000');
      expect(new Set(rows.map((r) => r.message_id)).size).toBe(VOLUME);
      expect(rows[1]!.body).toBe(`Hello number ${VOLUME - 2}, with "quotes", commas and a line\nbreak.${FILLER}`);
      expect(rows.find((r) => r.message_id === 'vol-001000')!.body).toBe("'@SUM(A1:A9) number 1000");
      expect(rows[0]!.deal_url).toBe('https://other-co.pipedrive.com/deal/7');
      expect(reads).toBeGreaterThan(whilePaused);
    } finally {
      database.readAside = readAside;
    }
  });
});
