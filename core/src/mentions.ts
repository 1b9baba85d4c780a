/**
 * `@Name` mentions in a reply (CONTRACT 7.5): an `@` followed by a member's name, matched
 * case-insensitively, the longest name first (names may contain spaces, and "Ann Lee" must win
 * over "Ann"), ending at a character that cannot continue a name.
 */
import type { User } from './schemas.ts';

const NAME_CHAR = /[\p{L}\p{N}_]/u;

/** The ids of the members `text` mentions, each once, in the order first mentioned. */
export function findMentions(text: string, members: readonly User[]): string[] {
  const candidates = members
    .map((user) => ({ id: user.id, name: user.name.trim().toLowerCase() }))
    .filter((c) => c.name !== '')
    .sort((a, b) => b.name.length - a.name.length);
  const lower = text.toLowerCase();
  const found: string[] = [];
  for (let at = lower.indexOf('@'); at !== -1; at = lower.indexOf('@', at + 1)) {
    // "me@example.com" is an address, not a mention.
    if (at > 0 && NAME_CHAR.test(lower[at - 1]!)) continue;
    const hit = candidates.find(
      (c) => lower.startsWith(c.name, at + 1) && !NAME_CHAR.test(lower[at + 1 + c.name.length] ?? ' '),
    );
    if (hit && !found.includes(hit.id)) found.push(hit.id);
  }
  return found;
}

/**
 * The partial name being typed right before `caret` after an `@` (for autocomplete), or
 * undefined when the caret is not in a mention. Spaces are allowed, as names have them.
 */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | undefined {
  const before = text.slice(0, caret);
  const at = before.lastIndexOf('@');
  if (at === -1 || (at > 0 && NAME_CHAR.test(before[at - 1]!))) return undefined;
  const query = before.slice(at + 1);
  if (query.length > 80 || /[\n@]/.test(query)) return undefined;
  return { start: at, query };
}
