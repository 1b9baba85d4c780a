/**
 * Workspace insights (CONTRACT 7.4) through two real servers on one Redis: two reviews in a
 * workspace, items added and decided on both servers, one item's decision changed (counted once,
 * as its latest decision), a known model usage priced; the figures match a hand count and the
 * items of the review snapshots; they move at once when someone decides on the other server
 * (the ETag too); an archived review still counts; outsiders get 403, no token 401; the CSV and
 * the XLSX parse back to the same numbers.
 */
import { EventLog, ReviewStore } from '@prism/store';
import ExcelJS from 'exceljs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  type ClientSocket,
  call,
  cleanupKeys,
  connect,
  corpus,
  type Person,
  ROOT,
  session,
  startServer,
  type TestServer,
  testRedis,
  uniquePrefix,
  upload,
  workspaceWith,
} from '../../test/helpers.ts';

interface Item {
  id: string;
  sectionId: string;
  category: string;
  type: string;
  source: string;
  status: 'pending' | 'accepted' | 'rejected';
  version: number;
}
interface Insights {
  acceptance: { by: string; key: string; accepted: number; rejected: number; rate: number }[];
  patterns: {
    by: string;
    key: string;
    reviews: number;
    findings: number;
    sections: number;
    failed?: number;
  }[];
  trends: { week: string; accepted: number; rejected: number; findings: number }[];
  cost: { usd: number; inputTokens: number; outputTokens: number; cacheReadTokens: number };
  reviews: number;
  version: string;
}

const HAIKU = 'anthropic.claude-haiku-4-5-20251001-v1:0';

describe('workspace insights', () => {
  let one: TestServer;
  let two: TestServer;
  let ada: Person;
  let bob: Person;
  let eve: Person;
  let workspaceId: string;
  const reviews: { id: string; sections: { id: string }[] }[] = [];
  let adaSocket: ClientSocket;
  let bobSocket: ClientSocket;
  let store: ReviewStore;

  const insightsOn = async (server: TestServer, who: Person, query = ''): Promise<Response> =>
    api(server.url, who.token, `/api/workspaces/${workspaceId}/insights${query}`);
  const insights = async (server: TestServer): Promise<Insights> => {
    const res = await insightsOn(server, ada);
    expect(res.status).toBe(200);
    return (await res.json()) as Insights;
  };
  const row = (data: Insights, by: string, key: string) =>
    data.acceptance.find((r) => r.by === by && r.key === key);

  const add = async (
    socket: ClientSocket,
    review: number,
    section: number,
    type: string,
    category: string,
  ) => {
    const ack = await call(socket, 'feedback:add', {
      reviewId: reviews[review]!.id,
      sectionId: reviews[review]!.sections[section]!.id,
      type,
      category,
      description: `${category} ${type} in section ${section}`,
    });
    expect(ack.ok).toBe(true);
    return ack.item as Item;
  };
  const decide = async (socket: ClientSocket, review: number, item: Item, status: string) => {
    const ack = await call(socket, 'feedback:decide', {
      reviewId: reviews[review]!.id,
      feedbackId: item.id,
      status,
      version: item.version,
    });
    expect(ack.ok).toBe(true);
    return ack.item as Item;
  };

  beforeAll(async () => {
    const prefix = uniquePrefix('insights');
    cleanupKeys(prefix);
    const objectsDir = `${ROOT}.data/test-objects/${prefix.replaceAll(':', '_')}`;
    one = await startServer(prefix, { objectsDir });
    two = await startServer(prefix, { objectsDir });
    ada = await session(one.url, 'Ada');
    bob = await session(two.url, 'Bob');
    eve = await session(one.url, 'Eve');
    workspaceId = await workspaceWith(one.url, ada, 'Insights', [bob], two.url);
    for (const name of ['pandoc-headers.docx', 'pandoc-headers.docx']) {
      const res = await upload(one.url, ada.token, corpus(name), { workspaceId });
      expect(res.status).toBe(201);
      reviews.push(((await res.json()) as { review: (typeof reviews)[number] }).review);
    }
    expect(reviews[0]!.sections.length).toBeGreaterThanOrEqual(2);
    adaSocket = await connect(one.url, ada.token);
    bobSocket = await connect(two.url, bob.token);
    for (const review of reviews) {
      expect((await call(adaSocket, 'review:join', { reviewId: review.id })).ok).toBe(true);
      expect((await call(bobSocket, 'review:join', { reviewId: review.id })).ok).toBe(true);
    }
    const redis = testRedis();
    store = new ReviewStore(redis, new EventLog(redis, { prefix }));
  });

  it('counts each current decision once, across servers, and moves at once when someone decides', async () => {
    const empty = await insights(two);
    expect(empty.acceptance).toEqual([]);
    expect(empty.reviews).toBe(2);

    // Review 0: three on server one (Ada), one on server two (Bob). Review 1: two by Bob.
    const a1 = await add(adaSocket, 0, 0, 'important', 'Evidence');
    const a2 = await add(adaSocket, 0, 1, 'suggestion', 'Clarity');
    const a3 = await add(adaSocket, 0, 1, 'critical', 'Evidence');
    const a4 = await add(bobSocket, 0, 0, 'positive', 'Clarity');
    const b1 = await add(bobSocket, 1, 0, 'important', 'Evidence');
    const b2 = await add(bobSocket, 1, 1, 'suggestion', 'Clarity');

    // A person's own item starts accepted (CONTRACT: its author stands behind it); these decisions change some.
    await decide(adaSocket, 0, a2, 'rejected');
    await decide(bobSocket, 1, b1, 'accepted');
    await decide(bobSocket, 1, b2, 'rejected');
    await decide(bobSocket, 0, a4, 'accepted');

    const before = await insights(two);
    expect(row(before, 'category', 'Evidence')).toMatchObject({ accepted: 3, rejected: 0, rate: 1 });

    // Bob changes Ada's accepted a1 to rejected on the other server: one rejection, no acceptance left.
    const etag = (await insightsOn(one, ada)).headers.get('etag')!;
    const unchanged = await api(one.url, ada.token, `/api/workspaces/${workspaceId}/insights`, {
      headers: { 'if-none-match': etag },
    });
    expect(unchanged.status).toBe(304);
    await decide(bobSocket, 0, a1, 'rejected');
    const changed = await api(one.url, ada.token, `/api/workspaces/${workspaceId}/insights`, {
      headers: { 'if-none-match': etag },
    });
    expect(changed.status).toBe(200);

    // A known usage on review 0: 1M input and 100k output tokens of Haiku 4.5 ($1 + $0.50), and 2,000 cache reads ($0.0002).
    await store.addUsage(reviews[0]!.id, HAIKU, {
      inputTokens: 1_000_000,
      outputTokens: 100_000,
      cacheReadTokens: 2_000,
    });

    // Hand count: a1 rejected (Evidence important; accepted before), a2 rejected (Clarity
    // suggestion), a3 accepted (Evidence critical), a4 accepted (Clarity positive), b1 accepted
    // (Evidence important), b2 rejected (Clarity suggestion); all six by people (source user).
    const expected = {
      category: { Evidence: [2, 1], Clarity: [1, 2] },
      type: { important: [1, 1], suggestion: [0, 2], positive: [1, 0], critical: [1, 0] },
      source: { user: [3, 3] },
    } as const;
    for (const server of [one, two]) {
      const data = await insights(server);
      for (const [by, keys] of Object.entries(expected)) {
        const rows = data.acceptance.filter((r) => r.by === by);
        expect(rows.map((r) => [r.key, r.accepted, r.rejected]).sort()).toEqual(
          Object.entries(keys)
            .map(([key, [acc, rej]]) => [key, acc, rej])
            .sort(),
        );
      }
      expect(row(data, 'category', 'Clarity')!.rate).toBeCloseTo(1 / 3, 10);
      expect(data.acceptance.filter((r) => r.by === 'checkpoint')).toEqual([]);
      // Recurring problems: not rejected, not praise: a3 (Evidence, review 0, section 1), b1 (Evidence, review 1, section 0).
      expect(data.patterns.filter((p) => p.by === 'category')).toEqual([
        { by: 'category', key: 'Evidence', findings: 2, reviews: 2, sections: 2 },
      ]);
      const week = data.trends.reduce(
        (sum, t) => ({
          accepted: sum.accepted + t.accepted,
          rejected: sum.rejected + t.rejected,
          findings: sum.findings + t.findings,
        }),
        { accepted: 0, rejected: 0, findings: 0 },
      );
      expect(week).toEqual({ accepted: 3, rejected: 3, findings: 2 });
      expect(data.cost).toMatchObject({
        usd: 1.5002,
        inputTokens: 1_000_000,
        outputTokens: 100_000,
        cacheReadTokens: 2_000,
      });
    }

    // The same count from the snapshots' items.
    const items: Item[] = [];
    for (const review of reviews) {
      const res = await api(two.url, bob.token, `/api/reviews/${review.id}`);
      items.push(...((await res.json()) as { feedback: Item[] }).feedback);
    }
    const data = await insights(one);
    for (const r of data.acceptance.filter((x) => x.by === 'category')) {
      const mine = items.filter((i) => i.category === r.key);
      expect(r.accepted).toBe(mine.filter((i) => i.status === 'accepted').length);
      expect(r.rejected).toBe(mine.filter((i) => i.status === 'rejected').length);
    }
    expect(
      data.acceptance.filter((r) => r.by === 'source').reduce((s, r) => s + r.accepted + r.rejected, 0),
    ).toBe(items.filter((i) => i.status !== 'pending').length);

    // Drill-down: the reviews and items behind "Evidence".
    const drill = (await (await insightsOn(two, bob, '?by=category&key=Evidence')).json()) as {
      reviews: { id: string; items: { id: string; status: string }[] }[];
    };
    expect(drill.reviews.map((r) => [r.id, r.items.map((i) => i.id).sort()]).sort()).toEqual(
      [
        [reviews[0]!.id, [a1.id, a3.id].sort()],
        [reviews[1]!.id, [b1.id]],
      ].sort(),
    );
  });

  it('keeps counting an archived review', async () => {
    const before = await insights(one);
    const archived = await api(one.url, ada.token, `/api/reviews/${reviews[1]!.id}/archive`, {
      method: 'POST',
      body: '{}',
    });
    expect(archived.status).toBe(200);
    const after = await insights(two);
    const { version: _a, ...was } = before;
    const { version: _b, ...now } = after;
    expect(now).toEqual(was);
  });

  it('refuses outsiders and anonymous callers, and bad queries', async () => {
    expect((await insightsOn(one, eve)).status).toBe(403);
    expect((await insightsOn(one, eve, '?format=csv')).status).toBe(403);
    expect((await fetch(`${one.url}/api/workspaces/${workspaceId}/insights`)).status).toBe(401);
    const bad = await insightsOn(one, ada, '?format=pdf');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid');
    expect((await insightsOn(one, ada, '?by=category')).status).toBe(400);
  });

  it('exports CSV and XLSX that parse back to the same numbers', async () => {
    const data = await insights(one);
    const csv = await insightsOn(two, bob, '?format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text())
      .trim()
      .split('\r\n')
      .map((line) => line.split(','));
    const header = lines[0]!;
    const col = (name: string) => header.indexOf(name);
    const acceptance = lines
      .filter((l) => l[0] === 'acceptance')
      .map((l) => ({
        by: l[col('by')],
        key: l[col('key')],
        accepted: Number(l[col('accepted')]),
        rejected: Number(l[col('rejected')]),
        rate: Number(l[col('rate')]),
      }));
    expect(acceptance).toEqual(data.acceptance);
    const cost = lines.find((l) => l[0] === 'cost')!;
    expect(Number(cost[col('usd')])).toBe(data.cost.usd);

    const xlsx = await insightsOn(one, ada, '?format=xlsx');
    expect(xlsx.status).toBe(200);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(await xlsx.arrayBuffer());
    expect(book.worksheets.map((s) => s.name)).toEqual(['Acceptance', 'Patterns', 'Trends', 'Cost']);
    const sheet = book.getWorksheet('Acceptance')!;
    expect(sheet.getRow(1).font?.bold).toBe(true);
    const rows: unknown[] = [];
    sheet.eachRow((r, n) => {
      if (n === 1) return;
      const v = r.values as unknown[];
      rows.push({ by: v[1], key: v[2], accepted: v[3], rejected: v[4], rate: v[5] });
    });
    expect(rows).toEqual(data.acceptance);
    const patterns: unknown[] = [];
    book.getWorksheet('Patterns')!.eachRow((r, n) => {
      if (n === 1) return;
      const v = r.values as unknown[];
      patterns.push({ by: v[1], key: v[2], findings: v[3], reviews: v[4], sections: v[5] });
    });
    expect(patterns).toEqual(
      data.patterns.filter((p) => p.by === 'category').map(({ failed: _f, ...p }) => p),
    );
    const costRow = book.getWorksheet('Cost')!.getRow(2).values as unknown[];
    expect(costRow.slice(1, 5)).toEqual([
      data.cost.usd,
      data.cost.inputTokens,
      data.cost.outputTokens,
      data.cost.cacheReadTokens,
    ]);
  });
});
