import type { LibraryChanges, LibraryRecord } from '@prism/store';
import { describe, expect, it } from 'vitest';
import { LibraryIndex, type LibrarySource } from './library-index.ts';
import { searchText } from './library-text.ts';

/** The library store's versioned reads, in memory (the seam the index reads through). */
class FakeSource implements LibrarySource {
  version = 0;
  readonly records = new Map<string, LibraryRecord>();
  readonly textOf = new Map<string, string>();
  readonly changedAt = new Map<string, number>();
  textReads: string[] = [];

  put(id: string, title: string, body: string, change: Partial<LibraryRecord> = {}): void {
    const previous = this.records.get(id);
    const text = searchText(title, [{ text: body }]);
    const textRev = (previous?.textRev ?? 0) + (previous && this.textOf.get(id) === text ? 0 : 1);
    this.records.set(id, {
      id,
      title,
      owner: { id: 'u_1', name: 'Olga' },
      status: 'open',
      progress: { decided: 0, total: 0 },
      createdAt: '2026-12-01T10:00:00.000Z',
      updatedAt: '2026-12-01T10:00:00.000Z',
      sections: [],
      members: {},
      ...previous,
      ...change,
      textRev,
    });
    this.textOf.set(id, text);
    this.changedAt.set(id, ++this.version);
  }

  remove(id: string): void {
    this.records.delete(id);
    this.textOf.delete(id);
    this.changedAt.set(id, ++this.version);
  }

  async read(_home: string, since = -1): Promise<LibraryChanges> {
    const full = since < 0 || since > this.version;
    const changed = new Map<string, LibraryRecord | null>();
    for (const [id, at] of this.changedAt) {
      if (full ? this.records.has(id) : at > since) changed.set(id, this.records.get(id) ?? null);
    }
    return { version: this.version, full, changed };
  }

  async texts(_home: string, ids: readonly string[]): Promise<Map<string, string>> {
    this.textReads.push(...ids);
    return new Map(ids.flatMap((id) => (this.textOf.has(id) ? [[id, this.textOf.get(id)!] as const] : [])));
  }
}

const found = async (index: LibraryIndex, q: string): Promise<string[]> =>
  [...(await index.search('ws:w', q)).ids].sort();

describe('LibraryIndex', () => {
  it('answers the same while its index builds (a scan) and after, by the same rule', async () => {
    const source = new FakeSource();
    source.put('r1', 'Budget review', 'Spending on quokka habitats rose. Tamarind supply is late.');
    source.put('r2', 'Hiring plan', 'Two engineers join in March; tamarinds are not involved.');
    source.put('r3', 'Café opening', 'The espresso machine arrives in June.');
    const index = new LibraryIndex(source, { chunkSize: 1 });
    const queries = [
      'tamarind',
      'tamarin',
      'tamarind supply',
      'quokka engineers',
      'cafe',
      'CAFÉ open',
      'june',
      'x',
    ];
    const scanned = [];
    for (const q of queries) scanned.push(await found(index, q));
    await index.indexed('ws:w');
    const indexed = [];
    for (const q of queries) indexed.push(await found(index, q));
    expect(indexed).toEqual(scanned);
    // The last word is a prefix as it is being typed ("tamarind" finds "tamarinds"); the others are whole words.
    expect(scanned).toEqual([['r1', 'r2'], ['r1', 'r2'], ['r1'], [], ['r3'], ['r3'], ['r3'], []]);
  });

  it('applies only what changed: a status or progress change reads no text, a new text re-indexes that review alone', async () => {
    const source = new FakeSource();
    for (let i = 0; i < 20; i += 1) source.put(`r${i}`, `Report ${i}`, `Common words and marker${i}.`);
    const index = new LibraryIndex(source);
    expect(await found(index, 'marker7')).toEqual(['r7']);
    await index.indexed('ws:w');
    expect(source.textReads).toHaveLength(20);

    source.put('r3', 'Report 3', 'Common words and marker3.', {
      status: 'submitted',
      progress: { decided: 2, total: 5 },
    });
    const after = await index.search('ws:w', 'marker3');
    expect([...after.ids]).toEqual(['r3']);
    expect(after.records.get('r3')).toMatchObject({
      status: 'submitted',
      progress: { decided: 2, total: 5 },
    });
    expect(source.textReads).toHaveLength(20);

    source.put('r5', 'Report 5', 'Rewritten with zeppelin.');
    source.put('r20', 'Report 20', 'A new one about zeppelins.');
    source.remove('r7');
    expect(await found(index, 'zeppelin')).toEqual(['r20', 'r5']);
    expect(await found(index, 'marker5')).toEqual([]);
    expect(await found(index, 'marker7')).toEqual([]);
    expect(source.textReads.slice(20).sort()).toEqual(['r20', 'r5']);
    expect((await index.records('ws:w')).has('r7')).toBe(false);
  });

  it('keeps changes that arrive while the index is still being built', async () => {
    const source = new FakeSource();
    for (let i = 0; i < 40; i += 1) source.put(`r${i}`, `Report ${i}`, `Filler text number${i}x.`);
    const index = new LibraryIndex(source, { chunkSize: 1 });
    expect(await found(index, 'number1x')).toEqual(['r1']);
    // The build yields between documents: change and remove some before it is done.
    source.put('r1', 'Report 1', 'Now about walruses.');
    source.remove('r2');
    source.put('r40', 'Report 40', 'Walruses again.');
    expect(await found(index, 'walrus')).toEqual(['r1', 'r40']);
    await index.indexed('ws:w');
    expect(await found(index, 'walrus')).toEqual(['r1', 'r40']);
    expect(await found(index, 'number1x')).toEqual([]);
    expect(await found(index, 'number2x')).toEqual([]);
    expect(await found(index, 'number3x')).toEqual(['r3']);
  });

  it('reads the whole home again when Redis went back (a version it never reached)', async () => {
    const source = new FakeSource();
    source.put('r1', 'Report', 'Alpha.');
    source.put('r2', 'Report', 'Beta.');
    const index = new LibraryIndex(source);
    expect(await found(index, 'alpha')).toEqual(['r1']);
    // Redis emptied and refilled with fewer changes: the cached version is ahead of it.
    source.records.clear();
    source.changedAt.clear();
    source.version = 0;
    source.put('r9', 'Report', 'Gamma.');
    expect(await found(index, 'alpha')).toEqual([]);
    expect(await found(index, 'gamma')).toEqual(['r9']);
  });
});
