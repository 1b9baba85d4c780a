/**
 * Comment threads in a reviewed .docx (CONTRACT 7.5), written after the comments themselves: each
 * reply is a comment of its own, anchored where its parent is, and `word/commentsExtended.xml`
 * links it to the parent by `w15:paraIdParent` (the parent's last paragraph's `w14:paraId`), which
 * is how Word and LibreOffice show a thread; a resolved thread's parent is `w15:done="1"`. Only
 * the main part, comments.xml, commentsExtended.xml, the main part's relationships and
 * [Content_Types].xml change.
 */
import { unzipSync, zipSync } from 'fflate';
import { decodeXml, dirOf, mainPartPath, relationshipTarget, relsOf } from './anchors.ts';
import { escapeXml, wordDate } from './splice.ts';

const W14_NS = 'http://schemas.microsoft.com/office/word/2010/wordml';
const W15_NS = 'http://schemas.microsoft.com/office/word/2012/wordml';
const MC_NS = 'http://schemas.openxmlformats.org/markup-compatibility/2006';
const EXTENDED_REL = 'http://schemas.microsoft.com/office/2011/relationships/commentsExtended';
const EXTENDED_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.commentsExtended+xml';

export interface ThreadReply {
  author: string;
  /** ISO 8601. */
  date: string;
  /** Newlines start new paragraphs. */
  text: string;
}

/** The thread of one comment already in the document, by that comment's `w:id`. */
export interface CommentThread {
  commentId: number;
  resolved: boolean;
  replies: ThreadReply[];
}

const encode = (xml: string): Uint8Array => new TextEncoder().encode(xml);
const esc = (value: string): string => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Initials Word shows in a comment's balloon. */
const initialsOf = (name: string): string =>
  name
    .split(/\s+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase())
    .join('')
    .slice(0, 4) || 'P';

/** Declares `prefix` on the root element of `xml` (and marks it ignorable) unless it already is. */
function declareOnRoot(xml: string, prefix: string, ns: string): string {
  const open = /<(?!\?)[^>]*>/.exec(xml)!;
  let tag = open[0];
  if (!new RegExp(`\\sxmlns:${prefix}=`).test(tag)) {
    tag = tag.replace(/\s*(\/?)>$/, ` xmlns:${prefix}="${ns}"$1>`);
  }
  if (!/\sxmlns:mc=/.test(tag)) tag = tag.replace(/\s*(\/?)>$/, ` xmlns:mc="${MC_NS}"$1>`);
  const ignorable = /\smc:Ignorable="([^"]*)"/.exec(tag);
  if (!ignorable) tag = tag.replace(/\s*(\/?)>$/, ` mc:Ignorable="${prefix}"$1>`);
  else if (!ignorable[1]!.split(/\s+/).includes(prefix)) {
    tag = tag.replace(ignorable[0], ` mc:Ignorable="${ignorable[1]} ${prefix}"`);
  }
  return xml.slice(0, open.index) + tag + xml.slice(open.index + open[0].length);
}

/** Inserts `content` before the closing tag of the root element (the part's last `</...>`). */
function appendToRoot(xml: string, content: string): string {
  const close = xml.lastIndexOf('</');
  if (close === -1) {
    // A self-closing root: open it.
    const end = xml.lastIndexOf('/>');
    const name = /<([^\s?!/>]+)[^>]*\/>\s*$/.exec(xml)?.[1] ?? 'w15:commentsEx';
    return `${xml.slice(0, end)}>${content}</${name}>${xml.slice(end + 2)}`;
  }
  return xml.slice(0, close) + content + xml.slice(close);
}

/**
 * `docx` with each thread's replies as reply comments of its comment and the resolved state as
 * `w15:done`. Threads whose comment cannot be found, or with no replies and not resolved, are
 * skipped. Returns `docx` unchanged when there is nothing to write.
 */
export function addCommentThreads(docx: Uint8Array, threads: CommentThread[]): Uint8Array {
  const wanted = threads.filter((t) => t.replies.length > 0 || t.resolved);
  if (wanted.length === 0) return docx;
  const files = unzipSync(docx);
  const mainPath = mainPartPath(files);
  const base = dirOf(mainPath);
  const relsPath = relsOf(mainPath);
  let rels = files[relsPath] ? decodeXml(files[relsPath]) : undefined;
  const commentsPath = relationshipTarget(rels, 'comments', base)?.path;
  if (!rels || !commentsPath || !files[commentsPath]) return docx;
  let documentXml = decodeXml(files[mainPath]!);
  let comments = decodeXml(files[commentsPath]);

  const usedParaIds = new Set(
    [...`${documentXml}${comments}`.matchAll(/:paraId="([0-9A-Fa-f]{8})"/g)].map((m) => m[1]!.toUpperCase()),
  );
  let paraSeed = 0x10000001;
  const newParaId = (): string => {
    let value: string;
    do {
      value = (paraSeed++).toString(16).toUpperCase().padStart(8, '0');
    } while (usedParaIds.has(value));
    usedParaIds.add(value);
    return value;
  };
  let nextId =
    Math.max(-1, ...[...`${documentXml}${comments}`.matchAll(/:id="(\d+)"/g)].map((m) => Number(m[1]))) + 1;

  const entries: string[] = [];
  for (const thread of wanted) {
    const open = new RegExp(`<(\\w+):comment\\s[^>]*\\b\\1:id="${thread.commentId}"[^>]*>`).exec(comments);
    if (!open) continue;
    const w = open[1]!;
    const bodyStart = open.index + open[0].length;
    const bodyEnd = comments.indexOf(`</${w}:comment>`, bodyStart);
    if (bodyEnd === -1) continue;
    // Word links a thread through the parent's last paragraph.
    const body = comments.slice(bodyStart, bodyEnd);
    const paragraphs = [...body.matchAll(new RegExp(`<${w}:p(\\s[^>]*)?>`, 'g'))];
    const last = paragraphs.at(-1);
    if (!last) continue;
    const existing = /\bw14:paraId="([0-9A-Fa-f]{8})"/.exec(last[0]);
    const parentPara = existing ? existing[1]! : newParaId();
    if (!existing) {
      const at = bodyStart + last.index! + last[0].length - 1;
      comments = `${comments.slice(0, at)} w14:paraId="${parentPara}"${comments.slice(at)}`;
    }
    entries.push(`<w15:commentEx w15:paraId="${parentPara}" w15:done="${thread.resolved ? 1 : 0}"/>`);

    const start = new RegExp(`<(\\w+):commentRangeStart\\s+\\1:id="${thread.commentId}"\\s*/>`).exec(
      documentXml,
    );
    const reference = new RegExp(
      `<(\\w+):r>(?:<\\1:rPr>(?:(?!</\\1:r>)[\\s\\S])*?</\\1:rPr>)?<\\1:commentReference\\s+\\1:id="${thread.commentId}"\\s*/></\\1:r>`,
    ).exec(documentXml);
    if (!start || !reference || reference.index < start.index) continue;
    const d = start[1]!;
    let starts = '';
    let ends = '';
    let added = '';
    for (const reply of thread.replies) {
      const id = nextId++;
      const paraId = newParaId();
      starts += `<${d}:commentRangeStart ${d}:id="${id}"/>`;
      ends += `<${d}:commentRangeEnd ${d}:id="${id}"/><${d}:r><${d}:commentReference ${d}:id="${id}"/></${d}:r>`;
      const lines = reply.text.replace(/\r\n?/g, '\n').split('\n');
      const paras = lines.map((line, i) => {
        const mark = i === 0 ? `<${w}:r><${w}:annotationRef/></${w}:r>` : '';
        const text = line ? `<${w}:r><${w}:t xml:space="preserve">${escapeXml(line)}</${w}:t></${w}:r>` : '';
        const attr = i === lines.length - 1 ? ` w14:paraId="${paraId}"` : '';
        return `<${w}:p${attr}>${mark}${text}</${w}:p>`;
      });
      const author = escapeXml(reply.author.trim() || 'Prism');
      added +=
        `<${w}:comment ${w}:id="${id}" ${w}:author="${author}" ${w}:date="${wordDate(reply.date)}"` +
        ` ${w}:initials="${escapeXml(initialsOf(reply.author))}">${paras.join('')}</${w}:comment>`;
      entries.push(`<w15:commentEx w15:paraId="${paraId}" w15:paraIdParent="${parentPara}" w15:done="0"/>`);
    }
    // Insert the later position first so the earlier index stays valid.
    const afterReference = reference.index + reference[0].length;
    documentXml = documentXml.slice(0, afterReference) + ends + documentXml.slice(afterReference);
    const afterStart = start.index + start[0].length;
    documentXml = documentXml.slice(0, afterStart) + starts + documentXml.slice(afterStart);
    const close = comments.indexOf(`</${w}:comment>`, bodyStart) + `</${w}:comment>`.length;
    comments = comments.slice(0, close) + added + comments.slice(close);
  }
  if (entries.length === 0) return docx;

  const out: Record<string, Uint8Array> = { ...files };
  out[mainPath] = encode(documentXml);
  out[commentsPath] = encode(declareOnRoot(comments, 'w14', W14_NS));

  const extendedRel = relationshipTarget(rels, 'commentsExtended', base);
  const extendedPath = extendedRel?.path ?? `${base}commentsExtended.xml`;
  if (extendedRel && files[extendedPath]) {
    // An entry for a paragraph written again replaces the one there (a parent resolved since).
    let xml = decodeXml(files[extendedPath]);
    for (const entry of entries) {
      const paraId = /w15:paraId="([0-9A-F]{8})"/.exec(entry)![1]!;
      xml = xml.replace(new RegExp(`<w15:commentEx\\s[^>]*\\bw15:paraId="${paraId}"[^>]*/>`, 'g'), '');
    }
    out[extendedPath] = encode(appendToRoot(declareOnRoot(xml, 'w15', W15_NS), entries.join('')));
  } else {
    out[extendedPath] = encode(
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
        `<w15:commentsEx xmlns:mc="${MC_NS}" xmlns:w15="${W15_NS}" mc:Ignorable="w15">` +
        `${entries.join('')}</w15:commentsEx>`,
    );
  }
  if (!extendedRel) {
    const ids = new Set([...rels.matchAll(/\bId="([^"]*)"/g)].map((m) => m[1]));
    let n = ids.size + 1;
    while (ids.has(`rId${n}`)) n += 1;
    const relPrefix = /<(\w+:)?Relationships\b/.exec(rels)?.[1] ?? '';
    const target = extendedPath.startsWith(base) ? extendedPath.slice(base.length) : `/${extendedPath}`;
    rels = appendToRoot(
      rels,
      `<${relPrefix}Relationship Id="rId${n}" Type="${EXTENDED_REL}" Target="${target}"/>`,
    );
    out[relsPath] = encode(rels);
  }
  const types = files['[Content_Types].xml'] ? decodeXml(files['[Content_Types].xml']) : undefined;
  if (types && !new RegExp(`PartName="/${esc(extendedPath)}"`, 'i').test(types)) {
    const typePrefix = /<(\w+:)?Types\b/.exec(types)?.[1] ?? '';
    out['[Content_Types].xml'] = encode(
      appendToRoot(
        types,
        `<${typePrefix}Override PartName="/${extendedPath}" ContentType="${EXTENDED_TYPE}"/>`,
      ),
    );
  }
  return zipSync(out, { level: 6 });
}
