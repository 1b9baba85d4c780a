/**
 * The library's search, on stateless servers. Each server keeps, per home (a workspace, or a
 * person's reviews outside any workspace), a cache of that home's library records and a MiniSearch
 * index of their search texts, tagged with the home's library version (store/src/library.ts).
 * Every change to a home's records bumps that version in Redis, and lists the review in the
 * home's change log under the new version. So before answering, a server asks Redis for what
 * changed since the version it holds (one round trip; nothing to read when no one changed
 * anything) and applies exactly that: a record that moved (progress, status, last activity) is
 * replaced in memory without touching the index; a review whose text changed (`textRev`) has its
 * text fetched and is re-indexed; a removed review is discarded. Every server therefore answers
 * from the same state Redis holds, whichever of them made the change, and a warm answer costs one
 * small read.
 *
 * A cold home (a server that just started, or a home it evicted) has no index yet, and indexing
 * a thousand documents takes seconds. So the first search reads the home's texts, answers at
 * once by scanning them with exactly the index's matching rule (every query word is a whole word
 * of the text, the last one may be the start of one), and builds the index in the background in
 * small chunks (the event loop stays free); later searches use the index. Texts stay in memory
 * beside the index, so a re-indexed review needs only its own text from Redis.
 *
 * Memory: records for every cached home, and texts plus index for homes that were searched
 * (a thousand reviews of a few thousand distinct words: ~20 MB of text, ~80 MB of index); at most
 * `maxHomes` homes are kept, the least recently used leave first.
 */
import type { LibraryChanges, LibraryRecord } from '@prism/store';
import MiniSearch from 'minisearch';
import { words } from './library-text.ts';

/** What the index reads from the library store. */
export interface LibrarySource {
  read(home: string, since?: number): Promise<LibraryChanges>;
  texts(home: string, reviewIds: readonly string[]): Promise<Map<string, string>>;
}

interface Doc {
  id: string;
  text: string;
}

/** Exact words, the last one as a prefix (typing "budg" finds "budget"); every word must match. */
const SEARCH_OPTIONS = {
  combineWith: 'AND' as const,
  prefix: (_term: string, i: number, terms: string[]) => i === terms.length - 1,
  fuzzy: false as const,
};

const newIndex = (): MiniSearch<Doc> =>
  new MiniSearch<Doc>({
    fields: ['text'],
    // Stored texts are already normalized distinct words, one space apart; queries are cut alike.
    tokenize: (text, field) => (field === 'text' ? text.split(' ') : words(text)),
    processTerm: (term) => term || null,
    searchOptions: { ...SEARCH_OPTIONS, tokenize: words, processTerm: (term) => term || null },
  });

/** The scan's rule, the same as the index's: `padded` is the text with a space on either side. */
export function scanMatches(padded: string, queryWords: readonly string[]): boolean {
  return queryWords.every((word, i) =>
    i === queryWords.length - 1 ? padded.includes(` ${word}`) : padded.includes(` ${word} `),
  );
}

class Home {
  version = -1;
  readonly records = new Map<string, LibraryRecord>();
  /** Padded search texts and the `textRev` each was read at; undefined until the home is searched. */
  texts: Map<string, { padded: string; rev: number }> | undefined;
  index: MiniSearch<Doc> | undefined;
  building: Promise<void> | undefined;
  /** Reviews whose text changed while the index was being built: applied when it is done. */
  readonly stale = new Set<string>();
  refreshing: Promise<void> | undefined;
  generation = 0;
}

export interface LibraryIndexOptions {
  /** Homes kept in memory (default 50). */
  maxHomes?: number;
  /** Documents indexed between two yields to the event loop (default 1: a few ms each). */
  chunkSize?: number;
}

export class LibraryIndex {
  private readonly source: LibrarySource;
  private readonly homes = new Map<string, Home>();
  private readonly maxHomes: number;
  private readonly chunkSize: number;

  constructor(source: LibrarySource, options: LibraryIndexOptions = {}) {
    this.source = source;
    this.maxHomes = options.maxHomes ?? 50;
    this.chunkSize = options.chunkSize ?? 1;
  }

  /** The home's current records (brought up to date first). */
  async records(home: string): Promise<ReadonlyMap<string, LibraryRecord>> {
    return (await this.fresh(home, false)).records;
  }

  /** The ids of the home's reviews whose title or text match `q`, and the home's records. */
  async search(
    home: string,
    q: string,
  ): Promise<{ ids: Set<string>; records: ReadonlyMap<string, LibraryRecord> }> {
    const entry = await this.fresh(home, true);
    const queryWords = words(q);
    if (queryWords.length === 0) return { ids: new Set(entry.records.keys()), records: entry.records };
    if (entry.index && !entry.building) {
      return {
        ids: new Set(entry.index.search(q).map((result) => String(result.id))),
        records: entry.records,
      };
    }
    const ids = new Set<string>();
    for (const [id, text] of entry.texts ?? []) if (scanMatches(text.padded, queryWords)) ids.add(id);
    return { ids, records: entry.records };
  }

  /** Whether the home's index is built (the benchmark waits for it to measure warm searches). */
  async indexed(home: string): Promise<void> {
    await this.homes.get(home)?.building;
  }

  private async fresh(home: string, withText: boolean): Promise<Home> {
    let entry = this.homes.get(home);
    if (entry) {
      this.homes.delete(home);
      this.homes.set(home, entry);
    } else {
      entry = new Home();
      this.homes.set(home, entry);
      if (this.homes.size > this.maxHomes) this.homes.delete(this.homes.keys().next().value!);
    }
    // One refresh at a time per home; a request arriving meanwhile waits for it, then checks again.
    while (entry.refreshing) await entry.refreshing;
    const refresh = this.refresh(entry, home, withText);
    entry.refreshing = refresh;
    try {
      await refresh;
    } finally {
      entry.refreshing = undefined;
    }
    return entry;
  }

  private async refresh(entry: Home, home: string, withText: boolean): Promise<void> {
    const changes = await this.source.read(home, entry.version);
    if (changes.full) {
      entry.records.clear();
      this.dropText(entry);
    }
    const retext: string[] = [];
    for (const [id, record] of changes.changed) {
      if (!record) {
        entry.records.delete(id);
        this.forget(entry, id);
        continue;
      }
      entry.records.set(id, record);
      const known = entry.texts?.get(id);
      if (entry.texts && known?.rev !== record.textRev) retext.push(id);
    }
    entry.version = changes.version;
    if (!withText) {
      if (retext.length > 0) await this.loadTexts(entry, home, retext);
      return;
    }
    if (!entry.texts) await this.loadAll(entry, home);
    else if (retext.length > 0) await this.loadTexts(entry, home, retext);
  }

  /** Reads every text of the home and starts building its index. */
  private async loadAll(entry: Home, home: string): Promise<void> {
    const ids = [...entry.records.keys()];
    const texts = await this.source.texts(home, ids);
    entry.texts = new Map();
    for (const id of ids) {
      const record = entry.records.get(id)!;
      entry.texts.set(id, { padded: ` ${texts.get(id) ?? ''} `, rev: record.textRev });
    }
    this.build(entry);
  }

  /** Reads the texts of reviews that are new or changed, and re-indexes them. */
  private async loadTexts(entry: Home, home: string, ids: string[]): Promise<void> {
    const texts = await this.source.texts(home, ids);
    for (const id of ids) {
      const record = entry.records.get(id);
      if (!record || !entry.texts) continue;
      this.forget(entry, id);
      const text = texts.get(id) ?? '';
      entry.texts.set(id, { padded: ` ${text} `, rev: record.textRev });
      if (entry.building) entry.stale.add(id);
      else entry.index?.add({ id, text });
    }
  }

  private build(entry: Home): void {
    const index = newIndex();
    const generation = ++entry.generation;
    const docs = [...entry.texts!].map(([id, text]) => ({ id, text: text.padded.trim() }));
    entry.index = index;
    entry.stale.clear();
    entry.building = index
      .addAllAsync(docs, { chunkSize: this.chunkSize })
      .then(() => {
        if (entry.generation !== generation) return;
        // What changed while it was built: re-index from the texts as they are now.
        for (const id of entry.stale) {
          if (index.has(id)) index.discard(id);
          const text = entry.texts?.get(id);
          if (text) index.add({ id, text: text.padded.trim() });
        }
        entry.stale.clear();
      })
      .finally(() => {
        if (entry.generation === generation) entry.building = undefined;
      });
  }

  /** Takes a review out of the texts and the index (a removal, or before re-indexing it). */
  private forget(entry: Home, id: string): void {
    entry.texts?.delete(id);
    if (entry.building) entry.stale.add(id);
    else if (entry.index?.has(id)) entry.index.discard(id);
  }

  private dropText(entry: Home): void {
    entry.texts = undefined;
    entry.index = undefined;
    entry.building = undefined;
    entry.generation += 1;
    entry.stale.clear();
  }
}
