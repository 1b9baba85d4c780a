import { readFileSync } from 'node:fs';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { addCommentsWithPlacements } from './comments.ts';
import { addCommentThreads } from './threads.ts';

const CORPUS = new URL('../../../../shared/corpus/docx/pandoc-headers.docx', import.meta.url);

function commented() {
  const comment = (text: string, quote: string) => ({
    sectionTitle: 'Second Level',
    sectionIndex: 1,
    author: 'Olga',
    date: '2026-01-01T10:00:00Z',
    text,
    quote,
  });
  return addCommentsWithPlacements(new Uint8Array(readFileSync(CORPUS)), [
    comment('First remark.', 'Some plain text.'),
    comment('Second remark.', 'Some plain text.'),
  ]);
}

const parts = (docx: Uint8Array) => {
  const files = unzipSync(docx);
  return Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, strFromU8(bytes)]));
};

describe('addCommentThreads', () => {
  it('leaves a document without threads to write as it is', () => {
    const { docx, placements } = commented();
    expect(
      addCommentThreads(
        docx,
        placements.map((p) => ({ commentId: p.id, resolved: false, replies: [] })),
      ),
    ).toBe(docx);
  });

  it('extends a commentsExtended part already there, reusing the parent paragraph ids', () => {
    const { docx, placements } = commented();
    const [first, second] = placements;
    const reply = (text: string) => ({ author: 'Ann Lee', date: '2026-01-02T10:00:00Z', text });
    const once = addCommentThreads(docx, [
      { commentId: first!.id, resolved: false, replies: [reply('One <&>')] },
    ]);
    const twice = addCommentThreads(once, [
      { commentId: first!.id, resolved: true, replies: [reply('Two')] },
      { commentId: second!.id, resolved: true, replies: [] },
    ]);
    const files = parts(twice);
    const extended = files['word/commentsExtended.xml']!;
    const entries = [...extended.matchAll(/<w15:commentEx ([^>]*)\/>/g)].map((m) => m[1]!);
    const parentIds = new Set(entries.map((e) => /paraIdParent="([^"]+)"/.exec(e)?.[1]).filter(Boolean));
    // Both replies hang off the first comment's one paragraph id; the second comment is resolved alone.
    expect(parentIds.size).toBe(1);
    expect(entries.filter((e) => e.includes('paraIdParent'))).toHaveLength(2);
    expect(entries.filter((e) => e.includes('w15:done="1"') && !e.includes('paraIdParent'))).toHaveLength(2);
    // The first parent's entry was written again, resolved: one entry per paragraph.
    const paraIds = entries.map((e) => /w15:paraId="([^"]+)"/.exec(e)![1]);
    expect(new Set(paraIds).size).toBe(paraIds.length);
    expect(files['word/comments.xml']).toContain('One &lt;&amp;&gt;');
    expect(files['word/comments.xml']).toMatch(
      /xmlns:w14="http:\/\/schemas.microsoft.com\/office\/word\/2010\/wordml"/,
    );
    // One relationship and one content type, however many passes.
    expect(files['word/_rels/document.xml.rels']!.match(/commentsExtended/g)).toHaveLength(2);
    expect(files['[Content_Types].xml']!.match(/commentsExtended\+xml/g)).toHaveLength(1);
    const ids = [...files['word/comments.xml']!.matchAll(/<w:comment [^>]*w:id="(\d+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(4);
  });
});
