import { randomFillSync } from 'node:crypto';

const ID_BYTES = 9;
/** Random bytes drawn from the system's generator in one call and handed out 9 at a time. */
const pool = Buffer.alloc(ID_BYTES * 512);
let offset = pool.length;

/**
 * Short random ids with a kind prefix: r_ review, f_ feedback, m_ message, u_ user, w_ workspace.
 * 72 random bits in base64url; the bytes come from a pool refilled in one call (as Node's own
 * randomUUID does), not a call to the generator per id: every reviewer's comment makes one.
 */
export const newId = (kind: 'r' | 'f' | 'm' | 'u' | 'j' | 'w'): string => {
  if (offset + ID_BYTES > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return `${kind}_${id}`;
};
