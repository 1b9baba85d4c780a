/**
 * A workspace's rubric library (CONTRACT 7.4): rubrics with numbered checkpoints, each edit a new
 * version; every version stays, so a review keeps the one it started with. Both keys carry the
 * workspace's hash tag `{<workspaceId>}`: every command touches one slot.
 */
import type { Rubric, User } from '@prism/core';
import type { Redis } from 'ioredis';
import { parseAll } from './hash-values.ts';

/** A rubric as stored: the contract's shape, and who wrote this version when. */
export interface StoredRubric extends Rubric {
  createdAt: string;
  updatedAt: string;
  updatedBy: User;
}

export const rubricKeys = (prefix: string, workspaceId: string): { current: string; versions: string } => {
  const base = `${prefix}workspace:{${workspaceId}}`;
  return { current: `${base}:rubrics`, versions: `${base}:rubric-versions` };
};

const versionField = (rubricId: string, version: number): string => `${rubricId}@${version}`;

/**
 * Replaces a rubric's current version only if it is still the one read, and keeps the new
 * version beside the old ones. KEYS: current, versions. ARGV: id, expected JSON, new JSON, version field.
 * Returns 1, or 0 when the rubric changed (or went) since it was read.
 */
const REPLACE = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[4], ARGV[3])
return 1
`;

const MAX_RACES = 5;

export class RubricStore {
  private readonly redis: Redis;
  readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  /** Stores a new rubric at version 1. */
  async create(workspaceId: string, rubric: StoredRubric): Promise<StoredRubric> {
    const keys = rubricKeys(this.prefix, workspaceId);
    const raw = JSON.stringify(rubric);
    const replies = await this.redis
      .multi()
      .hsetnx(keys.current, rubric.id, raw)
      .hset(keys.versions, versionField(rubric.id, rubric.version), raw)
      .exec();
    if (replies?.[0]?.[1] !== 1) throw new Error(`rubric ${rubric.id} exists already`);
    return rubric;
  }

  /** Every current rubric of the workspace, oldest first. */
  async list(workspaceId: string): Promise<StoredRubric[]> {
    const hash = await this.redis.hgetall(rubricKeys(this.prefix, workspaceId).current);
    return parseAll<StoredRubric>(hash).sort((a, b) =>
      a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1,
    );
  }

  /** The current version, or a given one (kept for the reviews that started with it). */
  async get(workspaceId: string, rubricId: string, version?: number): Promise<StoredRubric | undefined> {
    const keys = rubricKeys(this.prefix, workspaceId);
    const raw =
      version === undefined
        ? await this.redis.hget(keys.current, rubricId)
        : await this.redis.hget(keys.versions, versionField(rubricId, version));
    return raw ? (JSON.parse(raw) as StoredRubric) : undefined;
  }

  /**
   * Writes the next version from the current one (`next` is given the current and returns the
   * new content); undefined when there is no such rubric. A concurrent edit is retried on top of it.
   */
  async update(
    workspaceId: string,
    rubricId: string,
    next: (current: StoredRubric) => StoredRubric,
  ): Promise<StoredRubric | undefined> {
    const keys = rubricKeys(this.prefix, workspaceId);
    for (let race = 0; race < MAX_RACES; race++) {
      const raw = await this.redis.hget(keys.current, rubricId);
      if (!raw) return undefined;
      const current = JSON.parse(raw) as StoredRubric;
      const updated: StoredRubric = { ...next(current), id: rubricId, version: current.version + 1 };
      const json = JSON.stringify(updated);
      const done = await this.redis.eval(
        REPLACE,
        2,
        keys.current,
        keys.versions,
        rubricId,
        raw,
        json,
        versionField(rubricId, updated.version),
      );
      if (done === 1) return updated;
    }
    throw new Error(`rubric ${rubricId} kept changing while it was edited`);
  }
}
