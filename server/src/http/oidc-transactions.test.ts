import { describe, expect, it } from 'vitest';
import { safeReturnTo } from './oidc-transactions.ts';

describe('safeReturnTo', () => {
  it('keeps a path on Prism, with its query and fragment', () => {
    expect(safeReturnTo('/')).toBe('/');
    expect(safeReturnTo('/reviews/r_abc')).toBe('/reviews/r_abc');
    expect(safeReturnTo('/invite?token=v1.abc.def#join')).toBe('/invite?token=v1.abc.def#join');
    expect(safeReturnTo('/reviews/../invite')).toBe('/invite');
  });

  it.each([
    ['protocol-relative', '//evil.example/path'],
    ['backslash', '/\\evil.example'],
    ['backslashes', '\\\\evil.example'],
    ['absolute', 'https://evil.example/'],
    ['scheme', 'javascript:alert(1)'],
    ['no leading slash', 'evil.example'],
    ['tab that browsers drop', '/\t/evil.example'],
    ['newline', '/\n/evil.example'],
    ['dot segments to protocol-relative', '/..//evil.example'],
    ['encoded slashes', '/%2F%2Fevil.example'],
    ['encoded backslash', '/%5Cevil.example'],
    ['bad percent-encoding', '/%E0%A4%A'],
    ['a sign-in route (a loop)', '/auth/login?returnTo=/'],
    ['empty', ''],
    ['too long', `/${'a'.repeat(2001)}`],
  ])('sends %s to /', (_what, value) => {
    expect(safeReturnTo(value)).toBe('/');
  });

  it('sends anything but one string to /', () => {
    expect(safeReturnTo(undefined)).toBe('/');
    expect(safeReturnTo(['/a', '/b'])).toBe('/');
    expect(safeReturnTo({ path: '/a' })).toBe('/');
  });
});
