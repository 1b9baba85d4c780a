/**
 * What a review hands on: the original document with the accepted findings as Word comments,
 * the findings and decisions as JSON and CSV, and the archived package's files. Pure functions
 * over a snapshot and the event log; servers and workers do the I/O.
 */
import { checklistOrigin, checklistSummary, type Rubric, VERDICT_LABEL } from './checklist.ts';
import type { SectionAnchor } from './docx/anchors.ts';
import { addCommentsWithPlacements, type ExportComment } from './docx/comments.ts';
import { addCommentThreads } from './docx/threads.ts';
import type { ReviewEvent, ReviewSnapshot } from './protocol.ts';
import type { FeedbackItem } from './schemas.ts';

/** Who a comment is from: the person who accepted it, or for the author's own items, its author. */
const commentAuthor = (item: FeedbackItem): string =>
  item.decidedBy?.name ??
  (item.source === 'user' ? item.createdBy.name : item.source === 'rules' ? 'Prism rules' : 'Prism AI');

/** A finding's checkpoints by number and name, from the review's rubric ("3 Evidence; 7 Actions"). */
export const checkpointNames = (refs: number[], rubric: Rubric | undefined): string =>
  refs
    .map((n) => {
      const title = rubric?.checkpoints.find((checkpoint) => checkpoint.n === n)?.title;
      return title ? `${n} ${title}` : String(n);
    })
    .join('; ');

function commentText(item: FeedbackItem, rubric: Rubric | undefined): string {
  const origin =
    item.source === 'user'
      ? `by ${item.createdBy.name}`
      : item.source === 'rules'
        ? 'prose rules (no AI model)'
        : `Prism AI${item.model ? ` (${item.model})` : ''}, confidence ${Math.round(item.confidence * 100)}%`;
  const lines = [`[${item.type.toUpperCase()} · ${item.risk} risk] ${item.category}: ${item.description}`];
  if (item.suggestion) lines.push(`Suggestion: ${item.suggestion}`);
  if (item.example) lines.push(`Example: ${item.example}`);
  if (item.replacement) lines.push(`Replace with: ${item.replacement}`);
  for (const question of item.questions) lines.push(`Question: ${question}`);
  if (item.refs.length > 0) lines.push(`Rubric: ${checkpointNames(item.refs, rubric)}`);
  lines.push(`— ${origin}`);
  return lines.join('\n');
}

export const acceptedItems = (snapshot: ReviewSnapshot): FeedbackItem[] =>
  snapshot.feedback.filter((item) => item.status === 'accepted');

export interface ReviewedDocxOptions {
  /** `tracked` (default): accepted items with a `replacement` are Word tracked changes; `comments`: comments only. */
  changes?: 'tracked' | 'comments';
}

/** The reviewed .docx and how many suggested rewrites could not be made tracked changes (comments instead). */
export interface ReviewedDocx {
  docx: Uint8Array;
  unplacedChanges: number;
}

/**
 * The original .docx with every accepted item (AI, rules and people's) as a Word comment at its
 * quote; an item with a `replacement` is also a tracked change there, by the person who accepted it,
 * unless its quote cannot be found exactly (then its comment carries "Replace with: ...").
 */
export function reviewedDocxReport(
  original: Uint8Array,
  snapshot: ReviewSnapshot,
  anchors?: SectionAnchor[],
  options: ReviewedDocxOptions = {},
): ReviewedDocx {
  const sections = new Map(snapshot.sections.map((s) => [s.id, s]));
  const accepted = acceptedItems(snapshot);
  const comments: ExportComment[] = accepted.map((item) => {
    const section = sections.get(item.sectionId);
    const comment: ExportComment = {
      sectionTitle: section?.title ?? '',
      sectionIndex: section?.index ?? 0,
      author: commentAuthor(item),
      date: item.decidedAt ?? item.createdAt,
      text: commentText(item, snapshot.rubric),
    };
    if (item.quote) comment.quote = item.quote;
    if (item.replacement) comment.replacement = item.replacement;
    return comment;
  });
  // The checklist's summary: one comment on the document's first paragraph, after the items.
  const checklist = snapshot.checklist ?? [];
  if (checklist.length > 0 && snapshot.rubric) {
    comments.push({
      sectionTitle: '',
      sectionIndex: -1,
      author: 'Prism checklist',
      date:
        checklist
          .map((e) => e.at ?? '')
          .sort()
          .at(-1) || new Date().toISOString(),
      text: checklistSummary(snapshot.rubric, checklist),
      atStart: true,
    });
  }
  const { docx, placements } = addCommentsWithPlacements(original, comments, {
    ...(anchors ? { anchors } : {}),
    changes: options.changes ?? 'tracked',
  });
  // Replies become Word reply comments of their item's comment (placements are in input order).
  const threads = placements.slice(0, accepted.length).map((placement, i) => ({
    commentId: placement.id,
    resolved: accepted[i]?.resolved ?? false,
    replies: (accepted[i]?.replies ?? []).map((r) => ({
      author: r.author.name,
      date: r.createdAt,
      text: r.text,
    })),
  }));
  return {
    docx: addCommentThreads(docx, threads),
    unplacedChanges: placements.filter((p) => p.change === 'unplaced').length,
  };
}

/** `reviewedDocxReport`, the document only. */
export function reviewedDocx(
  original: Uint8Array,
  snapshot: ReviewSnapshot,
  anchors?: SectionAnchor[],
  options: ReviewedDocxOptions = {},
): Uint8Array {
  return reviewedDocxReport(original, snapshot, anchors, options).docx;
}

/** Everything about the review as one JSON document. */
export function exportJson(snapshot: ReviewSnapshot, events: ReviewEvent[]) {
  const { sections, feedback, chat, members, stats, seq, rubric, checklist, ...summary } = snapshot;
  return {
    review: { ...summary, seq, exportedAt: new Date().toISOString() },
    sections: sections.map(({ id, title, level, index, status, model, usage }) => ({
      id,
      title,
      level,
      index,
      status,
      model,
      usage,
    })),
    members,
    feedback: {
      accepted: feedback.filter((i) => i.status === 'accepted'),
      rejected: feedback.filter((i) => i.status === 'rejected'),
      pending: feedback.filter((i) => i.status === 'pending'),
      custom: feedback.filter((i) => i.source === 'user'),
    },
    chat,
    activity: events,
    stats,
    rubric,
    checklist: checklist ?? [],
  };
}

const CSV_COLUMNS = [
  'id',
  'section',
  'type',
  'risk',
  'category',
  'description',
  'suggestion',
  'quote',
  'source',
  'model',
  'confidence',
  'status',
  'decided_by',
  'decided_at',
  'created_by',
  'created_at',
  'replacement',
  'replies',
  'resolved',
] as const;

const csvCell = (value: unknown): string => {
  const text = value === undefined || value === null ? '' : String(value);
  // Cells a spreadsheet would run as a formula are prefixed with a quote.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
};

/** Findings with their decisions, one row each, RFC 4180. */
export function exportCsv(snapshot: ReviewSnapshot): string {
  const titles = new Map(snapshot.sections.map((s) => [s.id, s.title]));
  const rows = snapshot.feedback.map((item) =>
    [
      item.id,
      titles.get(item.sectionId) ?? item.sectionId,
      item.type,
      item.risk,
      item.category,
      item.description,
      item.suggestion,
      item.quote,
      item.source,
      item.model,
      item.confidence,
      item.status,
      item.decidedBy?.name,
      item.decidedAt,
      item.createdBy.name,
      item.createdAt,
      item.replacement,
      (item.replies ?? []).map((r) => `${r.author.name}: ${r.text}`).join(' | '),
      item.resolved ?? false,
    ]
      .map(csvCell)
      .join(','),
  );
  return `${[CSV_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}

const CHECKLIST_COLUMNS = [
  'n',
  'checkpoint',
  'required',
  'verdict',
  'explanation',
  'evidence',
  'source',
  'by',
  'model',
  'at',
  'overridden',
] as const;

/** The checklist, one row per checkpoint of the rubric (unjudged ones with an empty verdict), RFC 4180. */
export function exportChecklistCsv(snapshot: ReviewSnapshot): string {
  const entries = new Map((snapshot.checklist ?? []).map((e) => [e.n, e]));
  const titles = new Map(snapshot.sections.map((s) => [s.id, s.title]));
  const rows = (snapshot.rubric?.checkpoints ?? []).map((checkpoint) => {
    const entry = entries.get(checkpoint.n);
    return [
      checkpoint.n,
      checkpoint.title,
      checkpoint.required,
      entry?.verdict,
      entry?.explanation,
      entry?.evidence.map((e) => `${titles.get(e.sectionId) ?? e.sectionId}: "${e.quote}"`).join(' | '),
      entry?.source,
      entry?.by?.name,
      entry?.model,
      entry?.at,
      entry?.overridden ? `${VERDICT_LABEL[entry.overridden.verdict]} (${entry.overridden.source})` : '',
    ]
      .map(csvCell)
      .join(',');
  });
  return `${[CHECKLIST_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}

/** `Logs and data/<YYYYMMDD_HHMMSS>_<name>/`, with the name made safe for any object store. */
export function packageFolder(title: string, at: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}_${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  const name =
    title
      .normalize('NFKC')
      .replace(/\p{Cc}+/gu, ' ')
      .replace(/[\\/:*?"<>|]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 80) || 'review';
  return `Logs and data/${stamp}_${name}/`;
}

/** The archived review package, path (relative to its folder) to content. */
export function packageFiles(
  snapshot: ReviewSnapshot,
  events: ReviewEvent[],
  original: Uint8Array,
  reviewed: Uint8Array,
  originalName: string,
  /** Suggested rewrites the reviewed .docx carries as comments only (`ReviewedDocx.unplacedChanges`). */
  unplacedChanges = 0,
): Record<string, Uint8Array | string> {
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  const base = originalName.replace(/\.docx$/i, '') || 'document';
  const all = exportJson(snapshot, events);
  return {
    [`documents/${base}.docx`]: original,
    [`documents/${base}_reviewed.docx`]: reviewed,
    'feedback/accepted.json': json(all.feedback.accepted),
    'feedback/rejected.json': json(all.feedback.rejected),
    'feedback/custom.json': json(all.feedback.custom),
    'feedback/ai_suggestions.json': json(snapshot.feedback.filter((i) => i.source !== 'user')),
    'feedback/findings.csv': exportCsv(snapshot),
    'feedback/checklist.json': json({ rubric: snapshot.rubric, checklist: snapshot.checklist ?? [] }),
    'feedback/checklist.csv': exportChecklistCsv(snapshot),
    'logs/activity.jsonl':
      events.map((event) => JSON.stringify(event)).join('\n') + (events.length ? '\n' : ''),
    'logs/chat.json': json(snapshot.chat),
    'report.json': json({
      review: all.review,
      sections: all.sections,
      members: snapshot.members,
      summary: {
        findings: snapshot.feedback.length,
        accepted: all.feedback.accepted.length,
        rejected: all.feedback.rejected.length,
        pending: all.feedback.pending.length,
        custom: all.feedback.custom.length,
        chatMessages: snapshot.chat.length,
        unplacedChanges,
        checklist: Object.fromEntries(
          (snapshot.checklist ?? []).map((e) => [e.n, `${e.verdict} (${checklistOrigin(e)})`]),
        ),
      },
      stats: snapshot.stats,
    }),
  };
}
