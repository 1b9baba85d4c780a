import { Document, HeadingLevel, Packer, Paragraph, TextRun } from 'docx';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  type ChecklistEntry,
  checklistSummary,
  DEFAULT_REVIEW_RUBRIC,
  mayRefresh,
  overrideEntry,
} from './checklist.ts';
import { exportChecklistCsv, exportJson, reviewedDocx } from './export.ts';
import type { ReviewSnapshot } from './protocol.ts';

const entry = (n: number, verdict: ChecklistEntry['verdict'], extra: Partial<ChecklistEntry> = {}) =>
  ({
    n,
    verdict,
    explanation: `Checkpoint ${n} is ${verdict}.`,
    evidence: [],
    source: 'ai',
    ...extra,
  }) as ChecklistEntry;

const snapshot = (checklist: ChecklistEntry[]): ReviewSnapshot =>
  ({
    id: 'r1',
    title: 'Outage report',
    createdAt: '2026-12-07T10:00:00.000Z',
    owner: { id: 'u1', name: 'Olga' },
    role: 'owner',
    status: 'open',
    progress: { decided: 0, total: 0 },
    updatedAt: '2026-12-07T10:00:00.000Z',
    seq: 3,
    sections: [{ id: 's1', title: 'Summary', level: 1, index: 0, html: '', text: 'x', status: 'done' }],
    feedback: [],
    chat: [],
    members: [],
    stats: {} as ReviewSnapshot['stats'],
    rubric: DEFAULT_REVIEW_RUBRIC,
    checklist,
  }) as ReviewSnapshot;

describe('the checklist rules', () => {
  it('never lets a refresh replace a person override, nor write the same round twice', () => {
    const user = overrideEntry(
      entry(3, 'fail'),
      3,
      'pass',
      'The logs are attached.',
      { id: 'u', name: 'Ann' },
      't',
    );
    expect(user).toMatchObject({
      source: 'user',
      by: { name: 'Ann' },
      overridden: { verdict: 'fail', source: 'ai' },
    });
    expect(mayRefresh(user, entry(3, 'fail', { round: 'b' }))).toBe(false);
    expect(mayRefresh(entry(3, 'fail', { round: 'a' }), entry(3, 'pass', { round: 'a' }))).toBe(false);
    expect(mayRefresh(entry(3, 'fail', { round: 'a' }), entry(3, 'pass', { round: 'b' }))).toBe(true);
    expect(mayRefresh(undefined, entry(3, 'pass'))).toBe(true);
  });

  it('a second override keeps what the model said first', () => {
    const first = overrideEntry(
      entry(5, 'fail'),
      5,
      'partial',
      'Half of it.',
      { id: 'u', name: 'Ann' },
      't1',
    );
    const second = overrideEntry(first, 5, 'pass', 'All of it.', { id: 'v', name: 'Bo' }, 't2');
    expect(second.overridden).toEqual({ verdict: 'fail', source: 'ai' });
  });
});

describe('the checklist in exports', () => {
  const checklist = [entry(1, 'pass'), entry(7, 'fail', { evidence: [{ sectionId: 's1', quote: 'soon' }] })];

  it('JSON carries the rubric and the entries; CSV has one row per checkpoint', () => {
    const json = exportJson(snapshot(checklist), []);
    expect(json.rubric.checkpoints).toHaveLength(12);
    expect(json.checklist.map((e) => [e.n, e.verdict])).toEqual([
      [1, 'pass'],
      [7, 'fail'],
    ]);
    const rows = exportChecklistCsv(snapshot(checklist)).trim().split('\r\n');
    expect(rows).toHaveLength(13);
    expect(rows[7]).toContain('7,Actions,true,fail,Checkpoint 7 is fail.,"Summary: ""soon""",ai');
    expect(rows[2]).toBe('2,Scope and context,true,,,,,,,,');
  });

  it('the reviewed DOCX opens with one summary comment on its first paragraph', async () => {
    const original = await Packer.toBuffer(
      new Document({
        sections: [
          {
            children: [
              new Paragraph({ text: 'Summary', heading: HeadingLevel.HEADING_1 }),
              new Paragraph({ children: [new TextRun('We will improve monitoring soon.')] }),
            ],
          },
        ],
      }),
    );
    const files = unzipSync(reviewedDocx(new Uint8Array(original), snapshot(checklist)));
    const comments = strFromU8(files['word/comments.xml']!);
    expect(comments.match(/<w:comment /g)).toHaveLength(1);
    expect(comments).toContain('Checklist (Prism default, version 1)');
    expect(comments).toContain('1. Executive summary: Pass');
    expect(comments).toContain('7. Actions: Fail');
    expect(comments).toContain('2. Scope and context: Not judged');
    const body = strFromU8(files['word/document.xml']!);
    const firstParagraph = body.slice(body.indexOf('<w:p>'), body.indexOf('</w:p>'));
    expect(firstParagraph).toContain('commentRangeStart');
    expect(firstParagraph).toContain('Summary');
    expect(checklistSummary(DEFAULT_REVIEW_RUBRIC, []).split('\n')).toHaveLength(13);
  });

  it('without verdicts the reviewed DOCX gets no summary comment', async () => {
    const original = await Packer.toBuffer(
      new Document({ sections: [{ children: [new Paragraph({ children: [new TextRun('Only text.')] })] }] }),
    );
    const files = unzipSync(reviewedDocx(new Uint8Array(original), snapshot([])));
    expect(files['word/comments.xml']).toBeUndefined();
  });
});
