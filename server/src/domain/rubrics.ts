/**
 * The workspace rubric library (CONTRACT 7.4): members read it, admins create, edit (a new version;
 * old versions stay for the reviews that started with them), duplicate and import checkpoints from
 * a guidelines document. The built-in `default` is in every library and read-only.
 */
import { randomBytes } from 'node:crypto';
import {
  type Checkpoint,
  collapse,
  DEFAULT_REVIEW_RUBRIC,
  PrismError,
  RUBRIC_LIMITS,
  type Rubric,
  type RubricBody,
  type User,
} from '@prism/core';
import type { RubricStore, StoredRubric } from '@prism/store';
import type { ParseLimits } from '../infra/parse-task.ts';
import type { DocumentParser } from './ingest.ts';
import type { WorkspaceService } from './workspaces.ts';

export const DEFAULT_RUBRIC_ID = DEFAULT_REVIEW_RUBRIC.id;

/** A checkpoint proposed from a guidelines document, for a person to confirm before it is saved. */
export interface ProposedCheckpoint {
  title: string;
  description: string;
  required: boolean;
}

/** The contract's `Rubric` of a stored one (and the time of its version). */
export const rubricView = ({
  id,
  name,
  version,
  checkpoints,
  updatedAt,
}: StoredRubric): Rubric & {
  updatedAt: string;
} => ({ id, name, version, checkpoints, updatedAt });

const numbered = (checkpoints: RubricBody['checkpoints']): Checkpoint[] =>
  checkpoints.map(({ title, description, required }, i) => ({ n: i + 1, title, description, required }));

const newRubricId = (): string => `rb_${randomBytes(9).toString('base64url')}`;

/** A numbered line: "1.", "2)", "3.1", "a)", "iv." then text. */
const NUMBERED_LINE = /^\s*(?:\d{1,3}(?:\.\d{1,3})*[.)]?|[a-z][.)]|[ivx]{1,5}[.)])\s+(\S.*)$/i;

const clip = (text: string, max: number): string => {
  const flat = collapse(text);
  return flat.length <= max ? flat : `${flat.slice(0, max - 1).trimEnd()}…`;
};

/** The first sentence or two of a section's text, as a checkpoint's description. */
const lead = (text: string): string => {
  const flat = collapse(text);
  const sentences = flat.match(/[^.!?]+[.!?]+/g) ?? [flat];
  return clip(sentences.slice(0, 2).join(' ').trim(), 400);
};

/**
 * Checkpoints a guidelines document proposes: one per heading (its title, and the start of its
 * text as the description) when it has at least two headings; otherwise one per numbered line.
 */
export function proposeCheckpoints(sections: { title: string; text: string }[]): ProposedCheckpoint[] {
  const headed = sections.filter((section) => collapse(section.title).length > 0);
  let proposed: ProposedCheckpoint[];
  if (headed.length >= 2) {
    proposed = headed.map(({ title, text }) => {
      const body = collapse(text).startsWith(collapse(title))
        ? collapse(text).slice(collapse(title).length)
        : text;
      const name = NUMBERED_LINE.exec(title)?.[1] ?? title;
      return { title: clip(name, RUBRIC_LIMITS.title), description: lead(body), required: true };
    });
  } else {
    proposed = sections
      .flatMap((section) => section.text.split(/\n+/))
      .map((line) => NUMBERED_LINE.exec(line)?.[1])
      .filter((line): line is string => line !== undefined && collapse(line).length > 0)
      .map((line) => {
        const [head, ...rest] = collapse(line).split(/(?<=[.:;])\s+/);
        return {
          title: clip(head ?? line, RUBRIC_LIMITS.title),
          description: clip(rest.join(' '), RUBRIC_LIMITS.description),
          required: true,
        };
      });
  }
  return proposed.slice(0, RUBRIC_LIMITS.checkpoints);
}

export class RubricService {
  private readonly store: RubricStore;
  private readonly workspaces: WorkspaceService;
  private readonly parser: DocumentParser;
  private readonly limits: ParseLimits;

  constructor(deps: {
    store: RubricStore;
    workspaces: WorkspaceService;
    parser: DocumentParser;
    limits: ParseLimits;
  }) {
    this.store = deps.store;
    this.workspaces = deps.workspaces;
    this.parser = deps.parser;
    this.limits = deps.limits;
  }

  /** The caller's role in the workspace: 404 without it, 403 below `need`. */
  authorize(workspaceId: string, user: User, need: 'admin' | 'member'): Promise<'admin' | 'member'> {
    return this.workspaces.authorize(workspaceId, user, need);
  }

  /** The built-in default first, then the workspace's own, oldest first. */
  async list(workspaceId: string, user: User): Promise<Rubric[]> {
    await this.workspaces.authorize(workspaceId, user, 'member');
    const own = await this.store.list(workspaceId);
    return [DEFAULT_REVIEW_RUBRIC, ...own.map(rubricView)];
  }

  async get(workspaceId: string, user: User, rubricId: string): Promise<Rubric> {
    await this.workspaces.authorize(workspaceId, user, 'member');
    return this.find(workspaceId, rubricId);
  }

  /**
   * The rubric a new review of this workspace starts with, at its current version (the caller is a
   * member: checked before). 400 naming the field when the workspace has no such rubric.
   */
  async forReview(
    workspaceId: string | undefined,
    rubricId: string | undefined,
  ): Promise<Rubric | undefined> {
    if (rubricId === undefined || rubricId === DEFAULT_RUBRIC_ID) return undefined;
    const stored = workspaceId ? await this.store.get(workspaceId, rubricId) : undefined;
    if (!stored)
      throw new PrismError(
        'invalid',
        workspaceId
          ? 'rubricId: this workspace has no rubric with this id.'
          : 'rubricId: only "default" can be used outside a workspace; choose a workspace first.',
      );
    const { id, name, version, checkpoints } = stored;
    return { id, name, version, checkpoints };
  }

  async create(workspaceId: string, user: User, body: RubricBody): Promise<Rubric> {
    await this.workspaces.authorize(workspaceId, user, 'admin');
    return this.insert(workspaceId, user, body);
  }

  /** Saves a new rubric at version 1 (the caller is an admin: checked before). */
  private async insert(workspaceId: string, user: User, body: RubricBody): Promise<Rubric> {
    const at = new Date().toISOString();
    const stored = await this.store.create(workspaceId, {
      id: newRubricId(),
      name: body.name,
      version: 1,
      checkpoints: numbered(body.checkpoints),
      createdAt: at,
      updatedAt: at,
      updatedBy: user,
    });
    return rubricView(stored);
  }

  async update(workspaceId: string, user: User, rubricId: string, body: RubricBody): Promise<Rubric> {
    await this.workspaces.authorize(workspaceId, user, 'admin');
    this.assertEditable(rubricId);
    const updated = await this.store.update(workspaceId, rubricId, (current) => ({
      ...current,
      name: body.name,
      checkpoints: numbered(body.checkpoints),
      updatedAt: new Date().toISOString(),
      updatedBy: user,
    }));
    if (!updated) throw new PrismError('not_found', 'This workspace has no rubric with this id.');
    return rubricView(updated);
  }

  /** A copy at version 1, named "<name> (copy)" unless a name is given; the default can be duplicated. */
  async duplicate(workspaceId: string, user: User, rubricId: string, name?: string): Promise<Rubric> {
    await this.workspaces.authorize(workspaceId, user, 'admin');
    const source = await this.find(workspaceId, rubricId);
    const copyName = name ?? clip(`${source.name} (copy)`, RUBRIC_LIMITS.name);
    return this.insert(workspaceId, user, {
      name: copyName,
      checkpoints: source.checkpoints.map(({ title, description, required }) => ({
        title,
        description,
        required,
      })),
    });
  }

  /** Checkpoints proposed from a guidelines .docx, not saved: the person confirms them, then POSTs. */
  async propose(
    workspaceId: string,
    user: User,
    file: { name: string; data: Uint8Array },
  ): Promise<{ name: string; checkpoints: ProposedCheckpoint[] }> {
    await this.workspaces.authorize(workspaceId, user, 'admin');
    const parsed = await this.parser.parseDocument(file.data, this.limits);
    const checkpoints = proposeCheckpoints(parsed.sections);
    if (checkpoints.length === 0)
      throw new PrismError(
        'empty_document',
        'No headings or numbered items were found in this document to propose as checkpoints.',
      );
    // The document's title names the rubric, unless that title is itself a checkpoint's heading.
    const titled = parsed.heading && !parsed.sections.some((section) => section.title === parsed.heading);
    const name = clip(
      (titled ? parsed.heading : undefined) || file.name.replace(/\.docx$/i, '') || 'Imported rubric',
      RUBRIC_LIMITS.name,
    );
    return { name, checkpoints };
  }

  private assertEditable(rubricId: string): void {
    if (rubricId === DEFAULT_RUBRIC_ID)
      throw new PrismError(
        'read_only',
        'The built-in default rubric cannot be edited; duplicate it and edit the copy.',
      );
  }

  private async find(workspaceId: string, rubricId: string): Promise<Rubric> {
    if (rubricId === DEFAULT_RUBRIC_ID) return DEFAULT_REVIEW_RUBRIC;
    const stored = await this.store.get(workspaceId, rubricId);
    if (!stored) throw new PrismError('not_found', 'This workspace has no rubric with this id.');
    return rubricView(stored);
  }
}
