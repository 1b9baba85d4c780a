import { describe, expect, it } from 'vitest';
import { newId } from './ids.ts';

describe('newId', () => {
  it('makes distinct 12-character base64url ids with their kind, across pool refills', () => {
    const ids = Array.from({ length: 5000 }, () => newId('f'));
    for (const id of ids) expect(id).toMatch(/^f_[A-Za-z0-9_-]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(newId('r')).toMatch(/^r_/);
  });
});
