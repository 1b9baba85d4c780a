import { randomBytes } from 'node:crypto';

/** Short random ids with a kind prefix: r_ review, f_ feedback, m_ message, u_ user, w_ workspace. */
export const newId = (kind: 'r' | 'f' | 'm' | 'u' | 'j' | 'w'): string =>
  `${kind}_${randomBytes(9).toString('base64url')}`;
